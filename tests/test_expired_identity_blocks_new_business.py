"""An expired identity document blocks new business (SPEC §1), end to end.

Entry (初录, by the service and through the API) refuses it naming the party and the date; underwriting
refers it and no underwriter can accept it; issue refuses it; once the document is renewed, the same
application goes on. compliance/tests/test_queues.py checks the predicate; this checks that it blocks.
"""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.applications.services import application_create
from insurdesk.applications.testing import application_input
from insurdesk.common.errors import IllegalTransition, ValidationFailed
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_create
from insurdesk.policies.models import Policy
from insurdesk.policies.services import policy_issue
from insurdesk.underwriting.models import CaseState
from insurdesk.underwriting.services import underwriting_decide, underwriting_open
from insurdesk.underwriting.testing import individual_input, submit_application

pytestmark = pytest.mark.django_db

EXPIRED = datetime.date(2020, 6, 30)
RENEWED = datetime.date(2040, 6, 30)


@pytest.fixture
def parties(units, make_user, individual_data, catalogue, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.INSURDESK_AML_ID_GRACE_DAYS = 0
    agent = make_user("agent", "SZ", username="exp_agent")

    def person(valid_to):
        data = individual_data(
            unit_id=units["SZ"].pk, agent_id=agent.pk, occupation_class=1, id_valid_to=valid_to, name="林晓燕"
        )
        return customer_create(actor=None, kind="individual", data=data)[0]

    return {
        "clerk": make_user("clerk", "SZ", username="exp_clerk"),
        "clerk2": make_user("clerk", "SZ", username="exp_clerk2"),
        "underwriter": make_user("underwriter", "SZ", username="exp_uw"),
        "agent": agent,
        "person": person,
    }


def _expire(customer, when=EXPIRED):
    Customer.objects.filter(pk=customer.pk).update(id_valid_to=when)


def test_entry_refuses_an_expired_policyholder_with_the_reason(parties):
    holder = parties["person"](EXPIRED)
    data = application_input(policyholder_id=holder.pk, agent_id=parties["agent"].pk, relationship="self")
    with pytest.raises(ValidationFailed) as refused:
        application_create(actor=parties["clerk"], data=data)
    [error] = [e for e in refused.value.errors if e.code == "id_expired"]
    assert error.field == "policyholder"
    assert error.message == (
        "投保人林晓燕：客户身份证件已于 2020-06-30 过期，更新证件并重新识别身份前不能办理新业务"
    )

    # The API answers with the field, the stable code and the same message.
    r = as_user(parties["clerk"]).post(
        "/applications", {**data, "application_date": str(data["application_date"])}
    )
    assert r.status_code == 422 and ("policyholder", "id_expired") in error_codes(r)


def test_an_expired_insured_is_refused_at_entry_too(parties):
    holder, insured = parties["person"](RENEWED), parties["person"](EXPIRED)
    data = application_input(
        policyholder_id=holder.pk, insured_id=insured.pk, agent_id=parties["agent"].pk, relationship="spouse"
    )
    with pytest.raises(ValidationFailed) as refused:
        application_create(actor=parties["clerk"], data=data)
    assert {(e.field, e.code) for e in refused.value.errors if e.code == "id_expired"} == {
        ("insured", "id_expired")
    }


def _submitted(parties, holder):
    data = individual_input(policyholder=holder, agent=parties["agent"])
    return submit_application(clerk=parties["clerk"], clerk2=parties["clerk2"], data=data)


def test_underwriting_refers_it_and_no_underwriter_can_accept_it(parties):
    holder = parties["person"](RENEWED)
    app = _submitted(parties, holder)
    _expire(holder)  # expired after entry, before underwriting
    case = underwriting_open(actor=None, application_id=app.pk)
    assert case.state == CaseState.REFERRED  # not accepted automatically
    for decision, extra in (
        ("standard", {}),
        ("rated", {"extra_premium": "100"}),
        ("exclusion", {"exclusion": "既往症"}),
    ):
        with pytest.raises(IllegalTransition) as refused:
            underwriting_decide(
                actor=parties["underwriter"],
                application_id=app.pk,
                decision=decision,
                reasons="人工核保",
                **extra,
            )
        assert [(e.field, e.code) for e in refused.value.errors] == [("policyholder", "id_expired")]
        assert "2020-06-30 过期" in refused.value.errors[0].message
    r = as_user(parties["underwriter"]).post(
        f"/applications/{app.pk}/underwriting", {"decision": "standard", "reasons": "人工核保"}
    )
    assert r.status_code == 409 and error_codes(r) == {("policyholder", "id_expired")}
    case.refresh_from_db()
    assert case.state == CaseState.REFERRED and case.decision in ("", None)

    # Declining stays possible; renewing the document lets the underwriter accept.
    _expire(holder, RENEWED)
    case = underwriting_decide(
        actor=parties["underwriter"], application_id=app.pk, decision="standard", reasons="证件已更新"
    )
    assert case.state == CaseState.ACCEPTED


def test_issue_refuses_an_application_accepted_before_the_document_expired(parties):
    holder = parties["person"](RENEWED)
    app = _submitted(parties, holder)
    assert underwriting_open(actor=None, application_id=app.pk).state == CaseState.ACCEPTED
    _expire(holder)
    with pytest.raises(IllegalTransition) as refused:
        policy_issue(actor=parties["clerk"], application_id=app.pk)
    assert [(e.field, e.code) for e in refused.value.errors] == [("policyholder", "id_expired")]
    r = as_user(parties["clerk"]).post("/policies", {"application_id": app.pk})
    assert r.status_code == 409 and error_codes(r) == {("policyholder", "id_expired")}
    client = Client()
    client.force_login(parties["clerk"])
    page = client.post(reverse("policies:issue", args=[app.pk]), follow=True)
    assert "客户身份证件已于 2020-06-30 过期" in page.content.decode()
    assert not Policy.objects.filter(application=app).exists()

    _expire(holder, RENEWED)
    assert policy_issue(actor=parties["clerk"], application_id=app.pk).policy_no
