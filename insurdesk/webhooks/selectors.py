"""Reads of the webhook pages and API (admin only: subscriptions are not scoped to a unit)."""

from django.db.models import Count, Q, QuerySet

from insurdesk.common.errors import FieldError, NotFound
from insurdesk.webhooks.models import Delivery, DeliveryStatus, Subscription


def subscription_list() -> QuerySet[Subscription]:
    return Subscription.objects.annotate(
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        delivered=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DELIVERED)),
    )


def subscription_get(pk: int) -> Subscription:
    sub = Subscription.objects.filter(pk=pk).first()
    if sub is None:
        raise NotFound(FieldError("", "not_found", "Webhook 订阅不存在"))
    return sub


def delivery_list(*, subscription: Subscription, status: str = "") -> QuerySet[Delivery]:
    rows = Delivery.objects.filter(subscription=subscription)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")
