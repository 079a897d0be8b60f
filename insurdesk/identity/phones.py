"""Mainland mobile and landline numbers and postal codes in one stored form."""

import logging
import re
from functools import lru_cache

from insurdesk.identity.errors import IdentityError
from insurdesk.identity.normalize import DASHES, WHITESPACE, to_halfwidth

logger = logging.getLogger(__name__)

_SEPARATORS = dict.fromkeys(map(ord, WHITESPACE + DASHES + "()"))
_MOBILE = re.compile(r"1[3-9][0-9]{9}")

# Landline: digit groups separated by spaces, dashes, dots or parentheses; an extension may follow a
# marker (转, 分机, ext, x, #) or, when the main number is already complete, a last separate group.
_LANDLINE_CHARS = re.compile(r"[0-9 ()\-.]+")
_EXTENSION_MARKER = re.compile(r"\s*(?:转|分机|ext\.?|x|#|,|，)\s*", re.IGNORECASE)
_EXTENSION = re.compile(r"[0-9]{1,6}")
_SERVICE = re.compile(r"[48]00[0-9]{7}")
_POSTAL_CODE = re.compile(r"[0-9]{6}")
_LANDLINE_RULE = (
    "固定电话应为区号加7–8位号码（400/800号码为10位），可带分机号，如010-12345678、0755-1234567-123"
)


@lru_cache(maxsize=1)
def _mobile_ranges():
    """Return phonenumbers' pattern of CN mobile numbers, or None when its metadata cannot be read."""
    try:
        import phonenumbers

        metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
        return re.compile(metadata.mobile.national_number_pattern)
    except Exception:  # pragma: no cover - a broken phonenumbers install
        logger.exception("phonenumbers' CN metadata cannot be read")
        return None


def _segment_known(segment: str) -> bool:
    """Tell whether phonenumbers lists the 7-digit mobile segment (号段) as a CN mobile range.

    phonenumbers.number_type answers this by matching its CN metadata's mobile pattern after a full
    parse (≈ 30 µs); the pattern alone is the same answer for an 11-digit national number (≈ 0.3 µs),
    which matters on a million-row import with as many distinct segments.
    """
    pattern = _mobile_ranges()
    return bool(pattern and pattern.fullmatch(segment + "0000"))


def is_known_mobile_range(number: str) -> bool:
    """Tell whether phonenumbers' metadata lists a normalised mobile number's range as assigned."""
    # MIIT assigns mobile numbers by 7-digit segment, so one answer per segment is exact and keeps the
    # ~30 µs phonenumbers parse out of bulk imports.
    return _segment_known(number[:7])


def normalize_mobile(value: str) -> str:
    """Return a mainland mobile number as 11 digits, without +86 or separators."""
    if not isinstance(value, str) or not value.strip():
        raise IdentityError("required", "请填写手机号码")
    number = to_halfwidth(value).translate(_SEPARATORS)
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("0086"):
        number = number[4:]
    elif len(number) == 13 and number.startswith("86"):
        number = number[2:]
    if not _MOBILE.fullmatch(number):
        raise IdentityError("format", "手机号码应为以13–19开头的11位数字")
    # The pattern is the rule: MIIT opens new segments (e.g. 192, 1740x satellite) before phonenumbers'
    # pinned metadata lists them, and a customer's real number must not be refused for that.
    if not is_known_mobile_range(number):
        logger.info("Mobile segment %s is not in phonenumbers' metadata", number[:3])
    return number


def _split_landline(digits: str) -> tuple[str, str] | None:
    """Split national digits into area code and subscriber number, or None if they are not a landline."""
    if len(digits) < 10:
        return None
    # 010 and 02x are the only three-digit area codes; all others have four (0755, 0311 …).
    area_length = 3 if digits.startswith(("010", "02")) else 4
    area, subscriber = digits[:area_length], digits[area_length:]
    if area[0] != "0" or area[1] == "0" or len(subscriber) not in (7, 8):
        return None
    return area, subscriber


def normalize_landline(value: str) -> str:
    """Return a landline as "010-12345678", "0755-1234567-123" or "400-820-8820"."""
    if not isinstance(value, str) or not value.strip():
        raise IdentityError("required", "请填写固定电话号码")
    text = to_halfwidth(value).strip()
    main, *rest = _EXTENSION_MARKER.split(text, maxsplit=1)
    extension = rest[0].strip() if rest else ""
    main = main.strip()
    international = main.startswith(("+86", "0086"))
    if international:
        main = main[3:] if main[0] == "+" else main[4:]
    if not _LANDLINE_CHARS.fullmatch(main) or (extension and not _EXTENSION.fullmatch(extension)):
        raise IdentityError("format", _LANDLINE_RULE)
    groups = re.findall(r"[0-9]+", main)
    # The international form drops the area code's trunk 0: +86 10 1234 5678.
    if international and groups and not groups[0].startswith("0"):
        groups[0] = "0" + groups[0]
    digits = "".join(groups)
    # A last group typed apart is the extension when the groups before it already make a whole number
    # and either the digits together do not, or the clerk separated area, number and extension.
    if (
        not extension
        and len(groups) >= 2
        and len(groups[-1]) <= 6
        and _is_landline("".join(groups[:-1]))
        and (len(groups) >= 3 or not _is_landline(digits))
    ):
        extension = groups.pop()
        digits = "".join(groups)
    if _SERVICE.fullmatch(digits):
        number = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    else:
        split = _split_landline(digits)
        if split is None:
            raise IdentityError("format", _LANDLINE_RULE)
        number = "-".join(split)
    return f"{number}-{extension}" if extension else number


def _is_landline(digits: str) -> bool:
    """Tell whether national digits form a complete landline or 400/800 number."""
    return bool(_SERVICE.fullmatch(digits)) or _split_landline(digits) is not None


def normalize_postal_code(value: str) -> str:
    """Return a postal code as 6 digits."""
    if not isinstance(value, str) or not value.strip():
        raise IdentityError("required", "请填写邮政编码")
    code = to_halfwidth(value).translate(_SEPARATORS)
    if not _POSTAL_CODE.fullmatch(code):
        raise IdentityError("format", "邮政编码应为6位数字")
    return code
