"""Every write on the archive: create, change, relations, with history and the audit log."""

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import date

from django.db import IntegrityError, transaction

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import (
    Conflict,
    Duplicate,
    DuplicateInfo,
    FieldError,
    NotFound,
    ValidationFailed,
)
from insurdesk.common.events import emit
from insurdesk.common.text import check_reason
from insurdesk.customers.calculations import completeness
from insurdesk.customers.keys import identity_hash, mobile_hash
from insurdesk.customers.models import (
    RELATION_INVERSE,
    ArchiveSequence,
    BeneficialOwner,
    Customer,
    CustomerNameKey,
    CustomerRelation,
    Kind,
    OtherInsurerPolicy,
)
from insurdesk.customers.validation import clean_beneficial_owner, clean_corporate, clean_individual
from insurdesk.org.policy import can, require
from insurdesk.org.selectors import root_unit, unit_within, viewer_unit_ids

COMMON_FIELDS = (
    "name",
    "id_type",
    "id_number",
    "id_valid_from",
    "id_valid_to",
    "id_long_term",
    "mobile",
    "landline",
    "email",
    "residence_address",
    "mailing_address",
    "postal_code",
    "source_channel",
    "notes",
    "id_override_reason",
)
INDIVIDUAL_FIELDS = COMMON_FIELDS + (
    "gender",
    "birth_date",
    "nationality",
    "occupation",
    "occupation_code",
    "occupation_class",
    "employer",
    "marital_status",
    "annual_income",
    "education",
    "health_status",
    "health_notes",
    "has_social_insurance",
)
CORPORATE_FIELDS = COMMON_FIELDS + (
    "nature",
    "industry",
    "industry_code",
    "registered_capital",
    "business_scope",
    "registered_address",
    "operating_address",
    "licence_valid_to",
    "legal_rep_name",
    "legal_rep_id_type",
    "legal_rep_id_number",
    "legal_rep_id_valid_to",
    "controlling_shareholder",
    "contact_name",
    "contact_id_type",
    "contact_id_number",
    "contact_mobile",
    "is_general_taxpayer",
    "tax_number",
    "tax_bank",
    "tax_account",
    "tax_address_phone",
    "headcount",
    "insured_headcount",
    "income_per_head",
    "turnover_rate",
)
AML_FIELDS = ("aml_risk", "pep", "source_of_funds", "aml_last_review", "aml_next_review")
ASSIGNMENT_FIELDS = ("unit_id", "agent_id")
# Fields whose values are sensitive: the audit log names them but never records their values.
SENSITIVE_FIELDS = frozenset(
    {
        "id_number",
        "mobile",
        "landline",
        "email",
        "residence_address",
        "mailing_address",
        "health_notes",
        "legal_rep_id_number",
        "contact_id_number",
        "contact_mobile",
        "tax_account",
    }
)


# Who reserves archive numbers instead of the caller's transaction, while a `numbers_from` block runs.
_SOURCE: ContextVar[Callable[[int, str], range] | None] = ContextVar("archive_number_source", default=None)


@contextlib.contextmanager
def numbers_from(source: Callable[[int, str], range]) -> Iterator[None]:
    """Take archive numbers from `source(count, prefix)` in this block (this thread).

    The sequence's row lock is otherwise held until the caller's transaction ends; a writer whose
    transactions overlap (the import on PostgreSQL) reserves numbers in short transactions of its
    own instead. Numbers of a transaction that rolls back are then not given again: still never
    reused, but the archive numbers of one import may have gaps.
    """
    token = _SOURCE.set(source)
    try:
        yield
    finally:
        _SOURCE.reset(token)


def reserve_numbers(count: int, prefix: str = "KH") -> range:
    """Reserve `count` numbers of the sequence, and return them.

    Within the caller's transaction, if any: the sequence's row stays locked until that ends.
    """
    with transaction.atomic():
        ArchiveSequence.objects.get_or_create(name=prefix)
        seq = ArchiveSequence.objects.select_for_update().get(name=prefix)
        start = seq.value + 1
        seq.value += count
        seq.save(update_fields=["value"])
    return range(start, start + count)


