"""Servicing over time: lapse and reinstatement through `insurdesk daily`, loan interest and termination,
survival and maturity benefits, group members added and removed pro rata."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from insurdesk.identity.testing import make_resident_id
from insurdesk.policies.members import member_add
from insurdesk.policies.services import payment_record, policy_issue
from insurdesk.products.models import Product
from insurdesk.servicing.models import MoneyKind, MoneyMovement, PolicyLoan, State
from insurdesk.servicing.services import (
    benefits_pay,
    loans_accrue,
    servicing_approve,
    servicing_request_create,
    servicing_underwrite,
)
from insurdesk.underwriting.services import underwriting_open
from insurdesk.underwriting.testing import group_input, submit_application

pytestmark = pytest.mark.django_db

MONTHLY_TERM_LIFE = {
    "lines": [{"product_code": "L102", "coverage_term": "20y", "sum_insured": "300000", "premium": "150.00"}],
    "total_premium": "150.00",
    "payment_mode": "monthly",
    "payment_term": "20y",
}


def test_a_lapsed_policy_is_reinstated_with_arrears_and_interest(nb, in_force):
    policy = in_force(**MONTHLY_TERM_LIFE)
    lapse_day = policy.effective_date + datetime.timedelta(days=31 + 61)
    call_command("daily", date=lapse_day)
    policy.refresh_from_db()
    assert policy.state == "lapsed"
    day = lapse_day + datetime.timedelta(days=10)
    req = servicing_request_create(
        actor=nb.service, policy_id=policy.pk, kind="reinstatement", effective_date=day, today=lapse_day
    )
    assert req.state == State.REFERRED  # L102 asks for a health re-declaration
    arrears = next(d for d in req.diff if d["field"] == "arrears")
    assert Decimal(arrears["after"]) >= Decimal("450.00")  # months 2, 3 and 4 at least
    servicing_underwrite(actor=nb.underwriter, request_id=req.pk, accept=True)
    servicing_approve(actor=nb.manager, request_id=req.pk, today=lapse_day)
    assert servicing_approve(actor=nb.admin, request_id=req.pk, today=lapse_day).state == State.APPROVED
    call_command("daily", date=day)
    req.refresh_from_db()
    policy.refresh_from_db()
    assert req.state == State.APPLIED, req.closed_reason
    assert policy.state == "reinstated" and policy.reinstated_on == day
    assert not policy.instalments.filter(
        status__in=("unpaid", "overdue", "partial"), due_date__lte=day
    ).exists()
    assert MoneyMovement.objects.filter(policy=policy, kind=MoneyKind.ARREARS_INTEREST).exists()


def test_reinstatement_is_refused_two_years_after_the_lapse(nb, in_force):
    policy = in_force(**MONTHLY_TERM_LIFE)
    lapse_day = policy.effective_date + datetime.timedelta(days=31 + 61)
    call_command("daily", date=lapse_day)
    late = lapse_day + datetime.timedelta(days=2 * 366)
    from insurdesk.common.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        servicing_request_create(
            actor=nb.service, policy_id=policy.pk, kind="reinstatement", effective_date=late, today=late
        )
    assert exc.value.errors[0].code == "too_late"


def _loan(nb, policy, day, amount):
    req = servicing_request_create(
        actor=nb.clerk,
        policy_id=policy.pk,
        kind="loan",
        changes={"amount": amount},
        effective_date=day,
        today=day,
    )
    servicing_approve(actor=nb.service, request_id=req.pk, today=day)
    servicing_approve(actor=nb.manager, request_id=req.pk, today=day)
    return PolicyLoan.objects.get(request=req)


def test_loan_interest_accrues_daily_and_is_repaid_interest_first(nb, in_force):
    policy = in_force()
    day = policy.effective_date + datetime.timedelta(days=3 * 365 + 10)
    loan = _loan(nb, policy, day, "10000")
    loans_accrue(day=day + datetime.timedelta(days=1))
    loans_accrue(day=day + datetime.timedelta(days=1))  # twice on one day changes nothing
    loans_accrue(day=day + datetime.timedelta(days=365))
    loan.refresh_from_db()
    assert loan.interest == Decimal("500.00")  # 10,000 at 5 % for 365 days
    pay_day = day + datetime.timedelta(days=365)
    req = servicing_request_create(
        actor=nb.clerk,
        policy_id=policy.pk,
        kind="loan_repay",
        changes={"amount": "600"},
        effective_date=pay_day,
        today=pay_day,
    )
    servicing_approve(actor=nb.service, request_id=req.pk, today=pay_day)
    servicing_approve(actor=nb.manager, request_id=req.pk, today=pay_day)
    loan.refresh_from_db()
    assert loan.interest == Decimal("0.00") and loan.principal == Decimal("9900.00")


def test_a_loan_and_interest_above_the_cash_value_ends_the_policy(nb, in_force):
    policy = in_force()
    day = policy.effective_date + datetime.timedelta(days=3 * 365 + 10)
    # A flat table: 100 per 1,000 from the first year on, 50,000 on 500,000; 80 % may be lent.
    Product.objects.filter(code="L101").update(cash_values=["100.00"] * 40)
    loan = _loan(nb, policy, day, "40000")
    assert loans_accrue(day=day + datetime.timedelta(days=365)).terminated == 0
    # Five years of 5 % interest take 40,000 past 50,000.
    far = day + datetime.timedelta(days=365 * 5 + 30)
    result = loans_accrue(day=far)
    policy.refresh_from_db()
    loan.refresh_from_db()
    assert result.terminated == 1 and policy.state == "surrendered"
    assert "贷款" in policy.termination_reason and loan.state == "settled"


def test_survival_benefits_are_paid_once_on_their_anniversary(nb, in_force):
    policy = in_force()  # L101: 20 per 1,000 every 3 years on 500,000
    due = policy.effective_date.replace(year=policy.effective_date.year + 3)
    assert benefits_pay(day=due - datetime.timedelta(days=1)).survival == 0
    assert benefits_pay(day=due).survival == 1
    assert benefits_pay(day=due).survival == 0
    paid = MoneyMovement.objects.get(policy=policy, kind=MoneyKind.SURVIVAL)
    assert paid.amount == Decimal("10000.00") and paid.payee == policy.insured.name


def test_a_matured_policy_pays_its_maturity_benefit_once(nb, in_force):
    from insurdesk.policies.services import policies_mature_check

    Product.objects.filter(code="L102").update(maturity_benefit="1000.00")
    policy = in_force(**MONTHLY_TERM_LIFE)
    end = policy.expiry_date + datetime.timedelta(days=1)
    policies_mature_check(today=end)
    assert benefits_pay(day=end).maturity == 1
    assert benefits_pay(day=end).maturity == 0
    assert MoneyMovement.objects.get(policy=policy, kind=MoneyKind.MATURITY).amount == Decimal("300000.00")


@pytest.fixture
def group_in_force(nb):
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    app = submit_application(
        clerk=nb.clerk,
        clerk2=nb.clerk2,
        data=group_input(company=nb.company, agent=nb.agent, application_date=yesterday),
    )
    underwriting_open(actor=None, application_id=app.pk)
    policy = policy_issue(actor=nb.clerk, application_id=app.pk)
    due = policy.instalments.get(seq=1)
    payment_record(
        actor=nb.clerk, policy_id=policy.pk, amount=due.amount, method="transfer", paid_on=yesterday
    )
    for seq in range(1, 3):
        member_add(
            actor=nb.clerk,
            policy_id=policy.pk,
            data={
                "name": f"员工{seq}",
                "id_number": make_resident_id(datetime.date(1990, 1, seq), "M", seq=2 * seq + 1),
                "plan_level": "B",
            },
        )
    policy.refresh_from_db()
    return policy


def test_members_added_and_removed_pay_pro_rata_by_days(nb, group_in_force):
    policy = group_in_force
    leaving = policy.members.order_by("seq").first()
    day = policy.effective_date + datetime.timedelta(days=100)
    req = servicing_request_create(
        actor=nb.clerk,
        policy_id=policy.pk,
        kind="members",
        changes={
            "add": [
                {
                    "name": "新员工",
                    "id_number": make_resident_id(datetime.date(1995, 5, 5), "F", seq=8),
                    "plan_level": "B",
                }
            ],
            "remove": [leaving.pk],
        },
        effective_date=day,
        today=day,
    )
    servicing_approve(actor=nb.service, request_id=req.pk, today=day)
    servicing_approve(actor=nb.manager, request_id=req.pk, today=day)
    days_left = (policy.expiry_date - day).days + 1
    year = (policy.expiry_date - policy.effective_date).days + 1
    expected = (Decimal("150.00") * days_left / year).quantize(Decimal("0.01"))
    charge = MoneyMovement.objects.get(policy=policy, kind=MoneyKind.MEMBER_CHARGE)
    refund = MoneyMovement.objects.get(policy=policy, kind=MoneyKind.MEMBER_REFUND)
    assert charge.amount == expected == refund.amount
    leaving.refresh_from_db()
    assert leaving.status == "removed" and leaving.left_on == day
    assert policy.members.filter(status="active").count() == 2
