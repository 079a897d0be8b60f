"""Claim handling from report to close: the law's rules and clocks, through the services."""

import datetime
from decimal import Decimal

import pytest

from insurdesk.claims import handling
from insurdesk.claims.models import Claim, ClaimEvent, NoticeKind
from insurdesk.claims.services import ClaimImport, claims_import
from insurdesk.claims.testing import claim_policy
from insurdesk.claims.tests.conftest import report_data
from insurdesk.common.errors import IllegalTransition, NotAllowed, ValidationFailed
from insurdesk.policies.models import Instalment, PolicyState

TODAY = datetime.date.today()


def _codes(exc) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.value.errors]


def _ready(cw, policy=None, **overrides) -> Claim:
    """A claim reported and with every document, under review."""
    claim = handling.claim_report(actor=cw.cs, data=report_data(policy or cw.health, **overrides))
    codes = [d["code"] for d in claim.documents]
    return handling.claim_documents(actor=cw.handler, claim_id=claim.pk, received=codes)


def test_an_event_outside_the_cover_is_refused_with_the_reason(cw):
    early = report_data(cw.health, event_date=cw.health.effective_date - datetime.timedelta(days=1))
    with pytest.raises(ValidationFailed) as refused:
        handling.claim_report(actor=cw.cs, data=early)
    assert _codes(refused) == [("event_date", "before_effective")]
    assert "早于保单生效日期" in refused.value.errors[0].message
    ended = claim_policy(customer=cw.person, policy_no="PX0001", line="health",
                         effective=TODAY - datetime.timedelta(days=500),
                         expiry=TODAY - datetime.timedelta(days=10))  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        handling.claim_report(
            actor=cw.cs, data=report_data(ended, event_date=TODAY - datetime.timedelta(days=5))
        )
    assert _codes(refused) == [("event_date", "after_expiry")]
    lapsed = cw.life
    lapsed.lapsed_on = TODAY - datetime.timedelta(days=20)
    type(lapsed).objects.filter(pk=lapsed.pk).update(state=PolicyState.LAPSED, lapsed_on=lapsed.lapsed_on)
    with pytest.raises(ValidationFailed) as refused:
        handling.claim_report(
            actor=cw.cs, data=report_data(lapsed, event_date=TODAY - datetime.timedelta(days=3))
        )
    assert _codes(refused) == [("event_date", "lapsed")]
    assert Claim.objects.count() == 0


def test_an_event_in_the_grace_period_is_taken_and_the_premium_owed_deducted(cw):
    due = TODAY - datetime.timedelta(days=20)
    Instalment.objects.create(policy=cw.health, seq=9, due_date=due, period_start=due,
                              period_end=due + datetime.timedelta(days=364), amount=Decimal("1000"),
                              status="overdue", open_due=due, unit=cw.health.unit)  # fmt: skip
    claim = _ready(cw, event_date=TODAY - datetime.timedelta(days=3), amount_claimed="5000")
    assert claim.premium_owed == Decimal("1000.00")
    a = handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data={"findings": "住院费用合理"})
    # (5000 − 100 deductible) × 80 % − 1000 owed
    assert a.payable == Decimal("2920.00")


def test_missing_documents_are_asked_for_once_in_one_notice_and_the_clock_starts_when_complete(cw):
    claim = handling.claim_report(actor=cw.cs, data=report_data(cw.health))
    assert claim.state == "reported" and claim.next_deadline is None
    codes = [d["code"] for d in claim.documents]
    claim = handling.claim_documents(
        actor=cw.handler, claim_id=claim.pk, received=codes[:2], notify_missing=True
    )
    notice = claim.notices.get()
    assert notice.kind == NoticeKind.DOCUMENTS and len(notice.items) == len(codes) - 2
    with pytest.raises(ValidationFailed) as again:
        handling.claim_documents(actor=cw.handler, claim_id=claim.pk, received=[], notify_missing=True)
    assert _codes(again) == [("notify_missing", "once")]
    with pytest.raises(ValidationFailed) as unknown:
        handling.claim_documents(actor=cw.handler, claim_id=claim.pk, received=["death_certificate"])
    assert _codes(unknown) == [("received", "choice")]
    claim = handling.claim_documents(actor=cw.handler, claim_id=claim.pk, received=codes[2:], today=TODAY)
    assert claim.state == "reviewing" and claim.documents_complete_on == TODAY
    assert claim.next_deadline == TODAY + datetime.timedelta(days=30) and claim.deadline_kind == "decision"


