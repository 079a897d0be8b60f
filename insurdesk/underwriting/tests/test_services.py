"""Underwriting services: automatic rules, the manual queue, decisions, evidence, refusals."""

import datetime
from decimal import Decimal

import pytest

from insurdesk.applications.models import State as AppState
from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from insurdesk.customers.models import Customer
from insurdesk.underwriting.models import CaseState, Decision, RuleResult, UnderwritingCase
from insurdesk.underwriting.selectors import QueueFilters, latest_rule_results, underwriting_queue
from insurdesk.underwriting.services import underwriting_assign, underwriting_decide, underwriting_open

HEALTH = {"health_disclosure": True, "health_details": "高血压三年，服药控制平稳"}


def _states(app_id):
    case = UnderwritingCase.objects.get(application_id=app_id)
    return case.state, case.application.state


def test_a_clean_application_is_accepted_automatically_at_standard_rates(nb, submitted):
    app = submitted()
    case = underwriting_open(actor=None, application_id=app.pk)
    assert case.state == CaseState.ACCEPTED and case.automatic and case.decision == "standard"
    app.refresh_from_db()
    assert app.state == AppState.ACCEPTED
    results = latest_rule_results(case)
    assert len(results) == 10 and {r.outcome for r in results} == {"pass"}
    assert all(r.reason for r in results)
    decision = Decision.objects.get(case=case)
    assert decision.automatic and decision.decided_by is None
    assert AuditEntry.objects.filter(action="underwriting.open", target_id=str(case.pk)).exists()


def test_opening_twice_changes_nothing(nb, submitted):
    app = submitted(**HEALTH)
    first = underwriting_open(actor=None, application_id=app.pk)
    again = underwriting_open(actor=None, application_id=app.pk)
    assert first.pk == again.pk and RuleResult.objects.filter(case=first).count() == 10


def test_automatic_acceptance_can_be_switched_off(nb, submitted, settings):
    settings.INSURDESK_UW_AUTO_ACCEPT = False
    case = underwriting_open(actor=None, application_id=submitted().pk)
    assert case.state == CaseState.REFERRED and case.auto_outcome == "pass"


def test_a_health_disclosure_goes_to_the_manual_queue(nb, submitted):
    app = submitted(**HEALTH)
    case = underwriting_open(actor=None, application_id=app.pk)
    assert case.state == CaseState.REFERRED and case.auto_outcome == "refer" and not case.proposed_decision
    health = next(r for r in latest_rule_results(case) if r.code == "health")
    # the disclosure itself is health data: shown from the encrypted application, never copied into reasons
    assert health.outcome == "refer" and "健康告知" in health.reason and "高血压" not in health.reason
    queue = underwriting_queue(viewer=nb.underwriter, filters=QueueFilters(queue="manual"))
    assert list(queue) == [app]
    # a unit outside the subtree sees nothing
    assert not underwriting_queue(viewer=nb.gz_underwriter, filters=QueueFilters(queue="manual")).exists()


def test_a_submitted_application_without_rules_run_shows_in_the_new_queue(nb, submitted):
    app = submitted()
    assert list(underwriting_queue(viewer=nb.underwriter, filters=QueueFilters(queue="new"))) == [app]


def test_a_decline_rule_proposes_a_decline_that_an_underwriter_confirms(nb, submitted):
    lines = [
        {"product_code": "L101", "coverage_term": "life", "sum_insured": "6000000", "premium": "90000.00"}
    ]
    app = submitted(lines=lines, total_premium="90000.00")
    case = underwriting_open(actor=None, application_id=app.pk)
    assert case.state == CaseState.REFERRED and case.proposed_decision == "decline"
    rule = next(r for r in latest_rule_results(case) if r.code == "sum_limits")
    assert rule.outcome == "decline" and "最高保额" in rule.reason
    case = underwriting_decide(
        actor=nb.underwriter, application_id=app.pk, decision="decline", reasons="保额超过产品上限"
    )
    assert _states(app.pk) == (CaseState.DECLINED, AppState.DECLINED)
    assert case.decided_by == nb.underwriter and case.decided_at is not None


