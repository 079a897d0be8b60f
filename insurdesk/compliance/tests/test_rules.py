"""The AML rating rules as plain Python: each factor, the bands, the floors, and monotonicity."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from insurdesk.compliance.calculations import level_rank
from insurdesk.compliance.rules import (
    RULES,
    AmlFacts,
    Movement,
    Surrender,
    Thresholds,
    TransactionFacts,
    rate,
    rule_table,
)

TODAY = date(2026, 11, 21)
TH = Thresholds()


def facts(**kw) -> AmlFacts:
    kw.setdefault("today", TODAY)
    return AmlFacts(**kw)


def codes(rating) -> set[str]:
    return {r.code for r in rating.reasons}


def test_a_plain_customer_is_low_with_no_reasons():
    r = rate(facts(trade_text=("教师",), nationalities=("CHN",), region_codes=("110105",)))
    assert r.level == "low" and r.score == 0 and r.reasons == ()


def test_a_high_risk_trade_alone_is_medium_and_names_the_category():
    r = rate(facts(trade_text=("珠宝店店主",)))
    assert r.level == "medium" and codes(r) == {"occupation"}
    assert "贵金属珠宝" in r.reasons[0].detail


def test_trades_match_in_a_company_s_business_scope_and_extra_keywords_count():
    assert codes(rate(facts(kind="corporate", trade_text=("零售", "经营范围：典当、寄售")))) == {"occupation"}
    assert rate(facts(trade_text=("网吧",))).reasons == ()
    assert codes(rate(facts(trade_text=("网吧",)), replace(TH, extra_trades=("网吧",)))) == {"occupation"}


def test_a_politically_exposed_person_is_always_high():
    r = rate(facts(pep=True))
    assert r.level == "high" and codes(r) == {"pep"}


def test_a_high_risk_nationality_of_a_beneficial_owner_makes_the_company_high():
    r = rate(facts(kind="corporate", nationalities=("CHN", "PRK")))
    assert r.level == "high" and "PRK" in r.reasons[0].detail


def test_a_border_region_adds_points_but_alone_stays_low():
    r = rate(facts(region_codes=("533102",)))
    assert codes(r) == {"region"} and r.level == "low"


def test_cash_premium_at_the_threshold_counts_and_below_it_does_not():
    below = TransactionFacts(cash_premiums=[Movement(Decimal("19999.99"))])
    at = TransactionFacts(cash_premiums=[Movement(Decimal("20000"), reference="BD1")])
    assert rate(facts(tx=below)).reasons == ()
    r = rate(facts(tx=at))
    assert codes(r) == {"cash_premium"} and r.level == "medium" and "BD1" in r.reasons[0].detail


def test_large_and_early_surrenders():
    big = TransactionFacts(surrenders=[Surrender(amount=Decimal("10000"), policy_years=5)])
    early = TransactionFacts(surrenders=[Surrender(amount=Decimal("100"), policy_years=1.5, reference="P1")])
    late_small = TransactionFacts(surrenders=[Surrender(amount=Decimal("100"), policy_years=2.5)])
    flagged = TransactionFacts(surrenders=[Surrender(early=True)])
    assert codes(rate(facts(tx=big))) == {"large_surrender"}
    assert codes(rate(facts(tx=early))) == {"early_surrender"}
    assert rate(facts(tx=late_small)).reasons == ()
    assert codes(rate(facts(tx=flagged))) == {"early_surrender"}
    assert codes(rate(facts(tx=early), replace(TH, early_surrender_years=1))) == set()


def test_beneficiary_changes_count_only_in_the_last_twelve_months():
    recent = [TODAY - timedelta(days=d) for d in (10, 100, 200)]
    old = [TODAY - timedelta(days=d) for d in (10, 100, 400)]
    assert codes(rate(facts(tx=TransactionFacts(beneficiary_changes=recent)))) == {"beneficiary_changes"}
    assert rate(facts(tx=TransactionFacts(beneficiary_changes=old))).reasons == ()
    assert codes(rate(facts(tx=TransactionFacts(flagged_frequent_changes=1)))) == {"beneficiary_changes"}


def test_a_reported_transaction_makes_the_customer_high():
    assert rate(facts(tx=TransactionFacts(reported_flags=1))).level == "high"


def test_a_review_level_is_a_floor_with_its_own_reason():
    r = rate(facts(review_level="medium", review_detail="2026-01-01 维持原等级"))
    assert r.level == "medium" and r.score == 0 and codes(r) == {"review"}
    assert rate(facts(review_level="low")).reasons == ()


def test_the_bands_follow_the_configured_scores():
    r = rate(
        facts(
            trade_text=("彩票站",),
            region_codes=("450602",),
            tx=TransactionFacts(cash_premiums=[Movement(Decimal("30000"))]),
        )
    )
    assert r.score == 30 + 20 + 25 and r.level == "high"
    assert rate(facts(trade_text=("彩票站",)), replace(TH, medium_score=31)).level == "low"


def test_every_reason_keeps_code_label_points_floor_and_detail():
    r = rate(facts(pep=True, trade_text=("外汇交易员",)))
    for d in r.reason_dicts:
        assert set(d) == {"code", "label", "points", "floor", "detail"} and d["label"] and d["detail"]
    assert len({rule.code for rule in RULES}) == len(RULES)


def test_the_declared_rules_cover_the_factors_the_aml_rules_name():
    declared = {rule.code for rule in RULES}
    assert {
        "occupation",
        "nationality",
        "region",
        "pep",
        "cash_premium",
        "large_surrender",
        "early_surrender",
        "beneficiary_changes",
    } <= declared
    table = rule_table(replace(TH, cash_premium=Decimal("30000")))
    assert [row["code"] for row in table] == [rule.code for rule in RULES]
    assert all(row["when"] and row["label"] for row in table)
    assert "30,000.00" in next(row["when"] for row in table if row["code"] == "cash_premium")
    assert next(row["floor"] for row in table if row["code"] == "pep") == "高"


# --- adding a risk factor never lowers the level (hypothesis) ---

money = st.decimals(min_value=0, max_value=500000, places=2)
days_ago = st.integers(min_value=0, max_value=800)

base_facts = st.builds(
    AmlFacts,
    kind=st.sampled_from(["individual", "corporate"]),
    trade_text=st.lists(st.sampled_from(["教师", "珠宝", "程序员", "典当行", "KTV", ""]), max_size=2).map(
        tuple
    ),
    nationalities=st.lists(st.sampled_from(["CHN", "USA", "IRN", "PRK", ""]), max_size=3).map(tuple),
    region_codes=st.lists(st.sampled_from(["110105", "533102", "450602", "440305"]), max_size=2).map(tuple),
    pep=st.booleans(),
    tx=st.builds(
        TransactionFacts,
        cash_premiums=st.lists(st.builds(Movement, money), max_size=3),
        transfers=st.lists(st.builds(Movement, money), max_size=2),
        surrenders=st.lists(
            st.builds(
                Surrender,
                amount=st.none() | money,
                policy_years=st.none() | st.floats(min_value=0, max_value=30),
            ),
            max_size=2,
        ),
        beneficiary_changes=st.lists(days_ago.map(lambda d: TODAY - timedelta(days=d)), max_size=5),
        flagged_frequent_changes=st.integers(0, 2),
        reported_flags=st.integers(0, 2),
    ),
    review_level=st.none() | st.sampled_from(["low", "medium", "high"]),
    today=st.just(TODAY),
)


def _add(f: AmlFacts, factor: str, amount: Decimal) -> AmlFacts:
    tx = TransactionFacts(
        list(f.tx.cash_premiums),
        list(f.tx.transfers),
        list(f.tx.surrenders),
        list(f.tx.beneficiary_changes),
        f.tx.flagged_frequent_changes,
        f.tx.reported_flags,
    )
    g = replace(f, tx=tx)
    if factor == "pep":
        g.pep = True
    elif factor == "occupation":
        g.trade_text = (*f.trade_text, "虚拟货币")
    elif factor == "nationality":
        g.nationalities = (*f.nationalities, "IRN")
    elif factor == "region":
        g.region_codes = (*f.region_codes, "532801")
    elif factor == "cash":
        tx.cash_premiums.append(Movement(amount))
    elif factor == "transfer":
        tx.transfers.append(Movement(amount))
    elif factor == "surrender":
        tx.surrenders.append(Surrender(amount=amount, policy_years=float(amount % 5)))
    elif factor == "change":
        tx.beneficiary_changes.append(TODAY)
    elif factor == "reported":
        tx.reported_flags += 1
    elif factor == "review":
        g.review_level = "high"
    return g


@settings(max_examples=300, deadline=None)
@given(
    base_facts,
    st.sampled_from(
        [
            "pep",
            "occupation",
            "nationality",
            "region",
            "cash",
            "transfer",
            "surrender",
            "change",
            "reported",
            "review",
        ]
    ),
    money,
)
def test_adding_a_risk_factor_never_lowers_the_level_or_the_score(f, factor, amount):
    before = rate(f)
    after = rate(_add(f, factor, amount))
    assert level_rank(after.level) >= level_rank(before.level)
    assert after.score >= before.score
    assert codes(after) >= codes(before)
