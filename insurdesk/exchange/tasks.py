"""Background jobs of the import page, run by the task worker (`insurdesk db_worker`)."""

from __future__ import annotations

import logging

from django_tasks import task

from insurdesk.exchange.models import ImportRun
from insurdesk.exchange.pipeline import import_file
from insurdesk.exchange.runs import ImportBusy

logger = logging.getLogger(__name__)


@task()
def run_import(run_id: int) -> dict:
    """Import the uploaded file of a run; a run left unfinished by a killed worker resumes."""
    run = ImportRun.objects.select_related("created_by").get(pk=run_id)
    if run.is_finished:
        return {"run": run.pk, "status": run.status}
    try:
        run = import_file(actor=run.created_by, path=run.file_path, dry_run=run.dry_run, run=run)
    except ImportBusy as exc:
        logger.info("import run %s: %s", run_id, exc)
        return {"run": run_id, "status": "busy"}
    return {
        "run": run.pk,
        "status": run.status,
        "created": run.created,
        "updated": run.updated,
        "refused": run.refused,
    }
