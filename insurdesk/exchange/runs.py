"""Who works on an import run: the process that holds it, and when another may take it over."""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import timedelta

from django.utils import timezone

from insurdesk.exchange.models import ImportRun, RunStatus

STALE_AFTER = timedelta(minutes=2)  # a run without progress for this long may be taken over


class ImportBusy(Exception):
    """Another live process is working on this run."""


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_alive(worker: str) -> bool:
    host, _, pid = worker.rpartition(":")
    if not worker or host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def may_take_over(run: ImportRun) -> bool:
    """Tell whether this process may work on the run: nobody holds it, or its holder died or stalled."""
    if not run.worker or run.worker == _worker_id():
        return True
    if run.heartbeat_at is None or timezone.now() - run.heartbeat_at > STALE_AFTER:
        return True
    host = run.worker.rpartition(":")[0]
    return host == socket.gethostname() and not _worker_alive(run.worker)


def resumable_run(*, actor, file_hash: str) -> ImportRun | None:
    """Return an unfinished real run of the same file by the same actor that no live process holds."""
    user = actor if actor is not None and actor.pk else None
    for run in ImportRun.objects.filter(
        file_hash=file_hash, dry_run=False, created_by=user, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)
    ).order_by("-id"):
        if may_take_over(run):
            return run
    return None


def claim(run: ImportRun) -> None:
    """Take the run for this process, or raise ImportBusy."""
    if not may_take_over(run):
        raise ImportBusy(f"导入批次 #{run.pk} 正由另一进程处理（{run.worker}）")
    now = timezone.now()
    updated = ImportRun.objects.filter(pk=run.pk, worker=run.worker).update(
        worker=_worker_id(), status=RunStatus.RUNNING, heartbeat_at=now, started_at=run.started_at or now
    )
    if not updated:
        raise ImportBusy(f"导入批次 #{run.pk} 已被另一进程接手")
    run.refresh_from_db()
