"""Every write on the contact log (沟通记录): record, change, and the bulk form imports use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from insurdesk.audit.services import PendingEntry, audit_log, audit_log_many
from insurdesk.care.models import ContactChannel, ContactLog
from insurdesk.common.checks import past_date
from insurdesk.common.crypto import blind_index
from insurdesk.common.errors import FieldError, NotAllowed, NotFound, ValidationFailed
from insurdesk.customers.models import Customer
from insurdesk.customers.selectors import customer_scope
from insurdesk.org.policy import can, require

MAX_CONTENT = 2000
CHANGEABLE = ("contacted_on", "channel", "content", "follow_up", "follow_up_note")


def content_hash(text: str) -> str:
    return blind_index(" ".join((text or "").split()), purpose="contact")


def clean_contact(data: dict, *, creating: bool, today: date | None = None) -> tuple[dict, list[FieldError]]:
    """Return the contact's fields checked and typed, and the refusals; nothing is written."""
    today = today or timezone.localdate()
    clean: dict = {}
    errors: list[FieldError] = []
    if "contacted_on" in data or creating:
        past_date(data, "contacted_on", "沟通日期", today=today, clean=clean, errors=errors)
    if "channel" in data or creating:
        if data.get("channel") not in ContactChannel.values:
            errors.append(FieldError("channel", "choice", "沟通方式应为 电话/微信/面谈/短信/邮件/其他 之一"))
        else:
            clean["channel"] = data["channel"]
    if "content" in data or creating:
        text = (data.get("content") or "").strip()
        if not text:
            errors.append(FieldError("content", "required", "请填写沟通内容"))
        elif len(text) > MAX_CONTENT:
            errors.append(FieldError("content", "too_long", f"沟通内容不能超过 {MAX_CONTENT} 个字符"))
        else:
            clean["content"] = text
    if "follow_up" in data:
        clean["follow_up"] = bool(data["follow_up"])
    if "follow_up_note" in data:
        note = (data.get("follow_up_note") or "").strip()
        if len(note) > 300:
            errors.append(FieldError("follow_up_note", "too_long", "后续跟进不能超过 300 个字符"))
        else:
            clean["follow_up_note"] = note
    return clean, errors


@transaction.atomic
def contact_create(*, actor, customer_id: int, data: dict, policy_id: int | None = None) -> ContactLog:
    """Record a contact with a customer in the actor's scope."""
    require(actor, "contact.create", "您的角色无权记录客户沟通")
    customer = (
        (customer_scope(actor) if actor is not None else Customer.objects).filter(pk=customer_id).first()
    )
    if customer is None:
        raise NotFound(FieldError("customer_id", "not_found", "客户档案不存在"))
    clean, errors = clean_contact(data, creating=True)
    if errors:
        raise ValidationFailed(errors)
    log = ContactLog(
        customer=customer,
        policy_id=policy_id,
        content_hash=content_hash(clean["content"]),
        author=actor if actor is not None and actor.pk else None,
        **clean,
    )
    if actor is not None and actor.pk:
        log._history_user = actor
    log.save()
    audit_log(
        actor=actor,
        action="contact.create",
        target=log,
        detail={"customer": customer.archive_no, "channel": log.channel, "on": log.contacted_on},
    )
    return log


@transaction.atomic
def contact_update(*, actor, contact_id: int, data: dict) -> ContactLog:
    """Change a contact record (e.g. its follow-up); history and audit keep the change."""
    require(actor, "contact.change", "您的角色无权修改沟通记录")
    log = ContactLog.objects.select_for_update().filter(pk=contact_id).first()
    if log is None or (actor is not None and not customer_scope(actor).filter(pk=log.customer_id).exists()):
        raise NotFound(FieldError("", "not_found", "沟通记录不存在"))
    unknown = set(data) - set(CHANGEABLE)
    if unknown:
        raise ValidationFailed([FieldError(k, "unknown_field", "未知字段") for k in sorted(unknown)])
    clean, errors = clean_contact(data, creating=False)
    if errors:
        raise ValidationFailed(errors)
    changes = {}
    for key, value in clean.items():
        before = getattr(log, key)
        if before != value:
            # The content is not copied into the audit log: it stays only in its encrypted column.
            changes[key] = (
                {"changed": True} if key == "content" else {"before": str(before), "after": str(value)}
            )
            setattr(log, key, value)
    if not changes:
        return log
    if "content" in changes:
        log.content_hash = content_hash(log.content)
    if actor is not None and actor.pk:
        log._history_user = actor
    log.save()
    audit_log(actor=actor, action="contact.change", target=log, detail=changes)
    return log


@dataclass
class ContactImport:
    """One contact of an import, its customer (and policy) already resolved."""

    customer_id: int
    contacted_on: date
    channel: str
    content: str
    follow_up: bool = False
    follow_up_note: str = ""
    policy_id: int | None = None


@dataclass
class ImportResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: dict[int, list[FieldError]] = field(default_factory=dict)


def contacts_import(*, actor, items: list[ContactImport]) -> ImportResult:
    """Create or update the contacts of an import, found by customer, date, channel and content.

    A contact log is a journal: the same conversation imported again is the same record (its
    follow-up may change); a different content on the same day is another contact.
    """
    result = ImportResult()
    if not items:
        return result
    existing: dict[tuple, ContactLog] = {}
    for log in ContactLog.objects.filter(customer_id__any_of={i.customer_id for i in items}).defer("content"):
        existing.setdefault((log.customer_id, log.contacted_on, log.channel, log.content_hash), log)
    new: list[tuple[int, ContactLog]] = []
    batch_keys: set[tuple] = set()
    user = actor if actor is not None and actor.pk else None
    for index, item in enumerate(items):
        clean, errors = clean_contact(
            {
                "contacted_on": item.contacted_on,
                "channel": item.channel,
                "content": item.content,
                "follow_up": item.follow_up,
                "follow_up_note": item.follow_up_note,
            },
            creating=True,
        )
        if errors:
            result.refused[index] = errors
            continue
        digest = content_hash(clean["content"])
        key = (item.customer_id, clean["contacted_on"], clean["channel"], digest)
        found = existing.get(key)
        if found is None:
            if key in batch_keys:
                result.unchanged.append(index)
                continue
            batch_keys.add(key)
            new.append((index, ContactLog(customer_id=item.customer_id, policy_id=item.policy_id,
                                          content_hash=digest, author=user, **clean)))  # fmt: skip
            continue
        changes = {
            k: clean[k]
            for k in ("follow_up", "follow_up_note")
            if getattr(found, k) != clean[k] and not (k == "follow_up_note" and not clean[k])
        }
        if not changes:
            result.unchanged.append(index)
            continue
        try:
            with transaction.atomic():
                contact_update(actor=actor, contact_id=found.pk, data=changes)
        except (ValidationFailed, NotAllowed, NotFound) as exc:
            result.refused[index] = exc.errors
            continue
        result.updated.append(index)
    if new:
        if actor is not None and not can(actor, "contact.create"):
            for index, _ in new:
                result.refused[index] = [FieldError("", "forbidden", "您的角色无权记录客户沟通")]
            return result
        with transaction.atomic():
            created = bulk_create_with_history([log for _, log in new], ContactLog, batch_size=500,
                                               default_user=user)  # fmt: skip
            audit_log_many(
                [
                    PendingEntry(
                        action="contact.create",
                        actor=actor,
                        target=log,
                        detail={"channel": log.channel, "on": log.contacted_on, "channel_of_entry": "import"},
                    )
                    for log in created
                ]
            )
        result.created.extend(index for index, _ in new)
    return result
