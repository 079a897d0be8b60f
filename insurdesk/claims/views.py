"""Claim pages: the queue, the report taken on the phone, the claim with its timeline and deadlines,
one form per handling step, the notices' print view, and a customer's claims on the archive page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.claims import calculations as calc
from insurdesk.claims import handling, rules
from insurdesk.claims.forms import (
    AdvanceForm,
    ApproveForm,
    AssessForm,
    ClaimQueueForm,
    DecideForm,
    DocumentsForm,
    PayForm,
    PolicyFindForm,
    ReasonForm,
    ReportForm,
    SentForm,
)
from insurdesk.claims.models import ClaimState, ClaimType, Decision, NoticeKind
from insurdesk.claims.selectors import (
    ClaimFilters,
    claim_get,
    claim_queue,
    customer_claims,
    overdue_on,
    policies_found,
)
from insurdesk.common.errors import DomainError, NotFound
from insurdesk.customers.selectors import customer_get, shown
from insurdesk.org.policy import can
from insurdesk.policies.models import PaymentMethod
from insurdesk.policies.selectors import policy_get

PAGE_SIZE = 20
STATE_LABELS = dict(ClaimState.choices)
METHOD_LABELS = dict(PaymentMethod.choices)
ACTION_LABELS = {
    "report": "报案", "documents": "登记资料", "assess": "核赔", "decide": "理赔结论", "approve": "复核通过",
    "send_back": "复核退回", "pay": "支付赔款", "advance": "先予支付", "notice_sent": "通知书送达",
    "close": "结案", "reopen": "重开", "overdue": "超时限", "policy_terminated": "保单理赔终止",
}  # fmt: skip


def _require(user, action: str) -> None:
    if not can(user, action):
        raise PermissionDenied(_("您的角色无权执行此操作"))


def _claim_or_404(viewer, pk: int):
    try:
        return claim_get(viewer=viewer, pk=pk)
    except NotFound:
        raise Http404(_("理赔不存在")) from None


def _refused(request, exc: DomainError) -> None:
    for err in exc.errors:
        messages.error(request, err.message)


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for message in errors:
            messages.error(request, f"{label}：{message}" if label else message)


# ------------------------------------------------------------------ the queue


@require_http_methods(["GET", "HEAD"])
def claim_list_view(request):
    """The claims queue: open claims, the nearest deadline first, overdue ones flagged."""
    form = ClaimQueueForm(request.GET or None)
    query, filters = "", ClaimFilters()
    if form.is_bound and form.is_valid():
        query = form.cleaned_data.get("q") or ""
        filters = ClaimFilters(
            state=form.cleaned_data.get("state") or "",
            overdue=True if form.cleaned_data.get("overdue") else None,
        )
    today = timezone.localdate()
    page = Paginator(
        claim_queue(viewer=request.user, query=query, filters=filters, today=today), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = [
        {"c": c, "overdue": overdue_on(c, today), "kind": calc.CLOCK_LABELS.get(c.deadline_kind, "")}
        for c in page
    ]
    return render(
        request,
        "claims/list.html",
        {"form": form, "page": page, "rows": rows, "can_report": can(request.user, "claim.report")},
    )


# ------------------------------------------------------------------ the report (报案) by the phone script


@require_http_methods(["GET", "HEAD", "POST"])
def claim_report_view(request):
    """Take a report the way the claims-service script goes: greeting, identity check, event, documents,
    confirmation. Step 2 finds the policy; steps 3–4 are the form; the claim page confirms."""
    _require(request.user, "claim.report")
    find_form = PolicyFindForm(request.GET or None)
    found, policy, form = [], None, None
    if request.method == "POST":
        form = ReportForm(request.POST)
        policy_id = request.POST.get("policy")
    else:
        policy_id = request.GET.get("policy")
        form = ReportForm(initial={"policy": policy_id, "event_date": timezone.localdate()})
        if find_form.is_bound and find_form.is_valid() and not policy_id:
            found = policies_found(viewer=request.user, query=find_form.cleaned_data.get("find") or "")
    if policy_id and str(policy_id).isdigit():
        try:
            policy = policy_get(viewer=request.user, pk=int(policy_id))
        except NotFound:
            policy = None
    if request.method == "POST" and form.is_valid():
        try:
            claim = handling.claim_report(actor=request.user, data=form.data_for_service())
        except DomainError as exc:
            form.add_domain_errors(exc.errors)
        else:
            messages.success(
                request,
                _("已受理报案，赔案号 %(no)s；请告知报案人需要提交的资料") % {"no": claim.claim_no},
            )
            return redirect("claims:detail", pk=claim.pk)
    checklists = [(ClaimType(t).label, [label for _c, label in rules.documents(t)]) for t in ClaimType.values]
    return render(
        request,
        "claims/report.html",
        {
            "find_form": find_form,
            "found": found,
            "searched": find_form.is_bound and not policy_id,
            "policy": policy,
            "form": form,
            "checklists": checklists,
        },
    )


# ------------------------------------------------------------------ the claim page


def _detail_context(request, claim) -> dict:
    user = request.user
    today = timezone.localdate()
    assessment = handling.latest_assessment(claim)
    late = handling.limitation(claim)
    clocks = [
        {"kind": k.kind, "label": calc.CLOCK_LABELS[k.kind], "due": k.due, "overdue": k.due < today}
        for k in handling.claim_clocks(claim)
    ]
    may_handle = can(user, "claim.handle")
    state = claim.state
    payable = assessment.payable if assessment else None
    outstanding = (
        (claim.decision_amount or 0) - (claim.amount_paid or 0) if claim.decision_amount is not None else None
    )
    policy = claim.policy
    return {
        "claim": claim,
        "policy": policy,
        "reporter_phone": shown(user, "mobile", claim.reporter_phone),
        "assessment": assessment,
        "clocks": clocks,
        "next_overdue": overdue_on(claim, today),
        "limitation_ends": late,
        "late_report": bool(late and late < claim.reported_on),
        "remaining": handling.remaining_sum_insured(policy),
        "payments": [{"p": p, "method": METHOD_LABELS.get(p.method, p.method)} for p in claim.payments.all()],
        "notices": list(claim.notices.all()),
        "events": [
            {
                "e": e,
                "label": ACTION_LABELS.get(e.action, e.action),
                "from": STATE_LABELS.get(e.state_from, e.state_from),
                "to": STATE_LABELS.get(e.state_to, e.state_to),
            }
            for e in claim.events.select_related("actor")
        ],
        "missing": handling.missing_documents(claim),
        "documents_notice_sent": claim.notices.filter(kind=NoticeKind.DOCUMENTS).exists(),
        "payable": payable,
        "payable_capital": calc.rmb_capital(payable) if payable else "",
        "outstanding": outstanding,
        "outstanding_capital": calc.rmb_capital(outstanding) if outstanding else "",
        "payees": handling.payees(claim, outstanding) if outstanding and state == ClaimState.APPROVED else [],
        "forms": {
            "documents": DocumentsForm(checklist=claim.documents)
            if may_handle and state == ClaimState.REPORTED
            else None,
            "assess": AssessForm(
                initial={
                    "deductible": rules.defaults(claim.claim_type)[0],
                    "ratio": rules.defaults(claim.claim_type)[1],
                }
            )
            if may_handle and state == ClaimState.REVIEWING
            else None,
            "decide": DecideForm(initial={"decision": Decision.PAY})
            if may_handle and state == ClaimState.REVIEWING and assessment
            else None,
            "advance": AdvanceForm()
            if may_handle
            and state in (ClaimState.REVIEWING, ClaimState.PENDING_APPROVAL)
            and not claim.payments.filter(kind="advance").exists()
            else None,
            "approve": ApproveForm()
            if can(user, "claim.approve")
            and state == ClaimState.PENDING_APPROVAL
            and claim.decided_by_id != user.pk
            else None,
            "pay": PayForm(initial={"paid_on": today})
            if may_handle and state == ClaimState.APPROVED
            else None,
            "close": ReasonForm()
            if may_handle and ClaimState.CLOSED in handling.TRANSITIONS.get(state, frozenset())
            else None,
            "withdraw": state in (ClaimState.REPORTED, ClaimState.REVIEWING),
            "reopen": ReasonForm() if may_handle and state == ClaimState.CLOSED else None,
            "sent": SentForm(initial={"sent_on": today}, auto_id=False) if may_handle else None,
        },
        "awaiting_other_approver": state == ClaimState.PENDING_APPROVAL and claim.decided_by_id == user.pk,
    }


@require_http_methods(["GET", "HEAD"])
def claim_detail_view(request, pk: int):
    claim = _claim_or_404(request.user, pk)
    return render(request, "claims/detail.html", _detail_context(request, claim))


def _action(request, pk: int, action: str, form_class, run, done: str, anchor: str = ""):
    """Validate a step's form, run its service, and return to the claim with what happened."""
    _require(request.user, action)
    claim = _claim_or_404(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            run(claim, form.cleaned_data)
        except DomainError as exc:
            _refused(request, exc)
        else:
            messages.success(request, done)
    else:
        _form_errors(request, form)
    return redirect(reverse("claims:detail", args=[claim.pk]) + (f"#{anchor}" if anchor else ""))


@require_POST
def claim_documents_view(request, pk: int):
    _require(request.user, "claim.handle")
    claim = _claim_or_404(request.user, pk)
    form = DocumentsForm(request.POST, checklist=claim.documents)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("claims:detail", pk=claim.pk)
    try:
        updated = handling.claim_documents(
            actor=request.user,
            claim_id=claim.pk,
            received=form.cleaned_data["received"],
            notify_missing=form.cleaned_data["notify_missing"],
        )
    except DomainError as exc:
        _refused(request, exc)
    else:
        if updated.state == ClaimState.REVIEWING:
            messages.success(request, _("资料已齐全，进入审核；30日核定时限自今日起算"))
        elif form.cleaned_data["notify_missing"]:
            messages.success(request, _("已出具补充材料通知书，一次性列明全部缺少的资料"))
        else:
            messages.success(request, _("已登记收到的资料"))
    return redirect("claims:detail", pk=claim.pk)


@require_POST
def claim_assess_view(request, pk: int):
    return _action(
        request, pk, "claim.handle", AssessForm,
        lambda c, cd: handling.claim_assess(actor=request.user, claim_id=c.pk, data=cd),
        _("已保存核赔结果"), "assessment",
    )  # fmt: skip


@require_POST
def claim_decide_view(request, pk: int):
    def run(c, cd):
        updated = handling.claim_decide(
            actor=request.user, claim_id=c.pk, decision=cd["decision"], reasons=cd.get("reasons") or "",
            amount=cd.get("amount") if cd["decision"] == Decision.PART_PAY else None,
        )  # fmt: skip
        if updated.state == ClaimState.PENDING_APPROVAL:
            messages.info(request, _("金额超过本机构权限，已提交另一位理赔人员复核"))
        elif updated.state == ClaimState.REJECTED:
            messages.info(request, _("已出具拒绝赔付通知书，请于3日内送达"))

    return _action(request, pk, "claim.handle", DecideForm, run, _("已作出理赔结论"), "decision")


@require_POST
def claim_approve_view(request, pk: int):
    return _action(
        request, pk, "claim.approve", ApproveForm,
        lambda c, cd: handling.claim_approve(
            actor=request.user, claim_id=c.pk, approve=cd["approve"] == "1", reason=cd.get("reason") or ""
        ),
        _("已复核"), "decision",
    )  # fmt: skip


@require_POST
def claim_pay_view(request, pk: int):
    return _action(
        request, pk, "claim.handle", PayForm,
        lambda c, cd: handling.claim_pay(
            actor=request.user, claim_id=c.pk, method=cd["method"], paid_on=cd.get("paid_on"),
            reference=cd.get("reference") or "",
        ),
        _("已支付赔款"), "payments",
    )  # fmt: skip


@require_POST
def claim_advance_view(request, pk: int):
    return _action(
        request, pk, "claim.handle", AdvanceForm,
        lambda c, cd: handling.claim_advance(
            actor=request.user, claim_id=c.pk, amount=cd["amount"], method=cd["method"], reason=cd["reason"],
            paid_on=cd.get("paid_on"), reference=cd.get("reference") or "",
        ),
        _("已先予支付"), "payments",
    )  # fmt: skip


@require_POST
def claim_close_view(request, pk: int):
    return _action(
        request, pk, "claim.handle", ReasonForm,
        lambda c, cd: handling.claim_close(actor=request.user, claim_id=c.pk, reason=cd.get("reason") or ""),
        _("已结案"),
    )  # fmt: skip


@require_POST
def claim_reopen_view(request, pk: int):
    return _action(
        request, pk, "claim.handle", ReasonForm,
        lambda c, cd: handling.claim_reopen(actor=request.user, claim_id=c.pk, reason=cd.get("reason") or ""),
        _("已重开，30日核定时限重新起算"),
    )  # fmt: skip


@require_POST
def claim_notice_sent_view(request, pk: int, notice_pk: int):
    return _action(
        request, pk, "claim.handle", SentForm,
        lambda c, cd: handling.claim_notice_sent(
            actor=request.user, claim_id=c.pk, notice_id=notice_pk, sent_on=cd.get("sent_on")
        ),
        _("已登记通知书送达"), "notices",
    )  # fmt: skip


@require_http_methods(["GET", "HEAD"])
def claim_notice_view(request, pk: int, notice_pk: int):
    """The print view of a notice the claimant receives (补充材料通知书 / 拒绝赔付通知书)."""
    claim = _claim_or_404(request.user, pk)
    notice = claim.notices.filter(pk=notice_pk).first()
    if notice is None:
        raise Http404(_("通知书不存在"))
    return render(request, "claims/notice.html", {"claim": claim, "notice": notice, "policy": claim.policy})


@require_http_methods(["GET", "HEAD"])
def customer_claims_view(request, pk: int):
    """The customer's claims (理赔历史), as a fragment the archive page loads with htmx."""
    try:
        customer = customer_get(viewer=request.user, pk=pk)
    except NotFound:
        raise Http404(_("客户档案不存在")) from None
    today = timezone.localdate()
    rows = [
        {"c": c, "overdue": overdue_on(c, today)}
        for c in customer_claims(viewer=request.user, customer_id=customer.pk)
    ]
    return render(request, "claims/_customer_claims.html", {"customer": customer, "rows": rows})
