"""Background jobs of the import page, run by the task worker (`insurdesk db_worker`)."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django_tasks import task

from insurdesk.common.filestore import decrypted_copy, is_encrypted
from insurdesk.exchange.models import ImportRun
from insurdesk.exchange.pipeline import import_file
from insurdesk.exchange.runs import ImportBusy
from insurdesk.exchange.services import upload_purpose, uploads_forget

logger = logging.getLogger(__name__)


def _import_stored(run: ImportRun) -> ImportRun:
    """Import the run's stored file through a decrypted copy that is deleted afterwards."""
    stored = Path(run.file_path)
    if not stored.exists() or not is_encrypted(stored):
        return import_file(actor=run.created_by, path=run.file_path, dry_run=run.dry_run, run=run)
    suffix = "." + stored.name.removesuffix(".enc").rsplit(".", 1)[-1]
    with decrypted_copy(stored, purpose=upload_purpose(run.file_hash), suffix=suffix) as plain:
        return import_file(actor=run.created_by, path=plain, dry_run=run.dry_run, run=run)


@task()
def run_import(run_id: int) -> dict:
    """Import the uploaded file of a run; a run left unfinished by a killed worker resumes."""
    run = ImportRun.objects.select_related("created_by").get(pk=run_id)
    if run.is_finished:
        return {"run": run.pk, "status": run.status}
    try:
        run = _import_stored(run)
    except ImportBusy as exc:
        logger.info("import run %s: %s", run_id, exc)
        return {"run": run_id, "status": "busy"}
    if run.is_finished and settings.INSURDESK_UPLOAD_RETENTION_DAYS == 0:
        uploads_forget(run=run)
    return {
        "run": run.pk,
        "status": run.status,
        "created": run.created,
        "updated": run.updated,
        "refused": run.refused,
    }
