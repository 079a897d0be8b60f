"""The audit detail written without a JSON round trip reads back as the round trip gives it."""

import datetime
import json
from decimal import Decimal

from django.db import models
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.audit.services import _plain


class Colour(models.IntegerChoices):
    RED = 1


class Mode(models.TextChoices):
    ANNUAL = "annual"


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(), st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False), st.dates(), st.datetimes(),
    st.sampled_from([Colour.RED, Mode.ANNUAL]),
)  # fmt: skip
details = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.tuples(inner, inner)
    | st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=4),
    max_leaves=20,
)


@given(details)
def test_plain_equals_the_json_round_trip(value):
    assert _plain(value) == json.loads(json.dumps(value, default=str))


def test_plain_of_common_detail():
    detail = {"amount": Decimal("1.50"), "paid_on": datetime.date(2024, 1, 2), "n": 3, "tags": ("a",)}
    assert _plain(detail) == {"amount": "1.50", "paid_on": "2024-01-02", "n": 3, "tags": ["a"]}
