"""The scheduler beside `insurdesk serve`: runs each registered job once per period across all servers.

Every INSURDESK_SCHEDULER_INTERVAL seconds it looks at each job (insurdesk.common.schedule): the latest
period whose time has passed (the daily duties: today after INSURDESK_DAILY_AT, 01:30 local by
default, else yesterday) that has no successful run yet is run by the server that takes the job's
lease (insurdesk.ops.leases); the others see the lease held, then the run recorded, and do nothing.
A server that was down at the set time runs the missed period when it starts, and `insurdesk daily`
itself catches up the days before it.
"""

from __future__ import annotations

import datetime
import io
import logging
import os
import signal
import socket
import threading
import uuid

from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections
from django.utils import timezone

from insurdesk.common.schedule import Job, jobs, scheduled
from insurdesk.ops import leases
from insurdesk.ops.models import ScheduledRun

log = logging.getLogger(__name__)

LEASE_SECONDS = 300
# A failed run is tried again after this long, not at every tick.
RETRY_AFTER = datetime.timedelta(minutes=10)


def daily_at() -> tuple[int, datetime.time]:
    return 1, settings.INSURDESK_DAILY_AT


@scheduled("daily", every="day", at=daily_at)
def run_daily(period: str) -> str:
    out = io.StringIO()
    call_command("daily", date=datetime.date.fromisoformat(period), stdout=out)
    lines = out.getvalue().strip().splitlines()
    return lines[-1] if lines else ""


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def done(job: Job, period: str, now: datetime.datetime) -> bool:
    """Tell whether the period already ran, or failed so recently that it waits before a retry."""
    runs = ScheduledRun.objects.filter(job=job.name, period=period)
    return runs.filter(ok=True).exists() or runs.filter(ok=False, finished_at__gt=now - RETRY_AFTER).exists()


class _Renewer(threading.Thread):
    def __init__(self, name: str, holder: str):
        super().__init__(daemon=True)
        self.lease, self.holder, self.stopped = name, holder, threading.Event()

    def run(self):
        from django.db import connection

        while not self.stopped.wait(LEASE_SECONDS / 5):
            try:
                leases.renew(self.lease, self.holder, seconds=LEASE_SECONDS)
            except Exception:
                log.exception("scheduler: renewing lease %s failed", self.lease)
            finally:
                connection.close()


def tick(holder: str, *, now: datetime.datetime | None = None) -> dict[str, str]:
    """Run every job whose period is due and not yet run; return {job: what happened}."""
    now = timezone.localtime(now or timezone.now())
    outcome = {}
    for job in jobs():
        period = job.due_period(now)
        if done(job, period, now):
            outcome[job.name] = f"{period} done"
            continue
        lease = f"job:{job.name}"
        if not leases.acquire(lease, holder, seconds=LEASE_SECONDS):
            outcome[job.name] = f"{period} held by another server"
            continue
        renewer = _Renewer(lease, holder)
        renewer.start()
        try:
            if done(job, period, timezone.now()):  # finished by another server before the lease passed
                outcome[job.name] = f"{period} done"
                continue
            run = ScheduledRun.objects.create(
                job=job.name, period=period, holder=holder, started_at=timezone.now()
            )
            try:
                message = job.run(period)
            except Exception as exc:
                log.exception("scheduled job %s %s failed", job.name, period)
                run.ok, run.message = False, f"{type(exc).__name__}: {exc}"[:2000]
            else:
                run.ok, run.message = True, message
            run.finished_at = timezone.now()
            run.save(update_fields=["ok", "message", "finished_at"])
            outcome[job.name] = f"{period} {'ran' if run.ok else 'failed'}: {run.message}"
            log.info("scheduled job %s %s: %s", job.name, period, outcome[job.name])
        finally:
            renewer.stopped.set()
            leases.release(lease, holder)
    return outcome


def loop(*, interval: float, once: bool = False, write=lambda line: None) -> None:
    holder = holder_name()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        try:
            close_old_connections()
            for name, what in tick(holder).items():
                if not what.endswith(" done"):
                    write(f"{name}: {what}")
        except Exception:
            log.exception("scheduler tick failed")
        if once:
            return
        stop.wait(interval)