def test_overriding_a_proposed_decline_needs_written_reasons(nb, submitted):
    lines = [
        {"product_code": "L101", "coverage_term": "life", "sum_insured": "6000000", "premium": "90000.00"}
    ]
    app = submitted(lines=lines, total_premium="90000.00")
    underwriting_open(actor=None, application_id=app.pk)
    with pytest.raises(ValidationFailed) as exc:
        underwriting_decide(actor=nb.underwriter, application_id=app.pk, decision="standard")
    assert exc.value.errors[0].field == "reasons"
    underwriting_decide(
        actor=nb.underwriter,
        application_id=app.pk,
        decision="standard",
        reasons="经总公司特批，同意按标准体承保",
    )
    assert _states(app.pk) == (CaseState.ACCEPTED, AppState.ACCEPTED)


def test_a_rated_acceptance_keeps_the_extra_premium_and_who_decided(nb, submitted):
    app = submitted(**HEALTH)
    case = underwriting_decide(
        actor=nb.underwriter,
        application_id=app.pk,
        decision="rated",
        extra_premium="1200",
        reasons="高血压，加费承保",
    )
    assert case.state == CaseState.ACCEPTED and case.decision == "rated"
    assert case.extra_premium == Decimal("1200.00") and case.decided_by == nb.underwriter
    assert case.assignee == nb.underwriter
    d = Decision.objects.get(case=case, kind="rated")
    assert d.reasons == "高血压，加费承保" and d.extra_premium == Decimal("1200.00")


@pytest.mark.parametrize(
    "decision, kwargs, field",
    [
        ("rated", {}, "extra_premium"),
        ("rated", {"extra_premium": "0"}, "extra_premium"),
        ("rated", {"extra_premium": "abc"}, "extra_premium"),
        ("standard", {"extra_premium": "100"}, "extra_premium"),
        ("exclusion", {}, "exclusion"),
        ("decline", {"reasons": "  "}, "reasons"),
        ("request_evidence", {"reasons": "需体检"}, "evidence_kind"),
        ("request_evidence", {"reasons": "需体检", "evidence_kind": "medical"}, "evidence"),
        ("approve", {}, "decision"),
    ],
)
def test_incomplete_decisions_are_refused_and_change_nothing(nb, submitted, decision, kwargs, field):
    app = submitted(**HEALTH)
    underwriting_open(actor=None, application_id=app.pk)
    kwargs.setdefault("reasons", "核保意见")
    with pytest.raises(ValidationFailed) as exc:
        underwriting_decide(actor=nb.underwriter, application_id=app.pk, decision=decision, **kwargs)
    assert field in {e.field for e in exc.value.errors}
    assert _states(app.pk) == (CaseState.REFERRED, AppState.UNDERWRITING)


def test_an_exclusion_keeps_its_wording(nb, submitted):
    app = submitted(**HEALTH)
    case = underwriting_decide(
        actor=nb.underwriter,
        application_id=app.pk,
        decision="exclusion",
        exclusion="因高血压及其并发症导致的保险事故不承担保险责任",
        reasons="既往症除外",
    )
    assert case.decision == "exclusion" and "高血压" in case.exclusion


def test_a_request_for_evidence_pauses_the_case_until_it_arrives(nb, submitted):
    app = submitted(**HEALTH)
    underwriting_open(actor=None, application_id=app.pk)
    case = underwriting_decide(
        actor=nb.underwriter,
        application_id=app.pk,
        decision="request_evidence",
        evidence_kind="medical",
        evidence="血压、心电图体检",
        reasons="需体检",
    )
    assert _states(app.pk) == (CaseState.EVIDENCE, AppState.EVIDENCE)
    assert case.evidence_requested == "血压、心电图体检" and case.evidence_requested_at
    assert list(underwriting_queue(viewer=nb.underwriter, filters=QueueFilters(queue="evidence"))) == [app]

    decisions = Decision.objects.count()
    with pytest.raises(IllegalTransition):
        underwriting_decide(actor=nb.underwriter, application_id=app.pk, decision="standard")
    assert (
        _states(app.pk) == (CaseState.EVIDENCE, AppState.EVIDENCE) and Decision.objects.count() == decisions
    )

    case = underwriting_decide(actor=nb.underwriter, application_id=app.pk, decision="evidence_received")
    assert _states(app.pk) == (CaseState.REFERRED, AppState.UNDERWRITING)
    assert case.evidence_received_at is not None
    assert set(case.rule_results.values_list("run", flat=True)) == {1, 2}
    underwriting_decide(actor=nb.underwriter, application_id=app.pk, decision="standard")
    assert _states(app.pk) == (CaseState.ACCEPTED, AppState.ACCEPTED)


