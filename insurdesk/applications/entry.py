"""The key fields of double entry (双录入): what is compared, how values are normalised and labelled.

A key field is named by a path: `policyholder.name`, `insured.id_number`, `lines[0].sum_insured`,
`total_premium`, `payment_mode`, `payment_term`, `bank_account`, `beneficiaries[1].share`.
Values are compared as normalised text, so "1,000" and "1000.00" agree and an ID number keyed in
lower case matches its upper-case self.
"""

import re
from decimal import Decimal

from insurdesk.applications import calculations as calc
from insurdesk.applications.validation import blank, clean_account, text
from insurdesk.common.errors import FieldError, ValidationFailed
from insurdesk.identity.normalize import clean_code
from insurdesk.identity.resident_id import upgrade_15

# First-entry inputs that hold key fields: after second entry they change only through problem items.
KEY_INPUTS = frozenset(
    {
        "policyholder",
        "insured",
        "lines",
        "beneficiaries",
        "total_premium",
        "payment_mode",
        "payment_term",
        "bank_account",
    }
)
SENSITIVE_PATHS = frozenset({"policyholder.id_number", "insured.id_number", "bank_account"})
PATH_RE = re.compile(r"^(?P<group>lines|beneficiaries)\[(?P<i>\d+)\]\.(?P<name>\w+)$")
MAX_ROWS = 20

_LABELS = {
    "policyholder.name": "投保人姓名/名称",
    "policyholder.id_number": "投保人证件号码",
    "insured.name": "被保险人姓名",
    "insured.id_number": "被保险人证件号码",
    "total_premium": "保费合计",
    "payment_mode": "缴费方式",
    "payment_term": "缴费期间",
    "bank_account": "缴费账号",
}
_ROW_LABELS = {
    ("lines", "product_code"): "第{n}险种代码",
    ("lines", "sum_insured"): "第{n}险种保额",
    ("lines", "premium"): "第{n}险种保费",
    ("beneficiaries", "name"): "第{n}受益人姓名",
    ("beneficiaries", "share"): "第{n}受益人受益比例",
}
AMOUNT_NAMES = frozenset({"sum_insured", "premium", "share"})


def field_label(path: str) -> str:
    """Return the Chinese label of a key-field path."""
    if path in _LABELS:
        return _LABELS[path]
    m = PATH_RE.match(path)
    if m and (m["group"], m["name"]) in _ROW_LABELS:
        return _ROW_LABELS[(m["group"], m["name"])].format(n=int(m["i"]) + 1)
    return path


def problem_field_choices(rows: int = 3) -> list[tuple[str, str]]:
    """Return the key fields a problem item may name, as (path, Chinese label) for a select."""
    out = list(_LABELS.items())
    for (group, name), _label in _ROW_LABELS.items():
        out += [(f"{group}[{i}].{name}", field_label(f"{group}[{i}].{name}")) for i in range(rows)]
    return out


def is_sensitive(path: str) -> bool:
    return path in SENSITIVE_PATHS


def norm_name(value) -> str:
    return text(value)


def norm_id(value) -> str:
    if blank(value):
        return ""
    code = clean_code(str(value))
    if len(code) == 15 and code.isdigit():
        code = upgrade_15(code)
    return code


def norm_amount(value) -> str:
    return "" if value is None or value == "" else str(calc.money(value))


def first_entry_values(app) -> dict[str, str]:
    """Return the key fields of the application as stored, in form order."""
    out = {
        "policyholder.name": norm_name(app.policyholder_name),
        "policyholder.id_number": norm_id(app.policyholder_id_number),
    }
    if app.insured_id:
        out["insured.name"] = norm_name(app.insured_name)
        out["insured.id_number"] = norm_id(app.insured_id_number)
    for i, line in enumerate(app.lines.select_related("product").order_by("seq")):
        out[f"lines[{i}].product_code"] = line.product.code
        out[f"lines[{i}].sum_insured"] = norm_amount(line.sum_insured)
        out[f"lines[{i}].premium"] = norm_amount(line.premium)
    out["total_premium"] = norm_amount(app.total_premium)
    out["payment_mode"] = app.payment_mode
    out["payment_term"] = app.payment_term
    if app.bank_account:
        out["bank_account"] = app.bank_account
    for i, b in enumerate(app.beneficiaries.order_by("seq")):
        out[f"beneficiaries[{i}].name"] = norm_name(b.name)
        out[f"beneficiaries[{i}].share"] = norm_amount(b.share)
    return out


