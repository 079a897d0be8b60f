"""Reads of underwriting: the queue of cases per state, one case with its rule results and decisions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from insurdesk.applications.models import Application, ApplicationLine
from insurdesk.applications.models import State as AppState
from insurdesk.applications.selectors import application_scope
from insurdesk.common.errors import FieldError, NotFound
from insurdesk.underwriting.models import CaseState, Decision, RuleResult, UnderwritingCase

# Queue names → which applications they hold.
QUEUES = {
    "manual": "待人工核保",
    "evidence": "待补充资料",
    "new": "待自动核保",
    "accepted": "核保通过待出单",
    "all": "全部在途",
}


@dataclass
class QueueFilters:
    queue: str = "manual"
    unit_id: int | None = None
    assignee_id: int | None = None
    mine: bool = False


def underwriting_queue(*, viewer, filters: QueueFilters | None = None) -> QuerySet[Application]:
    """Return the applications waiting for underwriting in the viewer's scope, oldest first.

    "manual": referred to an underwriter (including proposed declines); "evidence": paused for evidence;
    "new": submitted but rules not yet run; "accepted": accepted, waiting for the policy to be issued.
    """
    f = filters or QueueFilters()
    qs = (
        application_scope(viewer)
        .select_related(
            "unit",
            "agent",
            "policyholder",
            "insured",
            "underwriting_case",
            "underwriting_case__assignee",
        )
        .prefetch_related(
            Prefetch("lines", queryset=ApplicationLine.objects.select_related("product").order_by("seq"))
        )
    )
    if f.queue == "manual":
        qs = qs.filter(state=AppState.UNDERWRITING, underwriting_case__state=CaseState.REFERRED)
    elif f.queue == "evidence":
        qs = qs.filter(state=AppState.EVIDENCE)
    elif f.queue == "new":
        qs = qs.filter(
            Q(underwriting_case__isnull=True) | Q(underwriting_case__state=CaseState.NEW),
            state=AppState.UNDERWRITING,
        )
    elif f.queue == "accepted":
        qs = qs.filter(state=AppState.ACCEPTED)
    else:
        qs = qs.filter(state__in=(AppState.UNDERWRITING, AppState.EVIDENCE, AppState.ACCEPTED))
    if f.unit_id:
        from insurdesk.org.models import OrgUnit
        from insurdesk.org.selectors import unit_subtree_ids

        unit = OrgUnit.objects.filter(pk=f.unit_id).first()
        qs = qs.filter(unit_id__in=unit_subtree_ids(unit)) if unit else qs.none()
    if f.mine and viewer is not None:
        qs = qs.filter(underwriting_case__assignee=viewer)
    elif f.assignee_id:
        qs = qs.filter(underwriting_case__assignee_id=f.assignee_id)
    return qs.order_by("state_changed_at", "id")


def queue_counts(*, viewer) -> dict[str, int]:
    return {
        name: underwriting_queue(viewer=viewer, filters=QueueFilters(queue=name)).count() for name in QUEUES
    }


def underwriting_application(*, viewer, application_id: int) -> Application:
    """Return one application in the viewer's scope with its lines, parties and case."""
    app = (
        application_scope(viewer)
        .select_related(
            "unit",
            "agent",
            "policyholder",
            "insured",
            "underwriting_case",
            "underwriting_case__decided_by",
            "underwriting_case__assignee",
        )
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ApplicationLine.objects.select_related("product", "plan_level").order_by("seq"),
            ),
            "beneficiaries",
        )
        .filter(pk=application_id)
        .first()
    )
    if app is None:
        raise NotFound(FieldError("", "not_found", "投保单不存在"))
    return app


def case_of(application: Application) -> UnderwritingCase | None:
    try:
        return application.underwriting_case
    except UnderwritingCase.DoesNotExist:
        return None


def latest_rule_results(case: UnderwritingCase | None) -> list[RuleResult]:
    """Return the results of the case's last rule run, in rule order."""
    if case is None:
        return []
    run = case.rule_results.order_by("-run").values_list("run", flat=True).first()
    if run is None:
        return []
    return list(case.rule_results.filter(run=run).order_by("id"))


def case_decisions(case: UnderwritingCase | None) -> list[Decision]:
    if case is None:
        return []
    return list(case.decisions.select_related("decided_by").order_by("decided_at", "id"))
