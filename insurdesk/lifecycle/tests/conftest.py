"""Fixtures of the retention tests: archives whose relationship ended long ago, and the people who decide."""

import datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_create


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def age(customer: Customer, *, years: int = 11, days: int = 0) -> Customer:
    """Move the archive's last change `years` (and `days`) into the past, as if untouched since."""
    when = timezone.now() - datetime.timedelta(days=365 * years + years // 4 + 1 + days)
    Customer.objects.filter(pk=customer.pk).update(updated_at=when)
    customer.refresh_from_db()
    return customer


@pytest.fixture
def people(make_user):
    """Two compliance officers and an admin at HQ, a manager and a clerk in 深圳."""
    return SimpleNamespace(
        officer=make_user("compliance", "HQ", username="officer"),
        officer2=make_user("compliance", "HQ", username="officer2"),
        admin=make_user("admin", "HQ", username="admin1"),
        manager=make_user("manager", "SZ", username="manager1"),
        gz_officer=make_user("compliance", "GZ", username="gz_officer"),
        clerk=make_user("clerk", "SZ", username="clerk1"),
    )


@pytest.fixture
def old_customer(units, individual_data):
    """old_customer(**data) -> an individual in 深圳 whose archive was last changed 11 years ago."""

    def make(years: int = 11, **overrides):
        data = individual_data(unit_id=units["SZ"].pk, **overrides)
        customer, _ = customer_create(actor=None, kind="individual", data=data)
        return age(customer, years=years)

    return make
