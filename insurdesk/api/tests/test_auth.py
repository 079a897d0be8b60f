"""Token flow: issue with username and password, use as a bearer token, revoke; refusals."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import PASSWORD
from insurdesk.api.tests.client import ApiClient, as_user, error_codes
from insurdesk.audit.models import AuditEntry
from insurdesk.org.models import ApiToken

BAD_CREDENTIALS = {
    "errors": [{"field": "password", "code": "invalid_credentials", "message": "用户名或密码错误"}]
}


def test_username_and_password_give_a_token_that_opens_the_api(make_user):
    user = make_user("clerk")
    r = ApiClient().post("/auth/token", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "expires_at"} and len(body["token"]) >= 40
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    days = settings.INSURDESK_API_TOKEN_DAYS
    assert timedelta(days=days) - timedelta(minutes=1) < expires - timezone.now() <= timedelta(days=days)
    assert ApiToken.objects.get(user=user).key_hash != body["token"]  # only the hash is stored
    assert ApiClient(body["token"]).get("/customers").status_code == 200
    assert AuditEntry.objects.filter(action="token.issue", actor_id=user.pk).exists()


@pytest.mark.parametrize(
    "username, password", [("clerk1", "wrong-password"), ("nobody", PASSWORD), ("clerk1", "")]
)
def test_wrong_credentials_are_401_with_the_error_body(make_user, username, password):
    make_user("clerk", username="clerk1")
    r = ApiClient().post("/auth/token", {"username": username, "password": password})
    assert r.status_code == 401
    assert r.json() == BAD_CREDENTIALS
    assert not ApiToken.objects.exists()


def test_an_inactive_user_gets_no_token(make_user):
    user = make_user("clerk")
    user.is_active = False
    user.save()
    r = ApiClient().post("/auth/token", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 401 and r.json() == BAD_CREDENTIALS


def test_missing_credentials_are_422_required(db):
    r = ApiClient().post("/auth/token", {"username": "clerk1"})
    assert r.status_code == 422
    assert error_codes(r) == {("password", "required")}


def test_repeated_failures_lock_the_account_out(make_user):
    user = make_user("clerk")
    client = ApiClient()
    answers = [
        client.post("/auth/token", {"username": user.username, "password": "wrong-password"})
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert [a.status_code for a in answers[:-1]] == [401] * (settings.AXES_FAILURE_LIMIT - 1)
    assert answers[-1].status_code == 429 and error_codes(answers[-1]) == {("username", "locked")}
    r = client.post("/auth/token", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 429 and error_codes(r) == {("username", "locked")}
    assert not ApiToken.objects.exists()


def test_missing_or_malformed_authorization_is_401(db):
    for headers in ({}, {"Authorization": "Token abc"}, {"Authorization": "Bearer"}):
        from django.test import Client

        r = Client(headers=headers).get("/api/v1/customers")
        assert r.status_code == 401
        assert error_codes(r) == {("", "unauthenticated")}
        assert r["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401_invalid_token(db):
    r = ApiClient("not-a-token").get("/customers")
    assert r.status_code == 401 and error_codes(r) == {("", "invalid_token")}


def test_revoked_token_is_refused(make_user):
    user = make_user("clerk")
    api = as_user(user)
    assert api.get("/customers").status_code == 200
    r = api.post("/auth/revoke")
    assert r.status_code == 204 and r.content == b""
    r = api.get("/customers")
    assert r.status_code == 401 and error_codes(r) == {("", "invalid_token")}
    assert api.post("/auth/revoke").status_code == 401
    assert AuditEntry.objects.filter(action="token.revoke", actor_id=user.pk).exists()


def test_revoking_one_token_keeps_the_others(make_user):
    user = make_user("clerk")
    first, second = as_user(user), as_user(user)
    first.post("/auth/revoke")
    assert second.get("/customers").status_code == 200


def test_expired_token_is_refused(make_user):
    user = make_user("clerk")
    api = as_user(user)
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = api.get("/customers")
    assert r.status_code == 401 and error_codes(r) == {("", "invalid_token")}


def test_token_of_a_deactivated_user_is_refused(make_user):
    user = make_user("clerk")
    api = as_user(user)
    user.is_active = False
    user.save()
    assert api.get("/customers").status_code == 401


def test_unstorable_username_is_422_not_a_server_error(db):
    r = ApiClient().post("/auth/token", {"username": "a\x00b", "password": "x"})
    assert r.status_code == 422 and error_codes(r) == {("username", "format")}


def test_bearer_calls_need_no_csrf_token(make_user):
    from django.test import Client

    user = make_user("clerk")
    client = Client(enforce_csrf_checks=True)
    r = client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert r.status_code == 200
    api = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {r.json()['token']}"})
    body = {"kind": "individual", "name": "张伟", "id_number": "110105199003071239"}
    assert api.post("/api/v1/customers", body, content_type="application/json").status_code == 201
