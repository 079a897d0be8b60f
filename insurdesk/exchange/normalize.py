"""Turn what people really type into spreadsheets into the values the archive stores.

Each function takes a cell as the reader gives it (str, float, int, bool, date, datetime or None) and
returns the normalised value, None for an empty cell, or raises `Refused` with a stable code and a
message in Chinese. Nothing here guesses: a value that could mean two things is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from insurdesk.identity.errors import IdentityError
from insurdesk.identity.normalize import WHITESPACE, clean_code, to_halfwidth
from insurdesk.identity.phones import normalize_landline, normalize_mobile
from insurdesk.identity.resident_id import check_char


class Refused(ValueError):
    """A cell that cannot be taken as it is."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


_SPACES = re.compile("[" + re.escape(WHITESPACE) + "]+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.translate(_INVISIBLE).strip(WHITESPACE))


def _number_text(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text(value) -> str | None:
    """Return the text with stray spaces removed (inner runs of spaces become one), None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        value = _number_text(value)
    elif isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    s = _SPACES.sub(" ", str(value).translate(_INVISIBLE)).strip()
    return s or None

_SPACE_BETWEEN_HAN = re.compile(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])")
_SERIAL = re.compile(r"\d{5}(\.\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


def name(value) -> str | None:
    """Return a person's or company's name: full-width letters and digits made ASCII, spaces tidied."""
    s = text(value)
    if s is None:
        return None
    s = to_halfwidth(s)
    # Chinese names have no spaces; "张 三" is a typing artefact. Latin names keep single spaces.
    return _SPACE_BETWEEN_HAN.sub("", s) if " " in s else s


def _masked(s: str) -> bool:
    return "*" in s or "＊" in s


_SCIENTIFIC = re.compile(r"[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+")
_DECIMAL_TAIL = re.compile(r"[0-9]+\.[0-9]*")
DAMAGED_ID = (
    "证件号码已被Excel当作数字处理，末尾数字已丢失，不能使用（请把该列设为“文本”格式后重新填写原号码）"
)


def identity_number(value) -> str | None:
    """Return an identity number as typed (cleaned later by its document rule), refusing damaged ones.

    Excel keeps 15 significant digits: an 18-digit number stored as a number comes back as a float,
    as 1.10105E+17, or with its last three digits turned into 000. Such a number is refused, never
    repaired — the lost digits cannot be known. The 000 case needs the whole column to judge (a real
    number may end in 000): the pipeline refuses it when its check digit fails, or when the same
    column holds other damaged numbers (see looks_truncated / is_damaged_identity).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise Refused("format", "证件号码格式不正确")
    if isinstance(value, int | float):
        raise Refused("id_damaged", DAMAGED_ID)
    s = text(value)
    if s is None:
        return None
    if _masked(s):
        raise Refused("masked", "证件号码是脱敏后的值，不能导入")
    compact = clean_code(s)
    if _SCIENTIFIC.fullmatch(compact) or _DECIMAL_TAIL.fullmatch(compact):
        raise Refused("id_damaged", DAMAGED_ID)
    return s


TRUNCATED_ID = (
    "证件号码末三位为000，校验位不符，是Excel把18位号码截断为15位有效数字的结果，"
    "不能确认原号码，请核对原件后重新填写"
)
TRUNCATED_COLUMN = (
    "证件号码末三位为000；本文件的证件号码列中有被Excel损坏的号码，末三位为000的号码同样可能已被截断，"
    "不能确认，请核对原件后重新填写"
)


def looks_truncated(number: str | None) -> bool:
    """Tell whether an identity number has the shape Excel leaves when it cuts 18 digits to 15."""
    if not number:
        return False
    compact = clean_code(number)
    return len(compact) == 18 and compact.isdigit() and compact.endswith("000")


def is_damaged_identity(value) -> bool:
    """Tell whether a raw identity cell is certainly damaged by Excel (for judging a whole column)."""
    if (
        type(value) is str
        and len(value) == 18
        and value.isascii()
        and value[:17].isdigit()
        and (value[17].isdigit() or value[17] in "Xx")
        and not value.endswith("000")
    ):
        # The usual cell, read by the pre-pass for every row: seventeen ASCII digits and a check
        # character are neither changed nor refused below, and only a trailing 000 could be damage.
        return False
    try:
        s = identity_number(value)
    except Refused as exc:
        return exc.code == "id_damaged"
    if not looks_truncated(s):
        return False
    compact = clean_code(s)
    return check_char(compact[:17]) != compact[17]


def policy_no(value) -> str | None:
    """Return a policy number as written: half-width, upper-case, without spaces; hyphens are kept."""
    if value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            raise Refused("format", "保单号不应含小数")
        value = str(int(value))
    s = text(value)
    return re.sub(r"\s+", "", to_halfwidth(s)).upper() if s else None


def code(value) -> str | None:
    """Return a code (USCC, postal code, occupation code …) half-width, upper-case, without spaces."""
    if value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            raise Refused("format", "代码不应含小数")
        value = str(int(value))
    s = text(value)
    return clean_code(s) if s else None


def uscc(value) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise Refused(
            "id_damaged", "统一社会信用代码已被Excel当作数字处理，不能使用（请把该列设为“文本”格式）"
        )
    s = text(value)
    if s is not None and _masked(s):
        raise Refused("masked", "统一社会信用代码是脱敏后的值，不能导入")
    return code(s)


# --- phones and e-mail ---------------------------------------------------------------------------

_PHONE_SPLIT = re.compile(r"[/／、,，;；]+|\s{2,}")
_EMAILISH = re.compile(r"^[^@\s]+@[^@\s]+$")


def _phone_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float | int) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            raise Refused("format", "电话号码不应含小数")
        return str(int(value))
    s = text(value)
    if s is not None and _masked(s):
        raise Refused("masked", "电话号码是脱敏后的值，不能导入")
    return s


def mobile(value) -> str | None:
    """Return a mainland mobile number as 11 digits (+86, 0086, dashes and spaces removed)."""
    s = _phone_text(value)
    if s is None:
        return None
    try:
        return normalize_mobile(s)
    except IdentityError as exc:
        raise Refused(exc.code, "手机号码：" + exc.message) from None


def landline(value) -> str | None:
    s = _phone_text(value)
    if s is None:
        return None
    try:
        return normalize_landline(s)
    except IdentityError as exc:
        raise Refused(exc.code, "固定电话：" + exc.message) from None


def contact(value) -> dict[str, str]:
    """Split a 联系方式 cell into mobile, landline and e-mail by their shape.

    "138 0013 8000 / 010-12345678" gives both numbers; two mobiles in one cell are refused, as
    nothing tells which one the customer uses.
    """
    s = _phone_text(value)
    if s is None:
        return {}
    out: dict[str, str] = {}
    for part in (p.strip() for p in _PHONE_SPLIT.split(s)):
        if not part:
            continue
        if "@" in part:
            if not _EMAILISH.match(part) or "email" in out:
                raise Refused("format", "联系方式中的电子邮箱无法识别")
            out["email"] = part.lower()
            continue
        try:
            number = normalize_mobile(part)
        except IdentityError:
            number = None
        if number is not None:
            if "mobile" in out and out["mobile"] != number:
                raise Refused("ambiguous", "联系方式中有两个不同的手机号码，无法确定使用哪一个")
            out["mobile"] = number
            continue
        try:
            line = normalize_landline(part)
        except IdentityError:
            raise Refused("format", "联系方式无法识别为手机号码、固定电话或电子邮箱") from None
        if "landline" in out and out["landline"] != line:
            raise Refused("ambiguous", "联系方式中有两个不同的固定电话，无法确定使用哪一个")
        out["landline"] = line
    return out


def email(value) -> str | None:
    s = text(value)
    if s is None:
        return None
    if _masked(s):
        raise Refused("masked", "电子邮箱是脱敏后的值，不能导入")
    return to_halfwidth(s).replace(" ", "").lower()


# --- dates ---------------------------------------------------------------------------------------

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_MAX_SERIAL = 2958465  # 9999-12-31
_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
)
_TIME_TAIL = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def excel_serial(serial: float) -> dt.date:
    """Return the day of an Excel serial number (1900 system, with its phantom 29 February 1900)."""
    if serial != serial or serial < 1 or serial > _MAX_SERIAL:  # NaN or out of Excel's range
        raise Refused("date", "日期数值超出Excel日期范围")
    days = int(serial)
    if days == 60:
        raise Refused("date", "1900年2月29日不存在（Excel的历史错误），请核对日期")
    if days < 60:
        days += 1
    return _EXCEL_EPOCH + dt.timedelta(days=days)


