"""Writes of the import page and API: accept an upload, queue its import, resume a stalled one."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import Conflict, FieldError, NotAllowed
from insurdesk.common.filestore import private_dir, write_encrypted
from insurdesk.common.uploads import check_upload
from insurdesk.exchange.models import ImportRun, RunStatus
from insurdesk.exchange.runs import may_take_over
from insurdesk.org.policy import can

ALLOWED_TYPES = ("xlsx", "csv")


def upload_dir() -> Path:
    """Where uploaded import files wait for their import: under the files the backup covers, private."""
    return private_dir(Path(settings.MEDIA_ROOT) / "imports")


def upload_purpose(file_hash: str) -> str:
    """What an uploaded file's encryption is bound to: a file copied in for another upload fails."""
    return f"exchange.import:{file_hash}"


def _require(actor) -> None:
    if actor is None or not (actor.is_superuser or can(actor, "exchange.import")):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权批量导入"))


def import_start(*, actor, upload, dry_run: bool = False) -> ImportRun:
    """Check and store an uploaded file, then queue its import as a background job."""
    from insurdesk.exchange.tasks import run_import

    _require(actor)
    checked = check_upload(
        upload,
        allowed_types=ALLOWED_TYPES,
        max_bytes=settings.INSURDESK_IMPORT_MAX_BYTES,
        max_rows=settings.INSURDESK_IMPORT_MAX_ROWS,
        max_xml_bytes=settings.INSURDESK_IMPORT_MAX_XML_BYTES,
        settings_prefix="INSURDESK_IMPORT",
    )
    # Stored under its digest, encrypted with the field keys (0600 in a 0700 folder): the client's name
    # is only ever shown, never used as a path. The import reads a decrypted copy (tasks.run_import).
    stored = upload_dir() / f"{checked.sha256}.{checked.kind}.enc"
    if not stored.exists():
        source = getattr(upload, "file", upload)
        source.seek(0)
        write_encrypted(source, stored, purpose=upload_purpose(checked.sha256))
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


def _in_use(path: str) -> bool:
    return ImportRun.objects.filter(file_path=path, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exists()


def uploads_forget(*, run: ImportRun, reason: str = "imported") -> bool:
    """Delete a run's uploaded file once no unfinished run needs it; the run keeps its name and digest."""
    path = Path(run.file_path) if run.file_path else None
    if path is None or not path.is_file() or upload_dir() not in path.parents or _in_use(run.file_path):
        return False
    path.unlink()
    audit_log(
        actor=None,
        action="exchange.upload_delete",
        target=run,
        detail={"sha256": run.file_hash, "reason": reason},
    )
    return True


def uploads_expire(*, today=None) -> int:
    """Delete uploaded import files kept longer than INSURDESK_UPLOAD_RETENTION_DAYS; return how many."""
    import time

    days = settings.INSURDESK_UPLOAD_RETENTION_DAYS
    cutoff = time.time() - days * 86400
    removed = 0
    for path in upload_dir().iterdir():
        if not path.is_file() or path.stat().st_mtime > cutoff or _in_use(str(path)):
            continue
        run = ImportRun.objects.filter(file_path=str(path)).order_by("-id").first()
        if run is not None:
            removed += uploads_forget(run=run, reason=f"kept {days} days")
        else:
            path.unlink()
            removed += 1
    # Decrypted copies are deleted by their reader; one left by a killed process goes after a day.
    tmp = Path(settings.DATA_DIR) / "tmp"
    if tmp.is_dir():
        import shutil

        for entry in tmp.iterdir():
            if entry.stat().st_mtime < time.time() - 86400:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
    return removed
