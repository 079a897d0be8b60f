"""Fixtures of new business: a clerk, a second clerk, a reviewer, an agent, two customers, the catalogue."""

import datetime

import pytest

from insurdesk.applications.testing import application_input
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user, catalogue):
    """Users of new business in 深圳分公司 and a married couple's archives (he 1980, she 1982)."""
    clerk = make_user("clerk")
    agent = make_user("agent")
    husband, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "张伟",
            "id_number": make_resident_id(datetime.date(1980, 5, 6), "M", seq=11),
            "unit_id": clerk.unit_id,
            "agent_id": agent.pk,
            "occupation_class": 1,
        },
    )
    wife, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "李芳",
            "id_number": make_resident_id(datetime.date(1982, 7, 8), "F", seq=12),
            "unit_id": clerk.unit_id,
            "occupation_class": 1,
        },
    )
    return {
        "clerk": clerk,
        "clerk2": make_user("clerk"),
        "reviewer": make_user("reviewer"),
        "agent": agent,
        "admin": make_user("admin"),
        "compliance": make_user("compliance"),
        "husband": husband,
        "wife": wife,
    }


@pytest.fixture
def app_input(people):
    """app_input(**overrides) -> a valid first entry: the husband insures his wife."""

    def make(**overrides):
        kw = {
            "policyholder_id": people["husband"].pk,
            "insured_id": people["wife"].pk,
            "agent_id": people["agent"].pk,
        }
        kw.update({k: overrides.pop(k) for k in list(kw) if k in overrides})
        return application_input(**kw, **overrides)

    return make