def test_a_medical_claim_is_assessed_part_paid_to_the_insured_and_closed(cw):
    claim = _ready(cw)
    data = {"findings": "自费药 2,000 元不赔", "covered_amount": "10000"}
    a = handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data=data)
    assert a.payable == Decimal("7920.00") and a.remaining_sum_insured == Decimal("50000")
    with pytest.raises(ValidationFailed) as refused:
        handling.claim_decide(
            actor=cw.handler, claim_id=claim.pk, decision="part_pay", amount="9000", reasons="x"
        )
    assert _codes(refused) == [("amount", "range")]
    claim = handling.claim_decide(actor=cw.handler, claim_id=claim.pk, decision="part_pay", amount="7000",
                                  reasons="部分费用超出合理范围", today=TODAY)  # fmt: skip
    assert claim.state == "approved" and claim.agreed_on == TODAY
    assert (claim.deadline_kind, claim.next_deadline) == ("payment", TODAY + datetime.timedelta(days=10))
    claim = handling.claim_pay(actor=cw.handler, claim_id=claim.pk, method="transfer")
    assert claim.state == "paid" and claim.amount_paid == Decimal("7000.00") and claim.next_deadline is None
    assert [(p.payee_name, p.payee_role, p.amount) for p in claim.payments.all()] == [
        ("王芳", "被保险人", Decimal("7000.00"))
    ]
    assert handling.remaining_sum_insured(cw.health) == Decimal("43000.00")
    with pytest.raises(IllegalTransition) as twice:
        handling.claim_pay(actor=cw.handler, claim_id=claim.pk, method="transfer")
    assert _codes(twice) == [("state", "state")]
    claim = handling.claim_close(actor=cw.handler, claim_id=claim.pk)
    assert claim.state == "closed"
    actions = list(
        ClaimEvent.objects.filter(claim=claim).order_by("at", "id").values_list("action", flat=True)
    )
    assert actions == ["report", "documents", "assess", "decide", "pay", "close"]


def test_an_amount_above_the_unit_limit_needs_a_second_approver_who_did_not_decide(cw, settings):
    settings.CLAIM_APPROVAL_LIMITS = {"*": "100000", "GD": "5000"}  # SZ is under GD
    claim = _ready(cw)
    handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data={"findings": "符合条款"})
    claim = handling.claim_decide(actor=cw.handler, claim_id=claim.pk, decision="pay")
    assert claim.state == "pending_approval" and claim.approval_needed
    with pytest.raises(NotAllowed) as same:
        handling.claim_approve(actor=cw.handler, claim_id=claim.pk)
    assert _codes(same) == [("", "same_person")]
    with pytest.raises(NotAllowed):
        handling.claim_approve(actor=cw.cs, claim_id=claim.pk)
    claim = handling.claim_approve(actor=cw.handler2, claim_id=claim.pk, reason="同意")
    assert claim.state == "approved" and claim.approved_by == cw.handler2


