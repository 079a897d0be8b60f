# ruff: noqa: E501 - test data reads best one record per line
"""Claims: the state machine, the services and the scope of their reads."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.claims.models import BACKWARD, TRANSITIONS, ClaimState, reachable
from insurdesk.claims.services import check_move, claim_create, claim_update
from insurdesk.common.errors import IllegalTransition, NotAllowed, ValidationFailed

STATES = st.sampled_from(ClaimState.values)


@given(STATES, STATES)
def test_a_move_is_allowed_only_along_the_machine(current, target):
    step = check_move(current, target) is None
    skipped = check_move(current, target, skip=True) is None
    assert step == (current == target or target in TRANSITIONS[current])
    assert skipped == (current == target or target in reachable(current))
    if current in ("paid", "rejected", "withdrawn") and target not in (current, "closed"):
        assert not skipped  # an outcome only ever leads to closing
    if target in TRANSITIONS[current] and (current, target) in BACKWARD:
        assert not skipped or target in reachable(current)  # an archive table never goes back


@pytest.fixture
def legacy(db, make_user, units):
    """A customer with a legacy policy registered the way an archive table's row is."""
    from insurdesk.customers.services import customer_create
    from insurdesk.identity.testing import make_resident_id
    from insurdesk.policies.legacy import LegacyPolicy, policy_import_legacy
    from insurdesk.products.services import product_create

    clerk = make_user("clerk", unit="SZ")
    product_create(actor=None, data={"code": "L900", "name": "人寿险", "line": "life",
                                     "coverage_terms": ["1y"], "payment_modes": ["annual"], "payment_terms": ["1y"]})  # fmt: skip
    number = make_resident_id(datetime.date(1980, 1, 1), "M", seq=123)
    person, _ = customer_create(actor=clerk, kind="individual",
                                data={"name": "张三", "id_type": "resident_id", "id_number": number,
                                      "mobile": "13800000000"})  # fmt: skip
    policy = policy_import_legacy(
        actor=clerk,
        item=LegacyPolicy(policy_no="P0001", customer_id=person.pk, product_name="人寿险",
                          sum_insured=Decimal("100000"), effective_date=datetime.date(2023, 1, 1),
                          expiry_date=datetime.date(2023, 12, 31), payment_mode="annual", premium=Decimal("100")),
    )  # fmt: skip
    return {"clerk": clerk, "customer": person, "policy": policy}


def test_a_claim_is_reported_and_moves_along_its_machine_with_history(legacy, make_user):
    handler = make_user("claims", unit="SZ")
    claim = claim_create(
        actor=legacy["clerk"],
        policy_id=legacy["policy"].pk,
        claimant_id=legacy["customer"].pk,
        data={"reported_on": datetime.date(2023, 6, 1), "amount_claimed": "5000"},
    )
    assert claim.state == "reported" and claim.claim_no.startswith("LP")
    with pytest.raises(IllegalTransition):
        claim_update(actor=handler, claim_id=claim.pk, data={"state": "paid"})
    with pytest.raises(NotAllowed):
        claim_update(actor=legacy["clerk"], claim_id=claim.pk, data={"state": "reviewing"})
    claim_update(actor=handler, claim_id=claim.pk, data={"state": "reviewing"})
    assert list(claim.history.order_by("history_id").values_list("state", flat=True)) == [
        "reported",
        "reviewing",
    ]


def test_a_claim_needs_a_claimant_on_the_policy_and_a_past_date(legacy, make_user):
    from insurdesk.customers.services import customer_create
    from insurdesk.identity.testing import make_resident_id

    other, _ = customer_create(actor=legacy["clerk"], kind="individual",
                               data={"name": "李四", "id_type": "resident_id", "mobile": "13800000001",
                                     "id_number": make_resident_id(datetime.date(1985, 1, 1), "F", seq=124)})  # fmt: skip
    with pytest.raises(ValidationFailed):
        claim_create(actor=legacy["clerk"], policy_id=legacy["policy"].pk, claimant_id=other.pk,
                     data={"reported_on": datetime.date(2023, 6, 1), "amount_claimed": "1"})  # fmt: skip
    with pytest.raises(ValidationFailed):
        claim_create(actor=legacy["clerk"], policy_id=legacy["policy"].pk, claimant_id=legacy["customer"].pk,
                     data={"reported_on": datetime.date.today() + datetime.timedelta(days=1), "amount_claimed": "1"})  # fmt: skip


def test_a_claim_dated_before_its_policy_took_effect_is_refused_with_the_reason(legacy):
    with pytest.raises(ValidationFailed) as refused:
        claim_create(actor=legacy["clerk"], policy_id=legacy["policy"].pk, claimant_id=legacy["customer"].pk,
                     data={"reported_on": datetime.date(2022, 12, 1), "amount_claimed": "1"})  # fmt: skip
    assert refused.value.errors[0].code == "before_effective"
    assert "早于保单生效日期 2023-01-01" in refused.value.errors[0].message


def test_claims_are_seen_within_the_policy_scope(legacy, make_user, client):
    from insurdesk.claims.selectors import claim_list

    claim_create(actor=legacy["clerk"], policy_id=legacy["policy"].pk, claimant_id=legacy["customer"].pk,
                 data={"reported_on": datetime.date(2023, 6, 1), "amount_claimed": "5000"})  # fmt: skip
    assert claim_list(viewer=make_user("claims", unit="NS")).count() == 0
    viewer = make_user("claims", unit="GD")
    assert claim_list(viewer=viewer).count() == 1
    client.force_login(viewer)
    assert "LP" in client.get("/claims/").content.decode()
    fragment = client.get(f"/claims/customer/{legacy['customer'].pk}/").content.decode()
    assert "P0001" in fragment
