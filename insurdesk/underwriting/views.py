"""Underwriting pages: the queue per state, the case with its rule results and the decision form."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.applications.selectors import age_of
from insurdesk.common.errors import DomainError, NotAllowed, NotFound
from insurdesk.customers.selectors import shown, shown_text
from insurdesk.org.policy import can
from insurdesk.products.calculations import term_label
from insurdesk.underwriting.forms import DecisionForm, QueueFilterForm
from insurdesk.underwriting.models import CaseState
from insurdesk.underwriting.selectors import (
    QUEUES,
    QueueFilters,
    case_decisions,
    case_of,
    latest_rule_results,
    underwriting_application,
    underwriting_queue,
)
from insurdesk.underwriting.services import underwriting_assign, underwriting_decide, underwriting_open

PAGE_SIZE = 50


def _application_or_404(viewer, pk: int):
    try:
        return underwriting_application(viewer=viewer, application_id=pk)
    except NotFound:
        raise Http404(_("投保单不存在")) from None


@require_http_methods(["GET", "HEAD"])
def queue_view(request):
    """The manual queue and its neighbours, oldest first, with age and owner."""
    form = QueueFilterForm(request.GET or None, viewer=request.user)
    filters = QueueFilters()
    if form.is_bound:
        form.is_valid()
        cd = form.cleaned_data
        filters = QueueFilters(
            queue=cd.get("queue") or "manual", unit_id=cd.get("unit"), mine=bool(cd.get("mine"))
        )
    counts = {
        name: underwriting_queue(
            viewer=request.user, filters=QueueFilters(queue=name, unit_id=filters.unit_id, mine=filters.mine)
        ).count()
        for name in QUEUES
    }
    now = timezone.now()
    rows = []
    for app in underwriting_queue(viewer=request.user, filters=filters)[:PAGE_SIZE]:
        case = case_of(app)
        lines = list(app.lines.all())
        rows.append(
            {
                "app": app,
                "case": case,
                "age": age_of(app.state_changed_at, now),
                "products": "、".join(line.product.name for line in lines),
                "sum_insured": sum(line.sum_insured for line in lines),
            }
        )
    context = {
        "form": form,
        "queue": filters.queue,
        "queues": [(k, v, counts[k]) for k, v in QUEUES.items()],
        "rows": rows,
        "total": counts.get(filters.queue, 0),
        "page_size": PAGE_SIZE,
    }
    return render(request, "underwriting/queue.html", context)


def _case_context(request, app, form=None) -> dict:
    viewer = request.user
    case = case_of(app)
    lines = list(app.lines.all())
    results = latest_rule_results(case)
    may_decide = can(viewer, "underwriting.decide") and (case is None or case.is_open)
    return {
        "app": app,
        "case": case,
        "lines": [{"line": line, "term": term_label(line.coverage_term)} for line in lines],
        "sum_insured": sum(line.sum_insured for line in lines),
        "payment_term": term_label(app.payment_term),
        "results": results,
        "counts": {o: sum(1 for r in results if r.outcome == o) for o in ("pass", "refer", "decline")},
        "decisions": case_decisions(case),
        "policyholder_id": shown(viewer, "id_number", app.policyholder_id_number),
        "insured_id": shown(viewer, "id_number", app.insured_id_number),
        "insured_birth": shown_text(viewer, "birth_date", app.insured.birth_date if app.insured_id else None),
        "health_details": shown(viewer, "health_notes", app.health_details),
        "beneficiaries": [
            {"b": b, "id_number": shown(viewer, "id_number", b.id_number)} for b in app.beneficiaries.all()
        ],
        "form": form or DecisionForm(initial={"decision": "standard"}),
        "may_decide": may_decide and (case is None or case.state != CaseState.EVIDENCE),
        "may_receive": may_decide and case is not None and case.state == CaseState.EVIDENCE,
        "may_open": may_decide and case is None and app.state == "underwriting",
        "may_take": may_decide and case is not None and case.assignee_id != viewer.pk,
        "age": age_of(app.state_changed_at),
    }


@require_http_methods(["GET", "HEAD"])
def case_view(request, pk: int):
    app = _application_or_404(request.user, pk)
    return render(request, "underwriting/case.html", _case_context(request, app))


def _refused(request, exc: DomainError) -> None:
    for err in exc.errors:
        messages.error(request, err.message)


@require_POST
def open_view(request, pk: int):
    app = _application_or_404(request.user, pk)
    if not can(request.user, "underwriting.decide"):
        raise PermissionDenied(_("您的角色无权执行此操作"))
    try:
        case = underwriting_open(actor=request.user, application_id=app.pk)
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("自动核保规则已运行：%(s)s") % {"s": case.get_state_display()})
    return redirect("underwriting:case", pk=app.pk)


@require_POST
def decide_view(request, pk: int):
    """Record the decision; on a refusal the form comes back with the errors next to the fields."""
    app = _application_or_404(request.user, pk)
    form = DecisionForm(request.POST)
    received = request.POST.get("decision") == "evidence_received"
    if received or form.is_valid():
        data = {"decision": "evidence_received"} if received else form.cleaned_data
        try:
            case = underwriting_decide(
                actor=request.user,
                application_id=app.pk,
                decision=data["decision"],
                extra_premium=data.get("extra_premium"),
                exclusion=data.get("exclusion") or "",
                reasons=data.get("reasons") or "",
                evidence_kind=data.get("evidence_kind") or "",
                evidence=data.get("evidence") or "",
            )
        except NotAllowed:
            raise PermissionDenied(_("您的角色无权执行此操作")) from None
        except DomainError as exc:
            if received:
                _refused(request, exc)
                return redirect("underwriting:case", pk=app.pk)
            form.add_domain_errors(exc.errors)
        else:
            messages.success(
                request,
                _("已记录核保结论：%(d)s") % {"d": case.get_decision_display() or case.get_state_display()},
            )
            return redirect("underwriting:case", pk=app.pk)
    app = _application_or_404(request.user, pk)
    return render(request, "underwriting/case.html", _case_context(request, app, form), status=422)


@require_POST
def take_view(request, pk: int):
    app = _application_or_404(request.user, pk)
    try:
        underwriting_assign(actor=request.user, application_id=app.pk)
    except NotAllowed:
        raise PermissionDenied(_("您的角色无权执行此操作")) from None
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("已领取该核保案件"))
    return redirect("underwriting:case", pk=app.pk)
