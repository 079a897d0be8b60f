"""The servicing workflow: request, four-eyes approval, apply with an endorsement, and each kind's rules."""

import datetime
from decimal import Decimal

import pytest

from insurdesk.common.errors import IllegalTransition, NotAllowed, ValidationFailed
from insurdesk.servicing.models import Endorsement, MoneyKind, MoneyMovement, PolicyLoan, State
from insurdesk.servicing.services import (
    servicing_approve,
    servicing_documents,
    servicing_reject,
    servicing_request_create,
    servicing_underwrite,
    servicing_withdraw,
)

pytestmark = pytest.mark.django_db

NEW_BENEFICIARIES = [
    {"order": 1, "name": "张小红", "share": "60", "relationship": "child"},
    {"order": 1, "name": "张小刚", "share": "40", "relationship": "child"},
]


def _codes(exc) -> set[str]:
    return {e.code for e in exc.value.errors}


def test_beneficiary_change_approved_by_a_second_person_writes_an_endorsement(nb, in_force):
    policy = in_force()
    req = servicing_request_create(
        actor=nb.service,
        policy_id=policy.pk,
        kind="beneficiary",
        changes={"beneficiaries": NEW_BENEFICIARIES, "insured_consent": True},
        channel="counter",
    )
    assert req.state == State.REQUESTED and req.approvals_needed == 1
    assert "张小红" in req.diff[0]["after"] and "王小明" in req.diff[0]["before"]
    with pytest.raises(NotAllowed) as exc:
        servicing_approve(actor=nb.service, request_id=req.pk)
    assert _codes(exc) == {"four_eyes"}
    done = servicing_approve(actor=nb.manager, request_id=req.pk, reason="资料齐全")
    assert done.state == State.APPLIED
    e = Endorsement.objects.get(request=done)
    assert e.endorsement_no.startswith("PD")
    names = sorted(policy.beneficiaries.values_list("name", flat=True))
    assert names == ["张小刚", "张小红"]


def test_beneficiary_change_by_the_policyholder_needs_the_insureds_consent(nb, in_force):
    policy = in_force()
    with pytest.raises(ValidationFailed) as exc:
        servicing_request_create(
            actor=nb.service,
            policy_id=policy.pk,
            kind="beneficiary",
            changes={"beneficiaries": NEW_BENEFICIARIES},
        )
    assert "consent_required" in _codes(exc)
    # The insured asking for it herself needs no separate consent.
    req = servicing_request_create(
        actor=nb.service,
        policy_id=policy.pk,
        kind="beneficiary",
        changes={"beneficiaries": NEW_BENEFICIARIES},
        applicant="insured",
    )
    assert req.state == State.REQUESTED


def test_beneficiary_shares_follow_the_entry_rules(nb, in_force):
    policy = in_force()
    with pytest.raises(ValidationFailed) as exc:
        servicing_request_create(
            actor=nb.service,
            policy_id=policy.pk,
            kind="beneficiary",
            changes={"beneficiaries": [{"order": 1, "name": "甲", "share": "70"}], "insured_consent": True},
        )
    assert "share_total" in _codes(exc)


def test_contact_change_updates_the_policyholders_archive(nb, in_force):
    policy = in_force()
    req = servicing_request_create(
        actor=nb.clerk, policy_id=policy.pk, kind="contact", changes={"mobile": "13912345678"}
    )
    assert req.diff[0]["after"] != "13912345678"  # masked in the before/after rows
    servicing_approve(actor=nb.service, request_id=req.pk)
    policy.policyholder.refresh_from_db()
    assert policy.policyholder.mobile == "13912345678"


def test_a_bad_mobile_is_refused_with_its_field(nb, in_force):
    policy = in_force()
    with pytest.raises(ValidationFailed) as exc:
        servicing_request_create(
            actor=nb.clerk, policy_id=policy.pk, kind="contact", changes={"mobile": "12345"}
        )
    assert exc.value.errors[0].field == "changes.mobile"


def test_money_needs_a_second_approver_who_is_neither_requester_nor_first(nb, in_force, later):
    policy = in_force()
    day = later(policy, 3 * 365 + 10)
    req = servicing_request_create(
        actor=nb.clerk,
        policy_id=policy.pk,
        kind="loan",
        changes={"amount": "5000"},
        effective_date=day,
        today=day,
    )
    assert req.approvals_needed == 2
    first = servicing_approve(actor=nb.service, request_id=req.pk, today=day)
    assert first.state == State.FIRST_APPROVED
    with pytest.raises(NotAllowed):
        servicing_approve(actor=nb.service, request_id=req.pk, today=day)
    with pytest.raises(NotAllowed):
        servicing_approve(actor=nb.clerk, request_id=req.pk, today=day)
    done = servicing_approve(actor=nb.manager, request_id=req.pk, today=day)
    assert done.state == State.APPLIED
    loan = PolicyLoan.objects.get(policy=policy)
    assert loan.principal == Decimal("5000.00")
    assert MoneyMovement.objects.get(policy=policy, kind=MoneyKind.LOAN).amount == Decimal("5000.00")


