"""Every write of webhooks: subscriptions, the deliveries an event makes, each attempt, replay.

Deliveries are at least once: a receiver may see one event twice (a retry after a timeout whose
answer was lost, a replay) and tells them apart by the body's "id" (the event's id, kept on replay).
The signature is HMAC-SHA256 of "<X-Insurdesk-Timestamp>.<body>" under the subscription's secret.

Receiver addresses (docs/decisions/0011): http or https only, no user name or password in the URL,
no redirects followed. In production (INSURDESK_PRODUCTION=1) an address whose host is or resolves to
a private, loopback, link-local or otherwise reserved network is refused — when the subscription is
made and again at each delivery (a name may change what it resolves to) — unless
INSURDESK_WEBHOOK_ALLOW_PRIVATE=1 (a receiver inside the company's own network).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import FieldError, NotFound, ValidationFailed
from insurdesk.common.events import EVENTS
from insurdesk.org.policy import require
from insurdesk.webhooks.models import Delivery, DeliveryStatus, Scope, Subscription

log = logging.getLogger(__name__)

SECRET_MIN, SECRET_MAX = 16, 200
MAX_WAIT_SECONDS = 24 * 3600
USER_AGENT = "insurdesk-webhooks/1"


# ------------------------------------------------------------------ validation


def _private(ip: ipaddress._BaseAddress) -> bool:
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def refused_address(host: str, port: int | None) -> str | None:
    """Return why a receiver host may not be reached under the settings, or None."""
    if settings.INSURDESK_WEBHOOK_ALLOW_PRIVATE:
        return None
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return "无法解析接收地址的主机名"
    for info in infos:
        if _private(ipaddress.ip_address(info[4][0])):
            return "接收地址指向内网、回环或保留地址，生产环境不允许（INSURDESK_WEBHOOK_ALLOW_PRIVATE）"
    return None


def validate_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationFailed(FieldError("url", "required", "接收地址不能为空"))
    if len(url) > 500:
        raise ValidationFailed(FieldError("url", "too_long", "接收地址不能超过 500 个字符"))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed(FieldError("url", "scheme", "接收地址须以 http:// 或 https:// 开头"))
    if not parts.hostname:
        raise ValidationFailed(FieldError("url", "format", "接收地址缺少主机名"))
    if parts.username or parts.password:
        raise ValidationFailed(
            FieldError("url", "credentials", "接收地址中不能含用户名或密码，请用签名密钥验证")
        )
    try:
        port = parts.port
    except ValueError:
        raise ValidationFailed(FieldError("url", "format", "接收地址的端口无效")) from None
    problem = refused_address(parts.hostname, port)
    if problem:
        raise ValidationFailed(FieldError("url", "private_address", problem))
    return url


def validate_events(events) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise ValidationFailed(FieldError("events", "required", "请至少选择一个事件"))
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValidationFailed(
            FieldError(
                "events", "choice", f"未知事件：{', '.join(map(str, unknown))}；可选：{', '.join(EVENTS)}"
            )
        )
    return sorted(set(events))


def validate_secret(secret: str) -> str:
    secret = secret or ""
    if len(secret) < SECRET_MIN:
        raise ValidationFailed(FieldError("secret", "too_short", f"签名密钥不能少于 {SECRET_MIN} 个字符"))
    if len(secret) > SECRET_MAX:
        raise ValidationFailed(FieldError("secret", "too_long", f"签名密钥不能超过 {SECRET_MAX} 个字符"))
    return secret


# ------------------------------------------------------------------ subscriptions


@transaction.atomic
def subscription_create(
    *, actor, url: str, events, secret: str, scope: str = Scope.IDS, description: str = ""
) -> Subscription:
    """Subscribe a receiver URL to events; the secret is kept encrypted and never shown again."""
    require(actor, "webhook.manage", "您的角色无权管理 Webhook")
    errors = []
    clean = {}
    for name, check, value in (
        ("url", validate_url, url),
        ("events", validate_events, events),
        ("secret", validate_secret, secret),
    ):
        try:
            clean[name] = check(value)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if scope not in Scope.values:
        errors.append(FieldError("scope", "choice", f"数据范围只能是 {', '.join(Scope.values)}"))
    if errors:
        raise ValidationFailed(errors)
    sub = Subscription.objects.create(
        url=clean["url"],
        events=clean["events"],
        secret=clean["secret"],
        scope=scope,
        description=(description or "").strip()[:200],
        created_by=actor if actor is not None and actor.pk else None,
    )
    forget_subscriptions()
    transaction.on_commit(forget_subscriptions)
    audit_log(
        actor=actor,
        action="webhook.create",
        target=sub,
        detail={"url": sub.url, "events": sub.events, "scope": sub.scope},
    )
    return sub


@transaction.atomic
def subscription_set_active(*, actor, subscription_id: int, active: bool) -> Subscription:
    require(actor, "webhook.manage", "您的角色无权管理 Webhook")
    sub = Subscription.objects.select_for_update().filter(pk=subscription_id).first()
    if sub is None:
        raise NotFound(FieldError("", "not_found", "Webhook 订阅不存在"))
    if sub.active != active:
        sub.active = active
        sub.save(update_fields=["active"])
        forget_subscriptions()
        transaction.on_commit(forget_subscriptions)
        audit_log(
            actor=actor,
            action="webhook.enable" if active else "webhook.disable",
            target=sub,
            detail={"url": sub.url},
        )
    return sub


# ------------------------------------------------------------------ events → deliveries


def event_body(*, event_id: str, name: str, payload: dict, personal: dict, scope: str) -> str:
    data = dict(payload)
    if scope == Scope.PERSONAL:
        data.update(personal)
    body = {"id": event_id, "event": name, "occurred_at": timezone.now().isoformat(), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


# Active subscriptions as (id, events), read at most every few seconds: an import that changes 100,000
# archives emits 100,000 events, and most installations subscribe to none of them.
SUBSCRIPTIONS_TTL = 5.0
_active: tuple[float, list[tuple[int, list[str]]]] | None = None


def _active_subscriptions() -> list[tuple[int, list[str]]]:
    global _active
    now = time.monotonic()
    if _active is None or now - _active[0] > SUBSCRIPTIONS_TTL:
        _active = (now, list(Subscription.objects.filter(active=True).values_list("pk", "events")))
    return _active[1]


def forget_subscriptions() -> None:
    """Read the subscriptions afresh at the next event (after a change in this process)."""
    global _active
    _active = None


def on_event(name: str, payload: dict, personal: dict) -> list[Delivery]:
    """Make one delivery per active subscription to the event and queue it (after the event's commit)."""
    wanted = [pk for pk, events in _active_subscriptions() if name in events]
    if not wanted:
        return []
    event_id = str(uuid.uuid4())
    made = []
    for sub in Subscription.objects.filter(pk__in=wanted, active=True):
        made.append(
            Delivery.objects.create(
                subscription=sub,
                event=name,
                event_id=event_id,
                body=event_body(
                    event_id=event_id, name=name, payload=payload, personal=personal, scope=sub.scope
                ),
            )
        )
    for delivery in made:
        _enqueue(delivery.pk)
    return made


def _enqueue(delivery_id: int, run_after: datetime.datetime | None = None) -> None:
    from insurdesk.webhooks.tasks import deliver

    task = deliver.using(run_after=run_after) if run_after else deliver
    task.enqueue(delivery_id)


# ------------------------------------------------------------------ sending


def signature(secret: str, timestamp: int, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"sha256={mac}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx answer is a failed attempt: the subscription's URL is the only target


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, *, event: str, body: str, secret: str, delivery_id: int) -> tuple[int | None, str]:
    """POST the body, signed; return (HTTP status or None, error text)."""
    parts = urlsplit(url)
    problem = refused_address(parts.hostname or "", parts.port)
    if problem:
        return None, problem
    timestamp = int(time.time())
    # The scheme was checked to be http or https (validate_url).
    request = urllib.request.Request(  # noqa: S310
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Insurdesk-Event": event,
            "X-Insurdesk-Timestamp": str(timestamp),
            "X-Insurdesk-Signature": signature(secret, timestamp, body),
            "X-Insurdesk-Delivery": str(delivery_id),
        },
    )
    try:
        with _opener.open(request, timeout=settings.INSURDESK_WEBHOOK_TIMEOUT) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:500]


