"""The claims endpoints (`/api/v1/claims`): the published contract's names, codes and status codes."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from insurdesk.api.tests.client import as_user, error_codes

TODAY = datetime.date.today()


def _report(api, policy, **overrides):
    body = {
        "policy_no": policy.policy_no,
        "claim_type": "medical",
        "event_date": (TODAY - datetime.timedelta(days=2)).isoformat(),
        "reporter": {"name": "王芳", "relation": "本人", "phone": "13900001111"},
        "description": "住院",
        "amount_claimed": "6000.00",
    }
    body.update(overrides)
    return api.post("/claims", body)


def test_a_report_answers_201_with_number_state_documents_and_deadlines(cw):
    api = as_user(cw.cs)
    r = _report(api, cw.health)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["claim_no"].startswith("LP") and body["state"] == "reported"
    assert body["documents"][0] == {"code": "claim_form", "label": "理赔申请书", "received_on": None}
    assert body["deadlines"] == [] and body["reporter"]["phone"] == "139****1111"  # cs sees masks
    assert as_user(cw.handler).get(f"/claims/{body['id']}").json()["reporter"]["phone"] == "13900001111"


def test_a_report_is_refused_with_field_code_and_message(cw):
    api = as_user(cw.cs)
    r = _report(
        api, cw.health, event_date=(cw.health.effective_date - datetime.timedelta(days=1)).isoformat()
    )
    assert r.status_code == 422 and error_codes(r) == {("event_date", "before_effective")}
    r = _report(api, cw.health, claim_type="flood")
    assert r.status_code == 422 and ("claim_type", "choice") in error_codes(r)
    r = _report(api, cw.health, policy_no="NOSUCH")
    assert r.status_code == 422 and error_codes(r) == {("policy_no", "not_found")}
    r = _report(api, cw.health, reporter={"name": "", "relation": "本人", "phone": "12345"})
    assert r.status_code == 422 and error_codes(r) == {
        ("reporter.name", "required"),
        ("reporter.phone", "format"),
    }
    assert _report(as_user(cw.clerk), cw.health).status_code == 403


def test_a_claim_goes_through_every_step_and_an_illegal_one_is_409_state(cw):
    api = as_user(cw.handler)
    claim = _report(as_user(cw.cs), cw.health).json()
    cid = claim["id"]
    r = api.post(f"/claims/{cid}/pay", {"method": "transfer"})
    assert r.status_code == 409 and error_codes(r) == {("state", "state")}
    assert api.get(f"/claims/{cid}").json()["state"] == "reported"
    codes = [d["code"] for d in claim["documents"]]
    r = api.post(f"/claims/{cid}/documents", {"received": codes[:3], "notify_missing": True})
    assert r.status_code == 200 and r.json()["notices"][0]["kind"] == "documents"
    r = api.post(f"/claims/{cid}/documents", {"received": codes[3:]})
    body = r.json()
    assert body["state"] == "reviewing" and body["next_deadline_kind"] == "decision"
    assert body["deadlines"][0]["due"] == (TODAY + datetime.timedelta(days=30)).isoformat()
    r = api.post(f"/claims/{cid}/assess", {"findings": "合理", "covered_amount": "6000"})
    assert r.json()["assessment"]["payable"] == "4720.00"
    r = api.post(f"/claims/{cid}/decide", {"decision": "part_pay", "amount": "4000", "reasons": "部分自费"})
    assert r.json()["state"] == "approved" and r.json()["approvals_needed"] == 0
    r = api.post(f"/claims/{cid}/pay", {"method": "transfer", "amount": "4000"})
    assert r.json()["state"] == "paid" and r.json()["payments"][0]["payee"] == "王芳"
    assert api.post(f"/claims/{cid}/pay", {"method": "transfer"}).status_code == 409
    r = api.post(f"/claims/{cid}/close", {})
    assert r.json()["state"] == "closed"
    r = api.post(f"/claims/{cid}/reopen", {})
    assert r.status_code == 422 and error_codes(r) == {("reason", "required")}
    r = api.post(f"/claims/{cid}/reopen", {"reason": "新发票"})
    assert r.json()["state"] == "reviewing"
    actions = [e["action"] for e in r.json()["timeline"]]
    assert actions[:2] == ["reopen", "close"] and actions[-1] == "report"


def test_the_queue_filters_by_state_overdue_and_policy_sorted_by_deadline(cw):
    api = as_user(cw.handler)
    ids = [_report(as_user(cw.cs), cw.health).json()["id"] for _ in range(3)]
    from insurdesk.claims.models import Claim

    Claim.objects.filter(pk=ids[1]).update(
        next_deadline=TODAY - datetime.timedelta(days=1), deadline_kind="decision"
    )
    Claim.objects.filter(pk=ids[2]).update(
        next_deadline=TODAY + datetime.timedelta(days=5), deadline_kind="decision"
    )
    with CaptureQueriesContext(connection) as queries:
        r = api.get("/claims", {"policy_id": cw.health.pk})
    assert len(queries) <= 6
    assert [c["id"] for c in r.json()["items"]] == [ids[1], ids[2], ids[0]]
    overdue = api.get("/claims", {"overdue": "true"}).json()
    assert [c["id"] for c in overdue["items"]] == [ids[1]] and overdue["items"][0]["overdue"] is True
    assert api.get("/claims", {"state": "paid"}).json()["count"] == 0
    assert as_user(cw.gz_handler).get(f"/claims/{ids[0]}").status_code == 404
