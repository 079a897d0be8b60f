"""Check an application's input before any write: required fields, products, money, beneficiaries.

Every problem is collected and named by its path (`lines[1].premium`), so a form or API answer
shows all bad fields at once. Required text fields marked * may not be blank; "无" is a value.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils import timezone

from insurdesk.applications import calculations as calc
from insurdesk.applications.models import AgencyKind, BeneficiaryRelation, BusinessSource, Relationship
from insurdesk.common.errors import FieldError, ValidationFailed
from insurdesk.identity.documents import ID_TYPES, check_document
from insurdesk.identity.errors import IdentityError
from insurdesk.identity.normalize import clean_code
from insurdesk.products.calculations import is_payment_term
from insurdesk.products.models import PaymentMode, Product

APPLICATION_NO_RE = re.compile(r"^[A-Z0-9]{6,20}$")
ACCOUNT_RE = re.compile(r"^\d{8,30}$")
MAX_AMOUNT = Decimal("99999999999999.99")
MAX_LINES = 20
MAX_BENEFICIARIES = 20

SCALAR_FIELDS = (
    "application_no",
    "relationship",
    "insured_consent",
    "beneficiary_legal",
    "total_premium",
    "payment_mode",
    "payment_term",
    "bank_name",
    "bank_account",
    "account_holder",
    "business_source",
    "agency_name",
    "agency_kind",
    "commission_ratio",
    "application_date",
    "requested_effective_date",
    "health_disclosure",
    "health_details",
    "notes",
    "agent_id",
    "unit_id",
)
INPUT_FIELDS = (*SCALAR_FIELDS, "policyholder", "insured", "lines", "beneficiaries")


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def text(value) -> str:
    return (
        re.sub(r"\s+", " ", value).strip()
        if isinstance(value, str)
        else ("" if value is None else str(value))
    )


class Checker:
    def __init__(self):
        self.errors: list[FieldError] = []

    def fail(self, field_: str, code: str, message: str) -> None:
        self.errors.append(FieldError(field_, code, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)

    def amount(self, field_: str, value, label: str, *, positive: bool = False) -> Decimal | None:
        if blank(value):
            self.fail(field_, "required", f"{label}不能为空")
            return None
        if isinstance(value, float):
            value = repr(value)
        try:
            raw = Decimal(str(value).strip().replace(",", ""))
        except Exception:
            self.fail(field_, "format", f"{label}格式不正确")
            return None
        if not raw.is_finite():
            self.fail(field_, "format", f"{label}格式不正确")
            return None
        if raw.as_tuple().exponent < -2:
            self.fail(field_, "format", f"{label}最多两位小数（元、角、分）")
            return None
        if raw < 0 or (positive and raw == 0):
            self.fail(field_, "range", f"{label}应大于 0" if positive else f"{label}不能为负数")
            return None
        if raw > MAX_AMOUNT:
            self.fail(field_, "range", f"{label}超出可记录的范围")
            return None
        return calc.money(raw)

    def required_text(self, field_: str, value, label: str, max_length: int) -> str:
        t = text(value)
        if not t:
            self.fail(field_, "required", f"{label}不能为空（没有请填写“无”）")
        elif len(t) > max_length:
            self.fail(field_, "too_long", f"{label}不能超过 {max_length} 个字符")
        return t


@dataclass
class CleanLine:
    seq: int
    product: Product
    coverage_term: str
    sum_insured: Decimal
    premium: Decimal
    rider_of_code: str = ""
    plan_level_code: str = ""
    complete: bool = True


@dataclass
class CleanBeneficiary:
    seq: int
    order: int
    name: str
    share: Decimal
    id_type: str = "resident_id"
    id_number: str | None = None
    relationship: str = ""


@dataclass
class Cleaned:
    scalars: dict
    lines: list[CleanLine]
    beneficiaries: list[CleanBeneficiary]
    warnings: list[str] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return any(line.product.is_group for line in self.lines)

    @property
    def death_cover(self) -> bool:
        return any(line.product.death_cover for line in self.lines)


def clean_account(value) -> str | None:
    """Return a bank account as its digits, None when blank; raise ValueError when it is not one."""
    if blank(value):
        return None
    digits = re.sub(r"[\s-]", "", str(value))
    if not ACCOUNT_RE.match(digits):
        raise ValueError("银行账号应为 8–30 位数字")
    return digits


def _scalars(chk: Checker, d: dict, today: date) -> dict:
    out: dict = {}
    no = clean_code(d.get("application_no") or "") if not blank(d.get("application_no")) else ""
    if no and not APPLICATION_NO_RE.match(no):
        chk.fail("application_no", "format", "投保单号应为 6–20 位字母或数字")
    out["application_no"] = no
    if d.get("relationship") not in Relationship.values:
        chk.fail(
            "relationship",
            "required" if blank(d.get("relationship")) else "choice",
            "被保险人与投保人关系应为 本人/配偶/子女/父母/雇佣/其他 之一",
        )
    out["relationship"] = d.get("relationship")
    out["insured_consent"] = bool(d.get("insured_consent"))
    out["beneficiary_legal"] = bool(d.get("beneficiary_legal"))
    out["health_disclosure"] = bool(d.get("health_disclosure"))
    out["total_premium"] = chk.amount("total_premium", d.get("total_premium"), "保费合计")
    mode = d.get("payment_mode")
    if mode not in PaymentMode.values:
        chk.fail(
            "payment_mode",
            "required" if blank(mode) else "choice",
            "缴费方式应为 趸交/年交/半年交/季交/月交 之一",
        )
    out["payment_mode"] = mode
    term = text(d.get("payment_term")).lower()
    if not term:
        chk.fail("payment_term", "required", "缴费期间不能为空")
    elif not is_payment_term(term):
        chk.fail("payment_term", "format", "缴费期间应如 single（趸交）、10y、to60")
    elif (mode == "single") != (term == "single"):
        chk.fail("payment_term", "single", "趸交的缴费期间为 single，期交不能选 single")
    out["payment_term"] = term
    try:
        out["bank_account"] = clean_account(d.get("bank_account"))
    except ValueError as exc:
        chk.fail("bank_account", "format", str(exc))
        out["bank_account"] = None
    out["bank_name"] = text(d.get("bank_name"))[:100]
    out["account_holder"] = text(d.get("account_holder"))[:100]
    if out["bank_account"]:
        if not out["bank_name"]:
            chk.fail("bank_name", "required", "填写缴费账号时须填写缴费银行")
        if not out["account_holder"]:
            chk.fail("account_holder", "required", "填写缴费账号时须填写账户户名")

    source = d.get("business_source")
    if source not in BusinessSource.values:
        chk.fail(
            "business_source", "required" if blank(source) else "choice", "业务来源应为 直销/综拓/中介 之一"
        )
    out["business_source"] = source
    out["agency_name"] = text(d.get("agency_name"))
    out["agency_kind"] = d.get("agency_kind") or ""
    ratio = d.get("commission_ratio")
    if source == BusinessSource.INTERMEDIARY:
        chk.required_text("agency_name", d.get("agency_name"), "中介机构名称", 200)
        if out["agency_kind"] not in AgencyKind.values:
            chk.fail(
                "agency_kind",
                "required" if not out["agency_kind"] else "choice",
                "中介业务须选择中介机构类型（银行代理/其他兼业代理/专业代理/经纪公司）",
            )
        r = chk.amount("commission_ratio", ratio, "手续费比例")
        if r is not None and r > 100:
            chk.fail("commission_ratio", "range", "手续费比例应在 0–100% 之间")
        out["commission_ratio"] = r
    else:
        if out["agency_name"] or out["agency_kind"] or not blank(ratio):
            chk.fail(
                "business_source", "not_intermediary", "只有中介业务才填写中介机构名称、类型和手续费比例"
            )
        out["agency_name"], out["agency_kind"], out["commission_ratio"] = "", "", None

    app_date = d.get("application_date")
    if not isinstance(app_date, date):
        chk.fail("application_date", "required", "投保日期不能为空")
    elif app_date > today:
        chk.fail("application_date", "future", "投保日期不能晚于今天")
    out["application_date"] = app_date
    eff = d.get("requested_effective_date")
    if eff is not None and not isinstance(eff, date):
        chk.fail("requested_effective_date", "format", "指定生效日期格式不正确")
        eff = None
    if eff is not None and isinstance(app_date, date) and eff < app_date:
        chk.fail("requested_effective_date", "date_order", "指定生效日期不能早于投保日期")
    out["requested_effective_date"] = eff
    out["health_details"] = chk.required_text("health_details", d.get("health_details"), "健康告知说明", 2000)
    if out["health_details"] == "无" and out["health_disclosure"]:
        chk.fail("health_details", "required", "勾选了有健康告知事项时，请写明告知内容")
    out["notes"] = text(d.get("notes"))[:5000] if d.get("notes") else ""
    out["agent_id"] = d.get("agent_id")
    out["unit_id"] = d.get("unit_id")
    return out


def _lines(chk: Checker, rows, products: dict[str, Product]) -> list[CleanLine]:
    if not isinstance(rows, list | tuple) or not rows:
        chk.fail("lines", "required", "至少投保一个险种")
        return []
    if len(rows) > MAX_LINES:
        chk.fail("lines", "too_long", f"一张投保单至多 {MAX_LINES} 个险种")
        return []
    out = []
    seen = set()
    for i, row in enumerate(rows):
        p = f"lines[{i}]"
        code = clean_code(row.get("product_code") or "") if not blank(row.get("product_code")) else ""
        product = products.get(code)
        if not code:
            chk.fail(f"{p}.product_code", "required", "险种代码不能为空")
        elif product is None:
            chk.fail(f"{p}.product_code", "not_found", f"险种 {code} 不存在")
        elif not product.active:
            chk.fail(f"{p}.product_code", "inactive", f"险种 {code} 已停售")
        elif code in seen:
            chk.fail(f"{p}.product_code", "duplicate", f"险种 {code} 重复投保")
        seen.add(code)
        term = text(row.get("coverage_term")).lower()
        if not term:
            chk.fail(f"{p}.coverage_term", "required", "保险期间不能为空")
        elif product is not None and term not in product.coverage_terms:
            chk.fail(
                f"{p}.coverage_term",
                "not_offered",
                f"{code} 不提供保险期间 {term}（可选：{'、'.join(product.coverage_terms)}）",
            )
        sum_insured = chk.amount(f"{p}.sum_insured", row.get("sum_insured"), "保额", positive=True)
        premium = chk.amount(f"{p}.premium", row.get("premium"), "保费")
        level = clean_code(row.get("plan_level") or "") if not blank(row.get("plan_level")) else ""
        if level and product is not None:
            if not product.is_group:
                chk.fail(f"{p}.plan_level", "not_group", "只有团体险才选择等级")
            elif not any(pl.code == level for pl in product.plan_levels.all()):
                chk.fail(f"{p}.plan_level", "not_found", f"{code} 没有等级 {level}")
        rider_of = clean_code(row.get("rider_of") or "") if not blank(row.get("rider_of")) else ""
        if product is not None and sum_insured is not None and premium is not None and term:
            out.append(
                CleanLine(
                    seq=i + 1,
                    product=product,
                    coverage_term=term,
                    sum_insured=sum_insured,
                    premium=premium,
                    rider_of_code=rider_of,
                    plan_level_code=level,
                )
            )
        elif product is not None:
            out.append(
                CleanLine(
                    seq=i + 1,
                    product=product,
                    coverage_term=term,
                    sum_insured=Decimal(0),
                    premium=Decimal(0),
                    rider_of_code=rider_of,
                    plan_level_code=level,
                    complete=False,
                )
            )
    return out


def _riders(chk: Checker, lines: list[CleanLine]) -> None:
    mains = {line.product.code: line for line in lines if not line.product.is_rider}
    if lines and not mains:
        chk.fail("lines", "no_main", "投保单至少要有一个主险")
    for line in lines:
        p = f"lines[{line.seq - 1}]"
        if not line.product.is_rider:
            if line.rider_of_code:
                chk.fail(f"{p}.rider_of", "not_rider", f"{line.product.code} 是主险，不附加于其他险种")
            continue
        allowed = {m.code for m in line.product.attaches_to.all()}
        if not line.rider_of_code:
            candidates = [c for c in mains if c in allowed]
            if len(candidates) == 1:
                line.rider_of_code = candidates[0]
            else:
                chk.fail(
                    f"{p}.rider_of",
                    "required" if not candidates else "ambiguous",
                    f"附加险 {line.product.code} 须附加于本单的主险（可附加：{'、'.join(sorted(allowed))}）",
                )
            continue
        if line.rider_of_code not in mains:
            chk.fail(f"{p}.rider_of", "not_found", f"本单没有主险 {line.rider_of_code}")
        elif line.rider_of_code not in allowed:
            chk.fail(
                f"{p}.rider_of",
                "not_allowed",
                f"附加险 {line.product.code} 不能附加于 {line.rider_of_code}"
                f"（可附加：{'、'.join(sorted(allowed))}）",
            )
    groups = {line.product.is_group for line in lines}
    if len(groups) > 1:
        chk.fail("lines", "mixed_group", "团体险与个人险不能在同一张投保单")


def _beneficiaries(chk: Checker, rows, *, legal: bool) -> list[CleanBeneficiary]:
    rows = rows or []
    if not isinstance(rows, list | tuple):
        chk.fail("beneficiaries", "format", "受益人应为列表")
        return []
    if len(rows) > MAX_BENEFICIARIES:
        chk.fail("beneficiaries", "too_long", f"受益人至多 {MAX_BENEFICIARIES} 人")
        return []
    if legal and rows:
        chk.fail("beneficiary_legal", "conflict", "已注明法定受益人，不能再指定受益人")
    out = []
    for i, row in enumerate(rows):
        p = f"beneficiaries[{i}]"
        name = text(row.get("name"))
        if not name:
            chk.fail(f"{p}.name", "required", "受益人姓名不能为空")
        elif len(name) > 100:
            chk.fail(f"{p}.name", "too_long", "受益人姓名不能超过 100 个字符")
        order = row.get("order", 1)
        if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 9:
            try:
                order = int(order)
                if not 1 <= order <= 9:
                    raise ValueError
            except (TypeError, ValueError):
                chk.fail(f"{p}.order", "range", "受益顺序应为 1–9")
                order = 1
        share = chk.amount(f"{p}.share", row.get("share"), "受益比例", positive=True)
        if share is not None and share > 100:
            chk.fail(f"{p}.share", "range", "受益比例应在 0–100% 之间")
        id_type = row.get("id_type") or "resident_id"
        number = None
        if id_type not in ID_TYPES:
            chk.fail(f"{p}.id_type", "choice", "受益人证件类型无效")
        elif not blank(row.get("id_number")):
            try:
                number = check_document(id_type, row.get("id_number")).number
            except IdentityError as exc:
                chk.fail(f"{p}.id_number", exc.code, f"受益人证件号码：{exc.message}")
        relation = row.get("relationship") or ""
        if relation and relation not in BeneficiaryRelation.values:
            chk.fail(f"{p}.relationship", "choice", "受益人与被保险人关系无效")
        out.append(
            CleanBeneficiary(
                seq=i + 1,
                order=order,
                name=name,
                share=share or Decimal(0),
                id_type=id_type,
                id_number=number,
                relationship=relation,
            )
        )
    if not chk.errors:
        for order, total in calc.share_problems((b.order, b.share) for b in out):
            chk.fail(
                "beneficiaries", "share_total", f"第 {order} 受益顺序的受益比例合计为 {total}%，应为 100%"
            )
    return out


def clean_application(data: dict, *, products: dict[str, Product], today: date | None = None) -> Cleaned:
    """Return the cleaned application (parties aside) or raise ValidationFailed with every error."""
    today = today or timezone.localdate()
    unknown = sorted(set(data) - set(INPUT_FIELDS))
    if unknown:
        raise ValidationFailed([FieldError(k, "unknown_field", "未知字段") for k in unknown])
    chk = Checker()
    scalars = _scalars(chk, data, today)
    lines = _lines(chk, data.get("lines"), products)
    _riders(chk, lines)
    for line in lines:
        p = f"lines[{line.seq - 1}]"
        if (
            scalars["payment_mode"] in PaymentMode.values
            and scalars["payment_mode"] not in line.product.payment_modes
        ):
            chk.fail(
                f"{p}.product_code",
                "payment_mode",
                f"{line.product.code} 不提供{PaymentMode(scalars['payment_mode']).label}",
            )
        if (
            scalars["payment_term"]
            and is_payment_term(scalars["payment_term"])
            and scalars["payment_term"] not in line.product.payment_terms
        ):
            chk.fail(
                f"{p}.product_code",
                "payment_term",
                f"{line.product.code} 不提供缴费期间 {scalars['payment_term']}"
                f"（可选：{'、'.join(line.product.payment_terms)}）",
            )
    beneficiaries = _beneficiaries(chk, data.get("beneficiaries"), legal=scalars["beneficiary_legal"])
    cleaned = Cleaned(scalars=scalars, lines=lines, beneficiaries=beneficiaries)
    all_lines = lines and len(lines) == len(data.get("lines") or []) and all(line.complete for line in lines)
    if (
        all_lines
        and scalars["total_premium"] is not None
        and not calc.total_matches(scalars["total_premium"], [line.premium for line in lines])
    ):
        chk.fail(
            "total_premium",
            "total_mismatch",
            f"保费合计 {scalars['total_premium']} 元与各险种保费之和 "
            f"{calc.premium_total(line.premium for line in lines)} 元不符",
        )
    if cleaned.is_group and beneficiaries:
        chk.fail("beneficiaries", "group", "团体险的受益人随被保险人清单登记，不在投保单上指定")
    if (
        lines
        and cleaned.death_cover
        and not cleaned.is_group
        and not beneficiaries
        and not scalars["beneficiary_legal"]
    ):
        chk.fail("beneficiaries", "required", "含身故责任的投保单须指定身故受益人，或注明“法定”")
    chk.raise_if_any()
    return cleaned
