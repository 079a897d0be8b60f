"""Compliance pages (合规): the log, AML queues and customers, flags, checks and tasks, PIPL requests."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.common.errors import DomainError, NotAllowed, NotFound
from insurdesk.compliance import exports
from insurdesk.compliance.checks import CHECK_LABELS, CHECKS
from insurdesk.compliance.forms import (
    AuditFilterForm,
    ConsentForm,
    ConsentWithdrawForm,
    FlagFilterForm,
    FlagRaiseForm,
    FlagReviewForm,
    PiAssignForm,
    PiCloseForm,
    PiFilterForm,
    PiRequestForm,
    ReviewForm,
    TaskAssignForm,
    TaskFilterForm,
    TaskNoteForm,
    TaskTransitionForm,
)
from insurdesk.compliance.models import TASK_TRANSITIONS, CheckRun, FlagState, RequestState
from insurdesk.compliance.rules import Thresholds, rule_table
from insurdesk.compliance.selectors import (
    ACTION_LABELS,
    QUEUES,
    AuditFilters,
    TaskFilters,
    aml_queue,
    archive_numbers_of,
    audit_search,
    consent_get,
    consent_list,
    customer_aml,
    customer_blocked_for_new_business,
    dashboard,
    finding_list,
    flag_get,
    flag_list,
    latest_chain_verification,
    normalise_archive_no,
    pi_request_get,
    pi_request_list,
    task_get,
    task_list,
    tasks_by_owner,
)
from insurdesk.compliance.services import (
    aml_rate,
    aml_review_record,
    audit_export_record,
    chain_verify,
    compliance_check_run,
    consent_record,
    consent_withdraw,
    pi_request_assign,
    pi_request_close,
    pi_request_record,
    task_assign,
    task_note_add,
    task_transition,
    transaction_flag_raise,
    transaction_flag_review,
)
from insurdesk.customers.models import Customer
from insurdesk.customers.selectors import customer_get, customer_scope
from insurdesk.org.policy import can

PAGE_SIZE = 50


def _require(user, action: str) -> None:
    if not can(user, action):
        raise PermissionDenied(_("您的角色无权执行此操作"))


def _customer_or_404(viewer, pk: int) -> Customer:
    try:
        return customer_get(viewer=viewer, pk=pk)
    except NotFound:
        raise Http404(_("客户档案不存在")) from None


def _page(request, qs, size: int = PAGE_SIZE):
    return Paginator(qs, size).get_page(request.GET.get("page"))


def _back(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _run(request, call, success: str) -> bool:
    """Call a service; show its refusal as messages (404/403 as such). Return whether it succeeded."""
    try:
        call()
    except NotFound:
        raise Http404(_("记录不存在")) from None
    except NotAllowed:
        raise PermissionDenied(_("您的角色无权执行此操作")) from None
    except DomainError as exc:
        for err in exc.errors:
            messages.error(request, err.message)
        return False
    messages.success(request, success)
    return True


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for message in errors:
            messages.error(request, f"{label}：{message}" if label else message)


# ---------------------------------------------------------------- the desk


@login_required
@require_http_methods(["GET", "HEAD"])
def home(request):
    _require(request.user, "compliance.view")
    thresholds = Thresholds.from_settings()
    context = {
        "d": dashboard(viewer=request.user),
        "rules": rule_table(thresholds),
        "bands": thresholds,
        "section": "home",
    }
    return render(request, "compliance/home.html", context)


# ---------------------------------------------------------------- the tamper-evident log


def _audit_filters(form) -> AuditFilters:
    if not form.is_bound:
        return AuditFilters()
    form.is_valid()
    cd = form.cleaned_data
    return AuditFilters(
        actor=cd.get("actor") or "",
        action=cd.get("action") or "",
        archive_no=cd.get("archive_no") or "",
        date_from=cd.get("date_from"),
        date_to=cd.get("date_to"),
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def audit_log(request):
    _require(request.user, "audit.view")
    form = AuditFilterForm(request.GET or None)
    filters = _audit_filters(form)
    page = _page(request, audit_search(viewer=request.user, filters=filters))
    entries = list(page)
    numbers = archive_numbers_of(entries)
    rows = [
        {
            "e": e,
            "detail": json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else "",
            "label": ACTION_LABELS.get(e.action, ""),
            "archive_no": numbers.get(e.target_id, "") if e.target_type == "customers.customer" else "",
        }
        for e in entries
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "compliance/audit_log.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "chain": latest_chain_verification(),
            "query": query.urlencode(),
            "can_export_log": can(request.user, "audit.export"),
            "section": "audit",
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def audit_export(request):
    _require(request.user, "audit.export")
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise Http404(_("不支持的导出格式"))
    form = AuditFilterForm(request.GET)
    filters = _audit_filters(form)
    limit = int(getattr(settings, "INSURDESK_AUDIT_EXPORT_MAX", 100000))
    entries = list(audit_search(viewer=request.user, filters=filters)[: limit + 1])
    if len(entries) > limit:
        messages.error(request, _("符合条件的记录超过 %(n)s 条，请缩小查询范围后再导出") % {"n": limit})
        return redirect(reverse("compliance:audit_log") + "?" + form.data.urlencode())
    audit_export_record(
        actor=request.user,
        fmt=fmt,
        rows=len(entries),
        filters=filters.as_dict(),
        ip=request.META.get("REMOTE_ADDR"),
    )
    rows = exports.audit_rows(entries)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        response = HttpResponse(exports.to_csv(rows), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.to_xlsx(rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def audit_verify_view(request):
    _require(request.user, "audit.view")
    row = chain_verify(actor=request.user)
    if row.ok:
        messages.success(request, _("记录链完整：已校验 %(n)s 条") % {"n": row.checked})
    else:
        messages.error(
            request,
            _("记录链异常：第 %(seq)s 条 %(problem)s") % {"seq": row.first_bad_seq, "problem": row.problem},
        )
    return redirect("compliance:audit_log")


# ---------------------------------------------------------------- AML queues and customers


@login_required
@require_http_methods(["GET", "HEAD"])
def queue(request, name: str):
    _require(request.user, "compliance.view")
    if name not in QUEUES:
        raise Http404(_("队列不存在"))
    try:
        window = max(0, min(int(request.GET.get("window", 30)), 3650))
    except ValueError:
        window = 30
    page = _page(request, aml_queue(viewer=request.user, name=name, window=window))
    title, description, _builder = QUEUES[name]
    return render(
        request,
        "compliance/queue.html",
        {
            "name": name,
            "title": title,
            "description": description,
            "page": page,
            "window": window,
            "queues": [(k, v[0]) for k, v in QUEUES.items()],
            "today": timezone.localdate(),
            "section": "queues",
        },
    )


def _customer_aml_context(request, customer: Customer) -> dict:
    data = customer_aml(customer=customer)
    return {
        "customer": customer,
        **data,
        "latest": data["assessments"][0] if data["assessments"] else None,
        "blocked": customer_blocked_for_new_business(customer),
        "flags": list(flag_list(viewer=request.user).filter(customer=customer)[:50]),
        "findings": list(finding_list(viewer=request.user).filter(customer=customer)),
        "requests": list(pi_request_list(viewer=request.user, customer=customer)[:20]),
        "can_manage": can(request.user, "compliance.manage"),
        "review_form": ReviewForm(),
        "flag_form": FlagRaiseForm(),
        "flag_review_form": FlagReviewForm(auto_id=False),
        "section": "queues",
    }


@login_required
@require_http_methods(["GET", "HEAD"])
def customer_aml_view(request, pk: int):
    _require(request.user, "compliance.view")
    customer = _customer_or_404(request.user, pk)
    return render(request, "compliance/customer_aml.html", _customer_aml_context(request, customer))


@login_required
@require_POST
def customer_rate(request, pk: int):
    _require(request.user, "compliance.manage")
    customer = _customer_or_404(request.user, pk)
    holder = {}

    def call():
        holder["outcome"] = aml_rate(actor=request.user, customer_id=customer.pk)

    if _run(request, call, _("已按评级规则重新评级")):
        level = holder["outcome"].rating.level
        messages.info(
            request,
            _("评级结果：%(level)s风险") % {"level": {"low": "低", "medium": "中", "high": "高"}[level]},
        )
    return redirect("compliance:customer_aml", pk=customer.pk)


@login_required
@require_POST
def customer_review(request, pk: int):
    _require(request.user, "compliance.manage")
    customer = _customer_or_404(request.user, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        cd = form.cleaned_data
        _run(
            request,
            lambda: aml_review_record(
                actor=request.user,
                customer_id=customer.pk,
                conclusion=cd["conclusion"],
                level=cd.get("level") or None,
                next_review=cd.get("next_review"),
                note=cd.get("note") or "",
                reviewed_on=cd.get("reviewed_on"),
            ),
            _("审核已记录"),
        )
    return redirect(reverse("compliance:customer_aml", args=[customer.pk]) + "#reviews")


@login_required
@require_POST
def flag_raise(request, pk: int):
    _require(request.user, "compliance.manage")
    customer = _customer_or_404(request.user, pk)
    form = FlagRaiseForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        cd = form.cleaned_data
        _run(
            request,
            lambda: transaction_flag_raise(
                actor=request.user,
                customer_id=customer.pk,
                kind=cd["kind"],
                amount=cd.get("amount"),
                reference=cd.get("reference") or "",
                occurred_on=cd.get("occurred_on"),
                reason=cd["reason"],
                source="compliance",
            ),
            _("已标记，待审核"),
        )
    return redirect(reverse("compliance:customer_aml", args=[customer.pk]) + "#flags")


# ---------------------------------------------------------------- the archive page's panel and consents


@login_required
@require_http_methods(["GET", "HEAD"])
def customer_panel(request, pk: int):
    """The consents (and, for compliance, the AML rating reasons) shown on the archive page via htmx."""
    _require(request.user, "consent.view")
    customer = _customer_or_404(request.user, pk)
    context = {
        "customer": customer,
        "consents": consent_list(customer=customer),
        "can_manage_consent": can(request.user, "consent.manage"),
        "show_aml": can(request.user, "compliance.view"),
        "consent_form": ConsentForm(),
        "withdraw_form": ConsentWithdrawForm(),
        "next": reverse("customers:detail", args=[customer.pk]) + "#compliance",
    }
    if context["show_aml"]:
        data = customer_aml(customer=customer, limit=1)
        context["latest"] = data["assessments"][0] if data["assessments"] else None
        context["blocked"] = customer_blocked_for_new_business(customer)
    return render(request, "compliance/_customer_panel.html", context)


@login_required
@require_POST
def consent_add(request, pk: int):
    _require(request.user, "consent.manage")
    customer = _customer_or_404(request.user, pk)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        cd = form.cleaned_data
        _run(
            request,
            lambda: consent_record(
                actor=request.user,
                customer_id=customer.pk,
                purpose=cd["purpose"],
                channel=cd["channel"],
                granted_at=cd.get("granted_at"),
                evidence=cd.get("evidence") or "",
            ),
            _("已记录同意"),
        )
    return redirect(_back(request, reverse("customers:detail", args=[customer.pk]) + "#compliance"))


@login_required
@require_POST
def consent_withdraw_view(request, pk: int):
    _require(request.user, "consent.manage")
    consent = consent_get(viewer=request.user, pk=pk)
    if consent is None:
        raise Http404(_("同意记录不存在"))
    form = ConsentWithdrawForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        _run(
            request,
            lambda: consent_withdraw(
                actor=request.user, consent_id=consent.pk, channel=form.cleaned_data["channel"]
            ),
            _("已记录撤回"),
        )
    return redirect(_back(request, reverse("customers:detail", args=[consent.customer_id]) + "#compliance"))


# ---------------------------------------------------------------- transaction flags


@login_required
@require_http_methods(["GET", "HEAD"])
def flags(request):
    _require(request.user, "compliance.view")
    form = FlagFilterForm(request.GET or {"state": FlagState.OPEN})
    form.is_valid()
    cd = form.cleaned_data
    page = _page(
        request, flag_list(viewer=request.user, state=cd.get("state") or "", kind=cd.get("kind") or "")
    )
    return render(
        request,
        "compliance/flags.html",
        {
            "form": form,
            "page": page,
            "flag_review_form": FlagReviewForm(auto_id=False),
            "can_manage": can(request.user, "compliance.manage"),
            "section": "flags",
        },
    )


@login_required
@require_POST
def flag_review(request, pk: int):
    _require(request.user, "compliance.manage")
    flag = flag_get(viewer=request.user, pk=pk)
    if flag is None:
        raise Http404(_("交易标记不存在"))
    form = FlagReviewForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        cd = form.cleaned_data
        _run(
            request,
            lambda: transaction_flag_review(
                actor=request.user, flag_id=flag.pk, decision=cd["decision"], note=cd.get("note") or ""
            ),
            _("交易标记已审核"),
        )
    return redirect(_back(request, reverse("compliance:flags")))


# ---------------------------------------------------------------- compliance checks and tasks


@login_required
@require_http_methods(["GET", "HEAD"])
def checks(request):
    _require(request.user, "compliance.view")
    code = request.GET.get("check", "")
    if code not in CHECK_LABELS:
        code = ""
    open_counts = {c: 0 for c in CHECK_LABELS}
    for row in finding_list(viewer=request.user).values_list("check_code", flat=True):
        open_counts[row] = open_counts.get(row, 0) + 1
    page = _page(request, finding_list(viewer=request.user, check=code))
    for f in page:
        f.check_label = CHECK_LABELS.get(f.check_code, f.check_code)
    return render(
        request,
        "compliance/checks.html",
        {
            "checks": [(c, open_counts.get(c.code, 0)) for c in CHECKS],
            "runs": CheckRun.objects.select_related("actor")[:10],
            "page": page,
            "check": code,
            "check_label": CHECK_LABELS.get(code, ""),
            "can_manage": can(request.user, "compliance.manage"),
            "section": "checks",
        },
    )


@login_required
@require_POST
def checks_run(request):
    _require(request.user, "compliance.manage")
    codes = [c for c in request.POST.getlist("check") if c] or None
    holder = {}

    def call():
        holder["run"] = compliance_check_run(actor=request.user, codes=codes)

    if _run(request, call, _("合规检查已完成")):
        counts = holder["run"].counts
        messages.info(
            request,
            _("新发现 %(new)s 项，已消除 %(closed)s 项")
            % {
                "new": sum(c["new"] for c in counts.values()),
                "closed": sum(c["closed"] for c in counts.values()),
            },
        )
    return redirect("compliance:checks")


@login_required
@require_http_methods(["GET", "HEAD"])
def tasks(request):
    _require(request.user, "compliance.view")
    form = TaskFilterForm(request.GET or {"state": "open_all"}, viewer=request.user)
    form.is_valid()
    cd = form.cleaned_data
    filters = TaskFilters(
        state=cd.get("state") or "",
        owner_id=cd.get("owner"),
        unassigned=cd.get("unassigned") or False,
        overdue=cd.get("overdue") or False,
        check=cd.get("check") or "",
    )
    page = _page(request, task_list(viewer=request.user, filters=filters))
    for t in page:
        t.check_label = CHECK_LABELS.get(t.finding.check_code, t.finding.check_code)
    return render(
        request,
        "compliance/tasks.html",
        {
            "form": form,
            "page": page,
            "owners": tasks_by_owner(viewer=request.user),
            "labels": CHECK_LABELS,
            "today": timezone.localdate(),
            "section": "tasks",
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def task_detail(request, pk: int):
    _require(request.user, "compliance.view")
    task = task_get(viewer=request.user, pk=pk)
    if task is None:
        raise Http404(_("整改任务不存在"))
    allowed = [
        (name, label) for name, (sources, _target, label) in TASK_TRANSITIONS.items() if task.state in sources
    ]
    return render(
        request,
        "compliance/task_detail.html",
        {
            "task": task,
            "notes": task.notes.select_related("author"),
            "transitions": allowed,
            "label": CHECK_LABELS.get(task.finding.check_code, task.finding.check_code),
            "assign_form": TaskAssignForm(
                viewer=request.user, initial={"owner": task.owner_id, "due_on": task.due_on}
            ),
            "note_form": TaskNoteForm(),
            "can_manage": can(request.user, "compliance.manage"),
            "today": timezone.localdate(),
            "section": "tasks",
        },
    )


@login_required
@require_POST
def task_action(request, pk: int):
    _require(request.user, "compliance.manage")
    task = task_get(viewer=request.user, pk=pk)
    if task is None:
        raise Http404(_("整改任务不存在"))
    op = request.POST.get("op")
    if op == "transition":
        form = TaskTransitionForm(request.POST)
        if form.is_valid():
            cd = form.cleaned_data
            _run(
                request,
                lambda: task_transition(
                    actor=request.user,
                    task_id=task.pk,
                    name=cd["transition"],
                    note=cd.get("note") or "",
                    expected_version=cd.get("version"),
                ),
                _("已%(label)s") % {"label": TASK_TRANSITIONS[cd["transition"]][2]},
            )
    elif op == "assign":
        form = TaskAssignForm(request.POST, viewer=request.user)
        if form.is_valid():
            cd = form.cleaned_data
            _run(
                request,
                lambda: task_assign(
                    actor=request.user,
                    task_id=task.pk,
                    owner_id=cd.get("owner"),
                    due_on=cd.get("due_on"),
                    note=cd.get("note") or "",
                ),
                _("已保存指派"),
            )
    elif op == "note":
        form = TaskNoteForm(request.POST)
        if form.is_valid():
            _run(
                request,
                lambda: task_note_add(actor=request.user, task_id=task.pk, text=form.cleaned_data["text"]),
                _("已添加整改记录"),
            )
    else:
        return HttpResponseBadRequest(_("未知操作"))
    if not form.is_valid():
        _form_errors(request, form)
    return redirect("compliance:task_detail", pk=task.pk)


# ---------------------------------------------------------------- personal-information requests


@login_required
@require_http_methods(["GET", "HEAD"])
def pi_requests(request):
    _require(request.user, "compliance.view")
    form = PiFilterForm(request.GET or {"state": RequestState.OPEN})
    form.is_valid()
    cd = form.cleaned_data
    page = _page(
        request,
        pi_request_list(viewer=request.user, state=cd.get("state") or "", overdue=cd.get("overdue") or False),
    )
    return render(
        request,
        "compliance/pi_requests.html",
        {
            "form": form,
            "page": page,
            "today": timezone.localdate(),
            "can_manage": can(request.user, "compliance.manage"),
            "section": "requests",
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def pi_request_create(request):
    _require(request.user, "compliance.manage")
    form = PiRequestForm(
        request.POST or None, viewer=request.user, initial={"archive_no": request.GET.get("archive_no", "")}
    )
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        customer = (
            customer_scope(request.user).filter(archive_no=normalise_archive_no(cd["archive_no"])).first()
        )
        if customer is None:
            form.add_error("archive_no", _("客户号不存在或不在您的管辖范围内"))
        else:
            try:
                req = pi_request_record(
                    actor=request.user,
                    customer_id=customer.pk,
                    kind=cd["kind"],
                    channel=cd["channel"],
                    received_on=cd.get("received_on"),
                    description=cd.get("description") or "",
                    handler_id=cd.get("handler"),
                )
            except DomainError as exc:
                for err in exc.errors:
                    form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                messages.success(
                    request, _("已受理，答复期限 %(due)s") % {"due": req.due_on.strftime("%Y-%m-%d")}
                )
                return redirect("compliance:pi_request_detail", pk=req.pk)
    return render(request, "compliance/pi_request_form.html", {"form": form, "section": "requests"})


@login_required
@require_http_methods(["GET", "HEAD"])
def pi_request_detail(request, pk: int):
    _require(request.user, "compliance.view")
    req = pi_request_get(viewer=request.user, pk=pk)
    if req is None:
        raise Http404(_("个人信息权利请求不存在"))
    initial = {"outcome": "retained"} if req.retention_hold else {}
    return render(
        request,
        "compliance/pi_request_detail.html",
        {
            "req": req,
            "close_form": PiCloseForm(initial=initial),
            "assign_form": PiAssignForm(viewer=request.user, initial={"handler": req.handler_id}),
            "can_manage": can(request.user, "compliance.manage"),
            "today": timezone.localdate(),
            "section": "requests",
        },
    )


@login_required
@require_POST
def pi_request_action(request, pk: int):
    _require(request.user, "compliance.manage")
    req = pi_request_get(viewer=request.user, pk=pk)
    if req is None:
        raise Http404(_("个人信息权利请求不存在"))
    op = request.POST.get("op")
    if op == "close":
        form = PiCloseForm(request.POST)
        if form.is_valid():
            cd = form.cleaned_data
            _run(
                request,
                lambda: pi_request_close(
                    actor=request.user,
                    request_id=req.pk,
                    outcome=cd["outcome"],
                    note=cd.get("note") or "",
                    retention_ref=cd.get("retention_ref") or "",
                ),
                _("已答复"),
            )
    elif op == "assign":
        form = PiAssignForm(request.POST, viewer=request.user)
        if form.is_valid():
            _run(
                request,
                lambda: pi_request_assign(
                    actor=request.user, request_id=req.pk, handler_id=form.cleaned_data["handler"]
                ),
                _("已指派经办人"),
            )
    else:
        return HttpResponseBadRequest(_("未知操作"))
    if not form.is_valid():
        _form_errors(request, form)
    return redirect("compliance:pi_request_detail", pk=req.pk)
