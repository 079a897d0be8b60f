"""`/api/v1/lifecycle`: rules, the due list, one archive's periods, request, approve by another person."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.customers.models import Customer
from insurdesk.lifecycle.services import ANONYMOUS_NAME
from insurdesk.org.models import Role
from insurdesk.org.policy import POLICY

REASON = "保存期限届满，客户已无业务往来"


def test_rules_are_published_with_their_sources(people):
    r = as_user(people.officer).get("/lifecycle/rules")
    assert r.status_code == 200
    rules = {rule["code"]: rule for rule in r.json()}
    assert rules["aml_identity"]["years"] == 10 and "第三十四条" in rules["aml_identity"]["source"]
    assert rules["sales_recording_short"]["years"] == 5 and rules["sales_recording_long"]["years"] == 10


def test_retention_of_one_archive_explains_the_refusal(people, old_customer):
    c = old_customer(years=4)
    body = as_user(people.officer).get(f"/lifecycle/customers/{c.pk}/retention").json()
    assert body["due"] is False and body["binding_rule"] == "aml_identity"
    assert body["ends_on"] in body["refusal"] and "反洗钱法" in body["refusal"]
    assert {o["rule"] for o in body["outcomes"]} == {"aml_identity", "personal_info"}


def test_request_and_approval_by_two_people(people, old_customer):
    c = old_customer()
    officer, officer2 = as_user(people.officer), as_user(people.officer2)
    due = officer.get("/lifecycle/due").json()
    assert [item["customer_id"] for item in due["items"]] == [c.pk] and due["count"] == 1

    r = officer.post(f"/lifecycle/customers/{c.pk}/destruction", {"reason": REASON})
    assert r.status_code == 201, r.json()
    req = r.json()
    assert req["state"] == "requested" and req["rule"] == "aml_identity"
    assert officer.get("/lifecycle/due").json()["items"][0]["open_request_id"] == req["id"]

    r = officer.post(f"/lifecycle/customers/{c.pk}/destruction/approve", {"request_id": req["id"]})
    assert r.status_code == 403 and error_codes(r) == {("", "same_person")}

    r = officer2.post(
        f"/lifecycle/customers/{c.pk}/destruction/approve", {"request_id": req["id"], "note": "同意"}
    )
    assert r.status_code == 200, r.json()
    record = r.json()
    assert record["requested_by"] == "officer" and record["approved_by"] == "officer2"
    assert record["counts"]["history_rows"] >= 2
    assert Customer.objects.get(pk=c.pk).name == ANONYMOUS_NAME

    r = officer2.post(f"/lifecycle/customers/{c.pk}/destruction/approve", {"request_id": req["id"]})
    assert r.status_code == 409
    assert officer.get("/lifecycle/records").json()["count"] == 1
    assert officer.get("/lifecycle/requests", {"state": "done"}).json()["items"][0]["id"] == req["id"]
    assert officer.get("/lifecycle/due").json()["count"] == 0


def test_a_request_while_retention_runs_is_409_naming_the_rule(people, old_customer):
    c = old_customer(years=1)
    r = as_user(people.officer).post(f"/lifecycle/customers/{c.pk}/destruction", {"reason": REASON})
    assert r.status_code == 409 and error_codes(r) == {("customer_id", "retention_running")}
    assert "客户身份资料" in r.json()["errors"][0]["message"]


def test_reject_needs_a_note_and_withdraw_only_by_the_requester(people, old_customer):
    c = old_customer()
    officer, officer2 = as_user(people.officer), as_user(people.officer2)
    req = officer.post(f"/lifecycle/customers/{c.pk}/destruction", {"reason": REASON}).json()
    r = officer2.post(f"/lifecycle/customers/{c.pk}/destruction/reject", {"request_id": req["id"]})
    assert r.status_code == 422 and error_codes(r) == {("note", "required")}
    r = officer2.post(f"/lifecycle/customers/{c.pk}/destruction/withdraw", {"request_id": req["id"]})
    assert r.status_code == 403
    r = officer.post(f"/lifecycle/customers/{c.pk}/destruction/withdraw", {"request_id": req["id"]})
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"


@pytest.mark.parametrize("role", Role.values)
def test_roles_follow_the_declared_policy(make_user, old_customer, role):
    c = old_customer()
    api = as_user(make_user(role, "HQ"))
    view = 200 if role in POLICY["lifecycle.view"] else 403
    assert api.get("/lifecycle/due").status_code == view
    assert api.get(f"/lifecycle/customers/{c.pk}/retention").status_code == view
    r = api.post(f"/lifecycle/customers/{c.pk}/destruction", {"reason": REASON})
    assert r.status_code == (201 if role in POLICY["lifecycle.request"] else 403)


def test_the_due_list_costs_the_same_queries_for_one_or_many(people, old_customer):
    api = as_user(people.officer)
    old_customer()
    api.get("/lifecycle/due")
    with CaptureQueriesContext(connection) as one:
        assert api.get("/lifecycle/due").json()["count"] == 1
    for _ in range(5):
        old_customer()
    with CaptureQueriesContext(connection) as many:
        assert api.get("/lifecycle/due").json()["count"] == 6
    assert len(many) == len(one)
