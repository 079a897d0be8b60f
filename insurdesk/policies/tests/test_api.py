"""The underwriting, policy and payment endpoints: shapes, errors, every endpoint by each of the 10 roles."""

import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insurdesk.api.tests.client import ApiClient, as_user, error_codes
from insurdesk.org.models import Role
from insurdesk.org.policy import POLICY
from insurdesk.policies.models import Policy
from insurdesk.policies.services import policy_issue
from insurdesk.underwriting.services import underwriting_open
from insurdesk.underwriting.testing import group_input, submit_application

ROLES = list(Role.values)
TODAY = timezone.localdate()
HEALTH = {"health_disclosure": True, "health_details": "高血压"}


def allowed(role, action):
    return role in POLICY[action]


def test_the_declared_policy_covers_the_new_actions():
    assert len(ROLES) == 10
    assert POLICY["underwriting.decide"] == {"underwriter", "admin"}
    assert POLICY["payment.record"] == {"clerk", "service", "admin"}
    assert POLICY["policy.view"] == set(ROLES)


# ------------------------------------------------------------------ underwriting


def test_an_underwriter_rates_an_application_and_the_case_shows_rules_and_decisions(nb, submitted):
    app = submitted(**HEALTH)
    api = as_user(nb.underwriter)
    r = api.get("/underwriting/queue", {"queue": "new"})
    assert r.status_code == 200 and r.json()["count"] == 1
    r = api.post(
        f"/applications/{app.pk}/underwriting",
        {"decision": "rated", "extra_premium": "1200.00", "reasons": "高血压，加费承保"},
    )
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["state"] == "accepted" and body["decision"] == "rated" and body["extra_premium"] == "1200.00"
    assert body["decided_by"]["username"] == nb.underwriter.username
    assert {x["code"] for x in body["rules"]} >= {"health", "age_limits", "cumulative_sum"}
    assert [d["kind"] for d in body["decisions"]] == ["rated"]
    assert api.get(f"/applications/{app.pk}/underwriting").json()["decision"] == "rated"


def test_the_queue_lists_items_with_age_and_owner(nb, submitted):
    app = submitted(**HEALTH)
    underwriting_open(actor=None, application_id=app.pk)
    item = as_user(nb.underwriter).get("/underwriting/queue").json()["items"][0]
    assert item["application_id"] == app.pk and item["case_state"] == "referred" and item["waiting_days"] == 0
    assert item["policyholder"] == "张伟" and item["products"] == ["安享终身寿险", "附加重大疾病保险"]


@pytest.mark.parametrize(
    "body, field, code, status",
    [
        ({"decision": "rated"}, "extra_premium", "required", 422),
        ({"decision": "rated", "extra_premium": "-1"}, "extra_premium", "range", 422),
        ({"decision": "exclusion", "reasons": "x"}, "exclusion", "required", 422),
        ({"decision": "approve"}, "decision", "choice", 422),
        ({"decision": "standard", "surprise": 1}, "surprise", "unknown_field", 422),
        ({"decision": "evidence_received"}, "decision", "illegal_transition", 409),
    ],
)
def test_bad_decisions_answer_in_the_error_shape(nb, submitted, body, field, code, status):
    app = submitted(**HEALTH)
    underwriting_open(actor=None, application_id=app.pk)
    r = as_user(nb.underwriter).post(f"/applications/{app.pk}/underwriting", body)
    assert r.status_code == status and (field, code) in error_codes(r)


def test_an_unknown_or_foreign_application_is_404(nb, submitted):
    app = submitted(**HEALTH)
    assert (
        as_user(nb.underwriter)
        .post("/applications/999999/underwriting", {"decision": "standard"})
        .status_code
        == 404
    )
    r = as_user(nb.gz_underwriter).post(f"/applications/{app.pk}/underwriting", {"decision": "standard"})
    assert r.status_code == 404 and error_codes(r) == {("", "not_found")}


# ------------------------------------------------------------------ policies and payments


