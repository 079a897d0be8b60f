"""Unified social credit codes (统一社会信用代码, GB 32100-2015)."""

import re
from dataclasses import dataclass

from insurdesk.identity.errors import IdentityError
from insurdesk.identity.normalize import clean_code

# Computed here rather than through python-stdnum's cn.uscc, which demands eight leading digits and so
# refuses codes whose registration authority is a letter (N agriculture, Y other authorities …), and
# which does not check the organisation code at all.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_FORM = re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}")
_FORM17 = re.compile(r"[0-9A-HJ-NP-RTUWXY]{17}")
# The weights are 3^i mod 31 and 34 ≡ 3 (mod 31): spelling each character's value 0–30 as a base-34
# digit and reading the reversed code with int() gives the weighted sum modulo 31 in one C call.
_AS_BASE34 = str.maketrans(ALPHABET, "0123456789ABCDEFGHIJKLMNOPQRSTU")

# GB 11714 organisation code: letters count A=10 … Z=35 over the full Latin alphabet.
_ORG_VALUES = {c: int(c, 36) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHECK_CHARS = "0123456789X0"

LABEL = "统一社会信用代码"


@dataclass(frozen=True, slots=True)
class Uscc:
    code: str
    registration_authority: str
    org_type: str
    division_code: str
    org_code: str


def _sum_mod_31(first17: str) -> int:
    return int(first17[::-1].translate(_AS_BASE34), 34) % 31


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character (position 18) for the first 17 characters."""
    if not _FORM17.fullmatch(first17):
        raise IdentityError("format", f"{LABEL}前17位应由数字和大写字母（不含I、O、S、V、Z）组成")
    # C18 = 31 − (Σ mod 31) with 31 → "0", i.e. (−Σ) mod 31.
    return ALPHABET[-_sum_mod_31(first17) % 31]


def org_check_char(first8: str) -> str:
    """Return the GB 11714 organisation code check character for its first 8 characters."""
    try:
        total = sum(_ORG_VALUES[c] * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    except (KeyError, ValueError):
        raise IdentityError("format", "组织机构代码前8位应由数字和大写字母组成") from None
    # C = 11 − (Σ mod 11), with 10 → X and 11 → 0.
    return _ORG_CHECK_CHARS[11 - total % 11]


def parse_uscc(value: str) -> Uscc:
    """Parse a unified social credit code, refusing it if its form or either check fails."""
    if not isinstance(value, str):
        if value is None:
            raise IdentityError("required", f"请填写{LABEL}")
        raise IdentityError("format", f"{LABEL}应以文本形式填写")
    code = clean_code(value)
    if not code:
        raise IdentityError("required", f"请填写{LABEL}")
    if len(code) != 18:
        raise IdentityError("format", f"{LABEL}应为18位，现为{len(code)}位")
    if not _FORM.fullmatch(code):
        raise IdentityError("format", f"{LABEL}应由数字和大写字母（不含I、O、S、V、Z）组成")
    if ALPHABET[-_sum_mod_31(code[:17]) % 31] != code[17]:
        raise IdentityError("checksum", f"{LABEL}第18位校验码错误（GB 32100），请核对代码")
    # Enforced because every genuine example collected in the facts sheet (2026-11-21) passes it.
    # Its weights are 2^(9-i) mod 11 and 35 ≡ 2 (mod 11); int()'s base-35 digits give A=10 … Y=34, the
    # GB 11714 values, so int() yields half the weighted sum modulo 11 (Z cannot occur in a USCC).
    if _ORG_CHECK_CHARS[11 - (2 * int(code[8:16], 35)) % 11] != code[16]:
        raise IdentityError(
            "org_checksum", f"{LABEL}第9–17位的组织机构代码校验码错误（GB 11714），请核对代码"
        )
    return Uscc(
        code=code,
        registration_authority=code[0],
        org_type=code[:2],
        division_code=code[2:8],
        org_code=code[8:17],
    )


def is_valid_uscc(value: str) -> bool:
    """Tell whether value is a valid unified social credit code."""
    try:
        parse_uscc(value)
    except IdentityError:
        return False
    return True
