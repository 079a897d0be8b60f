"""The servicing endpoints of the published contract: shapes, error bodies, 409 `state`, four eyes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insurdesk.api.tests.client import as_user, error_codes

pytestmark = pytest.mark.django_db

BENEFICIARIES = [{"order": 1, "name": "张小红", "share": "100", "relationship": "child"}]


def test_a_request_answers_201_with_its_state_and_approvals(nb, in_force):
    policy = in_force()
    r = as_user(nb.service).post(
        "/servicing-requests",
        {
            "policy_id": policy.pk,
            "kind": "contact",
            "changes": {"mobile": "13912345678"},
            "reason": "客户来电",
            "channel": "phone",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "requested" and body["approvals_needed"] == 1 and body["channel"] == "phone"
    assert body["kind"] == "contact" and body["id"] and body["request_no"].startswith("BQ")
    assert {d["name"] for d in body["documents"]} == {"保全申请书", "投保人身份证件"}


def test_bad_changes_answer_422_with_field_and_code(nb, in_force):
    policy = in_force()
    api = as_user(nb.service)
    r = api.post(
        "/servicing-requests", {"policy_id": policy.pk, "kind": "contact", "changes": {"mobile": "1"}}
    )
    assert r.status_code == 422
    assert ("changes.mobile", "format") in error_codes(r) or any(
        f == "changes.mobile" for f, _ in error_codes(r)
    )
    r = api.post("/servicing-requests", {"policy_id": policy.pk, "kind": "teleport", "changes": {}})
    assert r.status_code == 422 and ("kind", "choice") in error_codes(r)
    r = api.post(
        "/servicing-requests",
        {"policy_id": policy.pk, "kind": "beneficiary", "changes": {"beneficiaries": BENEFICIARIES}},
    )
    assert r.status_code == 422 and ("changes.insured_consent", "consent_required") in error_codes(r)


def test_approve_applies_and_the_policy_lists_its_endorsement(nb, in_force):
    policy = in_force()
    created = (
        as_user(nb.service)
        .post(
            "/servicing-requests",
            {
                "policy_id": policy.pk,
                "kind": "beneficiary",
                "changes": {"beneficiaries": BENEFICIARIES, "insured_consent": True},
                "channel": "counter",
            },
        )
        .json()
    )
    same = as_user(nb.service).post(f"/servicing-requests/{created['id']}/approve", {"reason": "同意"})
    assert same.status_code == 403 and error_codes(same) == {("", "four_eyes")}
    r = as_user(nb.manager).post(f"/servicing-requests/{created['id']}/approve", {"reason": "同意"})
    assert r.status_code == 200 and r.json()["state"] == "applied"
    assert r.json()["endorsement_no"].startswith("PD")
    e = as_user(nb.cs).get(f"/policies/{policy.pk}/endorsements").json()
    assert e["count"] == 1 and e["items"][0]["kind"] == "beneficiary"
    assert "张小红" in e["items"][0]["diff"][0]["after"]
    again = as_user(nb.admin).post(f"/servicing-requests/{created['id']}/reject", {"reason": "晚了"})
    assert again.status_code == 409 and error_codes(again) == {("state", "state")}


def test_reject_needs_a_reason(nb, in_force):
    policy = in_force()
    created = (
        as_user(nb.service)
        .post(
            "/servicing-requests", {"policy_id": policy.pk, "kind": "contact", "changes": {"email": "x@y.cn"}}
        )
        .json()
    )
    r = as_user(nb.manager).post(f"/servicing-requests/{created['id']}/reject", {"reason": ""})
    assert r.status_code == 422 and error_codes(r) == {("reason", "required")}
    r = as_user(nb.manager).post(f"/servicing-requests/{created['id']}/reject", {"reason": "客户撤销"})
    assert r.json()["state"] == "rejected" and r.json()["closed_reason"] == "客户撤销"


def test_money_requests_need_two_approvers(nb, in_force):
    policy = in_force()
    created = (
        as_user(nb.service)
        .post("/servicing-requests", {"policy_id": policy.pk, "kind": "surrender", "changes": {}})
        .json()
    )
    assert created["approvals_needed"] == 2 and created["moves_money"]
    first = as_user(nb.manager).post(f"/servicing-requests/{created['id']}/approve", {})
    assert first.json()["state"] == "first_approved"
    again = as_user(nb.manager).post(f"/servicing-requests/{created['id']}/approve", {})
    assert again.status_code == 403
    last = as_user(nb.admin).post(f"/servicing-requests/{created['id']}/approve", {})
    assert last.json()["state"] == "applied"


def test_the_list_filters_by_state_kind_and_policy_in_few_queries(nb, in_force):
    policy = in_force()
    api = as_user(nb.service)
    for email in ("a@b.cn",):
        api.post(
            "/servicing-requests", {"policy_id": policy.pk, "kind": "contact", "changes": {"email": email}}
        )
    api.post("/servicing-requests", {"policy_id": policy.pk, "kind": "surrender", "changes": {}})
    r = api.get("/servicing-requests", {"kind": "surrender", "policy_id": policy.pk})
    assert r.status_code == 200 and r.json()["count"] == 1
    assert api.get("/servicing-requests", {"state": "requested"}).json()["count"] == 2
    r = api.get("/servicing-requests", {"state": "bogus"})
    assert r.status_code == 422 and ("state", "choice") in error_codes(r)
    with CaptureQueriesContext(connection) as queries:
        api.get("/servicing-requests", {"page_size": 50})
    assert len(queries) < 20


def test_an_agent_sees_only_requests_on_its_own_policies(nb, in_force, make_user):
    policy = in_force()
    created = (
        as_user(nb.service)
        .post(
            "/servicing-requests", {"policy_id": policy.pk, "kind": "contact", "changes": {"email": "a@b.cn"}}
        )
        .json()
    )
    other = make_user("agent", "SZ", username="sv_other_agent")
    assert as_user(other).get(f"/servicing-requests/{created['id']}").status_code == 404
    assert as_user(nb.agent).get(f"/servicing-requests/{created['id']}").status_code == 200
