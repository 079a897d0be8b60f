"""The automatic underwriting rules, each on plain values: outcome and the reason in Chinese."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.underwriting import rules as r

TODAY = date(2026, 11, 21)


def born(age: int, on: date = TODAY) -> date:
    return date(on.year - age, 1, 1)


def person(name="张伟", age=35, **kw) -> r.PersonFacts:
    return r.PersonFacts(
        name=name, birth_date=born(age), occupation_class=1, id_valid_to=date(2035, 1, 1), **kw
    )


def line(**kw) -> r.LineFacts:
    base = dict(
        product_code="L01",
        product_name="安康定期寿险",
        sum_insured=Decimal("300000"),
        min_age=18,
        max_age=60,
        min_sum=Decimal("10000"),
        max_sum=Decimal("2000000"),
        occupation_classes=frozenset({1, 2, 3, 4}),
        death_cover=True,
    )
    base.update(kw)
    return r.LineFacts(**base)


def facts(**kw) -> r.CaseFacts:
    insured = person()
    base = dict(on=TODAY, policyholder=insured, insured=insured, relationship="self", lines=[line()])
    base.update(kw)
    return r.CaseFacts(**base)


def by_code(results) -> dict[str, r.RuleResult]:
    return {x.code: x for x in results}


def test_a_clean_case_passes_every_rule_with_a_reason():
    results = r.evaluate(facts())
    assert [x.outcome for x in results] == [r.PASS] * len(r.RULES)
    assert all(x.reason and x.name for x in results)
    assert r.overall(results) == r.PASS


@pytest.mark.parametrize("age, outcome", [(17, r.DECLINE), (18, r.PASS), (60, r.PASS), (61, r.DECLINE)])
def test_the_age_limits_of_the_product(age, outcome):
    f = facts(insured=person(age=age), relationship="child", consent_recorded=True)
    result = r.rule_age_limits(f)
    assert result.outcome == outcome
    if outcome == r.DECLINE:
        assert f"{age} 周岁" in result.reason


def test_a_missing_birth_date_is_referred():
    assert r.rule_age_limits(facts(insured=replace(person(), birth_date=None))).outcome == r.REFER


@pytest.mark.parametrize(
    "amount, outcome",
    [("9999.99", r.DECLINE), ("10000", r.PASS), ("2000000", r.PASS), ("2000000.01", r.DECLINE)],
)
def test_the_sum_limits_of_the_product(amount, outcome):
    result = r.rule_sum_limits(facts(lines=[line(sum_insured=Decimal(amount))]))
    assert result.outcome == outcome


def test_an_occupation_class_the_product_does_not_accept_is_declined():
    result = r.rule_occupation_class(facts(insured=replace(person(), occupation_class=6)))
    assert result.outcome == r.DECLINE and "6 类" in result.reason and "1、2、3、4 类" in result.reason
    assert r.rule_occupation_class(facts(insured=replace(person(), occupation_class=None))).outcome == r.REFER
    unlimited = facts(insured=replace(person(), occupation_class=6), lines=[line(occupation_classes=None)])
    assert r.rule_occupation_class(unlimited).outcome == r.PASS


def test_a_yes_in_the_health_answers_is_referred():
    result = r.rule_health(facts(health_answers={"近两年内是否住院": True, "是否吸烟": False}))
    assert result.outcome == r.REFER and "近两年内是否住院" in result.reason
    assert r.rule_health(facts(health_notes="高血压，服药控制")).outcome == r.REFER


def test_an_expired_identity_document_of_either_party_is_referred():
    holder = replace(person("李强"), id_valid_to=date(2026, 11, 20))
    result = r.rule_identity_documents(
        facts(policyholder=holder, relationship="spouse", consent_recorded=True)
    )
    assert result.outcome == r.REFER and "投保人李强" in result.reason
    long_term = replace(holder, id_long_term=True)
    assert r.rule_identity_documents(facts(policyholder=long_term)).outcome == r.PASS
    # valid through its last day
    assert r.rule_identity_documents(facts(insured=replace(person(), id_valid_to=TODAY))).outcome == r.PASS


def test_high_aml_risk_or_a_politically_exposed_person_is_referred():
    assert r.rule_aml(facts(policyholder=replace(person(), aml_risk="high"))).outcome == r.REFER
    assert r.rule_aml(facts(insured=replace(person(), pep=True))).outcome == r.REFER
    assert r.rule_aml(facts(policyholder=replace(person(), aml_risk="medium"))).outcome == r.PASS


@pytest.mark.parametrize(
    "relationship, consent, outcome",
    [
        ("self", False, r.PASS),
        ("spouse", True, r.PASS),
        ("spouse", False, r.DECLINE),  # death cover without the insured's consent (§34)
        ("employer", False, r.DECLINE),  # death cover: consent needed even for employees
        ("employer", True, r.PASS),
        ("other", True, r.PASS),
        ("other", False, r.DECLINE),
    ],
)
def test_insurable_interest_and_consent_for_death_cover(relationship, consent, outcome):
    f = facts(policyholder=person("王芳"), relationship=relationship, consent_recorded=consent)
    assert r.rule_insurable_interest(f).outcome == outcome


def test_without_death_cover_family_needs_no_consent_but_a_stranger_does():
    no_death = [line(death_cover=False)]
    assert r.rule_insurable_interest(facts(relationship="parent", lines=no_death)).outcome == r.PASS
    assert r.rule_insurable_interest(facts(relationship="other", lines=no_death)).outcome == r.DECLINE


def test_parents_insuring_a_minor_need_no_written_consent():
    child = person("张子轩", age=8)
    f = facts(insured=child, relationship="child", lines=[line(min_age=0, sum_insured=Decimal("100000"))])
    assert r.rule_insurable_interest(f).outcome == r.PASS


@pytest.mark.parametrize(
    "age, amount, existing, outcome",
    [
        (9, "200000", "0", r.PASS),
        (9, "150000", "50001", r.DECLINE),  # cumulative across policies
        (9, "200000.01", "0", r.DECLINE),
        (10, "500000", "0", r.PASS),
        (17, "400000", "100001", r.DECLINE),
        (18, "5000000", "0", r.PASS),
    ],
)
def test_minors_death_cover_caps(age, amount, existing, outcome):
    f = facts(
        insured=person(age=age),
        relationship="child",
        lines=[line(min_age=0, sum_insured=Decimal(amount), max_sum=None)],
        existing_death_sum=Decimal(existing),
    )
    result = r.rule_minor_death_cover(f)
    assert result.outcome == outcome
    if outcome == r.DECLINE:
        assert "第三十三条" in result.reason


def test_only_parents_may_take_death_cover_on_a_child_without_capacity():
    f = facts(
        insured=person(age=6),
        relationship="other",
        consent_recorded=True,
        lines=[line(min_age=0, sum_insured=Decimal("10000"))],
    )
    assert r.rule_minor_death_cover(f).outcome == r.DECLINE
    older = facts(
        insured=person(age=12),
        relationship="other",
        consent_recorded=True,
        lines=[line(min_age=0, sum_insured=Decimal("10000"))],
    )
    assert r.rule_minor_death_cover(older).outcome == r.PASS


def test_a_cumulative_sum_over_the_configured_limit_is_referred():
    f = facts(existing_sum_insured=Decimal("2800000"), cumulative_limit=Decimal("3000000"))
    result = r.rule_cumulative_sum(f)
    assert result.outcome == r.REFER and "3,100,000.00" in result.reason
    assert r.rule_cumulative_sum(replace(f, cumulative_limit=Decimal("5000000"))).outcome == r.PASS


def test_group_cases_leave_personal_rules_to_the_member_list():
    f = facts(insured=None, relationship="employee", lines=[line(is_group=True, occupation_classes=None)])
    results = by_code(r.evaluate(f))
    assert results["age_limits"].outcome == r.PASS and "团体" in results["age_limits"].reason
    assert r.overall(list(results.values())) == r.PASS


def test_a_group_application_must_be_dated_the_day_before_the_effective_date():
    f = facts(
        insured=None,
        is_group=True,
        application_date=date(2026, 12, 31),
        requested_effective_date=date(2027, 1, 1),
        lines=[line(is_group=True)],
    )
    assert r.rule_group_dates(f).outcome == r.PASS
    wrong = replace(f, requested_effective_date=date(2027, 1, 5))
    result = r.rule_group_dates(wrong)
    assert result.outcome == r.REFER and "2027-01-01" in result.reason
    assert r.rule_group_dates(facts()).outcome == r.PASS


@given(st.lists(st.sampled_from([r.PASS, r.REFER, r.DECLINE])))
def test_the_overall_outcome_is_the_most_severe(outcomes):
    results = [r.RuleResult(str(i), "x", o, "y") for i, o in enumerate(outcomes)]
    expected = r.DECLINE if r.DECLINE in outcomes else r.REFER if r.REFER in outcomes else r.PASS
    assert r.overall(results) == expected


def test_every_referral_and_decline_says_why():
    """Each rule names the cause in its reason: the limit, the class, the answer, the document, the risk."""
    checks = [
        (r.rule_age_limits(facts(insured=person(age=61), relationship="child", consent_recorded=True)), "60"),
        (r.rule_sum_limits(facts(lines=[line(sum_insured=Decimal("2500000"))])), "2,000,000.00"),
        (r.rule_occupation_class(facts(insured=replace(person(), occupation_class=5))), "5 类"),
        (r.rule_health(facts(health_answers={"是否患有高血压": True})), "是否患有高血压"),
        (
            r.rule_identity_documents(facts(insured=replace(person("赵敏"), id_valid_to=date(2026, 1, 1)))),
            "赵敏",
        ),
        (r.rule_aml(facts(policyholder=replace(person("钱多"), aml_risk="high"))), "钱多"),
        (
            r.rule_insurable_interest(
                facts(policyholder=person("王芳"), relationship="other", consent_recorded=False)
            ),
            "同意",
        ),
        (r.rule_cumulative_sum(facts(existing_sum_insured=Decimal("2800000"))), "3,000,000.00"),
    ]
    for result, cause in checks:
        assert result.outcome in (r.REFER, r.DECLINE), result
        assert cause in result.reason, result
        assert r.OUTCOME_LABELS[result.outcome] and result.name