def test_postpone(nb, submitted):
    app = submitted(**HEALTH)
    underwriting_decide(
        actor=nb.underwriter, application_id=app.pk, decision="postpone", reasons="近期手术，术后半年再投保"
    )
    assert _states(app.pk) == (CaseState.POSTPONED, AppState.POSTPONED)


@pytest.mark.parametrize(
    "role", ["clerk", "reviewer", "agent", "service", "claims", "cs", "compliance", "manager"]
)
def test_only_underwriters_and_admins_decide(nb, submitted, role):
    app = submitted(**HEALTH)
    underwriting_open(actor=None, application_id=app.pk)
    with pytest.raises(NotAllowed):
        underwriting_decide(actor=nb.users[role], application_id=app.pk, decision="standard")
    with pytest.raises(NotAllowed):
        underwriting_assign(actor=nb.users[role], application_id=app.pk)


def test_an_underwriter_outside_the_unit_cannot_reach_the_case(nb, submitted):
    app = submitted(**HEALTH)
    with pytest.raises(NotFound):
        underwriting_decide(actor=nb.gz_underwriter, application_id=app.pk, decision="standard")


def test_an_application_not_yet_submitted_cannot_be_underwritten(nb):
    from insurdesk.applications.services import application_create
    from insurdesk.underwriting.testing import individual_input

    app, _ = application_create(
        actor=nb.clerk, data=individual_input(policyholder=nb.husband, insured=nb.wife)
    )
    with pytest.raises(IllegalTransition):
        underwriting_open(actor=None, application_id=app.pk)
    with pytest.raises(IllegalTransition):
        underwriting_decide(actor=nb.underwriter, application_id=app.pk, decision="standard")
    assert not UnderwritingCase.objects.exists()


def test_an_expired_identity_document_or_high_aml_risk_is_referred(nb, submitted):
    app = submitted()  # entry refuses an expired document: it expires after the application was keyed
    Customer.objects.filter(pk=nb.wife.pk).update(id_valid_to=datetime.date(2020, 1, 1))
    case = underwriting_open(actor=None, application_id=app.pk)
    rule = next(r for r in latest_rule_results(case) if r.code == "identity_documents")
    assert case.state == CaseState.REFERRED and rule.outcome == "refer" and "李芳" in rule.reason


def test_high_aml_risk_is_referred(nb, submitted):
    Customer.objects.filter(pk=nb.husband.pk).update(aml_risk="high")
    case = underwriting_open(actor=None, application_id=submitted().pk)
    assert next(r for r in latest_rule_results(case) if r.code == "aml").outcome == "refer"


def test_the_cumulative_sum_counts_other_open_applications(nb, submitted, settings):
    settings.INSURDESK_UW_CUMULATIVE_LIMIT = "1000000"
    submitted()  # another 700,000 on the wife, still open
    case = underwriting_open(actor=None, application_id=submitted().pk)
    rule = next(r for r in latest_rule_results(case) if r.code == "cumulative_sum")
    assert rule.outcome == "refer" and "1,400,000.00" in rule.reason


def test_the_cumulative_sum_counts_issued_policies(
    nb, submitted, settings, django_capture_on_commit_callbacks
):
    settings.INSURDESK_UW_CUMULATIVE_LIMIT = "1000000"
    first = submitted()
    with django_capture_on_commit_callbacks(execute=True):
        underwriting_open(actor=None, application_id=first.pk)
    first.refresh_from_db()
    assert first.state == AppState.ISSUED  # no longer an open application: it counts as a policy
    case = underwriting_open(actor=None, application_id=submitted().pk)
    rule = next(r for r in latest_rule_results(case) if r.code == "cumulative_sum")
    assert rule.outcome == "refer" and "1,400,000.00" in rule.reason and case.state == CaseState.REFERRED


def test_assigning_takes_the_case(nb, submitted):
    app = submitted(**HEALTH)
    underwriting_open(actor=None, application_id=app.pk)
    case = underwriting_assign(actor=nb.underwriter, application_id=app.pk)
    assert case.assignee == nb.underwriter
    mine = underwriting_queue(viewer=nb.underwriter, filters=QueueFilters(queue="manual", mine=True))
    assert list(mine) == [app]
