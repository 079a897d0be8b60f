"""Reads of import runs, cut to the viewer: a user sees its own runs; an admin sees all."""

from django.db.models import QuerySet

from insurdesk.common.errors import FieldError, NotFound
from insurdesk.exchange.models import ImportIssue, ImportRun
from insurdesk.org.policy import role_of

ALL_RUNS_ROLES = frozenset({"admin"})


def run_scope(viewer) -> QuerySet[ImportRun]:
    qs = ImportRun.objects.select_related("created_by")
    if viewer is None or not viewer.is_authenticated:
        return qs.none()
    if viewer.is_superuser or role_of(viewer) in ALL_RUNS_ROLES:
        return qs
    return qs.filter(created_by=viewer)


def run_list(*, viewer, limit: int = 50) -> list[ImportRun]:
    return list(run_scope(viewer).order_by("-id")[:limit])


def run_get(*, viewer, pk: int) -> ImportRun:
    run = run_scope(viewer).filter(pk=pk).first()
    if run is None:
        raise NotFound(FieldError("", "not_found", "导入批次不存在"))
    return run


def run_issues(*, run: ImportRun, limit: int = 200) -> list[ImportIssue]:
    return list(run.issues.order_by("row", "id")[:limit])
