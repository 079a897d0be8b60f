"""Claims an archive table registers (存量理赔) and the changes it brings; the handling of a claim from
report to close is in `insurdesk.claims.handling`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from insurdesk.audit.services import PendingEntry, audit_log, audit_log_many
from insurdesk.claims import calculations as calc
from insurdesk.claims.models import TRANSITIONS, Claim, ClaimState, ReportChannel, reachable
from insurdesk.common.checks import past_date
from insurdesk.common.errors import FieldError, IllegalTransition, NotAllowed, NotFound, ValidationFailed
from insurdesk.customers.services import archive_numbers
from insurdesk.org.policy import can, require
from insurdesk.policies.models import Policy
from insurdesk.policies.services import in_scope

CLAIM_NO_PREFIX = "LP"
MAX_AMOUNT = Decimal("999999999999.99")
CHANGEABLE = ("reported_on", "amount_claimed", "amount_paid", "state", "description")


def _amount(value, field_name: str, *, required: bool) -> tuple[Decimal | None, list[FieldError]]:
    if value in (None, ""):
        if required:
            return None, [FieldError(field_name, "required", "请填写理赔金额")]
        return None, []
    try:
        d = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None, [FieldError(field_name, "format", "金额格式不正确")]
    if not d.is_finite() or d != d.quantize(Decimal("0.01")):
        return None, [FieldError(field_name, "format", "金额最多两位小数")]
    if d < 0 or d > MAX_AMOUNT:
        return None, [FieldError(field_name, "range", "金额超出范围")]
    return d.quantize(Decimal("0.01")), []


def clean_claim(data: dict, *, creating: bool, today: date | None = None) -> tuple[dict, list[FieldError]]:
    """Return the claim's fields checked and typed, and the refusals; nothing is written."""
    today = today or timezone.localdate()
    clean: dict = {}
    errors: list[FieldError] = []
    if "reported_on" in data or creating:
        past_date(data, "reported_on", "理赔申请日期", today=today, clean=clean, errors=errors)
    for name, required in (("amount_claimed", creating), ("amount_paid", False)):
        if name in data or required:
            value, errs = _amount(data.get(name), name, required=required)
            errors.extend(errs)
            if value is not None:
                clean[name] = value
    if "state" in data:
        if data["state"] not in ClaimState.values:
            errors.append(
                FieldError("state", "choice", "理赔状态应为 已报案/审核中/审核通过/已赔付/已拒赔/已撤销 之一")
            )
        else:
            clean["state"] = data["state"]
    if "description" in data:
        text = (data.get("description") or "").strip()
        if len(text) > 500:
            errors.append(FieldError("description", "too_long", "出险经过不能超过 500 个字符"))
        clean["description"] = text
    return clean, errors


def cover_refusal(policy: Policy, day: date) -> FieldError | None:
    """Return why a claim dated `day` is refused on the policy's dates (the same rule as a report)."""
    refusal = calc.cover_refusal(
        calc.Cover(
            state=policy.state,
            effective_date=policy.effective_date,
            expiry_date=policy.expiry_date,
            lapsed_on=policy.lapsed_on,
            reinstated_on=policy.reinstated_on,
            terminated_on=policy.terminated_on,
        ),
        day,
    )
    if refusal is None:
        return None
    code, message = refusal
    return FieldError("reported_on", code, message.replace("出险日期", "理赔申请日期"))


def _covers(policy_ids) -> dict[int, Policy]:
    fields = ("state", "effective_date", "expiry_date", "lapsed_on", "reinstated_on", "terminated_on")
    return {p.pk: p for p in Policy.objects.filter(pk__any_of=set(policy_ids)).only(*fields)}


def _check_policy(actor, policy: Policy, claimant_id: int) -> None:
    if not in_scope(actor, policy):
        raise NotFound(FieldError("policy_id", "not_found", "保单不存在"))
    if claimant_id not in (policy.policyholder_id, policy.insured_id):
        raise ValidationFailed(
            FieldError("claimant_id", "not_on_policy", "申请人须为该保单的投保人或被保险人")
        )


