"""Policy pages: list, the policy with its schedule, payments and members, the due list, payment
entry, issuing accepted applications, the print view and its PDF, and a customer's policies."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
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
from insurdesk.common.formtokens import once_per_form
from insurdesk.common.rmb import amount_in_capitals, figures
from insurdesk.customers.selectors import customer_get, shown, shown_text
from insurdesk.org.policy import can
from insurdesk.policies import calculations as calc
from insurdesk.policies.forms import (
    CancelForm,
    DueFilterForm,
    MemberForm,
    MemberImportForm,
    PaymentForm,
    PolicyFilterForm,
    ReceiptForm,
)
from insurdesk.policies.members import member_add, member_remove, members_import
from insurdesk.policies.models import OPEN_INSTALMENT, Policy, PolicyState, policy_key
from insurdesk.policies.selectors import (
    DueFilters,
    PolicyFilters,
    customer_policies,
    due_list,
    due_page,
    instalment_status_label,
    instalment_status_on,
    policy_get,
    policy_instalments,
    policy_list,
    policy_members,
    policy_payments,
)
from insurdesk.policies.services import (
    cooling_off_start,
    payment_record,
    policy_cancel,
    policy_issue,
    policy_record_receipt,
    policy_schedule,
)
from insurdesk.products.calculations import term_label
from insurdesk.products.models import PlanLevel
from insurdesk.underwriting.selectors import QueueFilters, underwriting_queue

PAGE_SIZE = 20
PRINTED_INSTALMENTS = 24  # a monthly 20-year schedule would take 240 lines; the rest is summarised


def _require(user, action: str) -> None:
    if not can(user, action):
        raise PermissionDenied(_("您的角色无权执行此操作"))


def _policy_or_404(viewer, pk: int) -> Policy:
    try:
        return policy_get(viewer=viewer, pk=pk)
    except NotFound:
        raise Http404(_("保单不存在")) from None


def _refused(request, exc: DomainError) -> None:
    for err in exc.errors:
        messages.error(request, err.message)


# ------------------------------------------------------------------ list and detail


@require_http_methods(["GET", "HEAD"])
def policy_list_view(request):
    form = PolicyFilterForm(request.GET or None, viewer=request.user)
    query, filters = "", PolicyFilters()
    if form.is_bound:
        form.is_valid()
        cd = form.cleaned_data
        query = cd.get("q") or ""
        filters = PolicyFilters(
            state=cd.get("state") or "",
            unit_id=cd.get("unit"),
            agent_id=cd.get("agent"),
            application_id=cd.get("application"),
        )
    page = Paginator(policy_list(viewer=request.user, query=query, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "policies/list.html", {"form": form, "page": page})


def _status_row(instalment, today) -> dict:
    """A premium with its status as of today (逾期 as soon as it is past due, see instalment_status_on)."""
    status = instalment_status_on(instalment, today)
    return {"i": instalment, "status": status, "status_label": instalment_status_label(status)}


def _detail_context(request, policy: Policy) -> dict:
    viewer = request.user
    start = cooling_off_start(policy)
    today = timezone.localdate()
    instalments = policy_instalments(policy)
    levels = list(PlanLevel.objects.filter(product__in=[line.product for line in policy.lines.all()]))
    context = {
        "policy": policy,
        "lines": [{"line": line, "term": term_label(line.coverage_term)} for line in policy.lines.all()],
        "beneficiaries": [
            {"b": b, "id_number": shown(viewer, "id_number", b.id_number)} for b in policy.beneficiaries.all()
        ],
        "schedule": policy_schedule(policy),
        "instalments": instalments,
        "instalment_rows": [_status_row(i, today) for i in instalments],
        "payments": policy_payments(policy),
        "payment_term": term_label(policy.payment_term),
        "coverage_term": term_label(policy.coverage_term),
        "cooling_off_end": calc.cooling_off_end(start, policy.cooling_off_days)
        if policy.cooling_off_days
        else None,
        "in_cooling_off": calc.within_cooling_off(start, policy.cooling_off_days, today),
        "open_instalment": next((i for i in instalments if i.status in OPEN_INSTALMENT), None),
        "can": {
            "pay": can(viewer, "payment.record")
            and policy.state
            in (PolicyState.PENDING, PolicyState.IN_FORCE, PolicyState.REINSTATED, PolicyState.LAPSED),
            "cancel": can(viewer, "policy.cancel")
            and policy.state in (PolicyState.PENDING, PolicyState.IN_FORCE),
            "receipt": can(viewer, "policy.receipt") and policy.state not in (PolicyState.CANCELLED,),
            "members": can(viewer, "policy.members") and policy.is_group,
        },
        "receipt_form": ReceiptForm(initial={"receipt_date": today}),
        "cancel_form": CancelForm(),
        "member_form": MemberForm(levels=levels),
        "import_form": MemberImportForm(),
    }
    if policy.is_group:
        context["members"] = [
            {
                "m": m,
                "id_number": shown(viewer, "id_number", m.id_number),
                "birth_date": shown_text(viewer, "birth_date", m.birth_date),
            }
            for m in policy_members(policy)[:500]
        ]
        context["member_count"] = policy.members.filter(status="active").count()
    return context


@require_http_methods(["GET", "HEAD"])
def policy_detail_view(request, pk: int):
    policy = _policy_or_404(request.user, pk)
    return render(request, "policies/detail.html", _detail_context(request, policy))


# ------------------------------------------------------------------ issuing


@require_http_methods(["GET", "HEAD"])
def to_issue_view(request):
    """Applications accepted by underwriting and not yet issued (核保通过待出单)."""
    rows = []
    for app in underwriting_queue(viewer=request.user, filters=QueueFilters(queue="accepted"))[:200]:
        rows.append({"app": app, "recording_ok": app.recording_ok})
    return render(
        request, "policies/to_issue.html", {"rows": rows, "can_issue": can(request.user, "policy.issue")}
    )


@require_POST
def issue_view(request, pk: int):
    _require(request.user, "policy.issue")
    try:
        policy = policy_issue(actor=request.user, application_id=pk)
    except NotAllowed:
        raise PermissionDenied(_("您的角色无权执行此操作")) from None
    except NotFound:
        raise Http404(_("投保单不存在")) from None
    except DomainError as exc:
        _refused(request, exc)
        return redirect("policies:to_issue")
    messages.success(request, _("已承保出单，保单号 %(no)s") % {"no": policy.policy_no})
    return redirect("policies:detail", pk=policy.pk)


# ------------------------------------------------------------------ payments and the due list


@require_http_methods(["GET", "HEAD", "POST"])
@once_per_form
def payment_new_view(request):
    """Payment entry (缴费录入): policy number, amount, method, date; the oldest open premium is paid."""
    _require(request.user, "payment.record")
    initial = {}
    policy = None
    if request.method != "POST" and request.GET.get("policy"):
        try:
            policy = policy_get(viewer=request.user, pk=int(request.GET["policy"]))
        except (NotFound, ValueError):
            policy = None
        if policy is not None:
            initial["policy_no"] = policy.policy_no
            due = policy.instalments.filter(status__in=OPEN_INSTALMENT).order_by("seq").first()
            if due is not None:
                initial["amount"] = due.outstanding
    form = PaymentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        policy = (
            policy_list(viewer=request.user, query=cd["policy_no"])
            .filter(policy_no=cd["policy_no"].strip().upper())
            .first()
        )
        if policy is None:
            form.add_error("policy_no", _("保单号不存在或不在您的管辖范围内"))
        else:
            try:
                payment, warnings = payment_record(
                    actor=request.user,
                    policy_id=policy.pk,
                    amount=cd["amount"],
                    method=cd["method"],
                    paid_on=cd["paid_on"],
                    reference=cd.get("reference") or "",
                    note=cd.get("note") or "",
                )
            except NotAllowed:
                raise PermissionDenied(_("您的角色无权执行此操作")) from None
            except DomainError as exc:
                form.add_domain_errors(exc.errors)
            else:
                for warning in warnings:
                    messages.warning(request, warning)
                messages.success(
                    request,
                    _("已录入缴费 %(amount)s 元（%(capitals)s；第 %(seq)s 期，%(status)s）")
                    % {
                        "amount": figures(payment.amount),
                        "capitals": amount_in_capitals(payment.amount),
                        "seq": payment.instalment.seq,
                        "status": payment.instalment.get_status_display(),
                    },
                )
                return redirect(reverse("policies:detail", args=[policy.pk]) + "#payments")
    return render(
        request,
        "policies/payment_form.html",
        {"form": form, "policy": policy},
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "HEAD"])
def due_list_view(request):
    """The due list (应收清单): unpaid, overdue and part-paid premiums by unit, agent and due date."""
    form = DueFilterForm(request.GET or None, viewer=request.user)
    filters = DueFilters()
    if form.is_bound:
        form.is_valid()
        cd = form.cleaned_data
        filters = DueFilters(
            unit_id=cd.get("unit"),
            agent_id=cd.get("agent"),
            due_from=cd.get("due_from"),
            due_to=cd.get("due_to"),
            status=cd.get("status") or "",
        )
    qs = due_list(viewer=request.user, filters=filters)
    # Page over the ids (index only), then fetch that page's rows with their joins (selectors.due_page).
    page = Paginator(qs.values_list("pk", flat=True), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = due_page(qs, (page.number - 1) * PAGE_SIZE, PAGE_SIZE)
    today = timezone.localdate()
    rows = [
        {
            **_status_row(i, today),
            "days_overdue": max(0, (today - i.due_date).days),
            "grace_end": calc.grace_end(i.due_date, i.policy.grace_days),
        }
        for i in page
    ]
    return render(
        request,
        "policies/due.html",
        {"form": form, "page": page, "rows": rows, "can_pay": can(request.user, "payment.record")},
    )


# ------------------------------------------------------------------ receipt, cancellation, members


@require_POST
def receipt_view(request, pk: int):
    _require(request.user, "policy.receipt")
    policy = _policy_or_404(request.user, pk)
    form = ReceiptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写回执签收日期"))
    else:
        try:
            policy_record_receipt(
                actor=request.user, policy_id=policy.pk, receipt_date=form.cleaned_data["receipt_date"]
            )
        except DomainError as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("已登记回执签收日期"))
    return redirect("policies:detail", pk=policy.pk)


@require_POST
def cancel_view(request, pk: int):
    _require(request.user, "policy.cancel")
    policy = _policy_or_404(request.user, pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写撤单原因"))
        return redirect("policies:detail", pk=policy.pk)
    try:
        _cancelled, refund = policy_cancel(
            actor=request.user, policy_id=policy.pk, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(
            request,
            _("已撤单，退还保费 %(amount)s 元（%(capitals)s）")
            % {
                "amount": figures(refund.amount if refund else 0),
                "capitals": amount_in_capitals(refund.amount if refund else 0),
            },
        )
    return redirect("policies:detail", pk=policy.pk)


@require_POST
def member_add_view(request, pk: int):
    _require(request.user, "policy.members")
    policy = _policy_or_404(request.user, pk)
    levels = PlanLevel.objects.filter(product__in=[line.product for line in policy.lines.all()])
    form = MemberForm(request.POST, levels=levels)
    if form.is_valid():
        try:
            member = member_add(actor=request.user, policy_id=policy.pk, data=form.cleaned_data)
        except DomainError as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("已加入被保险人 %(name)s") % {"name": member.name})
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect(reverse("policies:detail", args=[policy.pk]) + "#members")


@require_POST
def member_remove_view(request, pk: int, member_pk: int):
    _require(request.user, "policy.members")
    policy = _policy_or_404(request.user, pk)
    try:
        member_remove(actor=request.user, policy_id=policy.pk, member_id=member_pk)
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("已减员"))
    return redirect(reverse("policies:detail", args=[policy.pk]) + "#members")


@require_POST
def members_import_view(request, pk: int):
    """Import the member list; a refused file comes back with every row's errors on the page."""
    _require(request.user, "policy.members")
    policy = _policy_or_404(request.user, pk)
    form = MemberImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择要导入的 xlsx 或 csv 文件"))
        return redirect(reverse("policies:detail", args=[policy.pk]) + "#members")
    upload = form.cleaned_data["file"]
    try:
        result = members_import(
            actor=request.user,
            policy_id=policy.pk,
            filename=upload.name,
            content=upload.read(),
            dry_run=form.cleaned_data["dry_run"],
        )
    except DomainError as exc:
        _refused(request, exc)
        return redirect(reverse("policies:detail", args=[policy.pk]) + "#members")
    if result.ok and not result.dry_run:
        messages.success(request, _("已导入 %(n)s 名被保险人") % {"n": result.created})
        return redirect(reverse("policies:detail", args=[policy.pk]) + "#members")
    context = _detail_context(request, _policy_or_404(request.user, pk))
    context["import_result"] = result
    if result.ok:
        messages.info(request, _("校验通过：%(n)s 行均可导入（未导入）") % {"n": result.rows})
    return render(request, "policies/detail.html", context, status=200 if result.ok else 422)


