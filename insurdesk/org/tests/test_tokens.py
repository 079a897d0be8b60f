"""API tokens: the user's own list, a new token shown once, revocation, expiry."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from insurdesk.api.tests.client import ApiClient, as_user, error_codes
from insurdesk.audit.models import AuditEntry
from insurdesk.org.models import ApiToken
from insurdesk.org.services import token_issue, token_user


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(client, make_user):
    user = make_user("clerk")
    client.force_login(user)
    response = client.post(reverse("api_token_create"))
    raw = response.context["new_token"]
    assert raw in response.content.decode() and "只显示这一次" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    tok = ApiToken.objects.get(user=user)
    assert tok.key_hash != raw and raw.startswith(tok.prefix)
    assert raw not in client.get(reverse("account")).content.decode()
    assert ApiClient(raw).get("/customers").status_code == 200


def test_the_account_page_lists_own_tokens_with_their_state(client, make_user):
    user, other = make_user("clerk"), make_user("clerk")
    active, expired, revoked = token_issue(user=user), token_issue(user=user), token_issue(user=user)
    token_issue(user=other)
    ApiToken.objects.filter(prefix=expired[:8]).update(expires_at=timezone.now() - timedelta(days=1))
    ApiToken.objects.filter(prefix=revoked[:8]).update(revoked_at=timezone.now())
    client.force_login(user)
    html = client.get(reverse("account")).content.decode()
    for raw in (active, expired, revoked):
        assert raw[:8] in html and raw not in html
    assert "有效" in html and "已过期" in html and "已撤销" in html
    assert html.count("/revoke/") == 1  # only the active one offers revocation
    assert ApiToken.objects.filter(user=other).get().prefix not in html


def test_revoking_a_token_on_the_page_shuts_the_api(client, make_user):
    user = make_user("clerk")
    raw = token_issue(user=user)
    client.force_login(user)
    tok = ApiToken.objects.get(user=user)
    response = client.post(reverse("api_token_revoke", args=[tok.pk]))
    assert response.status_code == 302
    r = ApiClient(raw).get("/customers")
    assert r.status_code == 401 and error_codes(r) == {("", "invalid_token")}
    assert AuditEntry.objects.filter(action="token.revoke", actor_id=user.pk).exists()


def test_another_users_token_does_not_exist_for_the_revoke_page(client, make_user):
    user, other = make_user("clerk"), make_user("admin")
    raw = token_issue(user=other)
    client.force_login(user)
    tok = ApiToken.objects.get(user=other)
    assert client.post(reverse("api_token_revoke", args=[tok.pk])).status_code == 404
    assert token_user(raw) == other


def test_a_token_expires_after_the_configured_days(make_user, settings):
    user = make_user("clerk")
    api = as_user(user)
    tok = ApiToken.objects.get(user=user)
    assert timedelta(days=settings.INSURDESK_API_TOKEN_DAYS - 1) < tok.expires_at - timezone.now()
    assert api.get("/customers").status_code == 200
    ApiToken.objects.filter(pk=tok.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = api.get("/customers")
    assert r.status_code == 401 and error_codes(r) == {("", "invalid_token")}


def test_a_session_cookie_does_not_sign_in_to_the_api(client, make_user):
    client.force_login(make_user("admin"))
    r = client.get("/api/v1/customers")
    assert r.status_code == 401
    r = client.post("/api/v1/customers", {"kind": "individual"}, content_type="application/json")
    assert r.status_code == 401