def date(value) -> dt.date | None:
    """Return a date from a date cell, an Excel serial number, or text such as 2023/1/1, 2023-01-01,
    2023年1月1日, 2023.1.1 or 20230101; refuse two-digit years and day/month orders that are ambiguous."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise Refused("date", "日期格式无法识别")
    if isinstance(value, int | float):
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            value = str(int(value))  # 20230101 typed into a number cell: a date written without separators
        else:
            return excel_serial(float(value))
    s = text(value)
    if s is None:
        return None
    s = to_halfwidth(s)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(s)
        if m and _TIME_TAIL.fullmatch(s[m.end() :]):
            try:
                return dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
            except ValueError:
                raise Refused("date", f"日期不存在：{s}") from None
    if _SERIAL.fullmatch(s):
        return excel_serial(float(s))
    raise Refused("date", f"日期格式无法识别：{s}（可用 2023-01-01、2023/1/1、2023年1月1日）")


# --- amounts and numbers -------------------------------------------------------------------------

_AMOUNT = re.compile(r"(?P<num>[+-]?\d+(?:\.\d+)?)\s*(?P<unit>万元|万|元|块)?")
_CURRENCY = re.compile(r"^(?:¥|￥|RMB|CNY|人民币)\s*", re.IGNORECASE)
CENT = Decimal("0.01")


def amount(value, *, scale: int = 1) -> Decimal | None:
    """Return an amount in yuan from 1,000,000 / 1000元 / 100万 / ¥1,234.50 / a number cell.

    `scale` is the unit the column header declares (10,000 for a header in 万元); a 万 written in
    the cell itself always means ten thousand.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise Refused("amount", "金额格式无法识别")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Refused("amount", "金额格式无法识别")
        result = Decimal(repr(value)) * scale
    else:
        s = text(value)
        if s is None:
            return None
        s = to_halfwidth(s).replace(",", "").replace("，", "").replace(" ", "")
        s = _CURRENCY.sub("", s)
        m = _AMOUNT.fullmatch(s)
        if not m:
            raise Refused("amount", f"金额格式无法识别：{text(value)}（可用 1000、1,000.50、100万、1000元）")
        result = Decimal(m["num"]) * (10000 if m["unit"] in ("万", "万元") else scale)
    if result < 0:
        raise Refused("negative", "金额不能为负数")
    try:
        return result.quantize(CENT)
    except InvalidOperation:
        raise Refused("amount", "金额过大") from None


