# ruff: noqa: E501 - tables of Chinese test data read best one row per line
"""/api/v1/imports and /api/v1/exports with a bearer token, by role."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from insurdesk.audit.models import AuditEntry
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_create
from insurdesk.exchange.tests.conftest import FILES
from insurdesk.org.services import token_issue

pytestmark = pytest.mark.django_db


def api(user) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_issue(user=user)}"})


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_an_upload_answers_202_and_the_run_reports_progress_and_problems(make_user, run_tasks):
    client = api(make_user("clerk"))
    with open(FILES / "damaged_utf8.csv", "rb") as f:
        response = client.post("/api/v1/imports", {"file": f})

    assert response.status_code == 202, response.content
    run = response.json()
    assert (
        run["status"] == "queued" and run["file_name"] == "damaged_utf8.csv" and len(run["file_sha256"]) == 64
    )
    run_tasks()
    done = client.get(f"/api/v1/imports/{run['id']}").json()
    assert done["status"] == "done" and done["created"] == 2 and done["refused"] == 17
    report = client.get(f"/api/v1/imports/{run['id']}/report", {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(body(report).decode("utf-8-sig"))))
    assert {r["规则"] for r in rows} >= {"id_damaged", "masked", "checksum", "unknown_column"}
    assert client.get("/api/v1/imports").json()["count"] == 1


def test_a_bad_upload_is_refused_in_the_error_shape(make_user):
    client = api(make_user("clerk"))
    response = client.post("/api/v1/imports", {"file": io.BytesIO(b"MZ\x90")})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "file" and error["message"]


def test_imports_are_refused_to_roles_without_the_action(make_user):
    for role in ("agent", "cs", "compliance"):
        with open(FILES / "archive_utf8.csv", "rb") as f:
            assert api(make_user(role)).post("/api/v1/imports", {"file": f}).status_code == 403


def test_another_users_run_does_not_exist(make_user, run_tasks):
    with open(FILES / "archive_utf8.csv", "rb") as f:
        run = api(make_user("clerk")).post("/api/v1/imports", {"file": f}).json()
    other = api(make_user("clerk"))
    assert other.get(f"/api/v1/imports/{run['id']}").status_code == 404
    assert other.get(f"/api/v1/imports/{run['id']}/report").status_code == 404


def test_customer_list_export_through_the_api_is_masked_and_recorded(make_user, units, individual_data):
    customer_create(actor=None, kind="individual", data=individual_data(name="张三", unit_id=units["SZ"].pk))
    manager = make_user("manager", "SZ")

    response = api(manager).get("/api/v1/exports/customers", {"format": "csv", "q": "张"})

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))
    assert rows[1][2] == "张三" and "*" in rows[1][4]
    entry = AuditEntry.objects.get(action="exchange.export")
    assert (
        entry.actor_id == manager.pk and entry.detail["rows"] == 1 and entry.detail["filter"] == {"q": "张"}
    )
    assert api(manager).get("/api/v1/exports/nothing").status_code == 404
    assert api(make_user("agent")).get("/api/v1/exports/customers").status_code == 403


def test_a_customers_whole_file_through_the_api_needs_a_reference(make_user, units, individual_data):
    c = customer_create(actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk))[0]
    client = api(make_user("compliance", "HQ"))
    assert client.get(f"/api/v1/exports/customers/{c.pk}/file").status_code == 422
    response = client.get(f"/api/v1/exports/customers/{c.pk}/file", {"reference": "PI-1"})
    assert response.status_code == 200 and body(response)[:2] == b"PK"
    assert AuditEntry.objects.get(action="customer.export_file").detail["reference"] == "PI-1"
    assert Customer.objects.count() == 1
