"""Servicing pages: the queue per role, the request form of each kind (from the policy page's 保全
action), the request page with its approve/reject/withdraw/documents/underwriting forms, the policy's
servicing panel (requests, endorsements, payouts, loans) and the endorsement's print view and PDF."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import DomainError, NotAllowed, NotFound
from insurdesk.org.policy import can
from insurdesk.policies.models import Policy
from insurdesk.policies.selectors import policy_get
from insurdesk.servicing import calculations as calc
from insurdesk.servicing.forms import (
    FORMS,
    QueueFilterForm,
    ReasonForm,
    RejectForm,
    UnderwriteForm,
    WithdrawForm,
)
from insurdesk.servicing.kinds import RULES, loan_balance, policy_cash_value
from insurdesk.servicing.models import (
    AWAITING_APPROVAL,
    OPEN_STATES,
    Endorsement,
    Kind,
    ServicingRequest,
    State,
)
from insurdesk.servicing.selectors import (
    QUEUES,
    SORTS,
    RequestFilters,
    default_queue,
    policy_endorsements,
    policy_loans,
    policy_money,
    policy_requests,
    queue_counts,
    request_get,
    request_list,
)
from insurdesk.servicing.services import (
    servicing_approve,
    servicing_documents,
    servicing_reject,
    servicing_request_create,
    servicing_underwrite,
    servicing_withdraw,
)

PAGE_SIZE = 20


def _require(user, action: str) -> None:
    if not can(user, action):
        raise PermissionDenied(_("您的角色无权执行此操作"))


def _policy_or_404(viewer, pk: int) -> Policy:
    try:
        return policy_get(viewer=viewer, pk=pk)
    except NotFound:
        raise Http404(_("保单不存在")) from None


def _request_or_404(viewer, pk: int) -> ServicingRequest:
    try:
        return request_get(viewer=viewer, pk=pk)
    except NotFound:
        raise Http404(_("保全申请不存在")) from None


def _refused(request, exc: DomainError) -> None:
    for err in exc.errors:
        messages.error(request, err.message)


# ------------------------------------------------------------------ the queue


@require_http_methods(["GET", "HEAD"])
def queue_view(request):
    """The servicing queue (保全工作台): tabs per queue with counts, filters, sortable columns."""
    queue = request.GET.get("queue") or default_queue(request.user)
    if queue not in QUEUES:
        queue = "all"
    sort = request.GET.get("sort") or ""
    if sort not in SORTS:
        sort = ""
    form = QueueFilterForm(request.GET or None)
    kind = policy_no = ""
    if form.is_bound and form.is_valid():
        kind, policy_no = form.cleaned_data.get("kind") or "", form.cleaned_data.get("policy_no") or ""
    qs = request_list(
        viewer=request.user, filters=RequestFilters(queue=queue, kind=kind, policy_no=policy_no, sort=sort)
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = queue_counts(request.user)
    base = request.GET.copy()
    base.pop("page", None)

    def sort_link(column: str) -> str:
        q = base.copy()
        q["sort"] = f"-{column}" if sort == column else column
        return "?" + q.urlencode()

    columns = {c: sort_link(c) for c in ("requested_at", "effective_date", "amount", "kind", "state")}
    tabs = []
    for name, label in QUEUES.items():
        q = base.copy()
        q["queue"] = name
        tabs.append({"name": name, "label": label, "count": counts[name], "url": "?" + q.urlencode()})
    return render(
        request,
        "servicing/queue.html",
        {
            "form": form,
            "page": page,
            "queue": queue,
            "tabs": tabs,
            "sort": sort or "requested_at",
            "columns": columns,
        },
    )


# ------------------------------------------------------------------ a new request (from the policy page)


def _kind_choices(policy: Policy) -> list[tuple[str, str]]:
    """The kinds this policy's state allows, in the catalogue's order."""
    out = []
    for kind in Kind:
        rules = RULES[kind]
        if policy.state not in rules.states:
            continue
        if kind == Kind.MEMBERS and not policy.is_group:
            continue
        if kind in (Kind.BENEFICIARY, Kind.SUM_INSURED) and policy.is_group:
            continue
        out.append((kind.value, kind.label))
    return out


@require_http_methods(["GET", "HEAD", "POST"])
def new_view(request, pk: int):
    """保全申请: choose the kind, fill its form; the request is checked as it would be applied."""
    _require(request.user, "servicing.request")
    policy = _policy_or_404(request.user, pk)
    kinds = _kind_choices(policy)
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    context = {"policy": policy, "kinds": kinds, "kind": kind}
    if kind not in dict(kinds):
        return render(request, "servicing/new.html", context)
    form_class = FORMS[kind]
    form = form_class(request.POST or None, policy=policy)
    context.update(form=form, kind_label=Kind(kind).label, preview=_preview(policy, kind))
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            req = servicing_request_create(
                actor=request.user,
                policy_id=policy.pk,
                kind=kind,
                changes=form.changes(),
                reason=cd.get("reason") or "",
                channel=cd["channel"],
                effective_date=cd["effective_date"],
                applicant=cd["applicant"],
                documents=cd.get("documents") or [],
            )
        except NotAllowed:
            raise PermissionDenied(_("您的角色无权执行此操作")) from None
        except DomainError as exc:
            form.add_domain_errors(exc.errors)
        else:
            messages.success(
                request,
                _("已受理保全申请 %(no)s（%(kind)s），状态：%(state)s")
                % {"no": req.request_no, "kind": req.get_kind_display(), "state": req.get_state_display()},
            )
            return redirect("servicing:detail", pk=req.pk)
    return render(request, "servicing/new.html", context, status=422 if request.method == "POST" else 200)


def _preview(policy: Policy, kind: str) -> dict:
    """Figures the clerk needs before filling the form: cash value, loan balance, what is owed."""
    today = timezone.localdate()
    out = {}
    if kind in (Kind.SURRENDER, Kind.LOAN, Kind.LOAN_REPAY):
        out["cash_value"] = policy_cash_value(policy, today)
        out["loan_balance"] = loan_balance(policy, today)
        if kind == Kind.LOAN:
            out["loan_limit"] = calc.loan_limit(
                out["cash_value"], policy.product.loan_share, out["loan_balance"]
            )
            out["loan_rate"] = policy.product.loan_rate
    return out


# ------------------------------------------------------------------ the request page and its actions


@require_http_methods(["GET", "HEAD"])
def detail_view(request, pk: int):
    req = _request_or_404(request.user, pk)
    user = request.user
    endorsement = Endorsement.objects.filter(request=req).first()
    may_approve = (
        can(user, "servicing.approve")
        and req.state in AWAITING_APPROVAL
        and user.pk != req.requested_by_id
        and not (req.state == State.FIRST_APPROVED and user.pk == req.first_approver_id)
    )
    context = {
        "req": req,
        "policy": req.policy,
        "endorsement": endorsement,
        "can": {
            "approve": may_approve,
            "reject": can(user, "servicing.approve") and req.state in (*AWAITING_APPROVAL, State.REFERRED),
            "withdraw": can(user, "servicing.request") and req.state in OPEN_STATES,
            "documents": can(user, "servicing.request")
            and req.state in OPEN_STATES
            and req.documents_missing,
            "underwrite": can(user, "servicing.underwrite") and req.state == State.REFERRED,
        },
        "approve_form": ReasonForm(),
        "reject_form": RejectForm(),
        "withdraw_form": WithdrawForm(),
        "underwrite_form": UnderwriteForm(),
        "amount_upper": calc.upper_amount(req.amount) if req.amount else "",
    }
    return render(request, "servicing/detail.html", context)


def _act(request, pk: int, action: str, run) -> HttpResponse:
    _require(request.user, action)
    req = _request_or_404(request.user, pk)
    try:
        message = run(req)
    except NotAllowed as exc:
        if exc.errors and exc.errors[0].code == "forbidden":
            raise PermissionDenied(_("您的角色无权执行此操作")) from None
        _refused(request, exc)
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, message)
    return redirect("servicing:detail", pk=req.pk)


@require_POST
def approve_view(request, pk: int):
    form = ReasonForm(request.POST)
    form.is_valid()

    def run(req):
        done = servicing_approve(
            actor=request.user, request_id=req.pk, reason=form.cleaned_data.get("reason") or ""
        )
        if done.state == State.APPLIED:
            e = Endorsement.objects.get(request=done)
            return _("已批准并生效，批单号 %(no)s") % {"no": e.endorsement_no}
        if done.state == State.FIRST_APPROVED:
            return _("已审核同意；涉及资金，待另一位审批人复核")
        return _("已批准，将于 %(d)s 生效") % {"d": done.effective_date.isoformat()}

    return _act(request, pk, "servicing.approve", run)


@require_POST
def reject_view(request, pk: int):
    form = RejectForm(request.POST)
    reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""

    def run(req):
        servicing_reject(actor=request.user, request_id=req.pk, reason=reason)
        return _("已拒绝该保全申请")

    return _act(request, pk, "servicing.approve", run)


@require_POST
def withdraw_view(request, pk: int):
    form = WithdrawForm(request.POST)
    reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""

    def run(req):
        servicing_withdraw(actor=request.user, request_id=req.pk, reason=reason)
        return _("已撤回该保全申请")

    return _act(request, pk, "servicing.request", run)


@require_POST
def documents_view(request, pk: int):
    received = request.POST.getlist("received")

    def run(req):
        servicing_documents(actor=request.user, request_id=req.pk, received=received)
        return _("已登记补收资料")

    return _act(request, pk, "servicing.request", run)


@require_POST
def underwrite_view(request, pk: int):
    form = UnderwriteForm(request.POST)
    valid = form.is_valid()

    def run(req):
        accept = form.cleaned_data["accept"] if valid else False
        servicing_underwrite(
            actor=request.user,
            request_id=req.pk,
            accept=accept,
            note=form.cleaned_data.get("note", "") if valid else "",
        )
        return _("核保同意，已转回审核") if accept else _("核保拒绝，申请已结束")

    return _act(request, pk, "servicing.underwrite", run)


# ------------------------------------------------------------------ the policy's servicing panel


@require_http_methods(["GET", "HEAD"])
def policy_panel_view(request, pk: int):
    """The policy page's servicing section (loaded with htmx): requests, endorsements, payouts, loans."""
    policy = _policy_or_404(request.user, pk)
    today = timezone.localdate()
    loans = list(policy_loans(policy))
    return render(
        request,
        "servicing/_policy_panel.html",
        {
            "policy": policy,
            "requests": list(policy_requests(policy)[:50]),
            "endorsements": list(policy_endorsements(policy)),
            "money": list(policy_money(policy)[:100]),
            "loans": loans,
            "cash_value": policy_cash_value(policy, today) if policy.product.cash_values else None,
            "loan_balance": loan_balance(policy, today) if loans else None,
            "can_request": can(request.user, "servicing.request"),
        },
    )