def test_a_decline_writes_the_refusal_notice_due_in_three_days_and_closes_only_once_it_is_sent(cw):
    claim = _ready(cw)
    handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data={"findings": "既往症"})
    with pytest.raises(ValidationFailed) as no_reason:
        handling.claim_decide(actor=cw.handler, claim_id=claim.pk, decision="decline")
    assert _codes(no_reason) == [("reasons", "required")]
    claim = handling.claim_decide(actor=cw.handler, claim_id=claim.pk, decision="decline",
                                  reasons="投保前已患疾病，属除外责任", today=TODAY)  # fmt: skip
    notice = claim.notices.get(kind=NoticeKind.REFUSAL)
    assert notice.due_on == TODAY + datetime.timedelta(days=3) and notice.reasons.startswith("投保前")
    assert (claim.state, claim.deadline_kind) == ("rejected", "refusal_notice")
    with pytest.raises(ValidationFailed) as unsent:
        handling.claim_close(actor=cw.handler, claim_id=claim.pk)
    assert _codes(unsent) == [("reason", "notice_unsent")]
    handling.claim_notice_sent(actor=cw.handler, claim_id=claim.pk, notice_id=notice.pk)
    assert handling.claim_close(actor=cw.handler, claim_id=claim.pk).state == "closed"


def test_a_death_claim_paid_goes_to_the_estate_without_beneficiaries_and_ends_the_policy(cw):
    claim = _ready(cw, cw.life, claim_type="death", description="突发心梗身故", amount_claimed="100000")
    a = handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data={"findings": "身故，非免责"})
    assert a.payable == Decimal("100000.00") and a.waiting_days == 180 and not a.in_waiting_period
    handling.claim_decide(actor=cw.handler, claim_id=claim.pk, decision="pay")
    handling.claim_approve(actor=cw.handler2, claim_id=claim.pk)
    claim = handling.claim_pay(actor=cw.handler, claim_id=claim.pk, method="transfer")
    assert [p.payee_role for p in claim.payments.all()] == ["法定继承"]
    cw.life.refresh_from_db()
    assert cw.life.state == PolicyState.CLAIM_TERMINATED and claim.claim_no in cw.life.termination_reason


def test_suicide_within_two_years_and_an_illness_in_the_waiting_period_pay_nothing(cw):
    young = claim_policy(customer=cw.person, policy_no="PL0002", line="life",
                         effective=TODAY - datetime.timedelta(days=200))  # fmt: skip
    claim = _ready(cw, young, claim_type="death", description="自杀")
    a = handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data={"findings": "自杀", "suicide": True})
    assert a.excluded == "suicide_2y" and a.payable == 0
    fresh = claim_policy(customer=cw.person, policy_no="PH0002", line="health",
                         effective=TODAY - datetime.timedelta(days=30))  # fmt: skip
    claim = _ready(cw, fresh, event_date=TODAY - datetime.timedelta(days=2))
    a = handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data={"findings": "等待期内"})
    assert a.in_waiting_period and a.payable == 0
    with pytest.raises(ValidationFailed) as nothing:
        handling.claim_decide(actor=cw.handler, claim_id=claim.pk, decision="pay")
    assert _codes(nothing) == [("decision", "nothing_payable")]


def test_an_advance_is_paid_once_and_the_payment_pays_the_rest(cw):
    claim = _ready(cw)
    handling.claim_advance(actor=cw.handler, claim_id=claim.pk, amount="3000", method="transfer",
                           reason="已确定的住院费用")  # fmt: skip
    with pytest.raises(IllegalTransition):
        handling.claim_advance(
            actor=cw.handler, claim_id=claim.pk, amount="1", method="transfer", reason="再付"
        )
    handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data={"findings": "合理"})
    claim = handling.claim_decide(actor=cw.handler, claim_id=claim.pk, decision="pay")
    claim = handling.claim_pay(actor=cw.handler, claim_id=claim.pk, method="transfer")
    assert claim.amount_paid == Decimal("9520.00")
    assert sorted(p.amount for p in claim.payments.all()) == [Decimal("3000.00"), Decimal("6520.00")]


def test_a_closed_claim_is_reopened_with_a_reason_and_its_clock_starts_again(cw):
    claim = _ready(cw)
    claim = handling.claim_close(actor=cw.handler, claim_id=claim.pk, reason="客户撤回")
    assert claim.state == "closed"
    with pytest.raises(ValidationFailed):
        handling.claim_reopen(actor=cw.handler, claim_id=claim.pk, reason="")
    later = TODAY + datetime.timedelta(days=5)
    claim = handling.claim_reopen(actor=cw.handler, claim_id=claim.pk, reason="客户补交新发票", today=later)
    assert claim.state == "reviewing" and claim.reopened_count == 1
    assert claim.next_deadline == later + datetime.timedelta(days=30)
    with pytest.raises(IllegalTransition):
        handling.claim_reopen(actor=cw.handler, claim_id=claim.pk, reason="again")


