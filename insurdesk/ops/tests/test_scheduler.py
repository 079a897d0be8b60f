"""The scheduler: the due period, one run per period across servers (a lease); the worker heartbeat."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from insurdesk.common.schedule import Job
from insurdesk.ops import leases
from insurdesk.ops.models import ScheduledRun, WorkerHeartbeat
from insurdesk.ops.scheduler import tick
from insurdesk.ops.worker import beat, requeue_orphans

pytestmark = pytest.mark.django_db
TZ = datetime.timezone(datetime.timedelta(hours=8))


def _at(day, h, m):
    return datetime.datetime(2026, 12, day, h, m, tzinfo=TZ)


def test_a_daily_job_is_due_for_today_only_after_its_time():
    job = Job("x", "day", lambda: (1, datetime.time(1, 30)), lambda p: "")
    assert job.due_period(_at(8, 1, 29)) == "2026-12-07"
    assert job.due_period(_at(8, 1, 30)) == "2026-12-08"


def test_a_monthly_job_is_due_for_the_month_after_its_day_and_time():
    job = Job("m", "month", lambda: (1, datetime.time(2, 0)), lambda p: "")
    assert job.due_period(_at(1, 1, 59)) == "2026-11"
    assert job.due_period(_at(1, 2, 0)) == "2026-12"
    assert job.due_period(_at(31, 23, 0)) == "2026-12"


def test_the_daily_duties_run_once_and_a_second_server_finds_them_done(settings):
    from insurdesk.common.models import DailyRun

    now = timezone.now()
    first = tick("server-a", now=now)
    assert "ran" in first["daily"], first
    period = (
        timezone.localdate(now)
        if timezone.localtime(now).time() >= settings.INSURDESK_DAILY_AT
        else (timezone.localdate(now) - datetime.timedelta(days=1))
    )
    assert DailyRun.objects.filter(day=period).count() >= 2  # lapse, maturity, …
    second = tick("server-b", now=now)
    assert second["daily"].endswith("done")
    assert ScheduledRun.objects.filter(job="daily", ok=True).count() == 1


def test_a_server_holding_the_lease_keeps_the_others_out_until_it_lapses():
    assert leases.acquire("job:daily", "server-a", seconds=300)
    assert tick("server-b")["daily"].endswith("held by another server")
    assert not ScheduledRun.objects.exists()
    # server-a died without releasing: the lease runs out and another server takes over
    from insurdesk.ops.models import Lease

    Lease.objects.filter(name="job:daily").update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert "ran" in tick("server-b")["daily"]


def test_a_failed_run_is_recorded_and_retried_later_not_at_every_tick(monkeypatch):
    from insurdesk.common import schedule

    calls = []

    def boom(period):
        calls.append(period)
        raise RuntimeError("disk full")

    monkeypatch.setitem(schedule._JOBS, "daily", Job("daily", "day", lambda: (1, datetime.time(0, 0)), boom))
    out = tick("server-a")
    assert "failed: RuntimeError: disk full" in out["daily"]
    assert tick("server-a")["daily"].endswith("done") and len(calls) == 1
    run = ScheduledRun.objects.get()
    ScheduledRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - datetime.timedelta(minutes=11))
    tick("server-a")
    assert len(calls) == 2


def test_a_dead_workers_running_task_goes_back_to_the_queue_then_fails_after_the_attempts(settings):
    from django_tasks_db.models import DBTaskResult

    from insurdesk.webhooks.tasks import deliver

    settings.INSURDESK_TASK_MAX_ATTEMPTS = 2
    result = deliver.enqueue(1)
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim("worker-dead")
    beat("worker-dead", started_at=timezone.now())
    beat("worker-alive", started_at=timezone.now())
    assert requeue_orphans() == []  # both beat just now

    WorkerHeartbeat.objects.filter(worker_id="worker-dead").update(
        seen_at=timezone.now() - datetime.timedelta(seconds=settings.INSURDESK_WORKER_STALE_SECONDS + 1)
    )
    assert requeue_orphans() == [str(row.pk)]
    row.refresh_from_db()
    assert row.status == "READY"

    row.claim("worker-dead")  # claimed again, and that worker dies again
    assert requeue_orphans() == []
    row.refresh_from_db()
    assert row.status == "FAILED" and "died while running" in row.traceback


def test_a_live_workers_task_is_left_alone():
    from django_tasks_db.models import DBTaskResult

    from insurdesk.webhooks.tasks import deliver

    row = DBTaskResult.objects.get(pk=deliver.enqueue(1).id)
    row.claim("worker-alive")
    beat("worker-alive", started_at=timezone.now())
    assert requeue_orphans() == []
    row.refresh_from_db()
    assert row.status == "RUNNING"
