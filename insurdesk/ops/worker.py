"""The job worker's heartbeat, and the tasks of workers that died put back in the queue.

django-tasks-db claims a task by setting it RUNNING under `SELECT … FOR UPDATE SKIP LOCKED` (each task
is claimed once), but nothing gives back a task whose worker was killed: it stays RUNNING. Every
worker here stamps a heartbeat row every few seconds and, at each stamp, puts the RUNNING tasks of
workers whose stamp is older than INSURDESK_WORKER_STALE_SECONDS back to READY (a task is retried at
most INSURDESK_TASK_MAX_ATTEMPTS times, then failed). Tasks must therefore be safe to run again after
a crash (the import resumes from its checkpoint).
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from insurdesk.ops.models import WorkerHeartbeat

log = logging.getLogger(__name__)


def beat(worker_id: str, *, started_at: datetime.datetime) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "seen_at": now,
        },
    )


def alive_workers(now: datetime.datetime | None = None) -> int:
    """Count the workers whose heartbeat is fresh."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.INSURDESK_WORKER_STALE_SECONDS)
    return WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).count()


def requeue_orphans(now: datetime.datetime | None = None) -> list[str]:
    """Put back the RUNNING tasks of workers whose heartbeat went stale; return their ids."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.INSURDESK_WORKER_STALE_SECONDS)
    stale = set(WorkerHeartbeat.objects.filter(seen_at__lt=cutoff).values_list("worker_id", flat=True))
    if not stale:
        return []
    requeued = []
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).values_list("id", "worker_ids")
    for task_id, worker_ids in running:
        if not worker_ids or worker_ids[-1] not in stale:
            continue
        with transaction.atomic():
            task = (
                DBTaskResult.objects.select_for_update(skip_locked=True)
                .filter(pk=task_id, status=TaskResultStatus.RUNNING)
                .first()
            )
            if task is None or task.worker_ids[-1] not in stale:
                continue
            if len(task.worker_ids) >= settings.INSURDESK_TASK_MAX_ATTEMPTS:
                task.set_failed(
                    RuntimeError(
                        f"worker {task.worker_ids[-1]} died while running this task, "
                        f"{len(task.worker_ids)} attempts"
                    )
                )
                log.error("task %s failed: its worker died, %d attempts", task_id, len(task.worker_ids))
                continue
            task.status = TaskResultStatus.READY
            task.started_at = None
            task.save(update_fields=["status", "started_at"])
        requeued.append(str(task_id))
        log.warning("task %s requeued: worker %s stopped beating", task_id, worker_ids[-1])
    # Stale rows stay a day (the metrics and the page show them), then go.
    WorkerHeartbeat.objects.filter(seen_at__lt=now - datetime.timedelta(days=1)).delete()
    return requeued


class Heartbeat(threading.Thread):
    """Stamp the worker's heartbeat and requeue orphaned tasks every few seconds, until stopped."""

    def __init__(self, worker_id: str):
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = settings.INSURDESK_WORKER_HEARTBEAT_SECONDS
        while not self.stopped.is_set():
            try:
                close_old_connections()
                beat(self.worker_id, started_at=self.started_at)
                requeue_orphans()
            except Exception:
                log.exception("worker heartbeat failed")
            finally:
                connection.close()
            self.stopped.wait(interval)

    def stop(self) -> None:
        self.stopped.set()
        try:
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        except Exception:
            log.exception("worker heartbeat: could not remove the row of %s", self.worker_id)
