"""The compliance endpoints: shapes, refusals in the published error body, idempotence, conflicts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from insurdesk.compliance.models import RectificationTask
from insurdesk.compliance.services import compliance_check_run
from insurdesk.compliance.tests.apiclient import as_user, error_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(officer):
    return as_user(officer)


def test_a_queue_page_and_an_unknown_queue(api, person):
    c = person(id_valid_to=timezone.localdate() - timedelta(days=1))
    body = api.get("/compliance/queues/expired_ids").json()
    assert body["count"] == 1 and body["items"][0]["archive_no"] == c.archive_no
    r = api.get("/compliance/queues/nope")
    assert r.status_code == 404 and error_codes(r) == {("name", "not_found")}
    assert api.get("/compliance/queues/reviews_due", {"window": "-1"}).status_code == 422


def test_rate_then_read_the_customer_s_aml_record(api, person):
    c = person(occupation="虚拟货币交易", id_valid_to=timezone.localdate() - timedelta(days=1))
    r = api.post(f"/compliance/customers/{c.pk}/aml/rate")
    assert r.status_code == 200 and r.json()["level"] == "medium" and r.json()["level_changed"]
    assert r.json()["reasons"][0]["code"] == "occupation"
    again = api.post(f"/compliance/customers/{c.pk}/aml/rate").json()
    assert again["assessment_id"] is None and not again["level_changed"]
    body = api.get(f"/compliance/customers/{c.pk}/aml").json()
    assert body["customer"]["aml_risk"] == "medium" and len(body["assessments"]) == 1
    assert "过期" in body["blocked_for_new_business"]


def test_a_review_and_its_refusals(api, person):
    c = person()
    r = api.post(
        f"/compliance/customers/{c.pk}/aml/reviews",
        {"conclusion": "raise", "level": "medium", "note": "客户职业变更为典当"},
    )
    assert r.status_code == 201 and r.json()["level_after"] == "medium" and r.json()["reviewer"] == "officer"
    r = api.post(
        f"/compliance/customers/{c.pk}/aml/reviews", {"conclusion": "raise", "level": "low", "note": "x"}
    )
    assert r.status_code == 422 and error_codes(r) == {("level", "not_higher")}
    r = api.post(f"/compliance/customers/{c.pk}/aml/reviews", {"conclusion": "maybe"})
    assert r.status_code == 422 and error_codes(r) == {("conclusion", "choice")}
    r = api.post(f"/compliance/customers/{c.pk}/aml/reviews", {"conclusion": "maintain", "extra": 1})
    assert r.status_code == 422 and error_codes(r) == {("extra", "unknown_field")}
    assert api.get("/compliance/customers/99999999999999999999/aml").status_code in (404, 422)


def test_consents_over_the_api(api, person):
    c = person()
    r = api.post(f"/compliance/customers/{c.pk}/consents", {"purpose": "sensitive", "channel": "app"})
    assert r.status_code == 201 and r.json()["withdrawn_at"] is None
    dup = api.post(f"/compliance/customers/{c.pk}/consents", {"purpose": "sensitive", "channel": "web"})
    assert dup.status_code == 409 and error_codes(dup) == {("purpose", "duplicate")}
    w = api.post(f"/compliance/consents/{r.json()['id']}/withdraw", {"channel": "app"})
    assert w.status_code == 200 and w.json()["withdrawn_channel"] == "app"
    again = api.post(f"/compliance/consents/{r.json()['id']}/withdraw", {"channel": "app"})
    assert again.status_code == 409
    assert api.get(f"/compliance/customers/{c.pk}/consents").json()["count"] == 1


def test_a_flag_raised_twice_with_one_reference_is_one_flag(api, person):
    c = person()
    body = {
        "customer_id": c.pk,
        "kind": "large_cash",
        "amount": "20000.00",
        "reason": "现金",
        "reference": "X1",
    }
    first, second = api.post("/compliance/flags", body), api.post("/compliance/flags", body)
    assert first.status_code == 201 and first.json()["created"]
    assert (
        second.status_code == 200
        and not second.json()["created"]
        and second.json()["id"] == first.json()["id"]
    )
    assert api.get("/compliance/flags", {"state": "open"}).json()["count"] == 1
    r = api.post(f"/compliance/flags/{first.json()['id']}/review", {"decision": "dismiss"})
    assert r.status_code == 422 and error_codes(r) == {("note", "required")}
    r = api.post(f"/compliance/flags/{first.json()['id']}/review", {"decision": "report"})
    assert r.status_code == 200 and r.json()["state"] == "reported"
    assert api.get(f"/compliance/customers/{c.pk}/aml").json()["customer"]["aml_risk"] == "high"
    bad = api.post("/compliance/flags", {**body, "customer_id": 2**63})
    assert bad.status_code == 422


def test_checks_findings_and_tasks_over_the_api(api, person, officer):
    person(pep=True)
    r = api.post("/compliance/checks/run", {"checks": ["pep_not_high"]})
    assert r.status_code == 200 and r.json()["counts"]["pep_not_high"]["new"] == 1
    assert api.post("/compliance/checks/run", {"checks": ["nope"]}).status_code == 422
    findings = api.get("/compliance/findings").json()
    assert findings["count"] == 1 and findings["items"][0]["task"]["state"] == "open"
    task = api.get("/compliance/tasks", {"state": "open_all"}).json()["items"][0]
    r = api.post(
        f"/compliance/tasks/{task['id']}/transition", {"transition": "start", "version": task["version"]}
    )
    assert r.status_code == 200 and r.json()["state"] == "in_progress"
    stale = api.post(f"/compliance/tasks/{task['id']}/transition", {"transition": "complete", "version": 1})
    assert stale.status_code == 409 and error_codes(stale) == {("version", "conflict")}
    r = api.post(f"/compliance/tasks/{task['id']}/assign", {"owner_id": officer.pk})
    assert r.status_code == 200 and r.json()["owner"] == "officer"
    r = api.post(f"/compliance/tasks/{task['id']}/transition", {"transition": "verify"})
    assert r.status_code == 409 and error_codes(r) == {("state", "illegal_transition")}
    assert api.get("/compliance/tasks", {"overdue": "true"}).json()["count"] == 0


def test_personal_information_requests_over_the_api(api, person):
    c = person()
    r = api.post("/compliance/pi-requests", {"customer_id": c.pk, "kind": "deletion", "channel": "web"})
    assert (
        r.status_code == 201 and r.json()["retention_hold"] and r.json()["due_on"] > r.json()["received_on"]
    )
    rid = r.json()["id"]
    r = api.post(f"/compliance/pi-requests/{rid}/close", {"outcome": "fulfilled", "note": "已删除"})
    assert r.status_code == 422 and error_codes(r) == {("outcome", "retention_period")}
    r = api.post(f"/compliance/pi-requests/{rid}/close", {"outcome": "retained"})
    assert r.status_code == 200 and r.json()["state"] == "closed" and "仅存储" in r.json()["outcome_note"]
    assert api.get("/compliance/pi-requests", {"state": "closed"}).json()["count"] == 1


def test_list_endpoints_are_scoped(person, make_user):
    c = person("GZ", pep=True)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    api = as_user(make_user("compliance", "SZ"))
    assert api.get("/compliance/findings").json()["count"] == 0
    assert api.get("/compliance/tasks", {"state": "open_all"}).json()["count"] == 0
    task = RectificationTask.objects.get()
    assert api.post(f"/compliance/tasks/{task.pk}/transition", {"transition": "start"}).status_code == 404
    assert api.get(f"/compliance/customers/{c.pk}/aml").status_code == 404