def archive_numbers(count: int, *, prefix: str = "KH") -> list[str]:
    """Reserve `count` archive numbers (客户号); numbers are never reused.

    Under the sequence's row lock in the caller's transaction, or from numbers_from's source.
    """
    source = _SOURCE.get() or reserve_numbers
    return [f"{prefix}{n:010d}" for n in source(count, prefix)]


def _existing_info(actor, existing: Customer) -> DuplicateInfo:
    visible = actor is None or _in_scope(actor, existing)
    return DuplicateInfo(
        model="customer", pk=existing.pk, label=existing.archive_no if visible else "", visible=visible
    )


def _in_scope(actor, customer: Customer) -> bool:
    if actor.is_superuser:
        return True
    if actor.effective_role == "agent":
        return customer.agent_id == actor.pk
    ids = viewer_unit_ids(actor)
    return ids is None or customer.unit_id in ids


def _duplicate(actor, existing: Customer, field: str) -> Duplicate:
    info = _existing_info(actor, existing)
    where = (
        f"（客户号 {existing.archive_no}）" if info.visible else "（不在您的管辖范围内，请联系档案所属机构）"
    )
    return Duplicate(
        FieldError(field, "duplicate", f"该证件已有客户档案{where}，一人一档，不能重复建档"), existing=info
    )


def _refresh_keys_and_score(customer: Customer, *, bo_count: int | None = None) -> None:
    customer.id_hash = identity_hash(customer.id_type, customer.id_number)
    customer.mobile_hash = mobile_hash(customer.mobile)
    values = {f.attname: getattr(customer, f.attname) for f in Customer._meta.concrete_fields}
    if customer.kind == Kind.CORPORATE:
        values["beneficial_owners"] = (
            bo_count if bo_count is not None else customer.beneficial_owners.count() if customer.pk else 0
        )
    customer.completeness, _ = completeness(customer.kind, values)


def _clean(actor, kind: str, data: dict, *, creating: bool):
    if kind == Kind.INDIVIDUAL:
        return clean_individual(data, creating=creating)
    if kind == Kind.CORPORATE:
        return clean_corporate(
            data, creating=creating, allow_uscc_override=actor is None or can(actor, "customer.override_uscc")
        )
    raise ValidationFailed(
        FieldError("kind", "choice", "客户类型只能是 individual（个人）或 corporate（单位）")
    )


def _resolve_assignment(actor, data: dict, customer: Customer | None) -> dict:
    out = {}
    unit_id = data.pop("unit_id", None)
    agent_id = data.pop("agent_id", None)
    from insurdesk.org.models import OrgUnit, User

    if unit_id is not None:
        allowed = viewer_unit_ids(actor) if actor is not None else None
        if not OrgUnit.objects.filter(pk=unit_id).exists() or (
            allowed is not None and unit_id not in allowed
        ):
            raise ValidationFailed(FieldError("unit_id", "not_found", "所属机构不存在或不在您的管辖范围内"))
        out["unit_id"] = unit_id
    if agent_id is not None:
        agent = User.objects.filter(pk=agent_id, role="agent", is_active=True).first()
        if agent is None:
            raise ValidationFailed(FieldError("agent_id", "not_found", "服务业务员不存在或不是业务员角色"))
        out["agent_id"] = agent.pk
        out["_agent_unit_id"] = agent.unit_id
    return out


_NO_AGENT_UNIT = object()
AGENT_OUT_OF_SCOPE = "服务业务员不属于该客户所属机构及其下级机构，不能指派（请先调整所属机构或另选业务员）"


def _check_agent_in_unit(agent_unit_id: int | None, unit_id: int) -> None:
    """Refuse an agent outside the customer's unit subtree: it could then open another branch's archive."""
    if not unit_within(agent_unit_id, unit_id):
        raise ValidationFailed(FieldError("agent_id", "agent_out_of_scope", AGENT_OUT_OF_SCOPE))


def _split_children(data: dict) -> tuple[list | None, list | None]:
    return data.pop("beneficial_owners", None), data.pop("other_policies", None)


