"""Domain events: services announce what happened; other apps (webhooks) listen without being imported.

`emit("policy.issued", {"policy_id": 7, "state": "in_force"})` inside a service's transaction hands the
event to every subscriber after the transaction commits, and never when it rolls back. The payload
carries ids and states only; personal data an event may show goes into `personal`, which a subscriber
passes on only where it is allowed to (a webhook subscription's scope). Event names are a published
contract (webhooks): add new ones, never rename one. The list below is what subscribers may ask for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

log = logging.getLogger(__name__)

EVENTS: dict[str, str] = {
    "customer.created": "客户档案新建",
    "customer.updated": "客户档案修改",
    "customer.merged": "客户档案合并",
    "policy.issued": "承保出单",
    "policy.lapsed": "保单失效",
    "servicing.applied": "保全生效",
    "claim.reported": "理赔报案",
    "claim.decided": "理赔结论",
    "claim.paid": "理赔给付",
}

Handler = Callable[[str, dict, dict], None]
_HANDLERS: list[Handler] = []


def subscribe(handler: Handler) -> None:
    """Call handler(name, payload, personal) after every emitted event commits (once per handler)."""
    if handler not in _HANDLERS:
        _HANDLERS.append(handler)


def emit(name: str, payload: dict, *, personal: dict | None = None, using: str | None = None) -> None:
    """Announce an event once the current transaction commits (at once outside a transaction)."""
    if name not in EVENTS:
        raise ValueError(f"unknown event {name!r}: declare it in insurdesk.common.events.EVENTS")
    personal = dict(personal or {})
    payload = dict(payload)

    def deliver() -> None:
        for handler in list(_HANDLERS):
            try:
                handler(name, payload, personal)
            except Exception:
                # A listener's failure never undoes or fails the business write that already committed.
                log.exception("event %s: subscriber %r failed", name, handler)

    transaction.on_commit(deliver, using=using)
