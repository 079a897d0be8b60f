"""Every endpoint by every role, with scope: a unit's subtree, an agent's own customers, HQ sees all.

Roles without the action get 403; archives outside the caller's scope do not exist for it (404).
"""

import datetime

import pytest

from conftest import PASSWORD
from insurdesk.api.tests.client import ApiClient, as_user, error_codes
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id
from insurdesk.org.models import Role
from insurdesk.org.policy import POLICY, SECOND_FACTOR_ROLES
from insurdesk.org.testing import confirmed_device, totp_code

ROLES = list(Role.values)
CREATE = {"clerk", "reviewer", "agent", "service", "cs", "admin"}
CHANGE = {"clerk", "reviewer", "agent", "service", "compliance", "admin"}


def test_the_expectations_follow_the_declared_policy():
    assert len(ROLES) == 10
    assert POLICY["customer.create"] == CREATE and POLICY["customer.change"] == CHANGE
    assert POLICY["customer.view"] == set(ROLES)


def _person(units, name: str, unit: str, seq: int, agent=None):
    data = {
        "name": name,
        "id_number": make_resident_id(datetime.date(1980, 1, 1), "M", seq=seq),
        "unit_id": units[unit].pk,
    }
    if agent is not None:
        data["agent_id"] = agent.pk
    return customer_create(actor=None, kind="individual", data=data)[0]


@pytest.fixture
def world(units, make_user):
    """A user of the role in SZ; an archive it may see, one elsewhere in SZ, one in GZ."""

    def build(role: str):
        user = make_user(role, "SZ")
        return {
            "user": user,
            "own": _person(units, "本人客户", "SZ", 1, agent=user if role == "agent" else None),
            "sz_other": _person(units, "深圳客户", "NS", 3),
            "gz": _person(units, "广州客户", "GZ", 5),
        }

    return build


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_by_role(world, role):
    w = world(role)
    api = as_user(w["user"])

    credentials = {"username": w["user"].username, "password": PASSWORD}
    if role in SECOND_FACTOR_ROLES:  # admin and compliance also send their TOTP code (docs/security.md)
        credentials["otp"] = totp_code(confirmed_device(w["user"]))
    r = ApiClient().post("/auth/token", credentials)
    assert r.status_code == 200

    r = api.get("/customers")
    assert r.status_code == 200
    seen = {item["id"] for item in r.json()["items"]}
    expected = {w["own"].pk} if role == "agent" else {w["own"].pk, w["sz_other"].pk}
    assert seen == expected and r.json()["count"] == len(expected)

    assert api.get(f"/customers/{w['own'].pk}").status_code == 200
    assert api.get(f"/customers/{w['sz_other'].pk}").status_code == (404 if role == "agent" else 200)
    r = api.get(f"/customers/{w['gz'].pk}")
    assert r.status_code == 404 and error_codes(r) == {("", "not_found")}

    body = {
        "kind": "individual",
        "name": "新客户",
        "id_number": make_resident_id(datetime.date(1991, 2, 3), "F", seq=8),
    }
    r = api.post("/customers", body)
    assert r.status_code == (201 if role in CREATE else 403), r.json()
    if role not in CREATE:
        assert error_codes(r) == {("", "forbidden")}

    r = api.patch(f"/customers/{w['own'].pk}", {"occupation": "教师"})
    assert r.status_code == (200 if role in CHANGE else 403), r.json()
    r = api.patch(f"/customers/{w['gz'].pk}", {"occupation": "教师"})
    assert r.status_code == (404 if role in CHANGE else 403)
    if role == "agent":
        assert api.patch(f"/customers/{w['sz_other'].pk}", {"occupation": "教师"}).status_code == 404

    assert api.post("/auth/revoke").status_code == 204
    assert api.get("/customers").status_code == 401


def test_anonymous_callers_get_401_everywhere(units):
    c = _person(units, "某客户", "SZ", 1)
    anonymous = ApiClient()
    for r in (
        anonymous.get("/customers"),
        anonymous.post("/customers", {"kind": "individual"}),
        anonymous.get(f"/customers/{c.pk}"),
        anonymous.patch(f"/customers/{c.pk}", {"name": "x"}),
        anonymous.post("/auth/revoke"),
    ):
        assert r.status_code == 401 and error_codes(r) == {("", "unauthenticated")}


def test_an_hq_user_sees_every_unit(units, make_user):
    sz, gz = _person(units, "深圳客户", "NS", 1), _person(units, "广州客户", "GZ", 3)
    api = as_user(make_user("clerk", "HQ"))
    assert {i["id"] for i in api.get("/customers").json()["items"]} == {sz.pk, gz.pk}
    assert api.get(f"/customers/{gz.pk}").status_code == 200
    assert api.patch(f"/customers/{gz.pk}", {"occupation": "教师"}).status_code == 200


def test_a_gz_user_does_not_see_sz(units, make_user):
    sz = _person(units, "深圳客户", "SZ", 1)
    api = as_user(make_user("clerk", "GZ"))
    assert api.get("/customers").json() == {"items": [], "count": 0}
    assert api.get("/customers", {"q": sz.archive_no}).json()["count"] == 0
    assert api.get(f"/customers/{sz.pk}").status_code == 404


def test_a_superuser_sees_the_whole_tree(units, make_user):
    sz, gz = _person(units, "深圳客户", "SZ", 1), _person(units, "广州客户", "GZ", 3)
    root = make_user("clerk", "NS")
    root.is_superuser = True
    root.save()
    api = as_user(root)
    assert {i["id"] for i in api.get("/customers").json()["items"]} == {sz.pk, gz.pk}
    rec = api.get(f"/customers/{gz.pk}").json()
    assert "*" not in rec["id_number"]


def test_a_unit_filter_outside_the_scope_finds_nothing(units, make_user):
    _person(units, "广州客户", "GZ", 1)
    api = as_user(make_user("clerk", "SZ"))
    assert api.get("/customers", {"unit_id": units["GZ"].pk}).json() == {"items": [], "count": 0}


def test_creating_in_a_unit_outside_the_scope_is_refused(units, make_user):
    api = as_user(make_user("clerk", "SZ"))
    r = api.post(
        "/customers",
        {
            "kind": "individual",
            "name": "新客户",
            "unit_id": units["GZ"].pk,
            "id_number": make_resident_id(datetime.date(1991, 2, 3), "F", seq=8),
        },
    )
    assert r.status_code == 422 and error_codes(r) == {("unit_id", "not_found")}