def _write_children(customer: Customer, owners: list | None, others: list | None) -> None:
    if owners is not None:
        cleaned = []
        errors = []
        for i, bo in enumerate(owners):
            try:
                cleaned.append(clean_beneficial_owner(dict(bo), i))
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationFailed(errors)
        customer.beneficial_owners.all().delete()
        fields = {f.name for f in BeneficialOwner._meta.concrete_fields} - {"id", "customer"}
        BeneficialOwner.objects.bulk_create(
            [
                BeneficialOwner(customer=customer, **{k: v for k, v in bo.items() if k in fields})
                for bo in cleaned
            ]
        )
    if others is not None:
        customer.other_policies.all().delete()
        fields = {f.name for f in OtherInsurerPolicy._meta.concrete_fields} - {"id", "customer"}
        rows = []
        for i, op in enumerate(others):
            if not (op.get("insurer") or "").strip():
                raise ValidationFailed(
                    FieldError(f"other_policies[{i}].insurer", "required", "承保公司不能为空")
                )
            rows.append(OtherInsurerPolicy(customer=customer, **{k: v for k, v in op.items() if k in fields}))
        OtherInsurerPolicy.objects.bulk_create(rows)


@transaction.atomic
def customer_create(*, actor, kind: str, data: dict) -> tuple[Customer, list[str]]:
    """Create an archive after the identity checks; refuse a second archive for one identity."""
    require(actor, "customer.create", "您的角色无权新建客户档案")
    data = dict(data)
    owners, others = _split_children(data)
    assignment = _resolve_assignment(actor, data, None)
    aml = {k: data.pop(k) for k in AML_FIELDS if k in data}
    if aml and actor is not None and not can(actor, "customer.change_aml"):
        # A new archive may carry AML data keyed by the clerk from the paper form, except the risk level.
        aml.pop("aml_risk", None)
    clean, warnings = _clean(actor, kind, data, creating=True)
    allowed = INDIVIDUAL_FIELDS if kind == Kind.INDIVIDUAL else CORPORATE_FIELDS
    unknown = set(clean) - set(allowed)
    if unknown:
        raise ValidationFailed([FieldError(k, "unknown_field", "未知字段") for k in sorted(unknown)])
    existing = Customer.objects.filter(id_hash=identity_hash(clean["id_type"], clean["id_number"])).first()
    if existing is not None:
        raise _duplicate(actor, existing, "uscc" if kind == Kind.CORPORATE else "id_number")
    unit_id = assignment.get("unit_id") or (actor.unit_id if actor is not None and actor.unit_id else None)
    if unit_id is None:
        root = root_unit()
        if root is None:
            raise ValidationFailed(
                FieldError("unit_id", "required", "系统尚未建立机构，请先运行 insurdesk addunit")
            )
        unit_id = root.pk
    agent_id = assignment.get("agent_id")
    if agent_id is None and actor is not None and actor.effective_role == "agent":
        agent_id = actor.pk
    if "_agent_unit_id" in assignment:
        _check_agent_in_unit(assignment.pop("_agent_unit_id"), unit_id)
    customer = Customer(
        kind=kind,
        unit_id=unit_id,
        agent_id=agent_id,
        created_by=actor if actor is not None and actor.pk else None,
        **clean,
        **aml,
    )
    customer.archive_no = archive_numbers(1)[0]
    _refresh_keys_and_score(customer, bo_count=len(owners or []))
    if actor is not None and actor.pk:
        customer._history_user = actor
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        existing = Customer.objects.filter(id_hash=customer.id_hash).first()
        if existing is not None:
            raise _duplicate(actor, existing, "id_number") from exc
        raise
    name_keys_write([customer], new=True)
    _write_children(customer, owners, others)
    if owners:
        _refresh_keys_and_score(customer)
        Customer.objects.filter(pk=customer.pk).update(completeness=customer.completeness)
    audit_log(
        actor=actor,
        action="customer.create",
        target=customer,
        detail={"archive_no": customer.archive_no, "kind": kind, "warnings": warnings},
    )
    emit(
        "customer.created",
        {"customer_id": customer.pk, "archive_no": customer.archive_no, "kind": kind, "unit_id": unit_id},
        personal={"name": customer.name},
    )
    return customer, warnings