# ------------------------------------------------------------------ printing


def _print_context(request, policy: Policy) -> dict:
    context = _detail_context(request, policy)
    context["printed_at"] = timezone.localtime()
    context["schedule_shown"] = context["schedule"][:PRINTED_INSTALMENTS]
    context["schedule_more"] = max(0, len(context["schedule"]) - PRINTED_INSTALMENTS)
    context["schedule_last"] = context["schedule"][-1].due_date if context["schedule"] else None
    return context


def _record_print(request, policy: Policy, kind: str) -> None:
    audit_log(
        actor=request.user,
        action="policy.print",
        target=policy,
        detail={"format": kind},
        ip=request.META.get("REMOTE_ADDR"),
    )


@require_http_methods(["GET", "HEAD"])
def print_view(request, pk: int):
    """The printable policy schedule (保险单) as a page; the browser prints it."""
    policy = _policy_or_404(request.user, pk)
    _record_print(request, policy, "html")
    return render(request, "policies/print.html", _print_context(request, policy))


@require_http_methods(["GET", "HEAD"])
def pdf_view(request, pk: int):
    """The same schedule as a PDF (WeasyPrint; Chinese set in Noto CJK, which fonts-noto-cjk installs)."""
    from weasyprint import CSS, HTML

    policy = _policy_or_404(request.user, pk)
    _record_print(request, policy, "pdf")
    html = render_to_string("policies/print.html", {**_print_context(request, policy), "pdf": True}, request)
    css = CSS(filename=finders.find("policies/print.css"))
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf(stylesheets=[css])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{policy.policy_no}.pdf"'
    return response


