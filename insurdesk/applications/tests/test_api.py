"""The applications API: first entry, blind second entry, problem items, submission, recording, rates."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from insurdesk.applications.models import Application
from insurdesk.applications.testing import second_entry_of
from insurdesk.org.services import token_issue
from insurdesk.products.tests.apiclient import BASE, as_user, error_codes


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def posted(people, app_input):
    def make(**overrides):
        r = as_user(people["clerk"]).post("/applications", app_input(**overrides))
        assert r.status_code == 201, r.json()
        return Application.objects.get(pk=r.json()["id"])

    return make


def test_first_entry_answers_201_with_the_application_and_warnings(people, app_input):
    r = as_user(people["clerk"]).post("/applications", app_input())
    body = r.json()
    assert r.status_code == 201 and body["state"] == "second_entry" and body["warnings"] == []
    assert body["policyholder"]["archive_no"] == people["husband"].archive_no
    assert [line["product_code"] for line in body["lines"]] == ["L101", "R201"]
    assert body["lines"][1]["rider_of"] == "L101" and body["total_premium"] == "15000.00"
    assert body["recording"] == {**body["recording"], "required": False, "ok": True}


def test_new_customers_travel_in_the_customer_apis_shape(people, app_input):
    body = app_input(
        insured={
            "new": {
                "kind": "individual",
                "name": "李小芳",
                "id_number": "11010519491231002x",
                "birth_date": "1949-12-31",
            }
        }
    )
    r = as_user(people["clerk"]).post("/applications", body)
    assert r.status_code == 201, r.json()
    assert r.json()["insured"]["created_in_flow"] and r.json()["insured"]["id_number"] == "11010519491231002X"


def test_refusals_have_the_customer_apis_error_shape(people, app_input):
    api = as_user(people["clerk"])
    r = api.post("/applications", app_input(total_premium="1", health_details=""))
    assert r.status_code == 422
    assert {("total_premium", "total_mismatch"), ("health_details", "required")} <= error_codes(r)
    r = api.post("/applications", app_input(relationship="other", insured_consent=False))
    assert r.status_code == 422 and ("relationship", "insurable_interest") in error_codes(r)
    r = api.post("/applications", {**app_input(), "lines": [], "payment_mode": "weekly", "surprise": 1})
    assert r.status_code == 422
    assert {("lines", "too_short"), ("payment_mode", "choice"), ("surprise", "unknown_field")} <= error_codes(
        r
    )
    r = api.post("/applications", raw="{not json")
    assert r.status_code in (400, 422) and error_codes(r)
    assert api.get("/applications/999999").status_code == 404


def test_key_fields_are_hidden_from_others_until_second_entry(people, posted):
    app = posted()
    r = as_user(people["clerk2"]).get(f"/applications/{app.pk}")
    body = r.json()
    assert r.status_code == 200 and body["key_fields_hidden"]
    assert body["lines"] is None and body["total_premium"] is None and body["policyholder"]["name"] is None
    assert as_user(people["clerk2"]).get(f"/applications/{app.pk}/problems").json() == {
        "items": [],
        "count": 0,
    }
    assert not as_user(people["clerk"]).get(f"/applications/{app.pk}").json()["key_fields_hidden"]


def test_second_entry_reports_differences_without_first_values(people, posted):
    app = posted()
    second = second_entry_of(app)
    second["lines"][0]["premium"] = "1200"
    r = as_user(people["clerk"]).post(f"/applications/{app.pk}/second-entry", second)
    assert r.status_code == 403 and error_codes(r) == {("", "same_person")}
    r = as_user(people["reviewer"]).post(f"/applications/{app.pk}/second-entry", second)
    body = r.json()
    assert r.status_code == 200 and body["state"] == "problems" and body["compared"] == 15
    assert body["mismatches"] == [
        {
            "id": body["mismatches"][0]["id"],
            "serial_no": 1,
            "field": "lines[0].premium",
            "field_label": "第1险种保费",
        }
    ]
    assert "12000" not in r.content.decode()
    r = as_user(people["reviewer"]).post(f"/applications/{app.pk}/second-entry", second)
    assert r.status_code == 409 and error_codes(r) == {("state", "illegal_transition")}


def test_problems_are_resolved_then_the_application_is_submitted(people, posted):
    app = posted()
    second = second_entry_of(app)
    second["payment_mode"] = "monthly"
    as_user(people["clerk2"]).post(f"/applications/{app.pk}/second-entry", second)
    reviewer = as_user(people["reviewer"])
    items = reviewer.get(f"/applications/{app.pk}/problems", {"open_only": "true"}).json()["items"]
    assert [(i["first_value"], i["second_value"]) for i in items] == [("annual", "monthly")]
    r = as_user(people["clerk"]).post(f"/applications/{app.pk}/submit")
    assert r.status_code == 409
    r = as_user(people["clerk"]).post(
        f"/applications/{app.pk}/problems/{items[0]['id']}/resolve", {"choice": "first", "note": "x"}
    )
    assert r.status_code == 403
    r = reviewer.post(f"/applications/{app.pk}/problems/{items[0]['id']}/resolve", {"choice": "first"})
    assert r.status_code == 422 and ("note", "required") in error_codes(r)
    r = reviewer.post(
        f"/applications/{app.pk}/problems/{items[0]['id']}/resolve", {"choice": "first", "note": "影像为年交"}
    )
    assert r.status_code == 200 and r.json()["state"] == "resolved" and r.json()["error_party"] == "second"
    r = as_user(people["clerk"]).post(f"/applications/{app.pk}/submit")
    assert r.status_code == 200 and r.json()["state"] == "underwriting"
    assert (
        reviewer.post(
            f"/applications/{app.pk}/problems/99999/resolve", {"choice": "first", "note": "x"}
        ).status_code
        == 404
    )


def test_a_problem_item_goes_out_and_its_reply_is_kept_with_who_how_and_when(people, posted):
    app = posted()
    as_user(people["clerk2"]).post(f"/applications/{app.pk}/second-entry", second_entry_of(app))
    reviewer, clerk2 = as_user(people["reviewer"]), as_user(people["clerk2"])
    r = reviewer.post(
        f"/applications/{app.pk}/problems",
        {"text": "投保人未签名", "issue_type": "unsigned", "route": "correction_desk", "arose_at": "entry"},
    )
    assert r.status_code == 201
    pid = r.json()["id"]
    r = clerk2.post(f"/applications/{app.pk}/problems/{pid}/assign", {"owner_id": people["clerk2"].pk})
    assert r.status_code == 200 and r.json()["owner"]["id"] == people["clerk2"].pk
    r = clerk2.post(f"/applications/{app.pk}/problems/{pid}/reply", {"method": "customer", "reply": "x"})
    assert r.status_code == 409 and error_codes(r) == {("state", "illegal_transition")}
    r = clerk2.post(f"/applications/{app.pk}/problems/{pid}/send", {"route": "customer"})
    body = r.json()
    assert (
        r.status_code == 200 and body["state"] == "sent" and body["route"] == "customer" and body["sent_at"]
    )
    r = clerk2.post(f"/applications/{app.pk}/problems/{pid}/reply", {"method": "fax", "reply": ""})
    assert r.status_code == 422 and {"method", "reply"} <= {f for f, _ in error_codes(r)}
    r = clerk2.post(
        f"/applications/{app.pk}/problems/{pid}/reply", {"method": "customer", "reply": "客户已补签"}
    )
    body = r.json()
    assert r.status_code == 200 and body["state"] == "replied"
    assert body["replied_by"]["id"] == people["clerk2"].pk and body["reply_method"] == "customer"
    assert body["reply_text"] == "客户已补签" and body["replied_at"] and body["arose_at"] == "entry"
    r = reviewer.post(
        f"/applications/{app.pk}/problems/{pid}/resolve", {"choice": "answered", "note": "已核对"}
    )
    assert r.status_code == 200 and r.json()["counts_as_error"] is False and r.json()["resolved_by"]
    assert as_user(people["clerk"]).post(f"/applications/{app.pk}/submit").json()["state"] == "underwriting"
    assert reviewer.post(f"/applications/{app.pk}/problems/99999/send", {}).status_code == 404


def test_patch_changes_what_is_sent_and_refuses_a_stale_version(people, posted):
    app = posted()
    api = as_user(people["clerk"])
    r = api.patch(f"/applications/{app.pk}", {"notes": "客户要求月底生效", "version": 1})
    assert r.status_code == 200 and r.json()["notes"] == "客户要求月底生效" and r.json()["version"] == 2
    r = api.patch(f"/applications/{app.pk}", {"notes": "再改", "version": 1})
    assert r.status_code == 409 and error_codes(r) == {("version", "conflict")}
    r = as_user(people["clerk2"]).patch(f"/applications/{app.pk}", {"notes": "他人"})
    assert r.status_code == 403 and error_codes(r) == {("", "not_first_entry")}


def test_queues_and_lists_page(people, posted):
    for _ in range(3):
        posted()
    api = as_user(people["reviewer"])
    r = api.get("/applications", {"queue": "second_entry", "page_size": 2})
    assert r.status_code == 200 and r.json()["count"] == 3 and len(r.json()["items"]) == 2
    # The first-entry clerk's own applications are not in its second-entry queue.
    assert as_user(people["clerk"]).get("/applications", {"queue": "second_entry"}).json()["count"] == 0
    assert api.get("/applications", {"q": "TB0000000002"}).json()["count"] == 1
    assert api.get("/applications", {"page": 9}).json() == {"items": [], "count": 3}
    r = api.get("/applications", {"queue": "nope"})
    assert r.status_code == 422 and ("queue", "choice") in error_codes(r)


def test_recording_upload_and_check(people, posted):
    app = posted()
    client = Client(headers={"Authorization": f"Bearer {token_issue(user=people['clerk'])}"})
    mp4 = b"\x00\x00\x00\x18ftypmp42".ljust(32, b"\x00")  # an MP4's first bytes: uploads are told by content
    upload = SimpleUploadedFile("sale.mp4", mp4, content_type="video/mp4")
    r = client.post(f"{BASE}/applications/{app.pk}/recording", {"file": upload, "reference": "SL-1"})
    assert r.status_code == 200, r.json()
    assert r.json()["recording"]["size"] == 32 and r.json()["recording"]["reference"] == "SL-1"
    bad = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    r = client.post(f"{BASE}/applications/{app.pk}/recording", {"file": bad})
    assert r.status_code == 422 and error_codes(r) & {("file", "content_type"), ("file", "extension")}
    r = as_user(people["compliance"]).post(
        f"/applications/{app.pk}/recording/check", {"passed": True, "note": "合格"}
    )
    assert r.status_code == 200 and r.json()["recording"]["checked_by"]["id"] == people["compliance"].pk


def test_entry_error_rates(people, posted):
    app = posted()
    as_user(people["clerk2"]).post(f"/applications/{app.pk}/second-entry", second_entry_of(app))
    r = as_user(people["reviewer"]).get("/applications/stats/entry-errors")
    assert r.status_code == 200 and r.json()["count"] == 2
    assert {i["user"]["id"] for i in r.json()["items"]} == {people["clerk"].pk, people["clerk2"].pk}
    assert as_user(people["clerk"]).get("/applications/stats/entry-errors").status_code == 403


def test_sensitive_values_are_masked_for_roles_that_see_masks(people, posted):
    app = posted()
    second = second_entry_of(app)
    second["insured"]["id_number"] = second["insured"]["id_number"][:-1] + "0"
    as_user(people["clerk2"]).post(f"/applications/{app.pk}/second-entry", second)
    cs = as_user(people["agent"])  # the agent of the application sees masks
    body = cs.get(f"/applications/{app.pk}").json()
    assert "*" in body["insured"]["id_number"]
    item = cs.get(f"/applications/{app.pk}/problems").json()["items"][0]
    assert "*" in item["first_value"] and "*" in item["second_value"]