@transaction.atomic
def claim_create(*, actor, policy_id: int, claimant_id: int, data: dict) -> Claim:
    """Register a claim (报案) against a policy the claimant is on; its state defaults to 已报案."""
    require(actor, "claim.create", "您的角色无权登记理赔")
    policy = Policy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(FieldError("policy_id", "not_found", "保单不存在"))
    _check_policy(actor, policy, claimant_id)
    clean, errors = clean_claim(data, creating=True)
    if not errors and (refusal := cover_refusal(policy, clean["reported_on"])):
        errors.append(refusal)
    if errors:
        raise ValidationFailed(errors)
    claim = Claim(
        claim_no=archive_numbers(1, prefix=CLAIM_NO_PREFIX)[0],
        policy=policy,
        claimant_id=claimant_id,
        state_changed_at=timezone.now(),
        created_by=actor if actor is not None and actor.pk else None,
        **clean,
    )
    if actor is not None and actor.pk:
        claim._history_user = actor
    claim.save()
    audit_log(
        actor=actor,
        action="claim.create",
        target=claim,
        detail={"claim_no": claim.claim_no, "policy_no": policy.policy_no, "state": claim.state},
    )
    return claim


def check_move(current: str, target: str, *, skip: bool = False) -> FieldError | None:
    """Return why a claim cannot go from `current` to `target` (None when it can).

    One legal step at a time; `skip` lets a record of a later state (an office's archive table)
    pass over steps the file did not record, never backwards and never out of a final state.
    """
    if current == target:
        return None
    allowed = reachable(current) if skip else TRANSITIONS.get(current, frozenset())
    if target in allowed:
        return None
    labels = dict(ClaimState.choices)
    return FieldError(
        "state",
        "illegal_transition",
        f"理赔状态不能从“{labels.get(current, current)}”变为“{labels.get(target, target)}”",
    )


@transaction.atomic
def claim_update(*, actor, claim_id: int, data: dict, skip_steps: bool = False) -> Claim:
    """Change a claim's amounts, date or state (along its state machine), with history and audit."""
    require(actor, "claim.change", "您的角色无权修改理赔")
    claim = Claim.objects.select_for_update().select_related("policy").filter(pk=claim_id).first()
    if claim is None or not in_scope(actor, claim.policy):
        raise NotFound(FieldError("", "not_found", "理赔不存在"))
    unknown = set(data) - set(CHANGEABLE)
    if unknown:
        raise ValidationFailed([FieldError(k, "unknown_field", "未知字段") for k in sorted(unknown)])
    clean, errors = clean_claim(data, creating=False)
    if errors:
        raise ValidationFailed(errors)
    if "state" in clean:
        refusal = check_move(claim.state, clean["state"], skip=skip_steps)
        if refusal is not None:
            raise IllegalTransition(refusal)
    changes = {}
    for key, value in clean.items():
        before = getattr(claim, key)
        if before != value:
            changes[key] = {"before": _plain(before), "after": _plain(value)}
            setattr(claim, key, value)
    if not changes:
        return claim
    if "state" in changes:
        claim.state_changed_at = timezone.now()
    if actor is not None and actor.pk:
        claim._history_user = actor
    claim.save()
    audit_log(
        actor=actor, action="claim.change", target=claim, detail={"claim_no": claim.claim_no, **changes}
    )
    return claim


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class ClaimImport:
    """One claim of an import: the policy and claimant already resolved, the rest as read."""

    policy_id: int
    claimant_id: int
    reported_on: date
    amount_claimed: Decimal
    state: str


@dataclass
class ImportResult:
    created: list[int] = field(default_factory=list)  # indexes of the items created
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: dict[int, list[FieldError]] = field(default_factory=dict)


