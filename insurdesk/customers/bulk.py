"""Create many archives at once (imports, demo data) with the checks of entry by hand, in batches.

Each row goes through the same cleaning as `customer_create` (clean_individual / clean_corporate),
gets its identity hash and completeness score, and is refused on its own — with its index, field,
code and message — when it is invalid or repeats an identity already archived or earlier in the
rows. The rows that pass are written per batch in one transaction: archive numbers reserved in one
block, customers and their history through `common.bulk.insert_many_with_history`, children
(beneficial owners, other-insurer policies), and one audit entry per customer. A database failure
loses at most the batch it happened in; earlier batches stay committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from insurdesk.audit.services import PendingEntry, audit_log_many
from insurdesk.common.bulk import build, insert_many_with_history
from insurdesk.common.errors import FieldError, NotAllowed, ValidationFailed
from insurdesk.customers.calculations import completeness
from insurdesk.customers.keys import identity_hash, mobile_hash
from insurdesk.customers.models import BeneficialOwner, Customer, Kind, OtherInsurerPolicy
from insurdesk.customers.services import (
    AGENT_OUT_OF_SCOPE,
    AML_FIELDS,
    CORPORATE_FIELDS,
    INDIVIDUAL_FIELDS,
    archive_numbers,
    name_keys_write,
)
from insurdesk.customers.validation import clean_beneficial_owner, clean_corporate, clean_individual
from insurdesk.org.policy import can
from insurdesk.org.selectors import root_unit, unit_within, viewer_unit_ids

_FIELDS = {f.name: f for f in Customer._meta.concrete_fields}
_CHOICES = {name: frozenset(c[0] for c in f.flatchoices) for name, f in _FIELDS.items() if f.choices}
_ID_LOOKUP_CHUNK = 500
_WRITE_CHUNK = 500
_BO_FIELDS = {f.name for f in BeneficialOwner._meta.concrete_fields} - {"id", "customer"}
_OP_FIELDS = {f.name for f in OtherInsurerPolicy._meta.concrete_fields} - {"id", "customer"}


@dataclass(frozen=True)
class RowError:
    """Why one input row was refused; a row may have several."""

    index: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "code": self.code, "message": self.message}


@dataclass
class BulkResult:
    created: int = 0
    created_ids: list[int] = field(default_factory=list)
    refused: list[RowError] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    # input row index -> id of the archive created from it
    ids_by_index: dict[int, int] = field(default_factory=dict)

    @property
    def refused_rows(self) -> list[int]:
        return sorted({e.index for e in self.refused})


class BulkInterrupted(RuntimeError):
    """A batch failed in the database; the batches before it are committed and counted in `result`."""

    def __init__(self, result: BulkResult, batch_start: int):
        super().__init__(f"bulk create stopped at the batch starting with row {batch_start}; "
                         f"{result.created} archives were committed before it")
        self.result = result
        self.batch_start = batch_start


@dataclass
class _Row:
    index: int
    customer: Customer
    warnings: list[str]
    owners: list[dict]
    others: list[dict]


class _Context:
    """What every row needs to know about the actor, looked up once per call."""

    def __init__(self, actor):
        from insurdesk.org.models import OrgUnit, User

        self.actor = actor
        self.user = actor if actor is not None and actor.pk else None
        self.allowed_units = viewer_unit_ids(actor) if actor is not None else None
        self.is_agent = actor is not None and actor.effective_role == "agent"
        self.terms = clean_terms(actor)  # what Ready depends on
        self.today, self.may_set_aml_risk, self.may_override_uscc = self.terms
        self.default_unit_id = actor.unit_id if actor is not None and actor.unit_id else None
        if self.default_unit_id is None:
            root = root_unit()
            self.default_unit_id = root.pk if root is not None else None
        self._unit_exists: dict[int, bool] = {}
        self._agent_ok: dict[int, bool] = {}
        self._agent_in_unit: dict[tuple[int, int], bool] = {}
        self._units = OrgUnit.objects
        self._users = User.objects

    def unit_ok(self, unit_id) -> bool:
        if unit_id not in self._unit_exists:
            self._unit_exists[unit_id] = self._units.filter(pk=unit_id).exists()
        return self._unit_exists[unit_id] and (self.allowed_units is None or unit_id in self.allowed_units)

    def agent_ok(self, agent_id) -> bool:
        if agent_id not in self._agent_ok:
            self._agent_ok[agent_id] = self._users.filter(pk=agent_id, role="agent", is_active=True).exists()
        return self._agent_ok[agent_id]

    def agent_in_unit(self, agent_id: int, unit_id: int) -> bool:
        """Tell whether an agent belongs to the unit's subtree (issue 15: assignment stays in scope)."""
        if (agent_id, unit_id) not in self._agent_in_unit:
            agent_unit = self._users.filter(pk=agent_id).values_list("unit_id", flat=True).first()
            self._agent_in_unit[agent_id, unit_id] = unit_within(agent_unit, unit_id)
        return self._agent_in_unit[agent_id, unit_id]

    def sees(self, unit_id: int, agent_id: int | None) -> bool:
        """Tell whether the actor may open an archive of this unit and agent (duplicate messages)."""
        if self.actor is None or self.actor.is_superuser:
            return True
        if self.is_agent:
            return agent_id == self.actor.pk
        return self.allowed_units is None or unit_id in self.allowed_units


