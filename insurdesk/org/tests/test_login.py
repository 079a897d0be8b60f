"""Sign-in hardening: lockout per user and per address, the Chinese lockout page, session expiry, audit."""

import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD
from insurdesk.api.tests.client import ApiClient, error_codes
from insurdesk.audit.models import AuditEntry
from insurdesk.org.signals import AUTH_AT, SEEN_AT


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


LIMIT = settings.AXES_FAILURE_LIMIT


def sign_in(username: str, password: str, *, address: str = "10.0.0.1", client: Client | None = None):
    client = client or Client(REMOTE_ADDR=address)
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_lockout_is_configured_per_user_and_per_address():
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username"], ["ip_address"]]
    assert LIMIT == 5 and settings.AXES_COOLOFF_TIME == 0.25


def test_a_user_is_locked_after_repeated_failures_from_many_addresses(make_user):
    make_user("clerk", username="zhang")
    for i in range(LIMIT - 1):
        assert sign_in("zhang", "wrong-password", address=f"10.0.1.{i}").status_code == 200
    locked = sign_in("zhang", "wrong-password", address="10.0.2.1")
    assert locked.status_code == 429
    # Even the right password from a fresh address is refused while the lock lasts.
    again = sign_in("zhang", PASSWORD, address="10.0.3.1")
    assert again.status_code == 429 and "_auth_user_id" not in Client().session


def test_an_address_is_locked_after_failures_on_many_usernames(make_user):
    make_user("clerk", username="li")
    for i in range(LIMIT):
        sign_in(f"guess{i}", "wrong-password", address="10.9.9.9")
    refused = sign_in("li", PASSWORD, address="10.9.9.9")
    assert refused.status_code == 429
    assert sign_in("li", PASSWORD, address="10.9.9.10").status_code == 302  # another address still signs in


def test_the_lockout_page_is_in_chinese(make_user):
    make_user("clerk", username="wang")
    for _ in range(LIMIT):
        response = sign_in("wang", "wrong-password")
    html = response.content.decode()
    assert response.status_code == 429
    assert "登录已暂时锁定" in html and "15 分钟后再试" in html and "系统管理员" in html


def test_a_success_before_the_limit_resets_the_count(make_user):
    make_user("clerk", username="zhao")
    for _ in range(LIMIT - 1):
        sign_in("zhao", "wrong-password")
    assert sign_in("zhao", PASSWORD).status_code == 302
    for _ in range(LIMIT - 1):
        assert sign_in("zhao", "wrong-password").status_code == 200


def test_the_api_token_endpoint_counts_failures_with_the_web_login(make_user):
    user = make_user("clerk", username="chen")
    for _ in range(LIMIT - 1):
        sign_in("chen", "wrong-password", address="127.0.0.1")
    r = ApiClient().post("/auth/token", {"username": user.username, "password": "wrong-password"})
    assert r.status_code == 429 and error_codes(r) == {("username", "locked")}
    assert r["Content-Type"].startswith("application/json")


def test_sign_in_sign_out_and_failures_are_in_the_audit_log(make_user):
    user = make_user("clerk", username="sun")
    sign_in("sun", "wrong-password", address="10.1.1.1")
    sign_in("sun-password-typed-here", "x", address="10.1.1.1")
    client = Client(REMOTE_ADDR="10.1.1.2")
    assert sign_in("sun", PASSWORD, address="10.1.1.2", client=client).status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR="10.1.1.2")

    failed = list(AuditEntry.objects.filter(action="auth.login_failed").order_by("seq"))
    assert [(e.detail["username"], e.detail["known_user"], e.ip) for e in failed] == [
        ("sun", True, "10.1.1.1"),
        ("su…(23)", False, "10.1.1.1"),  # an unknown name may be a password: only its start is kept
    ]
    login = AuditEntry.objects.get(action="auth.login")
    assert (login.actor_id, login.detail, login.ip) == (
        user.pk,
        {"username": "sun", "channel": "web"},
        "10.1.1.2",
    )
    logout = AuditEntry.objects.get(action="auth.logout")
    assert (logout.actor_id, logout.ip) == (user.pk, "10.1.1.2")


def test_api_sign_ins_and_failures_are_in_the_audit_log(make_user):
    user = make_user("clerk", username="qian")
    ApiClient().post("/auth/token", {"username": "qian", "password": "wrong-password"})
    ApiClient().post("/auth/token", {"username": "qian", "password": PASSWORD})
    failed = AuditEntry.objects.get(action="auth.login_failed")
    assert failed.detail == {"username": "qian", "known_user": True, "locked": False, "channel": "api"}
    assert AuditEntry.objects.get(action="auth.login").detail == {"username": user.username, "channel": "api"}


def test_sessions_end_after_the_idle_time():
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_activity_moves_the_session_end_at_most_once_a_minute(client, make_user):
    import datetime

    from django.contrib.sessions.models import Session
    from django.db.models import F

    client.force_login(make_user("clerk"))
    session = client.session
    session[SEEN_AT] = int(time.time()) - 120
    session.save()
    # As if it was last saved two minutes ago (no sleeping): its stored end is two minutes nearer.
    row = Session.objects.filter(session_key=session.session_key)
    row.update(expire_date=F("expire_date") - datetime.timedelta(minutes=2))
    before = row.get().expire_date
    client.get(reverse("customers:list"))
    assert client.session[SEEN_AT] >= int(time.time()) - 1
    moved = row.get().expire_date
    assert moved - before >= datetime.timedelta(minutes=2)  # pushed ahead by the activity
    client.get(reverse("customers:list"))
    assert row.get().expire_date == moved  # seen within the minute: not saved again


def test_an_idle_session_is_gone(client, make_user):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.force_login(make_user("clerk"))
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=timezone.now())
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_session_older_than_the_maximum_ends(client, make_user, settings):
    client.force_login(make_user("clerk"))
    session = client.session
    session[AUTH_AT] = int(time.time()) - settings.INSURDESK_SESSION_MAX_SECONDS - 1
    session.save()
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert "登录已超过最长时限" in client.get(response["Location"]).content.decode()


def test_an_htmx_request_after_the_session_ended_reloads_the_login_page(client, db):
    response = client.get(reverse("customers:list"), headers={"HX-Request": "true"})
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("login")


def test_axes_keeps_a_mistyped_username_only_as_its_prefix_and_length(make_user):
    """A password typed into the username box is not stored whole in axes' attempt tables."""
    from axes.models import AccessAttempt, AccessFailureLog

    make_user("clerk", username="zhao")
    sign_in("S3cret-Passw0rd!", "whatever", address="10.4.4.4")
    sign_in("zhao", "wrong-password", address="10.4.4.5")
    stored = set(AccessAttempt.objects.values_list("username", flat=True)) | set(
        AccessFailureLog.objects.values_list("username", flat=True)
    )
    assert not any("Passw0rd" in (name or "") for name in stored), stored
    assert "S3…(16)" in stored and "zhao" in stored
    entry = AuditEntry.objects.filter(action="auth.login_failed").order_by("id").first()
    assert entry.detail["username"] == "S3…(16)"


def test_a_real_username_is_still_locked_exactly_with_the_stored_form(make_user):
    make_user("clerk", username="qian")
    for i in range(LIMIT):
        sign_in("qian", "wrong-password", address=f"10.5.0.{i}")
    assert sign_in("qian", PASSWORD, address="10.5.1.1").status_code == 429
    # Another name of the same length and prefix belongs to nobody and is not locked with it.
    make_user("clerk", username="qiao")
    assert sign_in("qiao", PASSWORD, address="10.5.1.2").status_code == 302