def integer(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise Refused("format", "应为整数")
    if isinstance(value, float):
        if not value.is_integer():
            raise Refused("format", "应为整数")
        return int(value)
    if isinstance(value, int):
        return value
    s = text(value)
    if s is None:
        return None
    s = to_halfwidth(s).replace(",", "").rstrip("人类级")
    if not _INTEGER.fullmatch(s):
        raise Refused("format", f"应为整数：{s}")
    return int(s)


def percent(value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A cell formatted as % holds the fraction (0.12 for 12%).
        return (Decimal(repr(value)) * (100 if 0 < value < 1 else 1)).quantize(CENT)
    s = text(value)
    if s is None:
        return None
    s = to_halfwidth(s).rstrip("%").strip()
    try:
        return Decimal(s).quantize(CENT)
    except InvalidOperation:
        raise Refused("format", f"百分比格式无法识别：{s}") from None


# --- words ---------------------------------------------------------------------------------------

_TRUE = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓", "对", "已"})
_FALSE = frozenset({"否", "无", "n", "no", "false", "0", "×", "✗", "不是", "没有"})


def boolean(value) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise Refused("choice", "应填“是”或“否”")
    s = text(value)
    if s is None:
        return None
    s = to_halfwidth(s).lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise Refused("choice", f"应填“是”或“否”，而不是“{s}”")


GENDERS = {"男": "M", "男性": "M", "m": "M", "male": "M", "女": "F", "女性": "F", "f": "F", "female": "F"}


def gender(value) -> str | None:
    s = text(value)
    if s is None:
        return None
    found = GENDERS.get(to_halfwidth(s).lower())
    if found is None:
        raise Refused("choice", f"性别应为“男”或“女”，而不是“{s}”")
    return found


def choice(value, options: dict[str, str], label: str) -> str | None:
    """Return the stored value of a choice given by its Chinese label, its code or an alias."""
    s = text(value)
    if s is None:
        return None
    key = to_halfwidth(s).lower().replace(" ", "")
    found = options.get(key)
    if found is None:
        shown = "、".join(dict.fromkeys(k for k in options if not k.isascii()))
        raise Refused("choice", f"{label}无法识别：“{s}”（可填：{shown}）")
    return found


# Premium payment frequency (缴费方式), as offices write it.
PAY_MODES = {
    "趸缴": "single", "趸交": "single", "一次性缴费": "single", "一次性缴清": "single", "一次交清": "single",
    "一次性": "single", "一次缴清": "single", "趸缴/一次性": "single",
    "年缴": "annual", "年交": "annual", "按年缴费": "annual", "按年缴": "annual", "按年交": "annual",
    "每年": "annual", "年付": "annual",
    "半年缴": "semiannual", "半年交": "semiannual", "按半年缴费": "semiannual", "每半年": "semiannual",
    "季缴": "quarterly", "季交": "quarterly", "按季缴费": "quarterly", "每季": "quarterly",
    "季付": "quarterly",
    "月缴": "monthly", "月交": "monthly", "按月缴费": "monthly", "每月": "monthly", "月付": "monthly",
    "single": "single", "annual": "annual", "semiannual": "semiannual", "quarterly": "quarterly",
    "monthly": "monthly",
}  # fmt: skip


def pay_mode(value) -> str | None:
    return choice(value, PAY_MODES, "缴费方式")