def customer_bulk_create(*, actor, kind: str, rows: list[dict], batch_size: int = 2000,
                         progress: Callable[[int, int], None] | None = None,
                         ready: dict[int, Ready] | None = None, checked: bool = False) -> BulkResult:
    """Create archives from many rows; refuse bad or repeated rows one by one, commit per batch.

    `ready`: row index -> its values cleaned ahead (`Ready`), used where they still fit the row.
    `checked`: the caller has just looked these identities up in its open transaction and found no
    archive (the import); the first try then writes without looking again, and an archive created
    meanwhile by someone else still fails the unique constraint and sends the batch to the second
    try, which looks.
    """
    if actor is not None and not can(actor, "customer.create"):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权新建客户档案"))
    if kind not in Kind.values:
        raise ValidationFailed(FieldError("kind", "choice",
                                          "客户类型只能是 individual（个人）或 corporate（单位）"))
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ctx = _Context(actor)
    if ctx.default_unit_id is None:
        raise ValidationFailed(FieldError("unit_id", "required",
                                          "系统尚未建立机构，请先运行 insurdesk addunit"))
    result = BulkResult()
    first_row_of: dict[str, int] = {}  # identity hash -> the row that first carried it
    total = len(rows)
    for start in range(0, total, batch_size):
        batch: list[_Row] = []
        for index in range(start, min(start + batch_size, total)):
            row = _prepare(ctx, kind, index, rows[index], result, ready.get(index) if ready else None)
            if row is None:
                continue
            first = first_row_of.get(row.customer.id_hash)
            if first is not None:
                result.refused.append(RowError(index, _id_field(kind), "duplicate",
                                               f"与第 {first + 1} 行的证件相同，一人一档，不能重复建档"))
                continue
            first_row_of[row.customer.id_hash] = index
            batch.append(row)
        try:
            _write_batch(ctx, kind, batch, result, checked=checked)
        except Exception as exc:
            raise BulkInterrupted(result, start) from exc
        if progress is not None:
            progress(min(start + batch_size, total), total)
    result.refused.sort(key=lambda e: e.index)
    return result


def _id_field(kind: str) -> str:
    return "uscc" if kind == Kind.CORPORATE else "id_number"


def _refuse(result: BulkResult, index: int, errors: list[FieldError]) -> None:
    result.refused.extend(RowError(index, e.field, e.code, e.message) for e in errors)


def _prepare(ctx: _Context, kind: str, index: int, raw, result: BulkResult, ready: Ready | None = None
             ) -> _Row | None:
    """Clean one row into an unsaved Customer, or record why it is refused and return None."""
    if not isinstance(raw, dict):
        _refuse(result, index, [FieldError("", "format", "该行不是字段表")])
        return None
    try:
        return _prepare_row(ctx, kind, index, dict(raw), ready)
    except ValidationFailed as exc:
        _refuse(result, index, exc.errors)
    except (ValueError, TypeError, ArithmeticError, InvalidOperation) as exc:
        # A value of the wrong type (text in a number column, a date as text) refuses the row, not the import.
        _refuse(result, index, [FieldError("", "format", f"该行有无法识别的值：{exc}")])
    return None