def _amount(errors: list, path: str, value) -> str:
    if blank(value):
        return ""
    if isinstance(value, float):
        value = repr(value)
    try:
        d = Decimal(str(value).strip().replace(",", ""))
        if not d.is_finite() or d < 0 or d.as_tuple().exponent < -2 or d > Decimal("1e14"):
            raise ValueError
    except Exception:
        errors.append(FieldError(path, "format", f"{field_label(path)}格式不正确"))
        return ""
    return str(calc.money(d))


SECOND_FIELDS = frozenset(
    {
        "policyholder",
        "insured",
        "lines",
        "total_premium",
        "payment_mode",
        "payment_term",
        "bank_account",
        "beneficiaries",
    }
)


def second_entry_values(data: dict) -> dict[str, str]:
    """Return the second entry's key fields as paths, refusing values that are not of their kind."""
    errors: list[FieldError] = []
    unknown = sorted(set(data) - SECOND_FIELDS)
    if unknown:
        raise ValidationFailed(
            [FieldError(k, "unknown_field", "二次录入只录关键字段；未知字段") for k in unknown]
        )
    out: dict[str, str] = {}
    for role in ("policyholder", "insured"):
        party = data.get(role)
        if party is None:
            continue
        if not isinstance(party, dict) or set(party) - {"name", "id_number"}:
            errors.append(FieldError(role, "format", "应为 {name, id_number}"))
            continue
        out[f"{role}.name"] = norm_name(party.get("name"))
        out[f"{role}.id_number"] = norm_id(party.get("id_number"))
    for group, names in (
        ("lines", ("product_code", "sum_insured", "premium")),
        ("beneficiaries", ("name", "share")),
    ):
        rows = data.get(group) or []
        if (
            not isinstance(rows, list | tuple)
            or len(rows) > MAX_ROWS
            or any(not isinstance(r, dict) for r in rows)
        ):
            errors.append(FieldError(group, "format", f"应为至多 {MAX_ROWS} 行的列表"))
            continue
        for i, row in enumerate(rows):
            extra = set(row) - set(names)
            if extra:
                errors.extend(
                    FieldError(f"{group}[{i}].{k}", "unknown_field", "二次录入只录关键字段；未知字段")
                    for k in sorted(extra)
                )
            for name in names:
                path = f"{group}[{i}].{name}"
                value = row.get(name)
                if name in AMOUNT_NAMES:
                    out[path] = _amount(errors, path, value)
                elif name == "product_code":
                    out[path] = clean_code(str(value)) if not blank(value) else ""
                else:
                    out[path] = norm_name(value)
    out["total_premium"] = _amount(errors, "total_premium", data.get("total_premium"))
    out["payment_mode"] = text(data.get("payment_mode"))
    out["payment_term"] = text(data.get("payment_term")).lower()
    if not blank(data.get("bank_account")):
        try:
            out["bank_account"] = clean_account(data.get("bank_account")) or ""
        except ValueError as exc:
            errors.append(FieldError("bank_account", "format", str(exc)))
    if errors:
        raise ValidationFailed(errors)
    return out


def compare_entries(
    first: dict[str, str], second: dict[str, str]
) -> tuple[list[tuple[str, str, str, str]], int]:
    """Return the differences (path, label, first, second) in form order and the number of fields compared."""
    paths = list(first) + [p for p in second if p not in first]
    diffs = []
    for path in paths:
        a, b = first.get(path, ""), second.get(path, "")
        if a != b:
            diffs.append((path, field_label(path), a, b))
    return diffs, len(paths)
