"""REST endpoints of webhooks (`/api/v1/webhooks`) — a published contract: names and shapes stay.

POST /webhooks {url, events, secret[, scope, description]} → 201; GET /webhooks; GET
/webhooks/{id}/deliveries; POST /webhooks/{id}/deliveries/{delivery_id}/replay → 202.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status

from insurdesk.org.api import ErrorsOut, InSchema
from insurdesk.webhooks.models import Delivery, DeliveryStatus, Scope, Subscription
from insurdesk.webhooks.selectors import delivery_list, subscription_get, subscription_list
from insurdesk.webhooks.services import delivery_replay, subscription_create

router = Router(tags=["webhooks"])

_READ = {401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
ScopeT = Literal[tuple(Scope.values)]  # type: ignore[valid-type]
StatusT = Literal[tuple(DeliveryStatus.values)]  # type: ignore[valid-type]


class SubscriptionIn(InSchema):
    url: str = Field(max_length=500, description="接收地址，http:// 或 https://")
    events: list[str] = Field(description="订阅的事件，如 customer.created、policy.issued")
    secret: str = Field(max_length=200, description="签名密钥（至少 16 个字符），只在此提交一次")
    scope: ScopeT = Field(Scope.IDS, description="ids：仅编号与状态；personal：含个人信息")
    description: str = Field("", max_length=200)


class SubscriptionOut(Schema):
    id: int
    url: str
    events: list[str]
    scope: str
    active: bool
    description: str
    created_at: datetime


class DeliveryOut(Schema):
    id: int
    event: str
    event_id: UUID
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    replay_of: int | None
    body: str = Field(description="发送的请求体（签名即针对它）")


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    count: int


class DeliveryQuery(Schema):
    status: StatusT | None = None
    page: int = Field(1, ge=1, le=10**6)
    page_size: int = Field(50, ge=1, le=200)


def _sub(s: Subscription) -> dict:
    return {
        "id": s.pk,
        "url": s.url,
        "events": s.events,
        "scope": s.scope,
        "active": s.active,
        "description": s.description,
        "created_at": s.created_at,
    }


def _delivery(d: Delivery) -> dict:
    return {
        "id": d.pk,
        "event": d.event,
        "event_id": d.event_id,
        "status": d.status,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "next_attempt_at": d.next_attempt_at,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
        "replay_of": d.replay_of_id,
        "body": d.body,
    }


@router.post(
    "", url_name="webhook_create", summary="订阅事件（Webhook）", response={201: SubscriptionOut, **_WRITE}
)
def create_webhook(request, payload: SubscriptionIn):
    """Subscribe a receiver to events; deliveries are signed with the secret (X-Insurdesk-Signature)."""
    sub = subscription_create(actor=request.auth, **payload.model_dump())
    return Status(201, _sub(sub))


@router.get(
    "", url_name="webhook_list", summary="Webhook 订阅列表", response={200: list[SubscriptionOut], **_READ}
)
def list_webhooks(request):
    return [_sub(s) for s in subscription_list()]


@router.get(
    "/{id}/deliveries",
    url_name="webhook_deliveries",
    summary="投递记录",
    response={200: DeliveryPage, **_READ},
)
def deliveries(request, id: int, params: Query[DeliveryQuery]):
    sub = subscription_get(id)
    rows = delivery_list(subscription=sub, status=params.status or "")
    start = (params.page - 1) * params.page_size
    return {"items": [_delivery(d) for d in rows[start : start + params.page_size]], "count": rows.count()}


@router.post(
    "/{id}/deliveries/{delivery_id}/replay",
    url_name="webhook_replay",
    summary="重发一次投递",
    response={202: DeliveryOut, **_WRITE},
)
def replay(request, id: int, delivery_id: int):
    subscription_get(id)
    return Status(
        202, _delivery(delivery_replay(actor=request.auth, subscription_id=id, delivery_id=delivery_id))
    )
