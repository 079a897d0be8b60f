"""Mask personal data for display (JR/T 0171-2020 class C2: ID and phone numbers are shown masked)."""

import re

# Two-character surnames (复姓) that stay visible as a whole; the rest of a name is starred.
COMPOUND_SURNAMES = frozenset((
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "钟离", "闾丘", "澹台", "公冶", "太史", "端木", "申屠", "南宫", "西门",
    "东门", "独孤", "呼延", "赫连", "万俟", "百里", "东郭", "南门", "拓跋", "完颜", "濮阳", "淳于",
    "单于", "鲜于", "司空", "第五", "羊舌", "微生", "梁丘", "左丘", "谷梁", "公羊", "仲孙", "亓官",
    "司寇", "子车", "颛孙", "巫马", "公西", "漆雕", "乐正", "壤驷", "公良", "宰父", "段干", "归海",
    "夹谷", "公门", "钟吾", "锺离", "歐陽", "司馬", "諸葛", "東方", "長孫",
))  # fmt: skip
_NAME_SEPARATORS = frozenset(" ·•.-")
_MOBILE = re.compile(r"(\+?86[ -]?)?1[3-9][0-9]{9}")


def _star(text: str) -> str:
    return "*" * len(text)


def mask_id_number(value: str | None) -> str | None:
    """Show the first 6 and last 4 characters of an ID number (first 2 and last 2 when shorter)."""
    if not value:
        return value
    if len(value) >= 15:
        return value[:6] + _star(value[6:-4]) + value[-4:]
    if len(value) > 4:
        return value[:2] + _star(value[2:-2]) + value[-2:]
    return _star(value)


def _mask_keep_last4(digits: str) -> str:
    return _star(digits[:-4]) + digits[-4:] if len(digits) > 4 else _star(digits)


def mask_phone(value: str | None) -> str | None:
    """Show a mobile's first 3 and last 4 digits, a landline's area code and last 4 digits."""
    if not value:
        return value
    text = value.strip()
    compact = re.sub(r"[ \-()]", "", text)
    if _MOBILE.fullmatch(compact):
        national = compact[-11:]
        return compact[:-11] + national[:3] + "****" + national[-4:]
    if "-" in text and text.startswith("0"):
        area, _, rest = text.partition("-")
        subscriber, dash, extension = rest.partition("-")
        return f"{area}-{_mask_keep_last4(subscriber)}{dash}{extension}"
    if compact.isdigit() and compact.startswith("0") and len(compact) >= 10:
        area_length = 3 if compact.startswith(("010", "02")) else 4
        return compact[:area_length] + _mask_keep_last4(compact[area_length:])
    # Anything else (service numbers, foreign numbers): only the last 4 digits stay visible.
    keep_from = len(text) - 4
    return "".join(c if i >= keep_from or not c.isdigit() else "*" for i, c in enumerate(text))


def mask_account(value: str | None) -> str | None:
    """Show only the last 4 characters of a bank account or card number."""
    if not value:
        return value
    compact = re.sub(r"\s+", "", value)
    # A fixed pattern hides the length too, which narrows down the bank.
    return "**** **** " + compact[-4:] if len(compact) > 4 else _star(compact)


def mask_email(value: str | None) -> str | None:
    """Show the first character of the local part and the whole domain."""
    if not value:
        return value
    local, at, domain = value.partition("@")
    if not at:
        return local[:1] + "***"
    return f"{local[:1]}***@{domain}"


def mask_address(value: str | None) -> str | None:
    """Show the first 6 characters of an address (province, city) and hide the rest."""
    if not value:
        return value
    return value[:6] + "****"


def mask_name(value: str | None) -> str | None:
    """Show a person's surname and star the given name: 张*, 欧阳**."""
    if not value:
        return value
    name = value.strip()
    keep = 2 if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES else 1
    return name[:keep] + "".join(c if c in _NAME_SEPARATORS else "*" for c in name[keep:])


def mask_birth_date(value) -> str | None:
    """Show only the year of birth: with the first 6 and last 4 of an ID number it would rebuild it."""
    if not value:
        return value
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text[:4]
