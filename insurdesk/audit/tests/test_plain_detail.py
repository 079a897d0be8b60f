"""The audit detail written without a JSON round trip reads back as the round trip gives it."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import (
    _ENCODER,
    PendingEntry,
    _detail_text,
    _plain,
    audit_log_many,
    audit_verify,
)


class Colour(models.IntegerChoices):
    RED = 1


class Mode(models.TextChoices):
    ANNUAL = "annual"


def _details(*, stored: bool):
    if stored:
        # What both databases keep as written: PostgreSQL's jsonb has no NUL character or lone
        # surrogate, writes an integral float of 1e16 or more as an integer and loses -0.0's sign,
        # and no JSON column takes infinity.
        text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
        floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15).filter(
            lambda f: f != 0 or str(f) == "0.0"
        )
    else:
        text, floats = st.text(), st.floats(allow_nan=False)
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), text, floats,
        st.decimals(allow_nan=False, allow_infinity=False), st.dates(), st.datetimes(),
        st.sampled_from([Colour.RED, Mode.ANNUAL]),
    )  # fmt: skip
    keys = (
        st.text(max_size=5)
        if not stored
        else st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=5
        )
    )
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.tuples(inner, inner)
            | st.dictionaries(st.one_of(keys, st.integers()), inner, max_size=4)
        ),
        max_leaves=20,
    )


details = _details(stored=False)
stored_details = _details(stored=True)


@given(details)
def test_plain_equals_the_json_round_trip(value):
    assert _plain(value) == json.loads(json.dumps(value, default=str))


def test_plain_of_common_detail():
    detail = {"amount": Decimal("1.50"), "paid_on": datetime.date(2024, 1, 2), "n": 3, "tags": ("a",)}
    assert _plain(detail) == {"amount": "1.50", "paid_on": "2024-01-02", "n": 3, "tags": ["a"]}


@given(details)
def test_the_detail_text_is_the_canonical_text_of_the_plain_detail(value):
    """The chain hashes and stores `_detail_text`; entries written before it hashed `_plain`'s text."""
    assert _detail_text(value) == _ENCODER.encode(_plain(value or {}))


@pytest.mark.django_db
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.lists(stored_details, min_size=1, max_size=5), st.sampled_from([None, "10.0.0.1", "::1"]))
def test_entries_written_in_bulk_verify_against_their_stored_detail(values, ip):
    """audit_verify recomputes each hash from the row as read back: the stored detail must give it."""
    audit_log_many([PendingEntry(action="test.bulk", target_type="x", target_id=i, detail=v, ip=ip)
                    for i, v in enumerate(values)])  # fmt: skip
    result = audit_verify()
    assert result.ok, result
    last = AuditEntry.objects.order_by("-seq").first()
    assert last.detail == _plain(values[-1] or {}) and last.ip == ip