def clean_terms(actor) -> tuple:
    """What cleaning a row depends on besides its values: today, and may the actor set the AML risk
    level and override a USCC's check (the arguments of `clean_values` after the row)."""
    return (
        timezone.localdate(),
        actor is None or can(actor, "customer.change_aml"),
        actor is None or can(actor, "customer.override_uscc"),
    )


@dataclass
class Ready:
    """A row's archive values cleaned ahead of time, elsewhere (the import's reader process).

    What `clean_values` returned for `data` under `terms` (today's date and the actor's two
    permissions that change what cleaning keeps); used only while both still hold.
    """

    data: dict
    terms: tuple
    values: dict
    warnings: list
    owners: list
    others: list

    def fits(self, data: dict, ctx: _Context) -> bool:
        return self.terms == ctx.terms and self.data == data


def clean_values(kind: str, data: dict, *, today, may_set_aml_risk: bool, may_override_uscc: bool):
    """Clean one row's archive fields (no unit or agent): (values, warnings, owners, others).

    Needs no database, so the import's reader process runs it ahead for the rows whose archive is
    most likely new (`Ready`). Raises ValidationFailed with every problem of the row.
    """
    errors: list[FieldError] = []
    data = dict(data)
    owners = data.pop("beneficial_owners", None) or []
    others = data.pop("other_policies", None) or []
    aml = {k: data.pop(k) for k in AML_FIELDS if k in data}
    if not may_set_aml_risk:
        # As in customer_create: AML data from the paper form is kept, except the risk level.
        aml.pop("aml_risk", None)
    try:
        if kind == Kind.INDIVIDUAL:
            clean, warnings = clean_individual(data, creating=True, today=today)
        else:
            clean, warnings = clean_corporate(data, creating=True, allow_uscc_override=may_override_uscc,
                                              today=today)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        clean, warnings = None, []
    if clean is not None:
        allowed = INDIVIDUAL_FIELDS if kind == Kind.INDIVIDUAL else CORPORATE_FIELDS
        errors.extend(FieldError(k, "unknown_field", "未知字段") for k in sorted(set(clean) - set(allowed)))
    cleaned_owners = []
    for i, bo in enumerate(owners):
        try:
            cleaned_owners.append(clean_beneficial_owner(dict(bo), i))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    for i, op in enumerate(others):
        if not (op.get("insurer") or "").strip():
            errors.append(FieldError(f"other_policies[{i}].insurer", "required", "承保公司不能为空"))
    if errors:
        raise ValidationFailed(errors)
    return _coerce({**clean, **aml}), warnings, cleaned_owners, [dict(op) for op in others]


def _prepare_row(ctx: _Context, kind: str, index: int, data: dict, ready: Ready | None = None) -> _Row:
    errors: list[FieldError] = []
    unit_id = data.pop("unit_id", None)
    agent_id = data.pop("agent_id", None)
    if unit_id is not None and not ctx.unit_ok(unit_id):
        errors.append(FieldError("unit_id", "not_found", "所属机构不存在或不在您的管辖范围内"))
    if agent_id is not None and not ctx.agent_ok(agent_id):
        errors.append(FieldError("agent_id", "not_found", "服务业务员不存在或不是业务员角色"))
    elif agent_id is not None and not ctx.agent_in_unit(agent_id, unit_id or ctx.default_unit_id):
        errors.append(FieldError("agent_id", "agent_out_of_scope", AGENT_OUT_OF_SCOPE))
    if ready is not None and not errors and ready.fits(data, ctx):
        values, warnings, cleaned_owners, others = ready.values, ready.warnings, ready.owners, ready.others
    else:
        try:
            values, warnings, cleaned_owners, others = clean_values(
                kind, data, today=ctx.today, may_set_aml_risk=ctx.may_set_aml_risk,
                may_override_uscc=ctx.may_override_uscc,
            )
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        if errors:
            raise ValidationFailed(errors)
    customer = build(
        Customer, kind=kind, unit_id=unit_id or ctx.default_unit_id,
        agent_id=agent_id if agent_id is not None else (ctx.actor.pk if ctx.is_agent else None),
        created_by_id=ctx.user.pk if ctx.user is not None else None, **values,
    )
    customer.id_hash = identity_hash(customer.id_type, customer.id_number)
    customer.mobile_hash = mobile_hash(customer.mobile)
    # build() set every field's attribute: the instance's own dict has them all (and a little more).
    score_values = dict(customer.__dict__)
    if kind == Kind.CORPORATE:
        score_values["beneficial_owners"] = len(cleaned_owners)
    customer.completeness, _ = completeness(kind, score_values)
    return _Row(index, customer, warnings, cleaned_owners, others)


