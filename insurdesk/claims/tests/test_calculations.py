"""The pure arithmetic of claims: cover at the event, the benefit, payees, clocks, capitals."""

import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from insurdesk.claims import calculations as calc

D = datetime.date
AMOUNTS = st.decimals(min_value=0, max_value=10_000_000, places=2)


def test_cover_is_refused_before_the_start_after_the_end_and_while_lapsed():
    cover = calc.Cover("in_force", D(2024, 1, 1), D(2025, 12, 31), lapsed_on=D(2024, 6, 1),
                       reinstated_on=D(2024, 9, 1))  # fmt: skip
    assert calc.cover_refusal(cover, D(2023, 12, 31))[0] == "before_effective"
    assert calc.cover_refusal(cover, D(2026, 1, 1))[0] == "after_expiry"
    assert calc.cover_refusal(cover, D(2024, 7, 1))[0] == "lapsed"
    assert calc.cover_refusal(cover, D(2024, 9, 1)) is None  # reinstated that day
    assert calc.cover_refusal(cover, D(2024, 5, 31)) is None
    again = calc.Cover("lapsed", D(2024, 1, 1), None, lapsed_on=D(2025, 3, 1), reinstated_on=D(2024, 9, 1))
    assert calc.cover_refusal(again, D(2025, 4, 1))[0] == "lapsed"


def test_the_premium_owed_counts_only_instalments_whose_grace_the_event_falls_in():
    rows = [(D(2024, 1, 1), Decimal("100")), (D(2024, 3, 1), Decimal("50"))]
    assert calc.premium_owed(rows, 60, D(2024, 3, 5)) == Decimal("50.00")  # the first one's grace ended
    assert calc.premium_owed(rows, 90, D(2024, 3, 5)) == Decimal("150.00")


@given(
    covered=AMOUNTS, deductible=AMOUNTS, ratio=st.decimals(0, 100, places=2), remaining=AMOUNTS, owed=AMOUNTS
)
def test_the_benefit_is_never_negative_nor_above_the_remaining_sum_insured(
    covered, deductible, ratio, remaining, owed
):
    b = calc.benefit(covered=covered, deductible=deductible, ratio=ratio, remaining=remaining, owed=owed)
    assert Decimal("0") <= b <= remaining
    assert b <= max(covered - deductible, 0)


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=10_000_000, places=2),
    shares=st.lists(st.one_of(st.none(), st.decimals(1, 100, places=2)), min_size=1, max_size=5),
)
def test_a_death_benefit_is_split_among_the_first_order_without_losing_a_cent(amount, shares):
    bens = [calc.Beneficiary(f"B{i}", 1, s) for i, s in enumerate(shares)] + [
        calc.Beneficiary("Later", 2, None)
    ]
    payees = calc.death_payees(bens, amount)
    assert sum(p.amount for p in payees) == amount
    assert all(p.name != "Later" for p in payees)
    assert calc.death_payees([calc.Beneficiary("X", 1, None, valid=False)], amount)[0].name == calc.ESTATE


def test_the_suicide_exclusion_and_the_waiting_period_count_from_start_and_reinstatement():
    assert calc.suicide_excluded(D(2024, 1, 1), None, D(2025, 12, 31))
    assert not calc.suicide_excluded(D(2024, 1, 1), None, D(2026, 1, 1))
    assert calc.suicide_excluded(D(2020, 1, 1), D(2025, 1, 1), D(2026, 6, 1))
    assert calc.in_waiting_period(D(2024, 1, 1), None, 90, D(2024, 3, 30))
    assert not calc.in_waiting_period(D(2024, 1, 1), None, 90, D(2024, 3, 31))


def test_the_clocks_of_each_state():
    days = {"decision": 30, "payment": 10, "refusal_notice": 3, "advance": 60}
    kw = {"clock_from": D(2024, 1, 1), "agreed_on": D(2024, 2, 1), "decided_on": D(2024, 2, 1), "days": days}
    review = calc.clocks(state="reviewing", notice_sent=False, advance_paid=False, **kw)
    assert [(c.kind, c.due) for c in review] == [("decision", D(2024, 1, 31)), ("advance", D(2024, 3, 1))]
    assert calc.clocks(state="approved", notice_sent=False, advance_paid=False, **kw)[0].due == D(2024, 2, 11)
    assert calc.clocks(state="rejected", notice_sent=False, advance_paid=False, **kw)[0].due == D(2024, 2, 4)
    assert calc.clocks(state="rejected", notice_sent=True, advance_paid=False, **kw) == []
    assert calc.clocks(state="closed", notice_sent=True, advance_paid=True, **kw) == []


def test_amounts_in_capitals():
    assert calc.rmb_capital(Decimal("12000")) == "人民币壹万贰仟元整"
    assert calc.rmb_capital(Decimal("4720")) == "人民币肆仟柒佰贰拾元整"
    assert calc.rmb_capital(Decimal("100001")) == "人民币壹拾万零壹元整"
    assert calc.rmb_capital(Decimal("1010.05")) == "人民币壹仟零壹拾元零伍分"
    assert calc.rmb_capital(Decimal("20500.30")) == "人民币贰万零伍佰元叁角整"