@transaction.atomic
def customer_update(
    *, actor, customer_id: int, data: dict, expected_version: int | None = None
) -> tuple[Customer, list[str]]:
    """Change an archive; keep who, when, field, before and after; refuse a stale version."""
    require(actor, "customer.change", "您的角色无权修改客户档案")
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None or (actor is not None and not _in_scope(actor, customer)):
        raise NotFound(FieldError("", "not_found", "客户档案不存在"))
    if expected_version is not None and expected_version != customer.version:
        raise Conflict(
            FieldError(
                "version",
                "conflict",
                f"该档案已被他人修改（当前版本 {customer.version}），请刷新后重新编辑，您的输入未保存",
            )
        )
    data = dict(data)
    data.pop("kind", None)
    owners, others = _split_children(data)
    assignment = _resolve_assignment(actor, data, customer)
    agent_unit_id = assignment.pop("_agent_unit_id", _NO_AGENT_UNIT)
    new_agent = assignment.get("agent_id") not in (None, customer.agent_id)
    new_unit = assignment.get("unit_id") not in (None, customer.unit_id)
    # Checked when the pair changes: a form that sends the current agent back changes nothing.
    if (new_agent or new_unit) and (agent_unit_id is not _NO_AGENT_UNIT or customer.agent_id is not None):
        if agent_unit_id is _NO_AGENT_UNIT:
            agent_unit_id = customer.agent.unit_id
        _check_agent_in_unit(agent_unit_id, assignment.get("unit_id") or customer.unit_id)
    aml = {k: data.pop(k) for k in AML_FIELDS if k in data}
    if aml:
        require(actor, "customer.change_aml", "您的角色无权修改反洗钱信息")
    if customer.kind == Kind.INDIVIDUAL and {"id_number", "id_type", "birth_date", "gender"} & set(data):
        # Any change to the document or to what it reveals is checked against the whole identity.
        data.setdefault("id_type", customer.id_type)
        data.setdefault("id_number", customer.id_number)
        # Derived facts are checked against the stored values when the form did not send them.
        data.setdefault("birth_date", customer.birth_date)
        data.setdefault("gender", customer.gender)
    clean, warnings = _clean(actor, customer.kind, data, creating=False)
    allowed = INDIVIDUAL_FIELDS if customer.kind == Kind.INDIVIDUAL else CORPORATE_FIELDS
    unknown = set(clean) - set(allowed) - {"id_type"}
    if unknown:
        raise ValidationFailed([FieldError(k, "unknown_field", "未知字段") for k in sorted(unknown)])
    changes: dict[str, dict] = {}
    for key, value in {**clean, **aml, **assignment}.items():
        before = getattr(customer, key)
        if before != value:
            changes[key] = (
                {"changed": True}
                if key in SENSITIVE_FIELDS
                else {"before": _plain(before), "after": _plain(value)}
            )
            setattr(customer, key, value)
    if "id_number" in changes or "id_type" in changes:
        new_hash = identity_hash(customer.id_type, customer.id_number)
        existing = Customer.objects.filter(id_hash=new_hash).exclude(pk=customer.pk).first()
        if existing is not None:
            raise _duplicate(actor, existing, "uscc" if customer.kind == Kind.CORPORATE else "id_number")
    _write_children(customer, owners, others)
    if owners is not None:
        changes["beneficial_owners"] = {"count": len(owners)}
    if others is not None:
        changes["other_policies"] = {"count": len(others)}
    if not changes:
        return customer, warnings
    _refresh_keys_and_score(customer)
    customer.version += 1
    if actor is not None and actor.pk:
        customer._history_user = actor
    customer.save()
    if "name" in changes:
        name_keys_write([customer])
    audit_log(actor=actor, action="customer.change", target=customer, detail={"fields": changes})
    emit(
        "customer.updated",
        {"customer_id": customer.pk, "archive_no": customer.archive_no, "version": customer.version,
         "fields": sorted(changes)},
        personal={"name": customer.name},
    )
    return customer, warnings


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    return None if value is None else str(value) if not isinstance(value, (bool, int)) else value