# ------------------------------------------------------------------ the endorsement: print view and PDF


def _endorsement(request, pk: int, endorsement_pk: int) -> Endorsement:
    policy = _policy_or_404(request.user, pk)
    e = (
        Endorsement.objects.select_related(
            "request", "policy", "policy__policyholder", "policy__insured", "policy__product", "created_by"
        )
        .filter(pk=endorsement_pk, policy=policy)
        .first()
    )
    if e is None:
        raise Http404(_("批单不存在"))
    audit_log(
        actor=request.user,
        action="endorsement.print",
        target=policy,
        detail={"endorsement_no": e.endorsement_no},
        ip=request.META.get("REMOTE_ADDR"),
    )
    return e


def _print_context(e: Endorsement) -> dict:
    return {
        "e": e,
        "policy": e.policy,
        "amount_upper": calc.upper_amount(e.amount) if e.amount else "",
        "printed_at": timezone.localtime(),
    }


@require_http_methods(["GET", "HEAD"])
def endorsement_print_view(request, pk: int, endorsement_pk: int):
    e = _endorsement(request, pk, endorsement_pk)
    return render(request, "servicing/endorsement_print.html", _print_context(e))


@require_http_methods(["GET", "HEAD"])
def endorsement_pdf_view(request, pk: int, endorsement_pk: int):
    """The endorsement as a PDF (WeasyPrint, Noto CJK), the same content as its print view."""
    from weasyprint import CSS, HTML

    e = _endorsement(request, pk, endorsement_pk)
    html = render_to_string("servicing/endorsement_print.html", {**_print_context(e), "pdf": True}, request)
    css = CSS(filename=finders.find("policies/print.css"))
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf(stylesheets=[css])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{e.endorsement_no}.pdf"'
    return response


def policy_url(policy_id: int) -> str:
    return reverse("policies:detail", args=[policy_id]) + "#servicing"