# ------------------------------------------------------------------ a customer's policies (archive page)


@require_http_methods(["GET", "HEAD"])
def customer_policies_view(request, pk: int):
    """The customer's policies in every role, as a fragment the archive page loads with htmx."""
    try:
        customer = customer_get(viewer=request.user, pk=pk)
    except NotFound:
        raise Http404(_("客户档案不存在")) from None
    rows = customer_policies(customer_id=customer.pk, viewer=request.user)
    pending = applications_in_progress(viewer=request.user, customer_id=customer.pk)
    return render(
        request,
        "policies/_customer_policies.html",
        {"customer": customer, "rows": rows, "pending": pending},
    )


def applications_in_progress(*, viewer, customer_id: int) -> list:
    """The customer's applications not yet issued, withdrawn or declined, as policyholder or insured."""
    from django.db.models import Q

    from insurdesk.applications.models import OPEN_STATES
    from insurdesk.applications.selectors import application_scope

    qs = application_scope(viewer).filter(
        Q(policyholder_id=customer_id) | Q(insured_id=customer_id), state__in=OPEN_STATES
    )
    return list(qs.select_related("policyholder").order_by("-id")[:50])


@login_required
@require_http_methods(["GET", "HEAD"])
def search_view(request):
    """The top bar's search box: a policy number opens that policy, anything else the customer search."""
    from urllib.parse import urlencode

    q = (request.GET.get("q") or "").strip()
    if q and any(ch.isdigit() for ch in q) and not q.upper().startswith("KH"):
        may = can(request.user, "policy.view")
        found = list(policy_list(viewer=request.user, query=q)[:2]) if may else []
        exact = [p for p in found if p.policy_key == policy_key(q)]
        if len(exact) == 1:
            return redirect("policies:detail", pk=exact[0].pk)
        if found and len(q) >= 4 and not q.isdigit():
            return redirect(f"{reverse('policies:list')}?{urlencode({'q': q})}")
    return redirect(f"{reverse('customers:list')}?{urlencode({'q': q})}" if q else reverse("customers:list"))