def _coerce(values: dict) -> dict:
    """Convert values to their column types and check length, choices and digits before the database does.

    A bulk insert would otherwise fail the whole batch on one overlong name or malformed date.
    """
    out, errors = {}, []
    for key, value in values.items():
        f = _FIELDS[key]
        if value is None and not f.null:
            value = "" if f.empty_strings_allowed else f.get_default()
        try:
            value = f.to_python(value)
            if value not in f.empty_values:
                f.run_validators(value)
                if key in _CHOICES and value not in _CHOICES[key]:
                    raise ValidationError("不是有效的选项", code="choice")
        except ValidationError as exc:
            code = getattr(exc, "code", None) or "invalid"
            errors.append(FieldError(key, code, f"{f.verbose_name}：{'；'.join(exc.messages)}"))
            continue
        out[key] = value
    if errors:
        raise ValidationFailed(errors)
    return out


def _write_batch(ctx: _Context, kind: str, batch: list[_Row], result: BulkResult, *, checked: bool = False
                 ) -> None:
    if not batch:
        return
    # A concurrent writer may archive one of these identities between the check and the insert; the
    # unique constraint then refuses the batch, and one more pass finds the new duplicate.
    for attempt in range(2):
        try:
            with transaction.atomic():
                refused, written = _write_batch_once(ctx, kind, batch, look=not (checked and attempt == 0))
            break
        except IntegrityError:
            if attempt == 1:
                raise
    result.refused.extend(refused)
    for row in written:
        pk = row.customer.pk
        result.created_ids.append(pk)
        result.ids_by_index[row.index] = pk
        result.warnings.extend((row.index, w) for w in row.warnings)
    result.created += len(written)


def _write_batch_once(ctx: _Context, kind: str, batch: list[_Row], *, look: bool = True
                      ) -> tuple[list[RowError], list[_Row]]:
    hashes = [row.customer.id_hash for row in batch] if look else []
    existing = {}
    for i in range(0, len(hashes), _ID_LOOKUP_CHUNK):
        chunk = hashes[i : i + _ID_LOOKUP_CHUNK]
        for h, archive_no, unit_id, agent_id in Customer.objects.filter(id_hash__any_of=chunk).values_list(
            "id_hash", "archive_no", "unit_id", "agent_id"
        ):
            existing[h] = (archive_no, unit_id, agent_id)
    refused, written = [], []
    for row in batch:
        found = existing.get(row.customer.id_hash)
        if found is None:
            written.append(row)
            continue
        archive_no, unit_id, agent_id = found
        where = (f"（客户号 {archive_no}）" if ctx.sees(unit_id, agent_id)
                 else "（不在您的管辖范围内，请联系档案所属机构）")
        refused.append(RowError(row.index, _id_field(kind), "duplicate",
                                f"该证件已有客户档案{where}，一人一档，不能重复建档"))
    if not written:
        return refused, written
    for row, number in zip(written, archive_numbers(len(written)), strict=True):
        row.customer.archive_no = number
        row.customer.pk = None
    insert_many_with_history([row.customer for row in written], user=ctx.user)
    name_keys_write([row.customer for row in written], new=True)
    owners = [BeneficialOwner(customer_id=row.customer.pk, **_only(bo, _BO_FIELDS))
              for row in written for bo in row.owners]
    others = [OtherInsurerPolicy(customer_id=row.customer.pk, **_only(op, _OP_FIELDS))
              for row in written for op in row.others]
    if owners:
        BeneficialOwner.objects.bulk_create(owners, batch_size=_WRITE_CHUNK)
    if others:
        OtherInsurerPolicy.objects.bulk_create(others, batch_size=_WRITE_CHUNK)
    audit_log_many([
        PendingEntry(action="customer.create", actor=ctx.actor, target=row.customer,
                     detail={"archive_no": row.customer.archive_no, "kind": kind, "warnings": row.warnings,
                             "via": "bulk"})
        for row in written
    ])
    return refused, written


def _only(values: dict, names: set[str]) -> dict:
    return {k: v for k, v in values.items() if k in names}
