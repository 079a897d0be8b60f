"""Webhooks end to end: subscribe through the API, an event commits, the worker POSTs it signed to a real
receiver on 127.0.0.1, failures back off and retry, the delivery log and replay."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.common.errors import ValidationFailed
from insurdesk.webhooks.models import Delivery, Subscription
from insurdesk.webhooks.services import backoff, signature, validate_url

SECRET = "a-long-shared-secret-0123"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(make_user):
    return make_user("admin", "HQ")


@pytest.fixture
def api(admin):
    from insurdesk.org.services import token_issue

    token = token_issue(user=admin)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _post(client, path, body):
    return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")


def verified(received, secret=SECRET) -> bool:
    """What a receiver does: HMAC-SHA256 of "<timestamp>.<body>" under the shared secret."""
    ts = received.headers["X-Insurdesk-Timestamp"]
    expected = (
        "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + received.body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, received.headers["X-Insurdesk-Signature"])


def test_a_subscribed_receiver_gets_a_signed_post_for_a_new_customer(
    api, receiver, run_jobs, individual_data, units, django_capture_on_commit_callbacks
):
    from insurdesk.customers.services import customer_create

    r = _post(api, "/webhooks", {"url": receiver.url, "events": ["customer.created"], "secret": SECRET})
    assert r.status_code == 201, r.content
    sub_id = r.json()["id"]
    assert "secret" not in r.json()

    with django_capture_on_commit_callbacks(execute=True):
        customer, _ = customer_create(
            actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk)
        )
    assert run_jobs() == 1

    (got,) = receiver.requests
    assert got.headers["X-Insurdesk-Event"] == "customer.created"
    assert abs(int(got.headers["X-Insurdesk-Timestamp"]) - timezone.now().timestamp()) < 60
    assert verified(got)
    assert not verified(got, secret="another-secret-entirely")
    body = got.json
    assert body["event"] == "customer.created"
    assert body["data"]["customer_id"] == customer.pk
    # ids and states only: the default scope carries no personal data
    assert customer.name not in got.body.decode()
    assert customer.id_number not in got.body.decode()

    r = api.get(f"/api/v1/webhooks/{sub_id}/deliveries")
    assert r.status_code == 200
    (row,) = r.json()["items"]
    assert row["status"] == "delivered" and row["attempts"] == 1 and row["last_status_code"] == 204


def test_personal_scope_adds_the_name_and_other_events_are_not_sent(
    admin, receiver, run_jobs, individual_data, units, django_capture_on_commit_callbacks
):
    from insurdesk.customers.services import customer_create, customer_update
    from insurdesk.webhooks.services import subscription_create

    subscription_create(
        actor=admin, url=receiver.url, events=["customer.updated"], secret=SECRET, scope="personal"
    )
    with django_capture_on_commit_callbacks(execute=True):
        customer, _ = customer_create(
            actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk)
        )
    with django_capture_on_commit_callbacks(execute=True):
        customer_update(actor=None, customer_id=customer.pk, data={"occupation": "教师"})
    run_jobs()
    (got,) = receiver.requests  # customer.created was not subscribed to
    assert got.json["event"] == "customer.updated"
    assert got.json["data"]["name"] == customer.name
    assert "occupation" in got.json["data"]["fields"]


def test_an_event_rolled_back_is_never_sent(
    admin, receiver, run_jobs, individual_data, units, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from insurdesk.customers.services import customer_create
    from insurdesk.webhooks.services import subscription_create

    subscription_create(actor=admin, url=receiver.url, events=["customer.created"], secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        if True:
            customer_create(actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk))
            raise RuntimeError("the surrounding write failed")
    assert run_jobs() == 0
    assert not Delivery.objects.exists() and not receiver.requests


def test_a_failing_receiver_is_retried_with_growing_waits_then_given_up(
    admin, receiver, run_jobs, settings, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from insurdesk.webhooks.services import on_event, subscription_create

    settings.INSURDESK_WEBHOOK_ATTEMPTS = 3
    sub = subscription_create(actor=admin, url=receiver.url, events=["policy.lapsed"], secret=SECRET)
    receiver.answers = [500, 503, 500]
    (delivery,) = on_event("policy.lapsed", {"policy_id": 7, "state": "lapsed"}, {})
    run_jobs()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("retrying", 1, 500)
    wait = delivery.next_attempt_at - timezone.now()
    assert datetime.timedelta(seconds=25) < wait <= datetime.timedelta(seconds=30)
    queued = DBTaskResult.objects.filter(status="READY").get()
    assert abs((queued.run_after - delivery.next_attempt_at).total_seconds()) < 1

    DBTaskResult.objects.filter(pk=queued.pk).update(run_after=timezone.now())  # the wait has passed
    run_jobs()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("retrying", 2)
    assert delivery.next_attempt_at - timezone.now() > datetime.timedelta(seconds=55)  # doubled

    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_jobs()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert len(receiver.requests) == 3
    assert all(verified(r) for r in receiver.requests)
    assert not DBTaskResult.objects.filter(status="READY").exists()

    # replayed from the API: a new delivery of the same event, signed afresh, delivered
    from insurdesk.org.services import token_issue

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=admin)}")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/api/v1/webhooks/{sub.pk}/deliveries/{delivery.pk}/replay")
    assert r.status_code == 202, r.content
    run_jobs()
    replay = Delivery.objects.get(pk=r.json()["id"])
    assert replay.status == "delivered" and replay.replay_of_id == delivery.pk
    assert receiver.requests[-1].json["id"] == receiver.requests[0].json["id"]  # the same event id


@given(st.integers(min_value=1, max_value=40))
def test_backoff_doubles_and_stops_at_a_day(n):
    assert backoff(n) == min(30 * 2 ** (n - 1), 86400)
    assert backoff(n + 1) >= backoff(n)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("", "required"),
        ("ftp://example.com/x", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("https:///nohost", "format"),
        ("http://127.0.0.1:99999/x", "format"),
    ],
)
def test_bad_receiver_urls_are_refused_naming_the_field(url, code):
    with pytest.raises(ValidationFailed) as caught:
        validate_url(url)
    assert (caught.value.errors[0].field, caught.value.errors[0].code) == ("url", code)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://192.168.0.10/x",
    ],
)
def test_private_receivers_are_refused_in_production(url, settings):
    settings.INSURDESK_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationFailed) as caught:
        validate_url(url)
    assert caught.value.errors[0].code == "private_address"


def test_the_api_refuses_bad_input_with_field_codes(api):
    r = _post(api, "/webhooks", {"url": "gopher://x", "events": ["customer.exploded"], "secret": "short"})
    assert r.status_code == 422
    codes = {(e["field"], e["code"]) for e in r.json()["errors"]}
    assert codes == {("url", "scheme"), ("events", "choice"), ("secret", "too_short")}


def test_only_admins_manage_webhooks(make_user):
    from insurdesk.org.services import token_issue

    clerk = make_user("clerk")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=clerk)}")
    r = _post(
        client, "/webhooks", {"url": "http://127.0.0.1:1/x", "events": ["policy.issued"], "secret": SECRET}
    )
    assert r.status_code == 403
    assert not Subscription.objects.exists()


def test_signature_is_hmac_of_timestamp_dot_body():
    body = '{"a":1}'
    expected = hmac.new(b"k" * 16, b"1700000000." + body.encode(), hashlib.sha256).hexdigest()
    assert signature("k" * 16, 1700000000, body) == f"sha256={expected}"


def test_the_page_subscribes_shows_the_log_and_replays(
    admin, receiver, run_jobs, django_capture_on_commit_callbacks
):
    from insurdesk.webhooks.services import on_event

    client = Client()
    client.force_login(admin)
    page = client.get("/webhooks/")
    assert page.status_code == 200 and "还没有订阅" in page.content.decode()
    assert 'href="/webhooks/"' in client.get("/customers/").content.decode()  # in the admin's navigation

    refused = client.post("/webhooks/", {"url": "ftp://x", "events": ["policy.issued"], "secret": SECRET})
    assert "接收地址须以 http:// 或 https:// 开头" in refused.content.decode()

    r = client.post(
        "/webhooks/", {"url": receiver.url, "events": ["policy.issued"], "secret": SECRET, "scope": "ids"}
    )
    assert r.status_code == 302
    sub = Subscription.objects.get()
    assert sub.secret == SECRET  # stored encrypted, read back for signing
    receiver.answers = [500]
    (delivery,) = on_event("policy.issued", {"policy_id": 1, "state": "in_force"}, {})
    run_jobs()
    detail = client.get(f"/webhooks/{sub.pk}/").content.decode()
    assert "policy.issued" in detail and "HTTP 500" in detail and "等待重试" in detail

    Delivery.objects.filter(pk=delivery.pk).update(status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/webhooks/{sub.pk}/deliveries/{delivery.pk}/replay/", follow=True)
    assert "已重新排队发送" in r.content.decode()
    run_jobs()
    assert Delivery.objects.filter(replay_of=delivery, status="delivered").exists()
    assert "已送达" in client.get(f"/webhooks/{sub.pk}/").content.decode()


def test_policy_issued_and_lapsed_reach_the_receiver(
    admin, make_user, receiver, run_jobs, individual_data, units, django_capture_on_commit_callbacks
):
    from insurdesk.customers.services import customer_create
    from insurdesk.policies.services import policy_issue, policy_transition
    from insurdesk.products.catalogue import load_starter_catalogue
    from insurdesk.underwriting.services import underwriting_open
    from insurdesk.underwriting.testing import individual_input, submit_application
    from insurdesk.webhooks.services import subscription_create

    subscription_create(
        actor=admin, url=receiver.url, events=["policy.issued", "policy.lapsed"], secret=SECRET
    )
    load_starter_catalogue()
    clerk, clerk2, agent = make_user("clerk"), make_user("clerk"), make_user("agent")
    holder, _ = customer_create(
        actor=None,
        kind="individual",
        data=individual_data(
            unit_id=units["SZ"].pk,
            agent_id=agent.pk,
            occupation_class=1,
            id_valid_to=datetime.date(2036, 1, 1),
        ),
    )
    app = submit_application(
        clerk=clerk, clerk2=clerk2, data=individual_input(policyholder=holder, agent=agent)
    )
    underwriting_open(actor=None, application_id=app.pk)
    with django_capture_on_commit_callbacks(execute=True):
        policy = policy_issue(actor=clerk, application_id=app.pk)
    issued_state = policy.state
    policy_transition(actor=None, policy_id=policy.pk, name="activate")
    with django_capture_on_commit_callbacks(execute=True):
        policy_transition(actor=None, policy_id=policy.pk, name="lapse")
    run_jobs()
    events = [
        (r.json["event"], r.json["data"]["policy_id"], r.json["data"]["state"]) for r in receiver.requests
    ]
    assert events == [("policy.issued", policy.pk, issued_state), ("policy.lapsed", policy.pk, "lapsed")]
    assert all(verified(r) for r in receiver.requests)
    assert holder.name not in "".join(r.body.decode() for r in receiver.requests)