def test_the_daily_duty_flags_overdue_claims_once_and_clears_them_when_the_deadline_moves(cw):
    from insurdesk.claims.daily import claim_clocks

    claim = _ready(cw)
    day = TODAY + datetime.timedelta(days=31)
    assert claim_clocks(day) == {"overdue": 1, "cleared": 0}
    assert claim_clocks(day) == {"overdue": 0, "cleared": 0}
    claim.refresh_from_db()
    assert claim.overdue and claim.overdue_since == day
    assert claim.events.filter(action="overdue").count() == 1
    handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data={"findings": "合理"})
    handling.claim_decide(actor=cw.handler, claim_id=claim.pk, decision="pay", today=day)
    claim.refresh_from_db()
    assert not claim.overdue and claim.deadline_kind == "payment"


def test_a_late_report_shows_the_limitation(cw):
    old = claim_policy(customer=cw.person, policy_no="PH0003", line="health",
                       effective=TODAY - datetime.timedelta(days=2000))  # fmt: skip
    claim = handling.claim_report(
        actor=cw.cs, data=report_data(old, event_date=TODAY - datetime.timedelta(days=900))
    )
    assert handling.limitation(claim) < claim.reported_on
    assert "诉讼时效" in claim.events.get(action="report").note


def test_customer_service_reports_but_does_not_handle(cw):
    claim = handling.claim_report(actor=cw.cs, data=report_data(cw.health))
    with pytest.raises(NotAllowed):
        handling.claim_documents(actor=cw.cs, claim_id=claim.pk, received=["claim_form"])
    with pytest.raises(NotAllowed):
        handling.claim_report(actor=cw.clerk, data=report_data(cw.health))


def test_an_imported_claim_dated_before_its_policy_took_effect_is_refused(cw):
    before = cw.health.effective_date - datetime.timedelta(days=10)
    inside = cw.health.effective_date + datetime.timedelta(days=10)
    result = claims_import(actor=cw.clerk, items=[
        ClaimImport(cw.health.pk, cw.person.pk, before, Decimal("100"), "reported"),
        ClaimImport(cw.health.pk, cw.person.pk, inside, Decimal("100"), "paid"),
    ])  # fmt: skip
    assert result.created == [1]
    assert [e.code for e in result.refused[0]] == ["before_effective"]


def test_insurdesk_daily_runs_the_claim_clocks(cw):
    import io

    from django.core.management import call_command

    _ready(cw)
    out = io.StringIO()
    call_command("daily", "--date", (TODAY + datetime.timedelta(days=31)).isoformat(), stdout=out)
    assert "claim_clocks" in out.getvalue()
    assert Claim.objects.get().overdue


def test_report_decision_and_payment_are_announced_to_other_systems_after_commit(
    cw, django_capture_on_commit_callbacks
):
    from insurdesk.common import events

    seen = []

    def listener(name, payload, personal):
        seen.append((name, payload["claim_no"], payload["state"]))

    events.subscribe(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            claim = _ready(cw)
            handling.claim_assess(actor=cw.handler, claim_id=claim.pk,
                                  data={"findings": "按条款", "covered_amount": "10000"})  # fmt: skip
            handling.claim_decide(actor=cw.handler, claim_id=claim.pk, decision="part_pay", amount="7000",
                                  reasons="部分费用超出合理范围", today=TODAY)  # fmt: skip
            handling.claim_pay(actor=cw.handler, claim_id=claim.pk, method="transfer")
    finally:
        events._HANDLERS.remove(listener)
    assert seen == [
        ("claim.reported", claim.claim_no, "reported"),
        ("claim.decided", claim.claim_no, "approved"),
        ("claim.paid", claim.claim_no, "paid"),
    ]
