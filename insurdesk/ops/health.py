"""What /readyz checks: database, file storage, migrations, the job worker's heartbeat, the daily run."""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from insurdesk.common.daily import duties
from insurdesk.common.models import DailyRun

_migrated = False


def check_database() -> str | None:
    for alias in settings.DATABASES:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    return None


def check_storage() -> str | None:
    name = default_storage.save(f"health/probe-{uuid.uuid4().hex}", ContentFile(b"ok"))
    default_storage.delete(name)
    return None


def check_migrations() -> str | None:
    global _migrated
    if _migrated:
        return None  # applied migrations are not un-applied under a running server
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return f"{len(plan)} migrations not applied (run insurdesk migrate)"
    _migrated = True
    return None


def check_worker() -> str | None:
    from insurdesk.ops.worker import alive_workers

    if alive_workers() == 0:
        return (
            f"no job worker has beaten in the last {settings.INSURDESK_WORKER_STALE_SECONDS} s "
            "(insurdesk db_worker)"
        )
    return None


def daily_due_day(now: datetime.datetime) -> datetime.date:
    """The last business day whose daily run must be finished by now (its time plus the grace)."""
    local = timezone.localtime(now) - datetime.timedelta(minutes=settings.INSURDESK_DAILY_GRACE_MINUTES)
    at = settings.INSURDESK_DAILY_AT
    return local.date() if local.time() >= at else local.date() - datetime.timedelta(days=1)


def check_daily(now: datetime.datetime | None = None) -> str | None:
    day = daily_due_day(now or timezone.now())
    names = {d.name for d in duties()}
    done = set(DailyRun.objects.filter(day=day, duty__in=names).values_list("duty", flat=True))
    missing = sorted(names - done)
    if missing:
        return f"daily duties of {day} not run: {', '.join(missing)}"
    return None


CHECKS = {
    "database": check_database,
    "storage": check_storage,
    "migrations": check_migrations,
    "worker": check_worker,
    "daily": check_daily,
}


def readiness() -> tuple[bool, dict]:
    results = {}
    for name, check in CHECKS.items():
        try:
            problem = check()
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"[:300]
        results[name] = {"ok": problem is None, **({"error": problem} if problem else {})}
        if name == "database" and problem:
            # Nothing else can be read without the database.
            for rest in list(CHECKS)[1:]:
                if rest != "storage":
                    results[rest] = {"ok": False, "error": "database unavailable"}
            results["storage"] = {"ok": check_storage_safe()}
            break
    return all(r["ok"] for r in results.values()), results


def check_storage_safe() -> bool:
    try:
        return check_storage() is None
    except Exception:
        return False
