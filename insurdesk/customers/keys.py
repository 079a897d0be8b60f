"""Keyed hashes (blind indexes) that let exact search find encrypted identity numbers and mobiles."""

from insurdesk.common.crypto import blind_index

SEARCHABLE_ID_TYPES = ("resident_id", "hmt_residence_permit", "passport", "hk_macao_permit", "taiwan_permit",
                       "foreign_permanent_id", "military_id", "other", "uscc")


def identity_hash(id_type: str, number: str | None) -> str | None:
    if not number:
        return None
    return blind_index(f"{id_type}:{number}", purpose="identity")


def mobile_hash(mobile: str | None) -> str | None:
    if not mobile:
        return None
    return blind_index(mobile, purpose="mobile")
