"""The insured-member list of a group policy (被保险人清单): add, remove, import from a spreadsheet.

An import reads an xlsx (python-calamine) or csv file, normalises and checks every row the way a
member added by hand is checked, and reports each refused cell as (row, column, value masked, rule,
Chinese message). Nothing is written unless every row passes, so a corrected file can simply be sent
again; the rows that pass are written in one transaction with one audit entry for the import.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import FieldError, IllegalTransition, NotFound, ValidationFailed
from insurdesk.common.masking import mask_id_number
from insurdesk.common.uploads import check_upload
from insurdesk.customers.calculations import age_on
from insurdesk.customers.keys import identity_hash
from insurdesk.customers.models import Customer, IdType
from insurdesk.identity.documents import check_derived, check_document
from insurdesk.identity.errors import IdentityError
from insurdesk.org.policy import require
from insurdesk.policies.models import GroupMember, MemberStatus, MemberType, Policy, PolicyState
from insurdesk.policies.services import policy_lock
from insurdesk.products.models import PlanLevel

MAX_IMPORT_BYTES = 10 * 1024 * 1024

# column key → (Chinese header, accepted headers)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("姓名", ("姓名", "name", "被保险人姓名")),
    "id_type": ("证件类型", ("证件类型", "id_type")),
    "id_number": ("证件号码", ("证件号码", "id_number", "身份证号码", "身份证号")),
    "gender": ("性别", ("性别", "gender")),
    "birth_date": ("出生日期", ("出生日期", "birth_date")),
    "occupation_class": ("职业类别", ("职业类别", "occupation_class")),
    "member_type": ("人员类别", ("人员类别", "member_type", "与员工关系")),
    "plan_level": ("等级", ("等级", "等级代码", "plan_level", "保障等级")),
}
REQUIRED_COLUMNS = ("name", "id_number", "plan_level")
_HEADER_TO_KEY = {h.strip().lower(): key for key, (_, headers) in COLUMNS.items() for h in headers}
_ID_TYPE_BY_LABEL = {label: value for value, label in IdType.choices} | {v: v for v in IdType.values}
_GENDERS = {"男": "M", "女": "F", "M": "M", "F": "F", "m": "M", "f": "F"}
_MEMBER_TYPES = (
    {label: value for value, label in MemberType.choices}
    | {v: v for v in MemberType.values}
    | {"本人": "employee", "职工": "employee"}
)


@dataclass(frozen=True)
class RowError:
    """Why one cell of an imported row was refused (row counts from 1 at the first data row's line)."""

    row: int
    column: str
    value: str
    rule: str
    message: str

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class ImportResult:
    created: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


# ------------------------------------------------------------------ reading


def read_rows(filename: str, content: bytes) -> list[dict]:
    """Read a spreadsheet's first sheet into dicts keyed by COLUMNS keys; unknown columns are dropped."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        table = _read_csv(content)
    elif name.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        table = _read_workbook(content)
    else:
        raise ValidationFailed(FieldError("file", "format", "只支持 xlsx 或 csv 文件"))
    if not table:
        raise ValidationFailed(FieldError("file", "empty", "文件没有内容"))
    header = [
        (_HEADER_TO_KEY.get(str(h).strip().lstrip("*").strip().lower()) if h is not None else None)
        for h in table[0]
    ]
    missing = [COLUMNS[k][0] for k in REQUIRED_COLUMNS if k not in header]
    if missing:
        raise ValidationFailed(
            FieldError(
                "file",
                "columns",
                "缺少必需的列："
                + "、".join(missing)
                + "（第一行应为列名：姓名、证件类型、证件号码、性别、出生日期、职业类别、人员类别、等级）",
            )
        )
    rows = []
    for values in table[1:]:
        if all(v in (None, "") for v in values):
            continue
        rows.append({key: values[i] if i < len(values) else None for i, key in enumerate(header) if key})
    if len(rows) > settings.INSURDESK_MEMBERS_MAX_ROWS:
        limit = settings.INSURDESK_MEMBERS_MAX_ROWS
        raise ValidationFailed(FieldError("file", "too_many_rows", f"一次最多导入 {limit} 行"))
    return rows


def _read_csv(content: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed(FieldError("file", "encoding", "CSV 文件编码无法识别，请另存为 UTF-8"))
    return [row for row in csv.reader(io.StringIO(text))]


def _read_workbook(content: bytes) -> list[list]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        return book.get_sheet_by_index(0).to_python()
    except (CalamineError, ValueError, OSError) as exc:
        raise ValidationFailed(FieldError("file", "format", f"无法读取电子表格：{exc}")) from None


# ------------------------------------------------------------------ checking


@dataclass
class _Context:
    policy: Policy
    levels: dict[str, PlanLevel]
    min_age: int | None
    max_age: int | None
    classes: frozenset[int] | None
    on: datetime.date
    active_hashes: set[str]


def _context(policy: Policy) -> _Context:
    products = [line.product for line in policy.lines.select_related("product")]
    levels = {lvl.code.upper(): lvl for lvl in PlanLevel.objects.filter(product__in=products)}
    classes = set()
    for p in products:
        if p.occupation_classes:
            classes |= set(p.occupation_classes)
    main = policy.product
    return _Context(
        policy=policy,
        levels=levels,
        min_age=main.min_age,
        max_age=main.max_age,
        classes=frozenset(classes) or None,
        on=max(policy.effective_date, timezone.localdate()),
        active_hashes=set(
            policy.members.filter(status=MemberStatus.ACTIVE).values_list("id_hash", flat=True)
        ),
    )


def _shown(key: str, value) -> str:
    """Return a cell's value for an error report, the identity number masked."""
    if value in (None, ""):
        return ""
    text = value.isoformat() if isinstance(value, datetime.date) else str(value)
    return mask_id_number(text) if key == "id_number" else text[:100]


def _as_date(value) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        if len(text) == 8 and text.isdigit():
            try:
                return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            except ValueError:
                pass
    raise ValueError(text)


def clean_member(ctx: _Context, raw: dict, row: int) -> tuple[dict | None, list[RowError]]:
    """Check one member; return its clean values or the refusals of its cells."""
    errors: list[RowError] = []

    def fail(key: str, rule: str, message: str) -> None:
        errors.append(RowError(row, COLUMNS[key][0], _shown(key, raw.get(key)), rule, message))

    name = str(raw.get("name") or "").strip()
    if not name:
        fail("name", "required", "姓名不能为空")
    elif len(name) > 100:
        fail("name", "too_long", "姓名不能超过 100 个字符")
    id_type = _ID_TYPE_BY_LABEL.get(str(raw.get("id_type") or "").strip() or "resident_id")
    if id_type is None or id_type == IdType.USCC:
        fail("id_type", "choice", "证件类型无效，可填：居民身份证、护照、港澳居民来往内地通行证等")
        id_type = None
    number_raw = raw.get("id_number")
    check = None
    if isinstance(number_raw, float | int) and not isinstance(number_raw, bool):
        # A number cell: Excel keeps 15 significant digits, so an 18-digit ID has already lost digits.
        fail(
            "id_number",
            "stored_as_number",
            "证件号码以数字格式保存，Excel 只保留 15 位有效数字，号码已失真；请将该列设为文本后重新填写",
        )
    elif id_type is not None:
        try:
            check = check_document(id_type, str(number_raw or ""))
        except IdentityError as exc:
            fail("id_number", exc.code, exc.message)
    gender = raw.get("gender")
    gender = _GENDERS.get(str(gender).strip()) if gender not in (None, "") else None
    if raw.get("gender") not in (None, "") and gender is None:
        fail("gender", "choice", "性别应为 男 或 女")
    try:
        birth = _as_date(raw.get("birth_date"))
    except ValueError:
        fail("birth_date", "format", "出生日期格式不正确，应为 YYYY-MM-DD")
        birth = None
    if check is not None:
        for exc in check_derived(check, birth_date=birth, gender=gender):
            fail(exc.field or "id_number", exc.code, exc.message)
        birth = birth or check.birth_date
        gender = gender or check.gender
    if birth is None and not any(e.column == COLUMNS["birth_date"][0] for e in errors) and check is not None:
        fail("birth_date", "required", "证件号码不含出生日期时须填写出生日期")
    age = age_on(birth, ctx.on) if birth else None
    if age is not None and (
        (ctx.min_age is not None and age < ctx.min_age) or (ctx.max_age is not None and age > ctx.max_age)
    ):
        fail("birth_date", "age", f"被保险人 {age} 周岁，不在投保年龄 {ctx.min_age}–{ctx.max_age} 周岁内")
    occupation = raw.get("occupation_class")
    occ = None
    if occupation not in (None, ""):
        try:
            value = Decimal(str(occupation).strip().rstrip("类"))
            if value != value.to_integral_value() or not 1 <= value <= 6:
                raise InvalidOperation
            occ = int(value)
        except (InvalidOperation, ValueError):
            fail("occupation_class", "format", "职业类别应为 1–6 的整数")
    if occ is not None and ctx.classes is not None and occ not in ctx.classes:
        accepted = "、".join(str(c) for c in sorted(ctx.classes))
        fail("occupation_class", "occupation_class", f"职业类别 {occ} 类不在可承保类别（{accepted} 类）内")
    member_type = _MEMBER_TYPES.get(str(raw.get("member_type") or "").strip() or "employee")
    if member_type is None:
        fail("member_type", "choice", "人员类别应为 员工、配偶 或 子女")
    level_code = str(raw.get("plan_level") or "").strip()
    if isinstance(raw.get("plan_level"), float) and raw["plan_level"].is_integer():
        level_code = str(int(raw["plan_level"]))
    level = ctx.levels.get(level_code.upper())
    if not level_code:
        fail("plan_level", "required", "等级不能为空")
    elif level is None:
        known = "、".join(sorted(ctx.levels)) or "（本保单险种没有等级明细）"
        fail("plan_level", "choice", f"等级 {level_code} 不属于本保单的险种，可选：{known}")
    if errors:
        return None, errors
    number = check.number
    return {
        "name": name,
        "id_type": id_type,
        "id_number": number,
        "id_hash": identity_hash(id_type, number),
        "gender": gender or "",
        "birth_date": birth,
        "occupation_class": occ,
        "member_type": member_type,
        "plan_level": level,
    }, []


def _check_policy(policy: Policy) -> None:
    if not policy.is_group:
        raise IllegalTransition(FieldError("", "not_group", "只有团体保单有被保险人清单"))
    if policy.state not in (PolicyState.PENDING, PolicyState.IN_FORCE, PolicyState.REINSTATED):
        raise IllegalTransition(
            FieldError(
                "state",
                "illegal_transition",
                f"保单当前状态为“{policy.get_state_display()}”，不能变更被保险人清单",
            )
        )


def _write(policy: Policy, rows: list[dict], joined_on: datetime.date) -> list[GroupMember]:
    start = (policy.members.aggregate(m=Max("seq"))["m"] or 0) + 1
    customers = dict(
        Customer.objects.filter(id_hash__in=[r["id_hash"] for r in rows]).values_list("id_hash", "pk")
    )
    members = [
        GroupMember(
            policy=policy, seq=start + i, joined_on=joined_on, customer_id=customers.get(r["id_hash"]), **r
        )
        for i, r in enumerate(rows)
    ]
    return GroupMember.objects.bulk_create(members, batch_size=1000)


# ------------------------------------------------------------------ services


@transaction.atomic
def member_add(*, actor, policy_id: int, data: dict, joined_on: datetime.date | None = None) -> GroupMember:
    """Add one insured person to a group policy's list (加人)."""
    require(actor, "policy.members", "您的角色无权变更被保险人清单")
    policy = policy_lock(policy_id, actor=actor)
    _check_policy(policy)
    ctx = _context(policy)
    clean, errors = clean_member(ctx, dict(data), 1)
    if errors:
        keys = {label: key for key, (label, _) in COLUMNS.items()}
        raise ValidationFailed([FieldError(keys.get(e.column, ""), e.rule, e.message) for e in errors])
    if clean["id_hash"] in ctx.active_hashes:
        raise ValidationFailed(FieldError("id_number", "duplicate", "该证件号码已在本保单被保险人清单中"))
    (member,) = _write(policy, [clean], joined_on or max(policy.effective_date, timezone.localdate()))
    audit_log(
        actor=actor,
        action="policy.member_add",
        target=policy,
        detail={"seq": member.seq, "plan_level": member.plan_level.code},
    )
    return member


@transaction.atomic
def member_remove(
    *, actor, policy_id: int, member_id: int, left_on: datetime.date | None = None
) -> GroupMember:
    """Take one insured person off a group policy's list (减人); the row is kept with its dates."""
    require(actor, "policy.members", "您的角色无权变更被保险人清单")
    policy = policy_lock(policy_id, actor=actor)
    _check_policy(policy)
    member = policy.members.select_for_update().filter(pk=member_id).first()
    if member is None:
        raise NotFound(FieldError("member_id", "not_found", "被保险人不存在"))
    if member.status != MemberStatus.ACTIVE:
        raise IllegalTransition(FieldError("status", "illegal_transition", "该被保险人已减员"))
    day = left_on or timezone.localdate()
    if day < member.joined_on:
        raise ValidationFailed(FieldError("left_on", "date_order", "减员日期不能早于加入日期"))
    member.status, member.left_on = MemberStatus.REMOVED, day
    member.save(update_fields=["status", "left_on"])
    audit_log(
        actor=actor, action="policy.member_remove", target=policy, detail={"seq": member.seq, "left_on": day}
    )
    return member


def members_import(
    *,
    actor,
    policy_id: int,
    filename: str,
    content: bytes,
    dry_run: bool = False,
    joined_on: datetime.date | None = None,
) -> ImportResult:
    """Import a member list from xlsx or csv; refuse the whole file with row-level errors if any row fails."""
    require(actor, "policy.members", "您的角色无权变更被保险人清单")
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationFailed(FieldError("file", "too_large", "文件不能超过 10 MB"))
    # Like every upload: a safe name, and content that is what its extension says (never the client's type).
    upload = ContentFile(content, name=filename)
    # Rows and expanded size are checked before calamine reads anything (zip bombs, bulk).
    check_upload(
        upload,
        allowed_types=("xlsx", "csv"),
        max_bytes=MAX_IMPORT_BYTES,
        max_rows=settings.INSURDESK_MEMBERS_MAX_ROWS,
        max_xml_bytes=settings.INSURDESK_MEMBERS_MAX_XML_BYTES,
        settings_prefix="INSURDESK_MEMBERS",
    )
    rows = read_rows(filename, content)
    with transaction.atomic():
        policy = policy_lock(policy_id, actor=actor)
        _check_policy(policy)
        ctx = _context(policy)
        result = ImportResult(rows=len(rows), dry_run=dry_run)
        clean_rows = []
        first_row_of: dict[str, int] = {}
        for i, raw in enumerate(rows):
            row_no = i + 2  # the spreadsheet line: line 1 holds the headers
            clean, errors = clean_member(ctx, raw, row_no)
            if errors:
                result.errors.extend(errors)
                continue
            shown = _shown("id_number", clean["id_number"])
            if clean["id_hash"] in ctx.active_hashes:
                result.errors.append(
                    RowError(row_no, "证件号码", shown, "duplicate", "该证件号码已在本保单被保险人清单中")
                )
            elif clean["id_hash"] in first_row_of:
                result.errors.append(
                    RowError(
                        row_no,
                        "证件号码",
                        shown,
                        "duplicate",
                        f"与第 {first_row_of[clean['id_hash']]} 行的证件号码重复",
                    )
                )
            else:
                first_row_of[clean["id_hash"]] = row_no
                clean_rows.append(clean)
        if result.errors or dry_run:
            return result
        _write(policy, clean_rows, joined_on or max(policy.effective_date, timezone.localdate()))
        result.created = len(clean_rows)
        audit_log(
            actor=actor,
            action="policy.members_import",
            target=policy,
            detail={"file": (filename or "")[:100], "created": result.created},
        )
    return result
