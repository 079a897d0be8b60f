from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.applications import calculations as calc

cents = st.integers(min_value=0, max_value=10**12).map(lambda n: Decimal(n) / 100)


@given(st.lists(cents, min_size=1, max_size=20))
def test_the_total_is_the_exact_sum_of_the_lines(premiums):
    total = calc.premium_total(premiums)
    assert calc.total_matches(total, premiums)
    assert not calc.total_matches(total + Decimal("0.01"), premiums)
    assert calc.total_matches(str(total), [str(p) for p in premiums])


def test_money_refuses_floats_and_junk():
    assert calc.money("1,234.5") == Decimal("1234.50")
    with pytest.raises(TypeError):
        calc.money(0.1)
    for bad in ("abc", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            calc.money(bad)


@given(st.lists(st.integers(min_value=1, max_value=9999), min_size=1, max_size=6))
def test_shares_that_total_100_pass_and_others_fail(parts):
    total = sum(parts)
    shares = [Decimal(p) * 100 / total for p in parts]
    shares = [s.quantize(Decimal("0.01")) for s in shares]
    shares[-1] += Decimal(100) - sum(shares)  # the last share takes the rounding
    rows = [(1, s) for s in shares]
    if all(s > 0 for s in shares):
        assert calc.share_problems(rows) == []
    assert calc.share_problems([*rows, (1, Decimal("0.01"))]) == [(1, Decimal("100.01"))]


def test_shares_are_checked_per_order():
    rows = [(1, "60"), (1, "40"), (2, "50")]
    assert calc.share_problems(rows) == [(2, Decimal("50.00"))]


def test_insurable_interest_follows_article_31():
    for rel in ("self", "spouse", "child", "parent", "employer"):
        assert calc.has_insurable_interest(rel, consent=False)
    assert not calc.has_insurable_interest("other", consent=False)
    assert calc.has_insurable_interest("other", consent=True)


def test_death_cover_needs_consent_except_self_and_parents_of_minors():
    assert not calc.death_consent_needed("self", insured_age=40)
    assert not calc.death_consent_needed("child", insured_age=9)
    assert calc.death_consent_needed("child", insured_age=18)
    assert calc.death_consent_needed("spouse", insured_age=40)
    assert calc.death_consent_needed("employer", insured_age=40)


def test_minor_death_caps_of_article_33():
    assert calc.minor_death_cap(9) == Decimal("200000")
    assert calc.minor_death_cap(10) == Decimal("500000")
    assert calc.minor_death_cap(17) == Decimal("500000")
    assert calc.minor_death_cap(18) is None
    assert calc.minor_death_problem(age=5, relationship="child", death_sum=Decimal("200000")) is None
    assert "200,000" in calc.minor_death_problem(age=5, relationship="child", death_sum=Decimal("200000.01"))
    assert "父母" in calc.minor_death_problem(age=5, relationship="other", death_sum=Decimal("1"))
    assert calc.minor_death_problem(age=30, relationship="other", death_sum=Decimal("9e9")) is None


def facts(lines, *, source="direct", agency="", ph_age=40, ins_age=40):
    return calc.RecordingFacts(
        lines=tuple(lines),
        business_source=source,
        agency_kind=agency,
        policyholder_age=ph_age,
        insured_age=ins_age,
    )


def test_recording_rules():
    long_life = ("life", "20y", False)
    short_accident = ("accident", "1y", False)
    assert calc.recording_reasons(facts([long_life])) == []
    assert calc.recording_reasons(facts([long_life], source="intermediary", agency="bank")) == ["channel"]
    assert calc.recording_reasons(facts([long_life], source="intermediary", agency="part_time")) == [
        "channel"
    ]
    assert calc.recording_reasons(facts([long_life], source="intermediary", agency="broker")) == []
    assert calc.recording_reasons(facts([short_accident], source="intermediary", agency="bank")) == []
    assert calc.recording_reasons(facts([long_life], ph_age=60)) == ["senior"]
    assert calc.recording_reasons(facts([long_life], ph_age=59)) == []
    assert calc.recording_reasons(facts([short_accident], ph_age=75)) == []
    assert calc.recording_reasons(facts([("property", "2y", False)], ph_age=75)) == []
    assert calc.recording_reasons(facts([("life", "1y", True)])) == ["unit_linked"]
    assert calc.recording_reasons(facts([long_life], ph_age=65), senior_age=70) == []


def test_product_limits_name_each_breach():
    limits = calc.ProductLimits(
        code="L101",
        min_age=0,
        max_age=60,
        min_sum=Decimal("50000"),
        max_sum=Decimal("5000000"),
        occupation_classes=(1, 2, 3),
    )
    assert calc.limit_problems(limits, age=30, sum_insured=Decimal("100000"), occupation_class=1) == []
    codes = [
        c for c, _ in calc.limit_problems(limits, age=61, sum_insured=Decimal("49999"), occupation_class=4)
    ]
    assert codes == ["age", "sum_insured", "occupation_class"]
    assert [
        c
        for c, _ in calc.limit_problems(
            limits, age=0, sum_insured=Decimal("5000000.01"), occupation_class=None
        )
    ] == ["sum_insured"]


def test_mismatch_rate():
    assert calc.mismatch_rate(1, 15) == Decimal("6.67")
    assert calc.mismatch_rate(0, 0) is None
