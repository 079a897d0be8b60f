"""One row of a file as the import sees it: cells read into values, problems, identity keys."""

from __future__ import annotations

import contextlib
import struct
import zlib
from dataclasses import dataclass, field

from insurdesk.common import masking
from insurdesk.exchange import normalize as N
from insurdesk.exchange.headers import CHOICES, Column
from insurdesk.exchange.models import IssueLevel
from insurdesk.identity.normalize import clean_code
from insurdesk.identity.resident_id import upgrade_15

MAX_VALUE_CHARS = 200


# --- cells to values -----------------------------------------------------------------------------


def _convert(col: Column, value, scale: int):
    kind = col.kind
    if kind == "name":
        return N.name(value)
    if kind == "text":
        return N.text(value)
    if kind == "identity":
        return N.identity_number(value)
    if kind == "uscc":
        return N.uscc(value)
    if kind == "code":
        return N.code(value)
    if kind == "policy_no":
        return N.policy_no(value)
    if kind == "choice":
        options, label = CHOICES[col.key]
        return N.choice(value, options, label)
    if kind == "gender":
        return N.gender(value)
    if kind == "date":
        return N.date(value)
    if kind == "amount":
        return N.amount(value, scale=scale)
    if kind == "capital":
        yuan = N.amount(value, scale=scale)
        return None if yuan is None else (yuan / 10000).quantize(N.CENT)
    if kind == "int":
        return N.integer(value)
    if kind == "bool":
        return N.boolean(value)
    if kind == "percent":
        return N.percent(value)
    if kind == "mobile":
        return N.mobile(value)
    if kind == "landline":
        return N.landline(value)
    if kind == "email":
        return N.email(value)
    if kind == "contact":
        return N.contact(value)
    if kind == "pay_mode":
        return N.pay_mode(value)
    raise ValueError(f"unknown column kind {kind}")


_MASKERS = {
    "id_number": masking.mask_id_number, "phone": masking.mask_phone, "email": masking.mask_email,
    "address": masking.mask_address, "account": masking.mask_account, "name": masking.mask_name,
}  # fmt: skip


def masked(col: Column | None, value) -> str:
    """Return a cell as the report shows it: text, masked by the column's kind, at most 200 characters."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else N.text(value) or ""
    if isinstance(value, float) and col is not None and col.kind == "identity":
        s = f"{value:.5E}"  # how Excel shows a number it took from an identity column
    masker = _MASKERS.get(col.mask) if col is not None else None
    if masker is not None and s:
        try:
            s = masker(s.strip()) or ""
        except Exception:  # a masker must never stop a report; hide the value instead
            s = "******"
    return s[:MAX_VALUE_CHARS]


# --- rows ----------------------------------------------------------------------------------------


@dataclass
class Issue:
    row: int
    column: str
    value: str
    code: str
    message: str
    level: str = IssueLevel.ERROR


@dataclass
class Row:
    number: int
    data: dict = field(default_factory=dict)  # customer fields, normalised, non-empty only
    source: dict = field(default_factory=dict)  # field -> column index it came from
    issues: list[Issue] = field(default_factory=list)
    sections: dict = field(default_factory=dict)  # section -> {key: value} for policies etc.
    archive_no: str | None = None
    key: str | None = None  # identity hash
    id_key: str | None = None  # the identity hash computed ahead (the reader process), when keyed
    keyed: bool = False
    cheap: int | None = None  # in-run key of the raw identity cell (see cheap_key)
    bad: set = field(default_factory=set)  # fields whose cells could not be read
    parts: object = None  # the policy, payment, claim and contact it carries (exchange.parts.RowParts)
    ready: object = None  # its archive values cleaned ahead by the reader (customers.bulk.Ready)

    @property
    def refused(self) -> bool:
        # Asked several times a row, and most rows have no issue: no generator for an empty list.
        return bool(self.issues) and any(i.level == IssueLevel.ERROR for i in self.issues)


# Refusals name service fields; these are the columns they came from.
_FIELD_ALIASES = {
    "uscc": "id_number", "legal_representative.name": "legal_rep_name",
    "legal_representative.id_number": "legal_rep_id_number",
    "legal_representative.id_type": "legal_rep_id_type",
}  # fmt: skip
_CUSTOMER_EXTRA = {"unit_code", "agent_username", "archive_no", "phone"}


def _fingerprint(fields: tuple[str, ...], data: dict) -> bytes:
    return struct.pack(
        f"{len(fields)}I",
        *(0 if data.get(f) is None else (zlib.crc32(repr(data[f]).encode()) | 1) for f in fields),
    )


def _unpack(fields: tuple[str, ...], fp: bytes) -> tuple[int, ...]:
    return struct.unpack(f"{len(fields)}I", fp)


def _fill(fields: tuple[str, ...], fp: bytes, more: bytes) -> bytes:
    """Return the fingerprint with the values `more` gives where `fp` has none."""
    old, new = _unpack(fields, fp), _unpack(fields, more)
    return struct.pack(f"{len(fields)}I", *(o or n for o, n in zip(old, new, strict=True)))


@dataclass
class _Seen:
    """What this run knows about a repeated customer: its first accepted row and merged values."""

    first_row: int
    fp: bytes


def cheap_key(value) -> int | None:
    """Return an in-run key of a raw identity cell, for finding customers that occur in several rows."""
    if value is None or isinstance(value, bool):
        return None
    if type(value) is str and value.isascii() and value.isalnum():
        s = value.upper()  # what text and clean_code leave of ASCII letters and digits
    else:
        s = clean_code(N.text(value) or "") if not isinstance(value, float) else repr(value)
    if not s:
        return None
    if len(s) == 15 and s.isdigit():
        # An impossible old number keeps its own key; the document rule refuses it later.
        with contextlib.suppress(Exception):
            s = upgrade_15(s)
    return hash(s)
