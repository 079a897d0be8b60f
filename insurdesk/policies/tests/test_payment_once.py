"""A payment is recorded once (issue 15 point 4): Idempotency-Key, one reference per policy, forms."""

import re
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.common.models import IdempotencyKey
from insurdesk.policies.models import Payment

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def body(policy, **over) -> dict:
    return {
        "policy_id": policy.pk,
        "amount": "100.00",
        "method": "transfer",
        "paid_on": TODAY.isoformat(),
        "reference": "ZZ-001",
    } | over


def post(api, data, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    import json

    return api.client.post("/api/v1/payments", json.dumps(data), content_type="application/json", **headers)


def test_the_same_reference_twice_on_one_policy_is_409_duplicate(nb, issued):
    """Issue 15.4: two POSTs with the same policy and reference both answered 201 (a third, later, too)."""
    policy = issued()
    api = as_user(nb.clerk)
    assert post(api, body(policy)).status_code == 201
    for _ in range(2):
        r = post(api, body(policy, amount="50.00"))
        assert r.status_code == 409 and error_codes(r) == {("reference", "duplicate")}
    assert Payment.objects.filter(policy=policy).count() == 1
    assert post(api, body(policy, reference="ZZ-002")).status_code == 201
    assert post(api, body(policy, reference="")).status_code == 201  # no voucher: nothing to compare
    assert post(api, body(policy, reference="")).status_code == 201


def test_the_database_refuses_a_second_payment_with_the_reference(nb, issued):
    policy = issued()
    post(as_user(nb.clerk), body(policy))
    first = Payment.objects.get(policy=policy)
    first.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        first.save()


def test_an_idempotency_key_replays_the_first_answer(nb, issued):
    policy = issued()
    api = as_user(nb.clerk)
    first = post(api, body(policy), key="pay-7f3a")
    again = post(api, body(policy), key="pay-7f3a")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Payment.objects.filter(policy=policy).count() == 1

    other = post(api, body(policy, reference="ZZ-009"), key="pay-7f3a")
    assert other.status_code == 409 and error_codes(other) == {("Idempotency-Key", "idempotency_mismatch")}
    assert Payment.objects.filter(policy=policy).count() == 1


def test_keys_are_per_caller_and_a_refused_request_frees_its_key(nb, issued):
    policy = issued()
    r = post(as_user(nb.clerk), body(policy, amount="0"), key="k-1")
    assert r.status_code == 422
    assert not IdempotencyKey.objects.exists()
    assert post(as_user(nb.clerk), body(policy), key="k-1").status_code == 201
    r = post(as_user(nb.service), body(policy), key="k-1")  # another caller's key: a request of its own
    assert r.status_code == 409 and error_codes(r) == {("reference", "duplicate")}


def test_a_bad_key_is_refused_in_the_error_shape(nb, issued):
    r = post(as_user(nb.clerk), body(issued()), key="x" * 101)
    assert r.status_code == 422 and error_codes(r) == {("Idempotency-Key", "format")}


def test_customer_create_takes_an_idempotency_key(nb):
    from insurdesk.identity.testing import make_resident_id

    api = as_user(nb.clerk)
    import datetime
    import json

    data = {
        "kind": "individual",
        "name": "赵敏",
        "id_type": "resident_id",
        "id_number": make_resident_id(datetime.date(1991, 2, 3), "F", seq=42),
    }
    send = lambda: api.client.post(  # noqa: E731
        "/api/v1/customers", json.dumps(data), content_type="application/json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    first, again = send(), send()
    assert first.status_code == again.status_code == 201 and again.json() == first.json()


def test_the_payment_form_submitted_twice_records_one_payment(client, nb, issued):
    policy = issued()
    client.force_login(nb.clerk)
    page = client.get(reverse("policies:payment_new") + f"?policy={policy.pk}").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {
        "policy_no": policy.policy_no,
        "amount": "100.00",
        "method": "cash",
        "paid_on": TODAY.isoformat(),
        "form_token": token,
    }
    first = client.post(reverse("policies:payment_new"), data)
    second = client.post(reverse("policies:payment_new"), data, follow=True)

    assert first.status_code == 302
    assert Payment.objects.filter(policy=policy).count() == 1
    assert second.redirect_chain[0][0] == first["Location"]
    assert "该表单已经提交过，未重复录入" in second.content.decode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_with_one_reference_record_one(nb, submitted):
    """Two requests at once, each on its own connection: one 201, one 409, one payment."""
    from insurdesk.policies.models import Policy
    from insurdesk.policies.services import policy_issue
    from insurdesk.underwriting.services import underwriting_open

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are run on PostgreSQL (SQLite serialises every write)")
    app = submitted()
    underwriting_open(actor=None, application_id=app.pk)
    # Committed for real here, so the acceptance's on_commit hook may already have issued the policy.
    policy = Policy.objects.filter(application=app).first() or policy_issue(
        actor=nb.clerk, application_id=app.pk
    )
    apis = [as_user(nb.clerk), as_user(nb.service)]
    barrier = threading.Barrier(2)
    answers = []

    def pay(api):
        barrier.wait()
        try:
            answers.append(post(api, body(policy)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(api,)) for api in apis]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(answers) == [201, 409]
    assert Payment.objects.filter(policy=policy, reference="ZZ-001").count() == 1
