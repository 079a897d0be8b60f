"""Writes of the import page and API: accept an upload, queue its import, resume a stalled one."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import Conflict, FieldError, NotAllowed
from insurdesk.common.uploads import check_upload
from insurdesk.exchange.models import ImportRun, RunStatus
from insurdesk.exchange.runs import may_take_over
from insurdesk.org.policy import can

ALLOWED_TYPES = ("xlsx", "csv")


def upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _require(actor) -> None:
    if actor is None or not (actor.is_superuser or can(actor, "exchange.import")):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权批量导入"))


def import_start(*, actor, upload, dry_run: bool = False) -> ImportRun:
    """Check and store an uploaded file, then queue its import as a background job."""
    from insurdesk.exchange.tasks import run_import

    _require(actor)
    checked = check_upload(upload, allowed_types=ALLOWED_TYPES, max_bytes=settings.INSURDESK_IMPORT_MAX_BYTES)
    # Stored under its digest: the client's name is only ever shown, never used as a path.
    stored = upload_dir() / f"{checked.sha256}.{checked.kind}"
    if not stored.exists():
        source = getattr(upload, "file", upload)
        source.seek(0)
        partial = stored.with_suffix(".part")
        with open(partial, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        partial.replace(stored)
    with transaction.atomic():
        run = ImportRun.objects.create(
            file_name=checked.name,
            file_path=str(stored),
            file_hash=checked.sha256,
            file_size=checked.size,
            dry_run=dry_run,
            created_by=actor,
        )
        result = run_import.enqueue(run.pk)
        run.task_id = str(result.id)
        run.save(update_fields=["task_id"])
        audit_log(
            actor=actor,
            action="exchange.upload",
            target=run,
            detail={"file": checked.name, "sha256": checked.sha256, "size": checked.size, "dry_run": dry_run},
        )
    return run


def import_resume(*, actor, run: ImportRun) -> ImportRun:
    """Queue a run again after its worker stopped; it continues after its last committed batch."""
    from insurdesk.exchange.tasks import run_import

    _require(actor)
    if run.is_finished:
        raise Conflict(FieldError("", "finished", "该导入批次已经结束"))
    if run.status == RunStatus.RUNNING and not may_take_over(run):
        raise Conflict(FieldError("", "running", "该导入批次正在进行中"))
    with transaction.atomic():
        result = run_import.enqueue(run.pk)
        ImportRun.objects.filter(pk=run.pk).update(task_id=str(result.id), message="")
    run.refresh_from_db()
    return run