def test_a_loan_above_the_share_of_cash_value_is_refused(nb, in_force, later):
    policy = in_force()
    day = later(policy, 3 * 365 + 10)
    with pytest.raises(ValidationFailed) as exc:
        servicing_request_create(
            actor=nb.clerk,
            policy_id=policy.pk,
            kind="loan",
            changes={"amount": "999999"},
            effective_date=day,
            today=day,
        )
    assert _codes(exc) == {"over_limit"}


def test_surrender_inside_cooling_off_refunds_the_premium(nb, in_force):
    policy = in_force()
    req = servicing_request_create(actor=nb.clerk, policy_id=policy.pk, kind="surrender")
    assert req.amount == Decimal("15000.00")
    servicing_approve(actor=nb.service, request_id=req.pk)
    servicing_approve(actor=nb.manager, request_id=req.pk)
    policy.refresh_from_db()
    assert policy.state == "surrendered"
    refund = MoneyMovement.objects.get(policy=policy, kind=MoneyKind.SURRENDER)
    assert refund.due_date == refund.recorded_on + datetime.timedelta(days=30)


def test_surrender_after_cooling_off_pays_the_cash_value(nb, in_force, later):
    policy = in_force()
    day = later(policy, 200)
    req = servicing_request_create(
        actor=nb.clerk, policy_id=policy.pk, kind="surrender", effective_date=day, today=day
    )
    assert Decimal("0") < req.amount < Decimal("15000.00")


def test_illegal_transitions_answer_state(nb, in_force):
    policy = in_force()
    req = servicing_request_create(
        actor=nb.clerk, policy_id=policy.pk, kind="contact", changes={"email": "a@b.cn"}
    )
    servicing_reject(actor=nb.service, request_id=req.pk, reason="资料不实")
    for call in (
        lambda: servicing_approve(actor=nb.manager, request_id=req.pk),
        lambda: servicing_reject(actor=nb.manager, request_id=req.pk, reason="x"),
        lambda: servicing_withdraw(actor=nb.clerk, request_id=req.pk, reason="x"),
    ):
        with pytest.raises(IllegalTransition) as exc:
            call()
        assert _codes(exc) == {"state"}


def test_missing_documents_block_approval_until_received(nb, in_force):
    policy = in_force()
    req = servicing_request_create(
        actor=nb.clerk,
        policy_id=policy.pk,
        kind="contact",
        changes={"email": "a@b.cn"},
        documents=["保全申请书"],
    )
    with pytest.raises(ValidationFailed) as exc:
        servicing_approve(actor=nb.service, request_id=req.pk)
    assert _codes(exc) == {"documents_missing"}
    servicing_documents(actor=nb.clerk, request_id=req.pk, received=["投保人身份证件"])
    assert servicing_approve(actor=nb.service, request_id=req.pk).state == State.APPLIED


def test_sum_insured_increase_goes_to_underwriting(nb, in_force):
    policy = in_force()
    req = servicing_request_create(
        actor=nb.clerk, policy_id=policy.pk, kind="sum_insured", changes={"sum_insured": "600000"}
    )
    assert req.state == State.REFERRED
    with pytest.raises(IllegalTransition):
        servicing_approve(actor=nb.service, request_id=req.pk)
    servicing_underwrite(actor=nb.underwriter, request_id=req.pk, accept=True, note="体检正常")
    servicing_approve(actor=nb.service, request_id=req.pk)
    policy.refresh_from_db()
    main = policy.lines.get(is_rider=False)
    assert main.sum_insured == Decimal("600000.00") and main.premium == Decimal("14400.00")
    assert policy.premium == Decimal("17400.00")


def test_a_future_effective_date_waits_for_the_daily_duty(nb, in_force):
    from django.core.management import call_command

    policy = in_force()
    day = datetime.date.today() + datetime.timedelta(days=5)
    req = servicing_request_create(
        actor=nb.clerk, policy_id=policy.pk, kind="contact", changes={"email": "new@b.cn"}, effective_date=day
    )
    assert servicing_approve(actor=nb.service, request_id=req.pk).state == State.APPROVED
    call_command("daily", date=day - datetime.timedelta(days=1))
    req.refresh_from_db()
    assert req.state == State.APPROVED
    call_command("daily", date=day)
    req.refresh_from_db()
    assert req.state == State.APPLIED


def test_an_applied_request_is_announced_to_other_systems(nb, in_force, django_capture_on_commit_callbacks):
    from insurdesk.common import events

    seen = []

    def listener(name, payload, personal):
        seen.append((name, payload["kind"], payload["endorsement_no"][:2]))

    events.subscribe(listener)
    policy = in_force()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            req = servicing_request_create(
                actor=nb.service,
                policy_id=policy.pk,
                kind="beneficiary",
                changes={"beneficiaries": NEW_BENEFICIARIES, "insured_consent": True},
                channel="counter",
            )
            servicing_approve(actor=nb.manager, request_id=req.pk, reason="资料齐全")
    finally:
        events._HANDLERS.remove(listener)
    assert ("servicing.applied", "beneficiary", "PD") in seen