def backoff(attempts: int) -> float:
    """Seconds to wait after the n-th failed attempt: the base, doubled each time, at most a day."""
    return min(settings.INSURDESK_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1), MAX_WAIT_SECONDS)


def delivery_attempt(delivery_id: int) -> str:
    """Send one delivery once; on failure schedule the next attempt or give up. Return its status."""
    delivery = Delivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        return delivery.status if delivery else "missing"
    sub = delivery.subscription
    if not sub.active:
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, last_error="订阅已停用")
        return DeliveryStatus.FAILED
    code, error = post(
        sub.url, event=delivery.event, body=delivery.body, secret=sub.secret, delivery_id=delivery.pk
    )
    now = timezone.now()
    attempts = delivery.attempts + 1
    update = {"attempts": attempts, "last_status_code": code, "last_error": error[:500]}
    if code is not None and 200 <= code < 300:
        update.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif attempts >= settings.INSURDESK_WEBHOOK_ATTEMPTS:
        update.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        log.warning("webhook delivery %s failed after %d attempts: %s", delivery.pk, attempts, error)
    else:
        wait = now + datetime.timedelta(seconds=backoff(attempts))
        update.update(status=DeliveryStatus.RETRYING, next_attempt_at=wait)
    Delivery.objects.filter(pk=delivery.pk).update(**update)
    if update["status"] == DeliveryStatus.RETRYING:
        _enqueue(delivery.pk, run_after=update["next_attempt_at"])
    return update["status"]


@transaction.atomic
def delivery_replay(*, actor, subscription_id: int, delivery_id: int) -> Delivery:
    """Send a past delivery again as a new delivery (same event id and body, a fresh signature)."""
    require(actor, "webhook.manage", "您的角色无权管理 Webhook")
    old = (
        Delivery.objects.filter(pk=delivery_id, subscription_id=subscription_id)
        .select_related("subscription")
        .first()
    )
    if old is None:
        raise NotFound(FieldError("", "not_found", "投递记录不存在"))
    if not old.subscription.active:
        raise ValidationFailed(FieldError("subscription", "inactive", "订阅已停用，请先启用再重发"))
    new = Delivery.objects.create(
        subscription=old.subscription, event=old.event, event_id=old.event_id, body=old.body, replay_of=old
    )
    audit_log(
        actor=actor,
        action="webhook.replay",
        target=new,
        detail={"subscription": old.subscription_id, "replay_of": old.pk, "event": old.event},
    )
    transaction.on_commit(lambda: _enqueue(new.pk))
    return new