@transaction.atomic
def relation_add(*, actor, customer_id: int, other_id: int, relation: str) -> CustomerRelation:
    """Link two archives (家庭关系); the inverse link is written too so both archives show it."""
    require(actor, "customer.change", "您的角色无权修改客户档案")
    if relation not in RELATION_INVERSE:
        raise ValidationFailed(FieldError("relation", "choice", "关系类型无效"))
    if customer_id == other_id:
        raise ValidationFailed(FieldError("other_id", "self", "不能与自己建立关系"))
    pair = list(Customer.objects.filter(pk__in=[customer_id, other_id]))
    if len(pair) != 2 or (actor is not None and not all(_in_scope(actor, c) for c in pair)):
        raise NotFound(FieldError("other_id", "not_found", "关联客户不存在"))
    link, _ = CustomerRelation.objects.update_or_create(
        from_customer_id=customer_id, to_customer_id=other_id, defaults={"relation": relation}
    )
    CustomerRelation.objects.update_or_create(
        from_customer_id=other_id,
        to_customer_id=customer_id,
        defaults={"relation": RELATION_INVERSE[relation]},
    )
    audit_log(
        actor=actor,
        action="customer.relation_add",
        target_type="customers.customer",
        target_id=customer_id,
        detail={"other": other_id, "relation": relation},
    )
    return link


@transaction.atomic
def relation_remove(*, actor, customer_id: int, other_id: int) -> None:
    require(actor, "customer.change", "您的角色无权修改客户档案")
    n, _ = CustomerRelation.objects.filter(
        from_customer_id__in=[customer_id, other_id], to_customer_id__in=[customer_id, other_id]
    ).delete()
    if n:
        audit_log(
            actor=actor,
            action="customer.relation_remove",
            target_type="customers.customer",
            target_id=customer_id,
            detail={"other": other_id},
        )


def customer_record_view(*, actor, customer: Customer, channel: str, ip: str | None = None) -> None:
    """Record that an archive was viewed (档案使用记录)."""
    with transaction.atomic():
        audit_log(actor=actor, action="customer.view", target=customer, detail={"channel": channel}, ip=ip)


# Masked values a role with customer.reveal may show in full, one at a time, for a stated reason.
# Health notes are not among them: they are for underwriting and claims, not for contacting anyone.
REVEALABLE_FIELDS = frozenset(
    {
        "id_number",
        "legal_rep_id_number",
        "contact_id_number",
        "mobile",
        "contact_mobile",
        "landline",
        "email",
        "residence_address",
        "mailing_address",
        "tax_account",
    }
)
REVEAL_REASON_MIN, REVEAL_REASON_MAX = 4, 200


def customer_reveal(
    *, actor, customer_id: int, field: str, reason: str, channel: str, ip: str | None = None
) -> str:
    """Return one masked value in full and log who, which field and why — never the value."""
    require(actor, "customer.reveal", "您的角色无权查看完整信息")
    customer = Customer.objects.filter(pk=customer_id).select_related("unit").first()
    if customer is None or not _in_scope(actor, customer):
        raise NotFound(FieldError("", "not_found", "客户档案不存在"))
    if field not in REVEALABLE_FIELDS:
        raise ValidationFailed(FieldError("field", "choice", "该项不能查看完整信息"))
    reason = check_reason(
        reason, field="reason", label="查看原因", min_visible=REVEAL_REASON_MIN, max_length=REVEAL_REASON_MAX
    )
    value = getattr(customer, field)
    if value in (None, ""):
        raise ValidationFailed(FieldError("field", "empty", "该项没有内容"))
    with transaction.atomic():
        audit_log(
            actor=actor,
            action="customer.reveal",
            target=customer,
            detail={"field": field, "reason": reason, "channel": channel},
            ip=ip,
        )
    return value


def name_keys_write(customers: list[Customer], *, new: bool = False) -> None:
    """Write the pinyin search keys of the customers' names, replacing earlier ones (see pinyin.py)."""
    from insurdesk.customers.pinyin import name_keys

    if not new:
        CustomerNameKey.objects.filter(customer_id__in=[c.pk for c in customers]).delete()
    rows = [
        CustomerNameKey(customer_id=c.pk, key=key)
        for c in customers
        for key in sorted(name_keys(c.name, every=c.kind == Kind.INDIVIDUAL))
    ]
    CustomerNameKey.objects.bulk_create(rows, batch_size=2000)
