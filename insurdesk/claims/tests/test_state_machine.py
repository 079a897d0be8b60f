"""Random sequences of claim actions (hypothesis stateful): illegal steps are refused and change
nothing; what is paid never exceeds the sum insured; no claim is paid twice."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck
from hypothesis import settings as run_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from insurdesk.claims import handling
from insurdesk.claims.models import TRANSITIONS, Claim, ClaimEvent, ClaimNotice, ClaimPayment, ClaimState
from insurdesk.claims.tests.conftest import report_data
from insurdesk.common.errors import DomainError, IllegalTransition

# The states each action may start from (the rest must be refused with code "state").
FROM = {
    "documents": {ClaimState.REPORTED},
    "assess": {ClaimState.REVIEWING},
    "decide": {ClaimState.REVIEWING},
    "approve": {ClaimState.PENDING_APPROVAL},
    "pay": {ClaimState.APPROVED},
    "advance": {ClaimState.REVIEWING, ClaimState.PENDING_APPROVAL},
    "close": {s for s, nxt in TRANSITIONS.items() if ClaimState.CLOSED in nxt},
    "reopen": {ClaimState.CLOSED},
}
MONEY = st.one_of(
    st.sampled_from([Decimal("800"), Decimal("8000"), Decimal("20000")]),
    st.decimals(min_value=0, max_value=30000, places=0),
)


def _snapshot(claim_id: int) -> tuple:
    c = Claim.objects.get(pk=claim_id)
    return (
        c.state, c.amount_paid, c.decision, c.decision_amount, c.documents, c.next_deadline,
        ClaimPayment.objects.filter(claim_id=claim_id).count(),
        ClaimEvent.objects.filter(claim_id=claim_id).count(),
        ClaimNotice.objects.filter(claim_id=claim_id).count(),
    )  # fmt: skip


class ClaimMachine(RuleBasedStateMachine):
    world = None  # set by the test: handlers and a policy

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.claims: list[int] = []
        self.pays: dict[int, int] = {}

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize()
    def first_report(self):
        self.report(Decimal("8000"))

    @precondition(lambda self: len(self.claims) < 3)
    @rule(amount=MONEY)
    def report(self, amount):
        w = self.world
        claim = handling.claim_report(actor=w.cs, data=report_data(w.health, amount_claimed=str(amount)))
        self.claims.append(claim.pk)

    def _act(self, index: int, action: str, run) -> None:
        claim_id = self.claims[index % len(self.claims)]
        before = _snapshot(claim_id)
        try:
            run(claim_id)
        except IllegalTransition as exc:
            assert _snapshot(claim_id) == before
            assert exc.errors[0].code == "state"
            allowed_but_once = (
                action == "advance"
                and ClaimPayment.objects.filter(claim_id=claim_id, kind="advance").exists()
            )
            assert before[0] not in FROM[action] or allowed_but_once
        except DomainError:
            assert _snapshot(claim_id) == before

        else:
            assert before[0] in FROM[action]
            REACHED.add(Claim.objects.get(pk=claim_id).state)
            if action == "pay":
                self.pays[claim_id] = self.pays.get(claim_id, 0) + 1

    @rule(i=st.integers(0, 2), everything=st.sampled_from([True, True, True, False]), notify=st.booleans())
    def documents(self, i, everything, notify):
        def run(cid):
            codes = [d["code"] for d in Claim.objects.get(pk=cid).documents]
            handling.claim_documents(
                actor=self.world.handler, claim_id=cid, received=codes if everything else codes[:1],
                notify_missing=notify,
            )  # fmt: skip

        self._act(i, "documents", run)

    @rule(i=st.integers(0, 2), covered=MONEY, ratio=st.sampled_from(["100", "80", "50"]))
    def assess(self, i, covered, ratio):
        self._act(i, "assess", lambda cid: handling.claim_assess(
            actor=self.world.handler, claim_id=cid,
            data={"findings": "随机", "covered_amount": str(covered), "ratio": ratio},
        ))  # fmt: skip

    @rule(i=st.integers(0, 2), decision=st.sampled_from(["pay", "part_pay", "decline"]), amount=MONEY)
    def decide(self, i, decision, amount):
        self._act(i, "decide", lambda cid: handling.claim_decide(
            actor=self.world.handler, claim_id=cid, decision=decision, reasons="随机结论",
            amount=str(amount) if decision == "part_pay" else None,
        ))  # fmt: skip

    @rule(i=st.integers(0, 2), approve=st.booleans())
    def approve(self, i, approve):
        self._act(i, "approve", lambda cid: handling.claim_approve(
            actor=self.world.handler2, claim_id=cid, approve=approve, reason="复核",
        ))  # fmt: skip

    @rule(i=st.integers(0, 2))
    def pay(self, i):
        self._act(
            i,
            "pay",
            lambda cid: handling.claim_pay(actor=self.world.handler, claim_id=cid, method="transfer"),
        )

    @rule(i=st.integers(0, 2), amount=MONEY)
    def advance(self, i, amount):
        self._act(i, "advance", lambda cid: handling.claim_advance(
            actor=self.world.handler, claim_id=cid, amount=str(amount), method="transfer", reason="先予支付",
        ))  # fmt: skip

    @rule(i=st.integers(0, 2))
    def close(self, i):
        def run(cid):
            for n in ClaimNotice.objects.filter(claim_id=cid, kind="refusal", sent_on__isnull=True):
                handling.claim_notice_sent(actor=self.world.handler, claim_id=cid, notice_id=n.pk)
            handling.claim_close(actor=self.world.handler, claim_id=cid, reason="随机结案")

        self._act(i, "close", run)

    @rule(i=st.integers(0, 2))
    def reopen(self, i):
        self._act(
            i,
            "reopen",
            lambda cid: handling.claim_reopen(actor=self.world.handler, claim_id=cid, reason="重开"),
        )

    @rule(
        i=st.integers(0, 2),
        decision=st.sampled_from(["pay", "part_pay", "decline"]),
        covered=MONEY,
        approve=st.booleans(),
    )
    def next_step(self, i, decision, covered, approve):
        """Take the claim's next legal step, so sequences reach payment, refusal, closing and reopening."""
        state = Claim.objects.get(pk=self.claims[i % len(self.claims)]).state
        if state == ClaimState.REPORTED:
            self.documents(i, True, False)
        elif state == ClaimState.REVIEWING:
            if not Claim.objects.get(pk=self.claims[i % len(self.claims)]).assessments.exists():
                self.assess(i, covered, "100")
            else:
                self.decide(i, decision, covered / 2)
        elif state == ClaimState.PENDING_APPROVAL:
            self.approve(i, approve)
        elif state == ClaimState.APPROVED:
            self.pay(i)
        elif state == ClaimState.CLOSED:
            self.reopen(i)
        else:
            self.close(i)

    @rule(
        i=st.integers(0, 2),
        decision=st.sampled_from(["pay", "part_pay", "decline"]),
        covered=MONEY,
        approve=st.booleans(),
    )
    def run_through(self, i, decision, covered, approve):
        """Take up to eight next steps in a row: report to close, a reopening, and on."""
        for _ in range(8):
            self.next_step(i, decision, covered, approve)

    @invariant()
    def paid_never_exceeds_the_sum_insured(self):
        paid = (
            ClaimPayment.objects.filter(claim__policy=self.world.health).aggregate(s=Sum("amount"))["s"] or 0
        )
        assert paid <= self.world.health.sum_insured

    @invariant()
    def each_claim_paid_what_its_payments_say_and_never_twice(self):
        for c in Claim.objects.filter(pk__in=self.claims):
            total = c.payments.aggregate(s=Sum("amount"))["s"]
            assert (c.amount_paid or None) == (total or None)
            assert c.state in TRANSITIONS
            finals = c.events.filter(action="pay").count()
            assert finals == self.pays.get(c.pk, 0) <= c.reopened_count + 1
            if c.decision_amount is not None and c.state in (ClaimState.APPROVED, ClaimState.PAID):
                assert (c.amount_paid or 0) <= c.decision_amount


REACHED: set[str] = set()


@pytest.mark.django_db
def test_random_claim_actions_keep_the_rules_and_the_money(cw, settings):
    settings.CLAIM_APPROVAL_LIMITS = {"*": "6000"}  # large enough to be reached, so approvals happen too
    ClaimMachine.world = cw
    run_state_machine_as_test(
        ClaimMachine,
        settings=run_settings(
            max_examples=8, stateful_step_count=20, deadline=None, derandomize=True,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )  # fmt: skip
    # The sequences went the whole way, not only into refusals.
    assert {"paid", "closed", "rejected", "pending_approval"} <= REACHED
