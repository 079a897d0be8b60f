"""Webhook pages: subscriptions (list, new), one subscription's delivery log with replay."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.common.errors import DomainError, NotFound
from insurdesk.webhooks.forms import SubscriptionForm
from insurdesk.webhooks.models import DeliveryStatus, Scope
from insurdesk.webhooks.selectors import delivery_list, subscription_get, subscription_list
from insurdesk.webhooks.services import delivery_replay, subscription_create, subscription_set_active


@require_http_methods(["GET", "HEAD", "POST"])
def subscriptions(request):
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = {**form.cleaned_data, "scope": form.cleaned_data["scope"] or Scope.IDS}
            sub = subscription_create(actor=request.user, **data)
        except DomainError as exc:
            for err in exc.errors:
                form.add_error(err.field if err.field in form.fields else None, err.message)
        else:
            messages.success(request, _("已订阅：%(url)s") % {"url": sub.url})
            return redirect("webhooks:detail", pk=sub.pk)
    return render(request, "webhooks/list.html", {"form": form, "rows": subscription_list()})


def _get(pk):
    try:
        return subscription_get(pk)
    except NotFound:
        raise Http404(_("Webhook 订阅不存在")) from None


@require_http_methods(["GET", "HEAD"])
def detail(request, pk: int):
    sub = _get(pk)
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    page = Paginator(delivery_list(subscription=sub, status=status), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "webhooks/detail.html",
        {"sub": sub, "page": page, "status": status, "statuses": DeliveryStatus.choices},
    )


@require_POST
def replay(request, pk: int, delivery_pk: int):
    _get(pk)
    try:
        new = delivery_replay(actor=request.user, subscription_id=pk, delivery_id=delivery_pk)
    except NotFound:
        raise Http404(_("投递记录不存在")) from None
    except DomainError as exc:
        messages.error(request, exc.errors[0].message)
    else:
        messages.success(request, _("已重新排队发送（投递 #%(id)s）") % {"id": new.pk})
    return redirect("webhooks:detail", pk=pk)


@require_POST
def toggle(request, pk: int):
    sub = _get(pk)
    sub = subscription_set_active(actor=request.user, subscription_id=pk, active=not sub.active)
    messages.success(request, _("订阅已启用") if sub.active else _("订阅已停用"))
    return redirect("webhooks:detail", pk=pk)
