"""Legacy policies with their own policyholder and insured; past payments of no stated method."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import ValidationFailed
from insurdesk.policies.forms import PaymentFilterForm, PaymentForm
from insurdesk.policies.legacy import (
    LegacyPayment,
    LegacyPolicy,
    payments_import_legacy,
    policies_import_legacy,
)
from insurdesk.policies.models import Payment, PaymentMethod, Policy
from insurdesk.policies.services import payment_record

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def legacy(nb, **kw) -> LegacyPolicy:
    data = {
        "policy_no": "LG0001",
        "customer_id": nb.wife.pk,
        "product_name": "L102",
        "sum_insured": Decimal("100000"),
        "effective_date": datetime.date(2023, 1, 1),
        "payment_mode": "annual",
        "premium": Decimal("1000"),
    }
    return LegacyPolicy(**(data | kw))


def test_a_customer_alone_is_policyholder_and_insured(nb):
    result = policies_import_legacy(actor=nb.clerk, items=[legacy(nb)])
    policy = Policy.objects.get(pk=result.ids[0])
    assert (policy.policyholder, policy.insured, policy.relationship) == (nb.wife, nb.wife, "self")


def test_a_policyholder_other_than_the_customer_is_registered_with_the_relationship(nb):
    item = legacy(nb, policyholder_id=nb.husband.pk, relationship="spouse")

    result = policies_import_legacy(actor=nb.clerk, items=[item])

    policy = Policy.objects.get(pk=result.ids[0])
    assert (policy.policyholder, policy.insured, policy.relationship) == (nb.husband, nb.wife, "spouse")
    entry = AuditEntry.objects.get(action="policy.import_legacy")
    assert (entry.detail["policyholder_id"], entry.detail["insured_id"]) == (nb.husband.pk, nb.wife.pk)
    # Without a relationship given, two persons are "other": insurable interest is not judged here.
    other = policies_import_legacy(
        actor=nb.clerk, items=[legacy(nb, policy_no="LG0002", policyholder_id=nb.husband.pk)]
    )
    assert Policy.objects.get(pk=other.ids[0]).relationship == "other"


def test_the_same_parties_again_change_nothing_and_another_policyholder_is_a_change(nb):
    item = legacy(nb, policyholder_id=nb.husband.pk, relationship="spouse")
    policies_import_legacy(actor=nb.clerk, items=[item])

    assert policies_import_legacy(actor=nb.clerk, items=[item]).unchanged == [0]
    assert policies_import_legacy(actor=nb.clerk, items=[legacy(nb)]).unchanged == [0]  # nothing said
    result = policies_import_legacy(actor=nb.clerk, items=[legacy(nb, policyholder_id=nb.wife.pk)])

    assert result.updated == [0]
    policy = Policy.objects.get(policy_no="LG0001")
    assert (policy.policyholder, policy.relationship) == (nb.wife, "self")
    change = AuditEntry.objects.get(action="policy.import_update").detail["changes"]
    assert change["policyholder_id"] == {"before": nb.husband.pk, "after": nb.wife.pk}
    assert change["relationship"] == {"before": "spouse", "after": "self"}


@pytest.mark.parametrize(
    "kw, field, code",
    [
        ({"policyholder_id": "husband", "insured_id": "husband"}, "policyholder_id", "other_customer"),
        ({"relationship": "spouse"}, "relationship", "relationship"),
        ({"policyholder_id": "husband", "relationship": "self"}, "relationship", "relationship"),
        ({"policyholder_id": "husband", "relationship": "friend"}, "relationship", "choice"),
        ({"policyholder_id": 2**40}, "policy_no", "not_found"),
    ],
)
def test_parties_that_do_not_fit_are_refused(nb, kw, field, code):
    kw = {k: nb.husband.pk if v == "husband" else v for k, v in kw.items()}
    result = policies_import_legacy(actor=nb.clerk, items=[legacy(nb, **kw)])
    assert [(e.field, e.code) for e in result.refused[0]] == [(field, code)]
    assert not Policy.objects.exists()


def test_a_changed_policyholder_of_a_policy_issued_here_is_servicing(nb, issued):
    policy = issued()  # the husband insures his wife
    item = legacy(
        nb,
        policy_no=policy.policy_no,
        product_name=None,
        sum_insured=None,
        effective_date=None,
        payment_mode=None,
        premium=None,
        policyholder_id=nb.wife.pk,
    )
    result = policies_import_legacy(actor=nb.clerk, items=[item])
    ((error,),) = result.refused.values()
    assert error.code == "policy_mismatch" and "投保人" in error.message


def test_past_payments_are_of_unknown_method_and_money_received_is_not(nb, issued):
    registered = policies_import_legacy(actor=nb.clerk, items=[legacy(nb)])
    result = payments_import_legacy(
        actor=nb.clerk,
        items=[LegacyPayment(policy_id=registered.ids[0], amount=Decimal("1000"), paid_on=TODAY)],
    )
    assert Payment.objects.get(pk=result.ids[0]).method == PaymentMethod.UNKNOWN

    policy = issued()
    with pytest.raises(ValidationFailed) as exc:
        payment_record(actor=nb.clerk, policy_id=policy.pk, amount="100", method="unknown", paid_on=TODAY)
    assert [(e.field, e.code) for e in exc.value.errors] == [("method", "choice")]
    assert not Payment.objects.filter(policy=policy).exists()


def test_the_payment_form_does_not_offer_unknown_but_the_filter_finds_it(nb):
    assert "unknown" not in dict(PaymentForm().fields["method"].choices)
    assert set(dict(PaymentForm().fields["method"].choices)) == {"cash", "transfer", "card", "withholding"}
    form = PaymentForm(data={"policy_no": "X1", "amount": "1", "method": "unknown", "paid_on": "2024-01-01"})
    assert not form.is_valid() and "method" in form.errors
    assert "unknown" in dict(PaymentFilterForm(viewer=nb.clerk).fields["method"].choices)


def test_the_payment_page_refuses_unknown(client, nb, issued):
    policy = issued()
    client.force_login(nb.clerk)
    response = client.post(
        reverse("policies:payment_new"),
        {"policy_no": policy.policy_no, "amount": "100", "method": "unknown", "paid_on": TODAY.isoformat()},
    )
    assert response.status_code == 422 and not Payment.objects.filter(policy=policy).exists()


def test_the_api_refuses_unknown_with_a_field_error(nb, issued):
    policy = issued()
    clerk = as_user(nb.clerk)
    body = {"policy_id": policy.pk, "amount": "100", "method": "unknown", "paid_on": TODAY.isoformat()}
    r = clerk.post("/payments", body)
    assert r.status_code == 422 and ("method", "choice") in error_codes(r)
    r = as_user(nb.service).post(f"/policies/{policy.pk}/cancel", {"reason": "撤单", "method": "unknown"})
    assert r.status_code == 422 and ("method", "choice") in error_codes(r)
    assert not Payment.objects.filter(policy=policy).exists()
    assert clerk.get("/payments", {"method": "unknown"}).status_code == 200  # listing by it is allowed


def test_the_migration_marks_earlier_imported_payments_unknown(nb, issued):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("insurdesk.policies.migrations.0002_payment_method_unknown")
    registered = policies_import_legacy(actor=nb.clerk, items=[legacy(nb)])
    payments_import_legacy(
        actor=nb.clerk,
        items=[LegacyPayment(registered.ids[0], Decimal("1000"), TODAY, method=PaymentMethod.TRANSFER)],
    )
    Payment.objects.update(note=migration.LEGACY_PAYMENT_NOTE)  # as the import wrote them before
    policy = issued()
    payment_record(actor=nb.clerk, policy_id=policy.pk, amount="100", method="transfer", paid_on=TODAY)

    migration.legacy_payments_unknown(apps, None)

    assert dict(Payment.objects.values_list("policy__policy_no", "method")) == {
        "LG0001": "unknown",
        policy.policy_no: "transfer",  # money recorded here keeps its method
    }


def _coverage_by_walking(effective, expiry):
    """The cover's length as first written: walk 1–105 years, then 1–11 months (the reference).

    The rest of a policy's terms follows from it (the months come with the length), unchanged.
    """
    from insurdesk.products.calculations import add_months, add_years

    for n in range(1, 106):
        end = add_years(effective, n)
        if expiry in (end, end - datetime.timedelta(days=1)):
            return f"{n}y"
    for n in range(1, 12):
        end = add_months(effective, n)
        if expiry in (end, end - datetime.timedelta(days=1)):
            return f"{n}m"
    return f"{(expiry - effective).days + 1}d"


@given(
    st.dates(min_value=datetime.date(1950, 1, 1), max_value=datetime.date(2060, 12, 31)),
    st.one_of(st.integers(0, 800), st.integers(0, 110).map(lambda y: 365 * y), st.integers(-3, 40_000)),
    st.sampled_from(["single", "annual", "semiannual", "quarterly", "monthly"]),
)
def test_the_terms_are_those_the_walk_through_every_year_and_month_gives(effective, days, mode):
    from insurdesk.policies.legacy import _terms

    expiry = effective + datetime.timedelta(days=days)
    if expiry <= effective:
        return
    assert _terms.__wrapped__(effective, expiry, mode)[0] == _coverage_by_walking(effective, expiry)
