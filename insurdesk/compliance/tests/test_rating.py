"""Rating customers and recording reviews: the result, its reasons, the archive's AML data and history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import NotAllowed, NotFound, ValidationFailed
from insurdesk.compliance.calculations import add_years
from insurdesk.compliance.models import AmlAssessment, AmlReview, FlagState
from insurdesk.compliance.providers import register_fact_provider, unregister_fact_provider
from insurdesk.compliance.rules import Movement, TransactionFacts
from insurdesk.compliance.services import aml_rate, aml_rate_many, aml_review_record, transaction_flag_raise
from insurdesk.compliance.tests.conftest import OWNER
from insurdesk.customers.models import Customer
from insurdesk.customers.selectors import customer_history

pytestmark = pytest.mark.django_db


def test_a_rating_keeps_level_score_reasons_and_applies_the_level_through_the_archive(person, officer):
    c = person(occupation="典当行经理")
    outcome = aml_rate(actor=officer, customer_id=c.pk)
    a = outcome.assessment
    assert a.level == "medium" and a.previous_level == "low" and a.score == 30 and a.rated_by == officer
    assert [r["code"] for r in a.reasons] == ["occupation"] and "典当" in a.reasons[0]["detail"]
    c.refresh_from_db()
    assert c.aml_risk == "medium"
    # two years after the archive was opened (never reviewed)
    assert c.aml_next_review == add_years(timezone.localdate(c.created_at), 2)
    changes = customer_history(customer=c)[0]["changes"]
    assert {ch["field"] for ch in changes} >= {"aml_risk", "aml_next_review"}
    actions = list(AuditEntry.objects.filter(target_id=str(c.pk)).values_list("action", flat=True))
    assert "customer.change" in actions and "aml.rate" in actions


def test_rating_again_with_nothing_new_keeps_no_second_assessment(person):
    c = person(occupation="珠宝商")
    aml_rate(actor=None, customer_id=c.pk)
    again = aml_rate(actor=None, customer_id=c.pk)
    assert again.assessment is None and not again.level_changed
    assert AmlAssessment.objects.filter(customer=c).count() == 1
    assert AmlAssessment.objects.get(customer=c).rated_by is None  # the system


def test_a_border_region_identity_number_and_a_pep_flag(person):
    c = person(region="533102", pep=True)
    a = aml_rate(actor=None, customer_id=c.pk).assessment
    assert a.level == "high" and {r["code"] for r in a.reasons} == {"region", "pep"}
    c.refresh_from_db()
    assert c.aml_next_review == add_years(timezone.localdate(c.created_at), 1)


def test_a_company_is_rated_on_its_owners_nationality_and_its_registration_region(company):
    c = company(owners=[{**OWNER, "nationality": "IRN"}], division="451402", business_scope="货币兑换")
    a = aml_rate(actor=None, customer_id=c.pk).assessment
    assert a.level == "high" and {r["code"] for r in a.reasons} == {"nationality", "region", "occupation"}


def test_transaction_flags_feed_the_rules(person):
    c = person()
    transaction_flag_raise(
        actor=None, customer_id=c.pk, kind="large_cash", amount="50000", reason="现金缴费", reference="P1-1"
    )
    a = aml_rate(actor=None, customer_id=c.pk).assessment
    assert a.level == "medium" and a.reasons[0]["code"] == "cash_premium"


def test_a_registered_provider_feeds_the_rules(person):
    c = person()

    def provider(customer_ids, *, since, today):
        return {
            c.pk: TransactionFacts(
                transfers=[Movement(Decimal("300000"), today, "T1")], beneficiary_changes=[today] * 3
            )
        }

    register_fact_provider(provider)
    try:
        a = aml_rate(actor=None, customer_id=c.pk).assessment
    finally:
        unregister_fact_provider(provider)
    assert {r["code"] for r in a.reasons} == {"large_transfer", "beneficiary_changes"} and a.level == "medium"


def test_rating_many_reports_progress_and_counts(person):
    people = [person(occupation="教师") for _ in range(4)] + [person(pep=True)]
    seen = []
    summary = aml_rate_many(actor=None, batch=2, progress=lambda done, total: seen.append((done, total)))
    assert summary.total == summary.rated == 5 and summary.levels == {"low": 4, "high": 1}
    assert summary.level_changes == 1 and seen[-1] == (5, 5) and len(seen) == 3
    assert Customer.objects.get(pk=people[-1].pk).aml_risk == "high"


def test_rating_many_for_some_customers_only(person):
    a, b = person(pep=True), person(pep=True)
    summary = aml_rate_many(actor=None, customer_ids=[a.pk])
    assert summary.total == 1
    assert Customer.objects.get(pk=b.pk).aml_risk == "low"


def test_a_role_without_the_right_cannot_rate(person, make_user):
    c = person()
    with pytest.raises(NotAllowed):
        aml_rate(actor=make_user("clerk"), customer_id=c.pk)


def test_a_customer_outside_the_officer_s_units_does_not_exist_for_it(person, make_user):
    c = person(unit="GZ")
    with pytest.raises(NotFound):
        aml_rate(actor=make_user("compliance", "SZ"), customer_id=c.pk)


# --- reviews (审核) ---


def test_a_review_records_who_when_conclusion_and_next_date_and_updates_the_archive(person, officer):
    c = person()
    review = aml_review_record(actor=officer, customer_id=c.pk, conclusion="maintain", note="资料齐全")
    assert review.reviewer == officer and review.level_before == review.level_after == "low"
    assert review.next_review == add_years(timezone.localdate(), 3)
    c.refresh_from_db()
    assert c.aml_last_review == review.reviewed_on and c.aml_next_review == review.next_review
    assert AuditEntry.objects.filter(action="aml.review", target_id=str(c.pk)).exists()


def test_a_raised_level_holds_against_the_next_system_rating(person, officer):
    c = person()
    aml_review_record(actor=officer, customer_id=c.pk, conclusion="raise", level="high", note="媒体负面报道")
    outcome = aml_rate(actor=None, customer_id=c.pk)
    assert outcome.rating.level == "high" and outcome.rating.reasons[0].code == "review"
    assert Customer.objects.get(pk=c.pk).aml_risk == "high"


def test_lowering_below_what_the_rules_say_is_refused(person, officer):
    c = person(occupation="赌场荷官 娱乐场所")
    aml_review_record(actor=officer, customer_id=c.pk, conclusion="raise", level="high", note="核实")
    with pytest.raises(ValidationFailed) as exc:
        aml_review_record(actor=officer, customer_id=c.pk, conclusion="lower", level="low", note="误判")
    assert exc.value.errors[0].code == "below_rules" and "中风险" in exc.value.errors[0].message
    review = aml_review_record(
        actor=officer, customer_id=c.pk, conclusion="lower", level="medium", note="核实后下调"
    )
    assert review.level_after == "medium"


@pytest.mark.parametrize(
    "conclusion,level,code",
    [
        ("raise", "low", "not_higher"),
        ("lower", "high", "not_lower"),
        ("maintain", "high", "mismatch"),
        ("nonsense", None, "choice"),
    ],
)
def test_inconsistent_conclusions_are_refused(person, officer, conclusion, level, code):
    c = person()
    with pytest.raises(ValidationFailed) as exc:
        aml_review_record(actor=officer, customer_id=c.pk, conclusion=conclusion, level=level, note="x")
    assert exc.value.errors[0].code == code


def test_the_next_review_must_fall_within_the_level_s_interval(person, officer):
    c = person(pep=True)
    aml_rate(actor=None, customer_id=c.pk)
    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as exc:
        aml_review_record(
            actor=officer, customer_id=c.pk, conclusion="maintain", next_review=today + timedelta(days=800)
        )
    assert exc.value.errors[0].field == "next_review"
    r = aml_review_record(
        actor=officer, customer_id=c.pk, conclusion="maintain", next_review=today + timedelta(days=90)
    )
    assert r.next_review == today + timedelta(days=90)


def test_a_review_needs_a_person_and_a_future_date_is_refused(person, officer):
    c = person()
    with pytest.raises(NotAllowed):
        aml_review_record(actor=None, customer_id=c.pk, conclusion="maintain")
    with pytest.raises(ValidationFailed):
        aml_review_record(
            actor=officer,
            customer_id=c.pk,
            conclusion="maintain",
            reviewed_on=timezone.localdate() + timedelta(days=1),
        )
    assert not AmlReview.objects.exists()


def test_dismissed_flags_count_for_nothing(person, officer):
    from insurdesk.compliance.services import transaction_flag_review

    c = person()
    flag, _ = transaction_flag_raise(
        actor=None, customer_id=c.pk, kind="large_cash", amount="50000", reason="现金"
    )
    transaction_flag_review(actor=officer, flag_id=flag.pk, decision="dismiss", note="系单位代缴，已核实")
    flag.refresh_from_db()
    assert flag.state == FlagState.DISMISSED
    assert aml_rate(actor=None, customer_id=c.pk).rating.level == "low"
