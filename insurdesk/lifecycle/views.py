"""Retention pages (归档与销毁): what has reached its end, one archive's periods, request and decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.common.errors import DomainError, NotAllowed, NotFound
from insurdesk.customers.services import customer_record_view
from insurdesk.lifecycle.forms import DecisionForm, DestructionRequestForm
from insurdesk.lifecycle.models import RequestState
from insurdesk.lifecycle.rules import retention_rules
from insurdesk.lifecycle.selectors import (
    anonymous_statistics,
    customer_for_retention,
    customer_requests,
    destruction_records,
    destruction_requests,
    due_customers,
    due_rows,
    retention_status,
)
from insurdesk.lifecycle.services import (
    destruction_approve,
    destruction_reject,
    destruction_request,
    destruction_withdraw,
)
from insurdesk.org.policy import can

PAGE_SIZE = 20


def _customer(viewer, pk: int):
    try:
        return customer_for_retention(viewer=viewer, pk=pk)
    except NotFound:
        raise Http404(_("客户档案不存在")) from None


@login_required
@require_http_methods(["GET", "HEAD"])
def index(request):
    qs, meta = due_customers(viewer=request.user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "rules": list(retention_rules().values()),
        "page": page,
        "rows": due_rows(page, meta),
        "open_requests": list(destruction_requests(viewer=request.user, state=RequestState.REQUESTED)[:100]),
    }
    return render(request, "lifecycle/index.html", context)


@login_required
@require_http_methods(["GET", "HEAD"])
def records(request):
    page = Paginator(destruction_records(viewer=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "statistics": anonymous_statistics(viewer=request.user)}
    return render(request, "lifecycle/records.html", context)


@login_required
@require_http_methods(["GET", "HEAD"])
def customer_retention(request, pk: int):
    user = request.user
    customer = _customer(user, pk)
    customer_record_view(
        actor=user, customer=customer, channel="lifecycle", ip=request.META.get("REMOTE_ADDR")
    )
    status = retention_status(customer=customer)
    requests = customer_requests(customer=customer)
    open_request = next((r for r in requests if r.is_open), None)
    mine = open_request is not None and open_request.requested_by_id == user.pk
    context = {
        "customer": customer,
        "status": status,
        "requests": requests,
        "open_request": open_request,
        "can_request": can(user, "lifecycle.request") and status.due and open_request is None,
        "can_decide": can(user, "lifecycle.approve") and open_request is not None and not mine,
        "can_withdraw": mine,
        "request_form": DestructionRequestForm(),
        "decision_form": DecisionForm(initial={"request_id": open_request.pk}) if open_request else None,
    }
    return render(request, "lifecycle/customer.html", context)


def _run(request, pk: int, action, success: str):
    """Call one service, turning its refusal into a message on the archive's retention page."""
    try:
        action()
    except NotAllowed as exc:
        if exc.errors and exc.errors[0].code == "forbidden":
            raise PermissionDenied(exc.errors[0].message) from None
        messages.error(request, exc.errors[0].message)
    except NotFound:
        raise Http404(_("客户档案不存在")) from None
    except DomainError as exc:
        for err in exc.errors:
            messages.error(request, err.message)
    else:
        messages.success(request, success)
    return redirect("lifecycle:customer", pk=pk)


@login_required
@require_POST
def request_destruction(request, pk: int):
    customer = _customer(request.user, pk)
    form = DestructionRequestForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("lifecycle:customer", pk=customer.pk)
    return _run(
        request,
        customer.pk,
        lambda: destruction_request(
            actor=request.user, customer_id=customer.pk, reason=form.cleaned_data["reason"]
        ),
        _("已提交销毁申请，待另一名合规专员或管理员审批"),
    )


def _decision(request, pk: int, service, success: str):
    customer = _customer(request.user, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("申请已变化，请刷新后重试"))
        return redirect("lifecycle:customer", pk=customer.pk)
    request_id = form.cleaned_data["request_id"]
    if not any(r.pk == request_id and r.is_open for r in customer_requests(customer=customer)):
        messages.error(request, _("该申请已处理或不属于此档案，请刷新后重试"))
        return redirect("lifecycle:customer", pk=customer.pk)
    note = form.cleaned_data.get("note") or ""
    return _run(
        request, customer.pk, lambda: service(actor=request.user, request_id=request_id, note=note), success
    )


@login_required
@require_POST
def approve_request(request, pk: int):
    return _decision(request, pk, destruction_approve, _("已审批，档案已匿名化销毁"))


@login_required
@require_POST
def reject_request(request, pk: int):
    return _decision(request, pk, destruction_reject, _("已驳回销毁申请"))


@login_required
@require_POST
def withdraw_request(request, pk: int):
    def withdraw(*, actor, request_id, note):
        return destruction_withdraw(actor=actor, request_id=request_id)

    return _decision(request, pk, withdraw, _("已撤回销毁申请"))
