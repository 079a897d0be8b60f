"""Pieces every application service shares: scope, locking, firing a transition, the recording rule."""

from django.conf import settings
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from insurdesk.applications import calculations as calc
from insurdesk.applications.models import Application, ProblemState, State
from insurdesk.common.errors import FieldError, IllegalTransition, NotFound
from insurdesk.customers.models import Customer, Kind
from insurdesk.org.selectors import viewer_unit_ids

OPEN_PROBLEM_STATES = (ProblemState.OPEN, ProblemState.SENT, ProblemState.REPLIED)


def in_scope(actor, app: Application) -> bool:
    """Tell whether the actor may see the application: unit subtree; an agent only its own."""
    if actor is None or actor.is_superuser:
        return True
    if actor.effective_role == "agent":
        return app.agent_id == actor.pk
    ids = viewer_unit_ids(actor)
    return ids is None or app.unit_id in ids


def application_lock(application_id: int, *, actor=None) -> Application:
    """Return the application locked for update (inside the caller's transaction), or raise NotFound."""
    app = Application.objects.select_for_update().filter(pk=application_id).first()
    if app is None or not in_scope(actor, app):
        raise NotFound(FieldError("", "not_found", "投保单不存在"))
    return app


def fire(app: Application, name: str) -> None:
    """Run one transition, or raise IllegalTransition naming the current state."""
    method = getattr(app, name, None)
    if method is None or not hasattr(method, "_django_fsm"):
        raise IllegalTransition(FieldError("state", "illegal_transition", f"未知的状态变更：{name}"))
    if name == "issue" and app.state == State.ACCEPTED and not app.recording_ok:
        raise IllegalTransition(
            FieldError(
                "recording", "recording_required", "该投保单需要双录，双录资料上传并质检通过后才能承保出单"
            )
        )
    try:
        method()
    except TransitionNotAllowed:
        raise IllegalTransition(
            FieldError(
                "state", "illegal_transition", f"投保单当前状态为“{State(app.state).label}”，不能执行此操作"
            )
        ) from None
    app.state_changed_at = timezone.now()


def recording_reasons_for(app_like: dict, lines, ph: Customer | None, ins: Customer | None) -> list[str]:
    on = app_like["application_date"]
    facts = calc.RecordingFacts(
        lines=tuple((line.product.line, line.coverage_term, line.product.unit_linked) for line in lines),
        business_source=app_like["business_source"] or "",
        agency_kind=app_like.get("agency_kind") or "",
        policyholder_age=calc.age_on(ph.birth_date, on)
        if ph is not None and ph.kind == Kind.INDIVIDUAL
        else None,
        insured_age=calc.age_on(ins.birth_date, on) if ins is not None else None,
    )
    return calc.recording_reasons(
        facts, senior_age=getattr(settings, "INSURDESK_RECORDING_AGE", calc.RECORDING_AGE)
    )
