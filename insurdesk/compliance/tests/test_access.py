"""Every compliance page and endpoint by each of the ten roles, as the declared policy says.

A role without the action gets 403; a record of another unit does not exist for anyone allowed (404).
"""

import pytest
from django.urls import reverse

from insurdesk.compliance.testing import RECORDS
from insurdesk.compliance.tests.apiclient import as_user
from insurdesk.org.models import Role
from insurdesk.org.policy import API, PAGES, POLICY, Scope

pytestmark = pytest.mark.django_db

ROLES = list(Role.values)
COMPLIANCE_PAGES = sorted(name for name in PAGES if name.startswith("compliance:"))
COMPLIANCE_API = sorted(key for key in API if key.split(" ")[1].startswith(("/audit", "/compliance")))

# Pages that only take POST, with data a permitted user would send.
POSTS = {
    "compliance:audit_verify": {},
    "compliance:customer_rate": {},
    "compliance:customer_review": {"conclusion": "maintain"},
    "compliance:flag_raise": {"kind": "other", "reason": "测试"},
    "compliance:consent_add": {"purpose": "sensitive", "channel": "paper"},
    "compliance:consent_withdraw": {"channel": "phone"},
    "compliance:flag_review": {"decision": "dismiss", "note": "已核实"},
    "compliance:checks_run": {"check": ["flag_unreviewed"]},
    "compliance:task_action": {"op": "note", "text": "已联系"},
    "compliance:pi_request_action": {"op": "close", "outcome": "fulfilled", "note": "已提供"},
}


def test_the_roles_and_actions_are_as_declared():
    assert len(ROLES) == 10
    assert POLICY["compliance.view"] == POLICY["compliance.manage"] == {"compliance", "admin"}
    assert POLICY["audit.view"] == POLICY["audit.export"] == {"compliance", "admin"}
    assert POLICY["consent.manage"] == {"clerk", "cs", "compliance", "admin"}
    assert len(COMPLIANCE_PAGES) == 23 and len(COMPLIANCE_API) == 19


@pytest.fixture
def world(person, make_user):
    def build(role: str):
        user = make_user(role, "SZ")
        mine = person("SZ", agent_id=user.pk) if role == "agent" else person("NS")
        other = person("GZ")
        records = {scope: {"mine": make(mine), "other": make(other)} for scope, make in RECORDS.items()}
        return user, mine, other, records

    return build


def _kwargs(name: str, scope: Scope, which: str, mine, other, records) -> dict:
    if scope == Scope.LIST:
        return {"name": "expired_ids"} if name == "compliance:queue" else {}
    if scope == Scope.CUSTOMER:
        return {"pk": (mine if which == "mine" else other).pk}
    return {"pk": records[scope.value][which].pk}


@pytest.mark.parametrize("role", ROLES)
def test_every_page_by_role(client, world, role):
    user, mine, other, records = world(role)
    client.force_login(user)
    for name in COMPLIANCE_PAGES:
        access = PAGES[name]
        allowed = role in POLICY[access.action]
        for which in ("mine", "other") if access.scope != Scope.LIST else ("mine",):
            url = reverse(name, kwargs=_kwargs(name, access.scope, which, mine, other, records))
            if name in POSTS:
                data = dict(POSTS[name])
                if name == "compliance:pi_request_action" and role not in ("compliance", "admin"):
                    data = {"op": "assign", "handler": user.pk}
                response = client.post(url, data)
            else:
                response = client.get(url)
            if not allowed:
                expected = {403}
            elif which == "other":
                expected = {404}
            else:
                expected = {200, 302}
            assert response.status_code in expected, (role, name, which, response.status_code)


def test_anonymous_visitors_are_sent_to_sign_in(client, person):
    for name in COMPLIANCE_PAGES:
        scope = PAGES[name].scope
        kwargs = {} if scope == Scope.LIST else {"pk": 1}
        if name == "compliance:queue":
            kwargs = {"name": "expired_ids"}
        response = client.get(reverse(name, kwargs=kwargs))
        assert response.status_code == 302 and "/login/" in response["Location"], name


BODIES = {
    "/compliance/customers/{id}/aml/reviews": {"conclusion": "maintain"},
    "/compliance/customers/{id}/consents": {"purpose": "third_party", "channel": "web"},
    "/compliance/consents/{id}/withdraw": {"channel": "app"},
    "/compliance/flags": {"kind": "other", "reason": "测试"},
    "/compliance/flags/{id}/review": {"decision": "report"},
    "/compliance/checks/run": {"checks": ["flag_unreviewed"]},
    "/compliance/tasks/{id}/transition": {"transition": "start"},
    "/compliance/tasks/{id}/assign": {},
    "/compliance/pi-requests": {"kind": "access", "channel": "web"},
    "/compliance/pi-requests/{id}/close": {"outcome": "fulfilled", "note": "已提供"},
}
RECORD_PATHS = (
    ("/consents/{id}", "consent"),
    ("/flags/{id}", "flag"),
    ("/tasks/{id}", "task"),
    ("/pi-requests/{id}", "pi_request"),
)


def _call(api, key: str, *, customer, records, which: str, user):
    method, path = key.split(" ", 1)
    pk = customer.pk
    for marker, scope in RECORD_PATHS:
        if marker in path:
            pk = records[scope][which].pk
    url = path.replace("{id}", str(pk)).replace("{name}", "expired_ids")
    if method == "GET":
        return api.get(url)
    body = dict(BODIES.get(path, {}))
    if path in ("/compliance/flags", "/compliance/pi-requests"):
        body["customer_id"] = customer.pk
    if path == "/compliance/tasks/{id}/assign":
        body["owner_id"] = user.pk
    return api.post(url, body)


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_by_role(world, role):
    user, mine, other, records = world(role)
    api = as_user(user)
    for key in COMPLIANCE_API:
        access = API[key]
        allowed = role in POLICY[access.action]
        reaches_a_record = access.scope != Scope.LIST or key in (
            "POST /compliance/flags",
            "POST /compliance/pi-requests",
        )
        for which in ("mine", "other") if reaches_a_record else ("mine",):
            customer = mine if which == "mine" else other
            response = _call(api, key, customer=customer, records=records, which=which, user=user)
            if not allowed:
                expected = {403}
            elif which == "other":
                expected = {404}
            else:
                expected = {200, 201}
            assert response.status_code in expected, (
                role,
                key,
                which,
                response.status_code,
                response.content[:300],
            )


def test_anonymous_api_calls_get_401(person):
    from insurdesk.compliance.tests.apiclient import ApiClient

    anonymous = ApiClient()
    for key in COMPLIANCE_API:
        method, path = key.split(" ", 1)
        url = path.replace("{id}", "1").replace("{name}", "expired_ids")
        response = anonymous.get(url) if method == "GET" else anonymous.post(url, {})
        assert response.status_code == 401, key
