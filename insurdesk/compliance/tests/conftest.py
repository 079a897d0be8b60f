"""Fixtures of the compliance tests: a compliance officer at head office, archives to work on."""

import datetime

import pytest

from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id, make_uscc


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def officer(make_user):
    """A compliance officer (合规专员) at head office: sees every unit."""
    return make_user("compliance", "HQ", username="officer")


@pytest.fixture
def person(units, rng):
    """person(unit="SZ", **fields) -> an individual archive created by the system."""
    counter = {"n": 0}

    def make(unit: str = "SZ", region: str = "110105", **fields):
        counter["n"] += 1
        birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randrange(0, 15000))
        data = {
            "name": fields.pop("name", f"客户{counter['n']}"),
            "id_number": make_resident_id(birth, "M", region=region, rng=rng),
            "unit_id": units[unit].pk,
        }
        data.update(fields)
        return customer_create(actor=None, kind="individual", data=data)[0]

    return make


@pytest.fixture
def company(units, rng):
    """company(unit="SZ", owners=(), **fields) -> a corporate archive created by the system."""

    def make(unit: str = "SZ", owners=(), division: str = "110108", **fields):
        data = {
            "name": fields.pop("name", "深圳市海岸科技有限公司"),
            "uscc": make_uscc(rng=rng, division=division),
            "legal_rep_name": "李强",
            "legal_rep_id_type": "resident_id",
            "legal_rep_id_number": make_resident_id(datetime.date(1975, 5, 6), "M", rng=rng),
            "unit_id": units[unit].pk,
            "beneficial_owners": list(owners),
        }
        data.update(fields)
        return customer_create(actor=None, kind="corporate", data=data)[0]

    return make


OWNER = {"name": "王五", "ownership_kind": "equity", "percentage": "60", "nationality": "CHN"}
