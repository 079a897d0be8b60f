"""Property tests of servicing over random sequences of requests, approvals, rejections and days passing.

Whatever the order: an illegal transition is refused and changes nothing; refunds never exceed the premium
received; nothing is paid twice; a loan never passes the product's share of the cash value; the requester
never approves, and money moves only with two distinct approvers besides the requester.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from insurdesk.common.errors import DomainError, IllegalTransition
from insurdesk.policies.models import Payment, PaymentKind, Policy
from insurdesk.servicing import calculations as calc
from insurdesk.servicing.kinds import policy_cash_value
from insurdesk.servicing.models import (
    MONEY_KINDS,
    Direction,
    Endorsement,
    LoanState,
    MoneyKind,
    MoneyMovement,
    PolicyLoan,
    ServicingRequest,
    State,
)
from insurdesk.servicing.services import (
    loans_accrue,
    servicing_approve,
    servicing_reject,
    servicing_request_create,
    servicing_withdraw,
)

pytestmark = pytest.mark.django_db

KINDS = st.sampled_from(
    ["contact", "loan", "loan", "loan_repay", "loan_repay", "surrender", "sum_insured", "beneficiary"]
)
# Mostly within the loan limit (about 8,000 in the second policy year), sometimes far above it.
AMOUNTS = st.one_of(
    st.decimals(min_value=Decimal("1"), max_value=Decimal("9000"), places=2),
    st.decimals(min_value=Decimal("1"), max_value=Decimal("60000"), places=2),
)
CLOSED = (State.APPLIED, State.REJECTED, State.WITHDRAWN, State.FAILED)


def _changes(kind: str, amount: Decimal) -> dict:
    return {
        "contact": {"email": f"p{int(amount)}@example.cn"},
        "loan": {"amount": str(amount)},
        "loan_repay": {"amount": str(amount)},
        "surrender": {},
        "sum_insured": {"sum_insured": "400000"},
        "beneficiary": {
            "beneficiaries": [{"order": 1, "name": "张小红", "share": "100", "relationship": "child"}],
            "insured_consent": True,
        },
    }[kind]


def _snapshot(req: ServicingRequest) -> tuple:
    req.refresh_from_db()
    return (
        req.state,
        req.first_approver_id,
        req.second_approver_id,
        req.closed_reason,
        Endorsement.objects.filter(request=req).count(),
        MoneyMovement.objects.filter(policy=req.policy_id).count(),
    )


@pytest.fixture
def machine(nb, in_force):
    policy = in_force()
    users = [nb.clerk, nb.service, nb.manager, nb.admin]
    approvers = [nb.service, nb.manager, nb.admin]
    start = policy.effective_date + datetime.timedelta(days=400)

    class Servicing(RuleBasedStateMachine):
        @initialize()
        def begin(self):
            self.savepoint = transaction.savepoint()
            self.day = start
            self.requests: list[int] = []

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        @rule(kind=KINDS, amount=AMOUNTS, who=st.sampled_from(users))
        def request(self, kind, amount, who):
            try:
                req = servicing_request_create(
                    actor=who,
                    policy_id=policy.pk,
                    kind=kind,
                    changes=_changes(kind, amount),
                    effective_date=self.day,
                    today=self.day,
                )
            except DomainError:
                return
            self.requests.append(req.pk)

        @rule(pick=st.integers(min_value=0, max_value=50), who=st.sampled_from(approvers))
        def approve(self, pick, who):
            if not self.requests:
                return
            req = ServicingRequest.objects.get(pk=self.requests[pick % len(self.requests)])
            before = _snapshot(req)
            try:
                servicing_approve(actor=who, request_id=req.pk, today=self.day)
            except IllegalTransition:
                assert before[0] not in (State.REQUESTED, State.FIRST_APPROVED)
                assert _snapshot(req) == before
            except DomainError:
                assert _snapshot(req) == before

        @rule(pick=st.integers(min_value=0, max_value=50), withdraw=st.booleans())
        def close(self, pick, withdraw):
            if not self.requests:
                return
            req = ServicingRequest.objects.get(pk=self.requests[pick % len(self.requests)])
            before = _snapshot(req)
            try:
                if withdraw:
                    servicing_withdraw(actor=nb.clerk, request_id=req.pk, reason="客户撤回")
                else:
                    servicing_reject(actor=nb.manager, request_id=req.pk, reason="不符合条件")
            except IllegalTransition:
                assert before[0] in CLOSED or (not withdraw and before[0] == State.APPROVED)
                assert _snapshot(req) == before

        @rule(days=st.integers(min_value=1, max_value=400))
        def days_pass(self, days):
            self.day += datetime.timedelta(days=days)
            loans_accrue(day=self.day)

        @invariant()
        def refunds_within_premium_received(self):
            paid = Payment.objects.filter(policy=policy, kind=PaymentKind.PREMIUM).aggregate(s=Sum("amount"))[
                "s"
            ]
            back = (
                MoneyMovement.objects.filter(
                    policy=policy,
                    direction=Direction.PAY,
                    kind__in=(MoneyKind.SURRENDER, MoneyKind.MEMBER_REFUND, MoneyKind.RIDER_REFUND),
                ).aggregate(s=Sum("amount"))["s"]
                or 0
            )
            assert back <= (paid or 0)

        @invariant()
        def nothing_paid_twice(self):
            assert MoneyMovement.objects.filter(policy=policy, kind=MoneyKind.SURRENDER).count() <= 1
            assert MoneyMovement.objects.filter(policy=policy, kind=MoneyKind.LOAN).count() == (
                PolicyLoan.objects.filter(policy=policy).count()
            )
            for req in ServicingRequest.objects.filter(policy=policy):
                assert Endorsement.objects.filter(request=req).count() == (
                    1 if req.state == State.APPLIED else 0
                )

        @invariant()
        def loans_within_the_allowed_share(self):
            if not self.requests:
                return
            fresh = Policy.objects.get(pk=policy.pk)
            principal = (
                PolicyLoan.objects.filter(policy=policy, state=LoanState.OPEN).aggregate(s=Sum("principal"))[
                    "s"
                ]
                or 0
            )
            cap = calc.loan_limit(policy_cash_value(fresh, self.day), fresh.product.loan_share)
            assert principal <= cap

        @invariant()
        def four_eyes(self):
            for req in ServicingRequest.objects.filter(policy=policy, state=State.APPLIED):
                people = [req.requested_by_id, req.first_approver_id]
                if req.kind in MONEY_KINDS:
                    people.append(req.second_approver_id)
                assert len(set(people)) == len(people)

    return Servicing


def test_random_servicing_sequences_keep_the_rules(machine):
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=12,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