def claims_check(*, actor, items: list[ClaimImport]) -> dict[int, list[FieldError]]:
    """Return, by item index, why claims of an import would be refused; nothing is written."""
    refused: dict[int, list[FieldError]] = {}
    existing = {}
    policies = {i.policy_id for i in items if i.policy_id}
    for c in Claim.objects.filter(policy_id__any_of=policies).order_by("id"):
        existing.setdefault((c.policy_id, c.reported_on), c)
    covers = _covers(policies)
    for index, item in enumerate(items):
        clean, errors = clean_claim(
            {"reported_on": item.reported_on, "amount_claimed": item.amount_claimed, "state": item.state},
            creating=True,
        )
        found = existing.get((item.policy_id, item.reported_on))
        if not errors and found is not None and any(getattr(found, k) != v for k, v in clean.items()):
            if actor is not None and not can(actor, "claim.change"):
                errors = [FieldError("state", "forbidden", "该理赔已登记，您的角色无权修改理赔")]
            elif "state" in clean and (refusal := check_move(found.state, clean["state"], skip=True)):
                errors = [refusal]
        elif not errors and found is None and actor is not None and not can(actor, "claim.create"):
            errors = [FieldError("state", "forbidden", "您的角色无权登记理赔")]
        elif not errors and found is None and item.policy_id in covers:
            refusal = cover_refusal(covers[item.policy_id], clean["reported_on"])
            errors = [refusal] if refusal else []
        if errors:
            refused[index] = errors
    return refused


def claims_import(*, actor, items: list[ClaimImport]) -> ImportResult:
    """Create or bring up to date the claims of an import, found by policy and application date.

    New claims are written in bulk with their history and one audit entry each; a claim already
    registered changes through claim_update (state along the machine, steps the file skipped allowed).
    Importing the same items twice changes nothing.
    """
    result = ImportResult()
    if not items:
        return result
    existing = {}
    for c in Claim.objects.filter(policy_id__any_of={i.policy_id for i in items}).order_by("id"):
        existing.setdefault((c.policy_id, c.reported_on), c)
    covers = _covers(i.policy_id for i in items)
    new: list[tuple[int, ClaimImport]] = []
    for index, item in enumerate(items):
        clean, errors = clean_claim(
            {"reported_on": item.reported_on, "amount_claimed": item.amount_claimed, "state": item.state},
            creating=True,
        )
        if errors:
            result.refused[index] = errors
            continue
        found = existing.get((item.policy_id, item.reported_on))
        if found is None:
            policy = covers.get(item.policy_id)
            refusal = cover_refusal(policy, clean["reported_on"]) if policy is not None else None
            if refusal is not None:
                result.refused[index] = [refusal]
                continue
            new.append((index, item))
            continue
        changes = {k: v for k, v in clean.items() if getattr(found, k) != v}
        if not changes:
            result.unchanged.append(index)
            continue
        try:
            with transaction.atomic():
                claim_update(actor=actor, claim_id=found.pk, data=changes, skip_steps=True)
        except (ValidationFailed, IllegalTransition, NotAllowed, NotFound) as exc:
            result.refused[index] = exc.errors
            continue
        result.updated.append(index)
    if new:
        if actor is not None and not can(actor, "claim.create"):
            for index, _ in new:
                result.refused[index] = [FieldError("", "forbidden", "您的角色无权登记理赔")]
            return result
        numbers = archive_numbers(len(new), prefix=CLAIM_NO_PREFIX)
        now = timezone.now()
        user = actor if actor is not None and actor.pk else None
        claims = [
            Claim(
                claim_no=number,
                policy_id=item.policy_id,
                claimant_id=item.claimant_id,
                reported_on=item.reported_on,
                amount_claimed=item.amount_claimed,
                state=item.state,
                state_changed_at=now,
                channel=ReportChannel.IMPORT,
                created_by=user,
            )
            for number, (_, item) in zip(numbers, new, strict=True)
        ]
        with transaction.atomic():
            created = bulk_create_with_history(claims, Claim, batch_size=500, default_user=user)
            audit_log_many(
                [
                    PendingEntry(
                        action="claim.create",
                        actor=actor,
                        target=c,
                        detail={"claim_no": c.claim_no, "state": c.state, "channel": "import"},
                    )
                    for c in created
                ]
            )
        result.created.extend(index for index, _ in new)
    return result
