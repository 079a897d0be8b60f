"""/healthz, /readyz and /metrics as a load balancer and Prometheus see them; request logs as JSON lines."""

from __future__ import annotations

import datetime
import json
import logging

import pytest
from django.test import Client
from django.utils import timezone

from insurdesk.common.daily import duties
from insurdesk.common.models import DailyRun
from insurdesk.ops.health import daily_due_day
from insurdesk.ops.logs import JsonFormatter
from insurdesk.ops.worker import beat

pytestmark = pytest.mark.django_db


def _all_duties_done(day):
    now = timezone.now()
    for d in duties():
        DailyRun.objects.create(day=day, duty=d.name, counts={}, started_at=now, finished_at=now)


def test_healthz_answers_while_the_process_runs():
    r = Client().get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r["Cache-Control"].startswith("max-age=0")


def test_readyz_names_what_is_missing_then_answers_200():
    r = Client().get("/readyz")
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["storage"] == {"ok": True}
    assert checks["migrations"] == {"ok": True}
    assert not checks["worker"]["ok"] and "db_worker" in checks["worker"]["error"]
    assert not checks["daily"]["ok"] and "not run" in checks["daily"]["error"]

    beat("worker-a", started_at=timezone.now())
    _all_duties_done(daily_due_day(timezone.now()))
    r = Client().get("/readyz")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "ok"


def test_a_stale_worker_heartbeat_is_not_ready(settings):
    from insurdesk.ops.models import WorkerHeartbeat

    beat("worker-a", started_at=timezone.now())
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - datetime.timedelta(minutes=5))
    assert Client().get("/readyz").json()["checks"]["worker"]["ok"] is False


def test_the_daily_run_is_due_after_its_time_and_grace(settings):
    settings.INSURDESK_DAILY_AT = datetime.time(1, 30)
    settings.INSURDESK_DAILY_GRACE_MINUTES = 60
    tz = timezone.get_current_timezone()
    at = lambda h, m: datetime.datetime(2026, 12, 8, h, m, tzinfo=tz)  # noqa: E731
    assert daily_due_day(at(2, 29)) == datetime.date(2026, 12, 7)
    assert daily_due_day(at(2, 30)) == datetime.date(2026, 12, 8)
    assert daily_due_day(at(0, 10)) == datetime.date(2026, 12, 7)


def test_metrics_only_for_allowed_addresses_or_the_token(settings):
    settings.INSURDESK_METRICS_TOKEN = "scrape-token-123"
    assert Client().get("/metrics").status_code == 200  # the test client calls from 127.0.0.1
    far = Client(REMOTE_ADDR="203.0.113.9")
    refused = far.get("/metrics")
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "forbidden"
    assert far.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert far.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123").status_code == 200


def test_metrics_count_requests_by_route_and_read_the_tables(make_user):
    from insurdesk.audit.services import audit_log

    client = Client()
    client.get("/healthz")
    client.get("/healthz")
    audit_log(actor=None, action="test.entry", target_type="x", target_id="1")
    body = client.get("/metrics").content.decode()
    line = next(
        x
        for x in body.splitlines()
        if x.startswith("insurdesk_http_requests_total{") and 'route="healthz"' in x
    )
    assert 'method="GET"' in line and 'status="200"' in line and float(line.rsplit(" ", 1)[1]) >= 2
    assert 'insurdesk_http_request_duration_seconds_bucket{le="0.005",route="healthz"}' in body
    for name in (
        'insurdesk_jobs{status="ready"}',
        "insurdesk_job_workers_alive",
        "insurdesk_audit_chain_length",
        "insurdesk_daily_job_seconds",
        "insurdesk_import_rows_per_second",
    ):
        assert name in body
    chain = next(x for x in body.splitlines() if x.startswith("insurdesk_audit_chain_length "))
    assert float(chain.split()[1]) >= 1


def test_every_request_is_one_json_line_with_its_id_and_no_personal_data(caplog, make_user):
    user = make_user("clerk")
    client = Client()
    client.force_login(user)
    with caplog.at_level(logging.INFO, logger="insurdesk.request"):
        r = client.get("/customers/?q=张三", HTTP_X_REQUEST_ID="req-abc.123")
    assert r["X-Request-ID"] == "req-abc.123"
    (record,) = [x for x in caplog.records if x.name == "insurdesk.request"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-abc.123"
    assert line["route"] == "customers:list" and line["status"] == 200 and line["user_id"] == user.pk
    assert line["duration_ms"] >= 0
    assert "张三" not in json.dumps(line, ensure_ascii=False) and user.username not in json.dumps(line)


def test_a_request_id_that_is_not_plain_is_replaced():
    r = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert r["X-Request-ID"] != "bad id\nwith newline" and len(r["X-Request-ID"]) == 32