def test_issue_read_pay_and_list_a_policy(nb, submitted):
    app = submitted()
    underwriting_open(actor=None, application_id=app.pk)
    clerk = as_user(nb.clerk)
    r = clerk.post("/policies", {"application_id": app.pk})
    assert r.status_code == 201, r.json()
    policy = r.json()
    assert policy["state"] == "pending" and policy["instalment_total"] == 20 and len(policy["schedule"]) == 20
    assert policy["instalments"][0]["status"] == "unpaid" and policy["cooling_off_days"] == 15
    assert clerk.post("/policies", {"application_id": app.pk}).status_code == 409

    r = clerk.post(
        "/payments",
        {
            "policy_id": policy["id"],
            "amount": "15000.00",
            "method": "transfer",
            "paid_on": TODAY.isoformat(),
            "reference": "ZZ001",
        },
    )
    assert r.status_code == 201, r.json()
    assert r.json()["status"] == "paid" and r.json()["warnings"] == [] and r.json()["instalment_seq"] == 1
    detail = clerk.get(f"/policies/{policy['id']}").json()
    assert detail["state"] == "in_force" and [i["seq"] for i in detail["instalments"]] == [1, 2]
    assert len(detail["payments"]) == 1

    r = clerk.get("/payments", {"policy_id": policy["id"]})
    assert r.status_code == 200 and r.json()["count"] == 1
    r = clerk.get("/payments/due", {"due_from": TODAY.isoformat()})
    assert r.json()["count"] == 1 and r.json()["items"][0]["seq"] == 2
    r = clerk.get("/policies", {"customer_id": nb.wife.pk})
    assert r.json()["count"] == 1 and r.json()["items"][0]["policy_no"] == policy["policy_no"]
    assert clerk.get("/policies", {"state": "lapsed"}).json()["count"] == 0


def test_the_due_endpoint_reads_a_premium_past_due_as_overdue(nb, issued):
    policy = issued()
    past = TODAY - datetime.timedelta(days=3)
    Policy.objects.filter(pk=policy.pk).update(issue_date=past)
    policy.instalments.update(due_date=past, open_due=past)
    clerk = as_user(nb.clerk)
    r = clerk.get("/payments/due", {"status": "overdue"})
    assert r.status_code == 200 and r.json()["count"] == 1
    item = r.json()["items"][0]
    assert item["status"] == "overdue" and item["days_overdue"] == 3 and item["policy_no"] == policy.policy_no
    assert clerk.get("/payments/due", {"status": "unpaid"}).json()["count"] == 0
    assert clerk.get(f"/policies/{policy.pk}").json()["instalments"][0]["status"] == "overdue"


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({"amount": "0"}, "amount", "range"),
        ({"amount": "1.234"}, "amount", "format"),
        ({"method": "bitcoin"}, "method", "choice"),
        ({"paid_on": "2026-02-30"}, "paid_on", "format"),
        ({"amount": "99999"}, "amount", "over_due"),
    ],
)
def test_bad_payments_answer_in_the_error_shape(nb, issued, body, field, code):
    policy = issued()
    data = {"policy_id": policy.pk, "amount": "100", "method": "cash", "paid_on": TODAY.isoformat()} | body
    r = as_user(nb.clerk).post("/payments", data)
    assert r.status_code == 422 and (field, code) in error_codes(r)


def test_cooling_off_cancellation_inside_and_outside(nb, issued):
    policy = issued()
    service = as_user(nb.service)
    as_user(nb.clerk).post(
        "/payments",
        {"policy_id": policy.pk, "amount": "15000", "method": "card", "paid_on": TODAY.isoformat()},
    )
    r = service.post(f"/policies/{policy.pk}/cancel", {"reason": "犹豫期内撤单"})
    assert r.status_code == 200, r.json()
    assert r.json()["policy"]["state"] == "cancelled" and r.json()["refund"]["amount"] == "15000.00"
    r = service.post(f"/policies/{policy.pk}/cancel", {})
    assert r.status_code == 409 and error_codes(r) == {("state", "illegal_transition")}

    late = issued()
    Policy.objects.filter(pk=late.pk).update(issue_date=TODAY - datetime.timedelta(days=30))
    r = service.post(f"/policies/{late.pk}/cancel", {})
    assert r.status_code == 422 and error_codes(r) == {("", "cooling_off_over")}
    assert "犹豫期" in r.json()["errors"][0]["message"]


