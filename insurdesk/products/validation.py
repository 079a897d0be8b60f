"""Check a product's input before any write; every problem is collected and named by field."""

import re
from decimal import Decimal, InvalidOperation

from insurdesk.common.errors import FieldError, ValidationFailed
from insurdesk.products.calculations import is_coverage_term, is_payment_term
from insurdesk.products.models import Line, PaymentMode

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
FIELDS = (
    "code",
    "name",
    "line",
    "is_rider",
    "attaches_to",
    "coverage_terms",
    "payment_modes",
    "payment_terms",
    "min_age",
    "max_age",
    "min_sum_insured",
    "max_sum_insured",
    "cooling_off_days",
    "grace_days",
    "required_documents",
    "occupation_classes",
    "death_cover",
    "unit_linked",
    "is_group",
    "active",
    "description",
    "plan_levels",
    "cash_values",
    "loan_share",
    "loan_rate",
    "reinstatement_health",
    "survival_benefit",
    "survival_interval",
    "maturity_benefit",
)
MAX_POLICY_YEARS = 105
MAX_AGE = 120
MAX_DAYS = 366


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _amount(errors: list, field: str, value, *, required: bool = False) -> Decimal | None:
    if _blank(value):
        if required:
            errors.append(FieldError(field, "required", "金额不能为空"))
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        errors.append(FieldError(field, "format", "金额格式不正确"))
        return None
    if not d.is_finite() or d < 0:
        errors.append(FieldError(field, "range", "金额不能为负数"))
        return None
    if d.as_tuple().exponent < -2:
        errors.append(FieldError(field, "format", "金额最多两位小数"))
        return None
    return d


def _int(errors: list, field: str, value, lo: int, hi: int, label: str) -> int | None:
    if isinstance(value, bool) or _blank(value):
        errors.append(FieldError(field, "required", f"{label}不能为空"))
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        errors.append(FieldError(field, "format", f"{label}应为整数"))
        return None
    if not lo <= n <= hi:
        errors.append(FieldError(field, "range", f"{label}应在 {lo}–{hi} 之间"))
        return None
    return n


