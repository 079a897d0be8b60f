"""Validators for identity numbers, credit codes, phones and postal codes (pure Python, no Django)."""

from insurdesk.identity.documents import (
    ID_TYPE_LABELS,
    ID_TYPES,
    DocumentCheck,
    check_derived,
    check_document,
)
from insurdesk.identity.errors import IdentityError
from insurdesk.identity.normalize import clean_code, to_halfwidth
from insurdesk.identity.phones import normalize_landline, normalize_mobile, normalize_postal_code
from insurdesk.identity.resident_id import (
    ResidentId,
    check_char,
    is_valid_resident_id,
    parse_resident_id,
    upgrade_15,
)
from insurdesk.identity.uscc import Uscc, is_valid_uscc, parse_uscc, uscc_check_char

__all__ = [
    "ID_TYPES",
    "ID_TYPE_LABELS",
    "DocumentCheck",
    "IdentityError",
    "ResidentId",
    "Uscc",
    "check_char",
    "check_derived",
    "check_document",
    "clean_code",
    "is_valid_resident_id",
    "is_valid_uscc",
    "normalize_landline",
    "normalize_mobile",
    "normalize_postal_code",
    "parse_resident_id",
    "parse_uscc",
    "to_halfwidth",
    "upgrade_15",
    "uscc_check_char",
]


def load_tables() -> None:
    """Read python-stdnum's region table and phonenumbers' mobile ranges now, not at the first number.

    For a process about to fork workers (the import's reader): loaded once here, they are shared.
    """
    from insurdesk.identity.phones import _mobile_ranges
    from insurdesk.identity.resident_id import _stdnum_regions

    _stdnum_regions()
    _mobile_ranges()