def test_group_members_are_listed_added_and_imported(nb):
    app = submit_application(
        clerk=nb.clerk,
        clerk2=nb.clerk2,
        data=group_input(
            company=nb.company, agent=nb.agent, application_date=TODAY - datetime.timedelta(days=1)
        ),
    )
    underwriting_open(actor=None, application_id=app.pk)
    policy = policy_issue(actor=nb.clerk, application_id=app.pk)
    from insurdesk.identity.testing import make_resident_id

    clerk = as_user(nb.clerk)
    number = make_resident_id(datetime.date(1988, 1, 2), "M", seq=31)
    r = clerk.post(f"/policies/{policy.pk}/members", {"name": "王强", "id_number": number, "plan_level": "A"})
    assert r.status_code == 201, r.json()
    assert r.json()["sum_insured"] == "500000.00"

    csv_ok = f"姓名,证件号码,等级\n赵敏,{make_resident_id(datetime.date(1990, 1, 2), 'F', seq=32)},B\n"
    r = clerk.client.post(
        f"/api/v1/policies/{policy.pk}/members/import", {"file": _upload("a.csv", csv_ok.encode())}
    )
    assert r.status_code == 200 and r.json()["created"] == 1
    csv_bad = f"姓名,证件号码,等级\n,{number[:17]}0,Z\n"
    r = clerk.client.post(
        f"/api/v1/policies/{policy.pk}/members/import", {"file": _upload("b.csv", csv_bad.encode())}
    )
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert {(e["row"], e["column"]) for e in errors} >= {(2, "姓名"), (2, "等级")}
    assert all(set(e) == {"field", "code", "row", "column", "value", "rule", "message"} for e in errors)
    assert "rows[2].name" in {e["field"] for e in errors}
    assert "*" in next(e["value"] for e in errors if e["column"] == "证件号码")
    r = clerk.get(f"/policies/{policy.pk}/members")
    assert r.json()["count"] == 2
    r = as_user(nb.cs).get(f"/policies/{policy.pk}/members")
    assert "*" in r.json()["items"][0]["id_number"]  # customer service sees masks


def _upload(name, content):
    f = io.BytesIO(content)
    f.name = name
    return f


def test_list_endpoints_use_a_fixed_number_of_queries(nb, issued):
    for _ in range(3):
        issued()
    api = as_user(nb.clerk)
    counts = []
    for n in (1, 3):
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/payments/due", {"page_size": n}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    counts = []
    for n in (1, 3):
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/policies", {"page_size": n}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# ------------------------------------------------------------------ every endpoint by every role


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_by_role(nb, submitted, issued, role):
    user = nb.users.get(role, nb.agent)
    api = as_user(user)
    referred = submitted(**HEALTH)
    underwriting_open(actor=None, application_id=referred.pk)
    policy = issued()

    r = api.get("/underwriting/queue")
    assert r.status_code == (200 if allowed(role, "underwriting.view") else 403)
    r = api.get(f"/applications/{referred.pk}/underwriting")
    assert r.status_code == (200 if allowed(role, "underwriting.view") else 403)
    r = api.post(f"/applications/{referred.pk}/underwriting", {"decision": "postpone", "reasons": "延期"})
    assert r.status_code == (200 if allowed(role, "underwriting.decide") else 403), r.json()

    # the agent sold the policy (it is the application's agent), so every role sees it in scope
    r = api.get("/policies")
    assert r.status_code == 200 and r.json()["count"] == 1
    assert api.get(f"/policies/{policy.pk}").status_code == 200
    assert api.get(f"/policies/{policy.pk}/members").status_code == 200
    assert api.get("/payments").status_code == 200
    assert api.get("/payments/due").json()["count"] == 1

    r = api.post(
        "/payments", {"policy_id": policy.pk, "amount": "100", "method": "cash", "paid_on": TODAY.isoformat()}
    )
    assert r.status_code == (201 if allowed(role, "payment.record") else 403)
    r = api.post(f"/policies/{policy.pk}/cancel", {})
    assert r.status_code == (200 if allowed(role, "policy.cancel") else 403)
    r = api.post(f"/policies/{policy.pk}/members", {"name": "王强", "id_number": "x", "plan_level": "A"})
    assert r.status_code == (
        409 if allowed(role, "policy.members") else 403
    )  # an individual policy has no list

    accepted = submitted()
    underwriting_open(actor=None, application_id=accepted.pk)
    r = api.post("/policies", {"application_id": accepted.pk})
    assert r.status_code == (201 if allowed(role, "policy.issue") else 403)


def test_a_unit_outside_sees_no_policy(nb, issued, make_user):
    policy = issued()
    api = as_user(make_user("service", "GZ"))
    assert api.get("/policies").json() == {"items": [], "count": 0}
    assert api.get(f"/policies/{policy.pk}").status_code == 404
    assert api.get("/payments/due").json()["count"] == 0
    assert api.post(f"/policies/{policy.pk}/cancel", {}).status_code == 404
    other_agent = make_user("agent", "SZ")
    assert as_user(other_agent).get("/policies").json()["count"] == 0


def test_anonymous_callers_get_401(nb, issued):
    policy = issued()
    anonymous = ApiClient()
    for r in (
        anonymous.get("/underwriting/queue"),
        anonymous.get("/policies"),
        anonymous.get(f"/policies/{policy.pk}"),
        anonymous.get("/payments"),
        anonymous.get("/payments/due"),
        anonymous.post("/payments", {}),
        anonymous.post(f"/policies/{policy.pk}/cancel", {}),
        anonymous.post("/applications/1/underwriting", {"decision": "standard"}),
    ):
        assert r.status_code == 401 and error_codes(r) == {("", "unauthenticated")}
