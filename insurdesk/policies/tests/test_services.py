"""Issuing, payments, lapse and reinstatement, cooling-off cancellation, a customer's policies."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from insurdesk.applications.models import State as AppState
from insurdesk.applications.services import application_recording_attach, application_recording_check
from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import Conflict, IllegalTransition, NotAllowed, NotFound, ValidationFailed
from insurdesk.policies import calculations as calc
from insurdesk.policies.models import Instalment, InstalmentStatus, Payment, Policy, PolicyState
from insurdesk.policies.selectors import (
    DueFilters,
    customer_policies,
    due_list,
    instalment_status_on,
    policy_list,
)
from insurdesk.policies.services import (
    payment_record,
    policies_lapse_check,
    policies_mature_check,
    policy_cancel,
    policy_issue,
    policy_record_receipt,
    policy_reinstate,
    policy_schedule,
)
from insurdesk.underwriting.services import underwriting_decide, underwriting_open

TODAY = timezone.localdate()


def pay(nb, policy, amount=None, method="transfer", **kw):
    amount = (
        amount
        if amount is not None
        else Instalment.objects.filter(policy=policy, status__in=["unpaid", "overdue", "partial"])
        .order_by("seq")
        .first()
        .outstanding
    )
    kw.setdefault("paid_on", TODAY)
    return payment_record(actor=nb.clerk, policy_id=policy.pk, amount=amount, method=method, **kw)


# ------------------------------------------------------------------ issuing


def test_issuing_an_accepted_application_writes_the_policy_and_its_first_premium(nb, issued):
    policy = issued()
    assert policy.policy_no.startswith("BD") and len(policy.policy_no) == 12
    assert policy.state == PolicyState.PENDING
    assert policy.policyholder == nb.husband and policy.insured == nb.wife and policy.relationship == "spouse"
    assert policy.effective_date == TODAY + datetime.timedelta(days=1) and policy.issue_date == TODAY
    assert policy.expiry_date is None  # 终身
    assert policy.payment_mode == "annual" and policy.instalment_total == 20
    assert policy.premium == Decimal("15000.00") and policy.annual_premium == Decimal("15000.00")
    assert policy.sum_insured == Decimal("700000.00")
    assert policy.cooling_off_days == 15 and policy.grace_days == 60
    lines = list(policy.lines.order_by("seq"))
    assert [(line.product.code, line.is_rider) for line in lines] == [("L101", False), ("R201", True)]
    assert [b.name for b in policy.beneficiaries.all()] == ["王小明"]
    (first,) = Instalment.objects.filter(policy=policy)
    assert first.seq == 1 and first.due_date == policy.effective_date and first.amount == Decimal("15000.00")
    assert first.status == InstalmentStatus.UNPAID and first.unit_id == policy.unit_id
    policy.application.refresh_from_db()
    assert policy.application.state == AppState.ISSUED
    assert AuditEntry.objects.filter(action="policy.issue", target_id=str(policy.pk)).exists()


def test_the_schedule_adds_up_to_the_premium_times_the_years(nb, issued):
    policy = issued()
    schedule = policy_schedule(policy)
    assert len(schedule) == 20 and sum(i.amount for i in schedule) == Decimal("300000.00")
    assert schedule[1].due_date == calc.add_years(policy.effective_date, 1)


def test_a_rating_is_added_to_the_main_line_and_every_premium(nb, issued):
    policy = issued(decision="rated", health_disclosure=True, health_details="高血压")
    main = policy.lines.get(seq=1)
    assert main.extra_premium == Decimal("1200.00") and policy.lines.get(seq=2).extra_premium == 0
    assert policy.premium == Decimal("16200.00") and policy.underwriting_decision == "rated"
    assert Instalment.objects.get(policy=policy).amount == Decimal("16200.00")


def test_an_exclusion_is_written_on_the_main_line(nb, issued):
    policy = issued(decision="exclusion", health_disclosure=True, health_details="高血压")
    assert "高血压" in policy.lines.get(seq=1).exclusion and "高血压" in policy.exclusion


def test_a_monthly_policy_splits_the_premium_per_instalment(nb, submitted):
    lines = [{"product_code": "L102", "coverage_term": "20y", "sum_insured": "500000", "premium": "300.00"}]
    app = submitted(lines=lines, total_premium="300.00", payment_mode="monthly", payment_term="20y")
    underwriting_open(actor=None, application_id=app.pk)
    policy = policy_issue(actor=nb.clerk, application_id=app.pk)
    assert policy.instalment_total == 240 and policy.annual_premium == Decimal("3600.00")
    assert policy.expiry_date == calc.expiry_date(policy.effective_date, 20)
    schedule = policy_schedule(policy)
    assert all(i.amount == Decimal("300.00") for i in schedule)
    assert schedule[1].due_date == calc.add_months(policy.effective_date, 1)


def test_issuing_twice_or_before_acceptance_is_refused(nb, submitted):
    app = submitted(health_disclosure=True, health_details="高血压")
    underwriting_open(actor=None, application_id=app.pk)
    with pytest.raises(IllegalTransition):
        policy_issue(actor=nb.clerk, application_id=app.pk)
    underwriting_decide(actor=nb.underwriter, application_id=app.pk, decision="standard")
    policy_issue(actor=nb.clerk, application_id=app.pk)
    with pytest.raises(Conflict):
        policy_issue(actor=nb.clerk, application_id=app.pk)
    assert Policy.objects.count() == 1


@pytest.mark.parametrize("role", ["reviewer", "agent", "service", "claims", "cs", "compliance", "manager"])
def test_roles_without_issue_cannot_issue(nb, submitted, role):
    app = submitted()
    underwriting_open(actor=None, application_id=app.pk)
    with pytest.raises(NotAllowed):
        policy_issue(actor=nb.users[role], application_id=app.pk)


def test_a_sales_recording_must_be_attached_and_checked_before_issue(nb, submitted):
    lines = [{"product_code": "U501", "coverage_term": "10y", "sum_insured": "100000", "premium": "10000.00"}]
    app = submitted(lines=lines, total_premium="10000.00", payment_term="5y")
    assert app.recording_required
    underwriting_open(actor=None, application_id=app.pk)
    with pytest.raises(IllegalTransition) as exc:
        policy_issue(actor=nb.clerk, application_id=app.pk)
    assert exc.value.errors[0].code == "recording_required"
    application_recording_attach(actor=nb.clerk, application_id=app.pk, reference="SL-2026-0001")
    with pytest.raises(IllegalTransition):
        policy_issue(actor=nb.clerk, application_id=app.pk)
    application_recording_check(actor=nb.reviewer, application_id=app.pk, passed=True, note="合格")
    policy = policy_issue(actor=nb.clerk, application_id=app.pk)
    assert policy.state == PolicyState.PENDING and not Policy.objects.exclude(pk=policy.pk).exists()


# ------------------------------------------------------------------ payments


def test_the_first_premium_puts_the_policy_in_force_and_writes_the_next_one(nb, issued):
    policy = issued()
    payment, warnings = pay(nb, policy, reference="ZZ0001")
    policy.refresh_from_db()
    assert policy.state == PolicyState.IN_FORCE and warnings == []
    assert payment.period_start == policy.effective_date and payment.amount == Decimal("15000.00")
    first, second = Instalment.objects.filter(policy=policy).order_by("seq")
    assert first.status == InstalmentStatus.PAID and first.paid_on == TODAY
    assert second.seq == 2 and second.due_date == calc.add_years(policy.effective_date, 1)
    assert policy.paid_to == second.due_date


def test_a_part_payment_leaves_the_premium_partly_paid(nb, issued):
    policy = issued()
    pay(nb, policy, amount="5000")
    inst = Instalment.objects.get(policy=policy)
    assert inst.status == InstalmentStatus.PARTIAL and inst.outstanding == Decimal("10000.00")
    policy.refresh_from_db()
    assert policy.state == PolicyState.PENDING
    pay(nb, policy, amount="10000")
    policy.refresh_from_db()
    assert policy.state == PolicyState.IN_FORCE


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"amount": "15000.01"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"method": "bitcoin"}, "method"),
        ({"paid_on": TODAY + datetime.timedelta(days=1)}, "paid_on"),
    ],
)
def test_wrong_payments_are_refused(nb, issued, kwargs, field):
    policy = issued()
    data = {"amount": "100", "method": "cash", "paid_on": TODAY} | kwargs
    with pytest.raises(ValidationFailed) as exc:
        payment_record(actor=nb.clerk, policy_id=policy.pk, **data)
    assert field in {e.field for e in exc.value.errors}
    assert not Payment.objects.exists()


def test_large_cash_is_flagged_for_identification(nb, issued, settings):
    policy = issued()
    _, warnings = pay(nb, policy, amount="5000", method="cash")
    assert warnings == []  # below RMB 20,000
    settings.INSURDESK_AML_CASH_THRESHOLD = "10000"
    _, warnings = pay(nb, policy, amount="10000", method="cash")
    assert warnings and "反洗钱" in warnings[0]
    assert AuditEntry.objects.filter(action="payment.record", detail__aml_flag=True).count() == 1


@pytest.mark.parametrize(
    "role", ["reviewer", "agent", "underwriter", "claims", "cs", "compliance", "manager"]
)
def test_roles_without_payment_record_cannot_record(nb, issued, role):
    policy = issued()
    with pytest.raises(NotAllowed):
        payment_record(actor=nb.users[role], policy_id=policy.pk, amount="1", method="cash", paid_on=TODAY)


def test_a_policy_outside_the_unit_does_not_exist_for_the_payer(nb, issued, make_user):
    policy = issued()
    with pytest.raises(NotFound):
        payment_record(
            actor=make_user("clerk", "GZ"), policy_id=policy.pk, amount="1", method="cash", paid_on=TODAY
        )


# ------------------------------------------------------------------ due list, overdue, lapse, reinstatement


def test_the_due_list_shows_open_premiums_by_unit_agent_and_date(nb, issued):
    policy = issued()
    rows = list(due_list(viewer=nb.service))
    assert [r.policy_id for r in rows] == [policy.pk]
    assert list(due_list(viewer=nb.service, filters=DueFilters(agent_id=nb.agent.pk))) == rows
    assert not due_list(viewer=nb.service, filters=DueFilters(unit_id=nb.units["GZ"].pk)).exists()
    assert not due_list(
        viewer=nb.service, filters=DueFilters(due_from=TODAY + datetime.timedelta(days=2))
    ).exists()
    assert list(due_list(viewer=nb.agent)) == rows  # the agent who sold it
    pay(nb, policy)
    assert [r.seq for r in due_list(viewer=nb.service)] == [2]


def test_an_unpaid_premium_past_its_due_date_is_overdue_before_the_daily_check_runs(nb, issued):
    policy = issued()
    pay(nb, policy)
    second = Instalment.objects.get(policy=policy, seq=2)
    due, after = second.due_date, second.due_date + datetime.timedelta(days=1)
    assert second.status == InstalmentStatus.UNPAID  # policies_lapse_check has not marked it
    assert instalment_status_on(second, due) == "unpaid" and instalment_status_on(second, after) == "overdue"

    def listed(status, today):
        return [i.seq for i in due_list(viewer=nb.service, filters=DueFilters(status=status, today=today))]

    assert listed("unpaid", due) == [2] and listed("overdue", due) == []
    assert listed("unpaid", after) == [] and listed("overdue", after) == [2]
    pay(nb, policy, amount="100.00")
    second.refresh_from_db()
    assert instalment_status_on(second, after) == "partial"
    assert listed("partial", after) == [2] and listed("overdue", after) == [] and listed("", after) == [2]


def test_lapse_check_marks_overdue_then_lapses_after_the_grace_period(nb, issued):
    policy = issued()
    pay(nb, policy)
    due = Instalment.objects.get(policy=policy, seq=2).due_date
    result = policies_lapse_check(today=due)
    assert result.marked_overdue == 0 and result.lapsed == []
    result = policies_lapse_check(today=due + datetime.timedelta(days=1))
    assert result.marked_overdue == 1 and result.lapsed == []
    assert Instalment.objects.get(policy=policy, seq=2).status == InstalmentStatus.OVERDUE
    assert policies_lapse_check(today=calc.grace_end(due, 60)).lapsed == []
    result = policies_lapse_check(today=calc.lapse_date(due, 60))
    assert result.lapsed == [policy.policy_no]
    policy.refresh_from_db()
    assert policy.state == PolicyState.LAPSED and policy.lapsed_on == calc.lapse_date(due, 60)
    assert AuditEntry.objects.filter(action="policy.lapse", target_id=str(policy.pk)).exists()
    # running again changes nothing
    assert policies_lapse_check(today=calc.lapse_date(due, 60)).lapsed == []


def test_a_lapsed_policy_is_reinstated_once_the_arrears_are_paid(nb, issued):
    policy = issued()
    pay(nb, policy)
    due = Instalment.objects.get(policy=policy, seq=2).due_date
    lapse_day = calc.lapse_date(due, 60)
    policies_lapse_check(today=lapse_day)
    with pytest.raises(ValidationFailed) as exc:
        policy_reinstate(actor=nb.service, policy_id=policy.pk, today=lapse_day)
    assert exc.value.errors[0].code == "arrears"
    payment_record(
        actor=nb.service,
        policy_id=policy.pk,
        amount="15000",
        method="transfer",
        paid_on=TODAY,
        today=lapse_day,
    )
    policy = policy_reinstate(actor=nb.service, policy_id=policy.pk, today=lapse_day)
    assert policy.state == PolicyState.REINSTATED and policy.reinstated_on == lapse_day
    with pytest.raises(IllegalTransition):
        policy_reinstate(actor=nb.service, policy_id=policy.pk, today=lapse_day)


def test_reinstatement_after_two_years_is_refused(nb, issued):
    policy = issued()
    pay(nb, policy)
    due = Instalment.objects.get(policy=policy, seq=2).due_date
    policies_lapse_check(today=calc.lapse_date(due, 60))
    with pytest.raises(ValidationFailed) as exc:
        policy_reinstate(actor=nb.service, policy_id=policy.pk, today=calc.add_years(due, 3))
    assert exc.value.errors[0].code == "too_late"


def test_maturity_ends_the_policy_after_its_expiry(nb, submitted):
    lines = [{"product_code": "L102", "coverage_term": "20y", "sum_insured": "500000", "premium": "3600.00"}]
    app = submitted(lines=lines, total_premium="3600.00", payment_term="10y")
    underwriting_open(actor=None, application_id=app.pk)
    policy = policy_issue(actor=nb.clerk, application_id=app.pk)
    pay(nb, policy)
    assert policies_mature_check(today=policy.expiry_date) == []
    assert policies_mature_check(today=policy.expiry_date + datetime.timedelta(days=1)) == [policy.policy_no]
    policy.refresh_from_db()
    assert policy.state == PolicyState.MATURED
    assert not Instalment.objects.filter(policy=policy, status__in=["unpaid", "overdue", "partial"]).exists()


# ------------------------------------------------------------------ cooling-off (犹豫期)


def test_a_cancellation_inside_the_cooling_off_period_refunds_the_premium_paid(nb, issued):
    policy = issued()
    pay(nb, policy)
    policy_record_receipt(actor=nb.service, policy_id=policy.pk, receipt_date=TODAY)
    policy, refund = policy_cancel(
        actor=nb.service,
        policy_id=policy.pk,
        reason="客户不想要了",
        today=TODAY + datetime.timedelta(days=15),
    )
    assert policy.state == PolicyState.CANCELLED and policy.terminated_on == TODAY + datetime.timedelta(
        days=15
    )
    assert refund.kind == "refund" and refund.amount == Decimal("15000.00") and refund.method == "transfer"
    assert not due_list(viewer=nb.service).exists()
    assert Instalment.objects.filter(policy=policy, status=InstalmentStatus.VOID).count() == 1


def test_a_cancellation_before_any_payment_refunds_nothing(nb, issued):
    policy, refund = policy_cancel(actor=nb.service, policy_id=issued().pk, reason="撤单")
    assert policy.state == PolicyState.CANCELLED and refund is None


def test_a_cancellation_after_the_cooling_off_period_is_refused_with_its_dates(nb, issued):
    policy = issued()
    pay(nb, policy)
    with pytest.raises(ValidationFailed) as exc:
        policy_cancel(actor=nb.service, policy_id=policy.pk, today=TODAY + datetime.timedelta(days=16))
    err = exc.value.errors[0]
    assert err.code == "cooling_off_over" and "15 天" in err.message and "退保" in err.message
    policy.refresh_from_db()
    assert policy.state == PolicyState.IN_FORCE and not Payment.objects.filter(kind="refund").exists()


def test_the_receipt_date_moves_the_cooling_off_period(nb, issued):
    policy = issued()
    later = TODAY
    policy_record_receipt(actor=nb.service, policy_id=policy.pk, receipt_date=later)
    with pytest.raises(ValidationFailed):
        policy_record_receipt(
            actor=nb.service, policy_id=policy.pk, receipt_date=TODAY + datetime.timedelta(days=1)
        )
    with pytest.raises(ValidationFailed):
        policy_record_receipt(
            actor=nb.service, policy_id=policy.pk, receipt_date=policy.issue_date - datetime.timedelta(days=1)
        )


def test_a_product_without_cooling_off_cannot_be_cancelled(nb, submitted):
    lines = [{"product_code": "A401", "coverage_term": "1y", "sum_insured": "100000", "premium": "200.00"}]
    app = submitted(lines=lines, total_premium="200.00", payment_mode="single", payment_term="single")
    underwriting_open(actor=None, application_id=app.pk)
    policy = policy_issue(actor=nb.clerk, application_id=app.pk)
    assert policy.instalment_total == 1 and policy.expiry_date == calc.expiry_date(policy.effective_date, 1)
    with pytest.raises(ValidationFailed) as exc:
        policy_cancel(actor=nb.service, policy_id=policy.pk)
    assert "没有犹豫期" in exc.value.errors[0].message


@pytest.mark.parametrize(
    "role", ["clerk", "reviewer", "agent", "underwriter", "claims", "cs", "compliance", "manager"]
)
def test_only_service_and_admin_cancel(nb, issued, role):
    with pytest.raises(NotAllowed):
        policy_cancel(actor=nb.users[role], policy_id=issued().pk)


# ------------------------------------------------------------------ a customer's policies


def test_a_customer_sees_policies_in_every_role(nb, issued):
    from insurdesk.customers.services import customer_create
    from insurdesk.identity.testing import make_resident_id

    son, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "王小明",
            "id_number": make_resident_id(datetime.date(2010, 3, 3), "M", seq=21),
            "unit_id": nb.units["SZ"].pk,
        },
    )
    policy = issued(
        beneficiaries=[
            {
                "order": 1,
                "name": "王小明",
                "share": "100",
                "relationship": "child",
                "id_type": "resident_id",
                "id_number": son.id_number,
            }
        ]
    )
    roles = {c.pk: customer_policies(customer_id=c.pk, viewer=nb.clerk) for c in (nb.husband, nb.wife, son)}
    assert [r["roles"] for r in roles[nb.husband.pk]] == [["投保人"]]
    assert [r["roles"] for r in roles[nb.wife.pk]] == [["被保险人"]]
    assert [r["roles"] for r in roles[son.pk]] == [["受益人"]]
    assert all(r["visible"] and r["policy"] == policy for rows in roles.values() for r in rows)
    assert list(policy_list(viewer=nb.clerk, query=policy.policy_no)) == [policy]