def _text_list(errors: list, field: str, value, label: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        errors.append(FieldError(field, "format", f"{label}应为列表"))
        return []
    out = []
    for item in value:
        text = str(item).strip() if item is not None else ""
        if not text:
            errors.append(FieldError(field, "required", f"{label}不能有空项"))
            continue
        if text not in out:
            out.append(text)
    return out


def clean_product(data: dict, *, current: dict | None = None) -> dict:
    """Return the cleaned product fields, merged over `current` for an edit; raise with every error."""
    errors: list[FieldError] = []
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValidationFailed([FieldError(k, "unknown_field", "未知字段") for k in unknown])
    d = {**(current or {}), **data}
    out: dict = {}

    code = (d.get("code") or "").strip().upper()
    if not code:
        errors.append(FieldError("code", "required", "险种代码不能为空"))
    elif not CODE_RE.match(code):
        errors.append(FieldError("code", "format", "险种代码只能由大写字母、数字、-、_ 组成，至多 20 位"))
    out["code"] = code
    name = re.sub(r"\s+", " ", (d.get("name") or "")).strip()
    if not name:
        errors.append(FieldError("name", "required", "险种名称不能为空"))
    elif len(name) > 100:
        errors.append(FieldError("name", "too_long", "险种名称不能超过 100 个字符"))
    out["name"] = name
    if d.get("line") not in Line.values:
        errors.append(
            FieldError(
                "line",
                "choice" if d.get("line") else "required",
                "险类应为 寿险/健康险/意外险/财产险/车险/团险 之一",
            )
        )
    out["line"] = d.get("line")
    for flag in ("is_rider", "death_cover", "unit_linked", "is_group", "active", "reinstatement_health"):
        if flag in d:
            out[flag] = bool(d[flag])
    out.setdefault("active", True)
    if out["line"] == Line.GROUP:
        out["is_group"] = True

    attaches = [
        c.strip().upper() for c in _text_list(errors, "attaches_to", d.get("attaches_to"), "可附加主险")
    ]
    if out.get("is_rider") and not attaches:
        errors.append(FieldError("attaches_to", "required", "附加险须列明可附加的主险"))
    if not out.get("is_rider") and attaches:
        errors.append(FieldError("attaches_to", "not_rider", "只有附加险才能列明可附加的主险"))
    if code and code in attaches:
        errors.append(FieldError("attaches_to", "self", "险种不能附加于自身"))
    out["attaches_to"] = attaches

    terms = _text_list(errors, "coverage_terms", d.get("coverage_terms"), "保险期间")
    if not terms:
        errors.append(FieldError("coverage_terms", "required", "至少提供一个保险期间"))
    for t in terms:
        if not is_coverage_term(t):
            errors.append(
                FieldError(
                    "coverage_terms", "format", f"保险期间“{t}”无效，应如 30d、6m、1y、20y、to70、life"
                )
            )
    out["coverage_terms"] = terms
    modes = _text_list(errors, "payment_modes", d.get("payment_modes"), "缴费方式")
    if not modes:
        errors.append(FieldError("payment_modes", "required", "至少提供一种缴费方式"))
    for m in modes:
        if m not in PaymentMode.values:
            errors.append(
                FieldError(
                    "payment_modes",
                    "choice",
                    f"缴费方式“{m}”无效，可选 single/annual/semiannual/quarterly/monthly",
                )
            )
    out["payment_modes"] = modes
    pterms = _text_list(errors, "payment_terms", d.get("payment_terms"), "缴费期间")
    if not pterms:
        errors.append(FieldError("payment_terms", "required", "至少提供一个缴费期间"))
    for t in pterms:
        if not is_payment_term(t):
            errors.append(FieldError("payment_terms", "format", f"缴费期间“{t}”无效，应如 single、10y、to60"))
    if "single" in modes and pterms and "single" not in pterms:
        errors.append(FieldError("payment_terms", "single", "提供趸交时缴费期间须包含 single"))
    if "single" in pterms and "single" not in modes:
        errors.append(FieldError("payment_terms", "single", "缴费期间 single 只能配合趸交"))
    if any(m != "single" for m in modes) and pterms and all(t == "single" for t in pterms):
        errors.append(FieldError("payment_terms", "required", "期交方式须提供至少一个期交缴费期间"))
    out["payment_terms"] = pterms

    out["min_age"] = _int(errors, "min_age", d.get("min_age", 0), 0, MAX_AGE, "最低投保年龄")
    out["max_age"] = _int(errors, "max_age", d.get("max_age", 65), 0, MAX_AGE, "最高投保年龄")
    if out["min_age"] is not None and out["max_age"] is not None and out["max_age"] < out["min_age"]:
        errors.append(FieldError("max_age", "range", "最高投保年龄不能小于最低投保年龄"))
    out["min_sum_insured"] = _amount(errors, "min_sum_insured", d.get("min_sum_insured"))
    out["max_sum_insured"] = _amount(errors, "max_sum_insured", d.get("max_sum_insured"))
    if (
        out["min_sum_insured"] is not None
        and out["max_sum_insured"] is not None
        and out["max_sum_insured"] < out["min_sum_insured"]
    ):
        errors.append(FieldError("max_sum_insured", "range", "最高保额不能小于最低保额"))
    out["cooling_off_days"] = _int(
        errors, "cooling_off_days", d.get("cooling_off_days", 15), 0, MAX_DAYS, "犹豫期"
    )
    out["grace_days"] = _int(errors, "grace_days", d.get("grace_days", 60), 0, MAX_DAYS, "宽限期")
    out["required_documents"] = _text_list(
        errors, "required_documents", d.get("required_documents"), "所需资料"
    )
    classes = []
    for c in d.get("occupation_classes") or []:
        n = _int(errors, "occupation_classes", c, 1, 6, "职业类别")
        if n is not None and n not in classes:
            classes.append(n)
    out["occupation_classes"] = sorted(classes)
    out["description"] = (d.get("description") or "").strip()

    _servicing_tables(errors, d, out)

    levels = d.get("plan_levels") or []
    cleaned_levels = []
    seen = set()
    for i, level in enumerate(levels):
        lcode = (str(level.get("code") or "")).strip().upper()
        lname = (str(level.get("name") or "")).strip()
        if not lcode:
            errors.append(FieldError(f"plan_levels[{i}].code", "required", "等级代码不能为空"))
        elif len(lcode) > 10:
            errors.append(FieldError(f"plan_levels[{i}].code", "too_long", "等级代码不能超过 10 个字符"))
        elif lcode in seen:
            errors.append(FieldError(f"plan_levels[{i}].code", "duplicate", f"等级代码 {lcode} 重复"))
        seen.add(lcode)
        if not lname:
            errors.append(FieldError(f"plan_levels[{i}].name", "required", "等级名称不能为空"))
        cleaned_levels.append(
            {
                "code": lcode,
                "name": lname[:100],
                "sum_insured": _amount(
                    errors, f"plan_levels[{i}].sum_insured", level.get("sum_insured"), required=True
                ),
                "premium_per_member": _amount(
                    errors,
                    f"plan_levels[{i}].premium_per_member",
                    level.get("premium_per_member"),
                    required=True,
                ),
                "description": (str(level.get("description") or "")).strip()[:300],
            }
        )
    if cleaned_levels and not out.get("is_group"):
        errors.append(FieldError("plan_levels", "not_group", "只有团体险才有等级明细"))
    out["plan_levels"] = cleaned_levels
    if errors:
        raise ValidationFailed(errors)
    return out


def _percent(errors: list, field: str, value, label: str) -> Decimal:
    if _blank(value):
        return Decimal("0")
    n = _amount(errors, field, value)
    if n is not None and n > 100:
        errors.append(FieldError(field, "range", f"{label}应在 0–100% 之间"))
    return n if n is not None else Decimal("0")


def _servicing_tables(errors: list, d: dict, out: dict) -> None:
    """Clean the cash-value table, the loan terms and the survival and maturity benefits."""
    values = d.get("cash_values") or []
    if not isinstance(values, list | tuple):
        errors.append(FieldError("cash_values", "format", "现金价值表应为列表"))
        values = []
    if len(values) > MAX_POLICY_YEARS:
        errors.append(FieldError("cash_values", "too_long", f"现金价值表至多 {MAX_POLICY_YEARS} 个保单年度"))
        values = []
    table = []
    for i, v in enumerate(values):
        n = _amount(errors, f"cash_values[{i}]", v, required=True)
        if n is not None and n > 1000 * 10:
            errors.append(FieldError(f"cash_values[{i}]", "range", "每千元保额的现金价值不能超过 10,000 元"))
        table.append(str(n) if n is not None else "0")
    out["cash_values"] = table
    out["loan_share"] = _percent(errors, "loan_share", d.get("loan_share"), "可贷比例")
    out["loan_rate"] = _percent(errors, "loan_rate", d.get("loan_rate"), "贷款年利率")
    if out["loan_share"] and not table:
        errors.append(FieldError("loan_share", "no_cash_value", "没有现金价值表的险种不能办理保单贷款"))
    out["survival_benefit"] = _amount(errors, "survival_benefit", d.get("survival_benefit")) or Decimal("0")
    interval = d.get("survival_interval")
    out["survival_interval"] = (
        0 if _blank(interval) else _int(errors, "survival_interval", interval, 0, 50, "生存金给付间隔") or 0
    )
    if out["survival_benefit"] and not out["survival_interval"]:
        errors.append(FieldError("survival_interval", "required", "有生存金时须填写给付间隔（年）"))
    out["maturity_benefit"] = _amount(errors, "maturity_benefit", d.get("maturity_benefit")) or Decimal("0")
