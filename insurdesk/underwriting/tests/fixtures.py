"""Fixtures shared by the underwriting and policies tests (imported by both apps' conftest.py)."""

import datetime
from types import SimpleNamespace

import pytest

from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id, make_uscc
from insurdesk.underwriting.testing import individual_input, submit_application


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def nb(make_user, catalogue, units):
    """New business in 深圳分公司: one user per role, an agent, a married couple and a company."""
    roles = ("clerk", "reviewer", "underwriter", "service", "claims", "cs", "compliance", "manager", "admin")
    users = {role: make_user(role, "SZ", username=f"nb_{role}") for role in roles}
    users["clerk2"] = make_user("clerk", "SZ", username="nb_clerk2")
    users["agent"] = make_user("agent", "SZ", username="nb_agent")
    users["gz_underwriter"] = make_user("underwriter", "GZ", username="nb_gz_underwriter")
    husband, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "张伟",
            "id_number": make_resident_id(datetime.date(1980, 5, 6), "M", seq=11),
            "unit_id": units["SZ"].pk,
            "agent_id": users["agent"].pk,
            "occupation_class": 1,
            "id_valid_to": datetime.date(2036, 1, 1),
        },
    )
    wife, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "李芳",
            "id_number": make_resident_id(datetime.date(1982, 7, 8), "F", seq=12),
            "unit_id": units["SZ"].pk,
            "occupation_class": 1,
            "id_valid_to": datetime.date(2036, 1, 1),
        },
    )
    company, _ = customer_create(
        actor=None,
        kind="corporate",
        data={
            "name": "深圳市前海科技有限公司",
            "id_number": make_uscc(prefix="91", division="440300"),
            "legal_rep_name": "李强",
            "unit_id": units["SZ"].pk,
        },
    )
    return SimpleNamespace(
        users=users, husband=husband, wife=wife, company=company, units=units, catalogue=catalogue, **users
    )


@pytest.fixture
def submitted(nb):
    """submitted(**overrides) -> the husband's application on his wife, submitted to underwriting."""

    def make(**overrides):
        data = individual_input(policyholder=nb.husband, insured=nb.wife, agent=nb.agent, **overrides)
        return submit_application(clerk=nb.clerk, clerk2=nb.clerk2, data=data)

    return make
