"""Fixtures of the claims tests: handlers in 深圳分公司 and in-force policies claims are made on."""

import datetime
from types import SimpleNamespace

import pytest

from insurdesk.claims.testing import claim_policy


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cw(db, make_user, units):
    """Claims in 深圳分公司: two handlers, customer service, a clerk; 王芳 insured on a life and a health
    policy."""
    from insurdesk.customers.services import customer_create
    from insurdesk.identity.testing import make_resident_id

    person, _ = customer_create(
        actor=None,
        kind="individual",
        data={"name": "王芳", "id_number": make_resident_id(datetime.date(1980, 3, 4), "F", seq=78),
              "mobile": "13900001111", "unit_id": units["SZ"].pk},
    )  # fmt: skip
    return SimpleNamespace(
        handler=make_user("claims", "SZ", username="cl_handler"),
        handler2=make_user("claims", "SZ", username="cl_handler2"),
        cs=make_user("cs", "SZ", username="cl_cs"),
        clerk=make_user("clerk", "SZ", username="cl_clerk"),
        gz_handler=make_user("claims", "GZ", username="cl_gz"),
        person=person,
        life=claim_policy(customer=person, policy_no="PL0001", line="life", sum_insured="100000"),
        health=claim_policy(customer=person, policy_no="PH0001", line="health", sum_insured="50000"),
        units=units,
    )


def report_data(policy, **overrides) -> dict:
    data = {
        "policy_id": policy.pk,
        "claim_type": "medical",
        "event_date": datetime.date.today() - datetime.timedelta(days=3),
        "reporter": {"name": "王芳", "relation": "本人", "phone": "13900001111"},
        "description": "急性阑尾炎住院手术",
        "amount_claimed": "12000",
        "channel": "phone",
    }
    data.update(overrides)
    return data
