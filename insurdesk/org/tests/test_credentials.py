"""Sessions and API tokens follow the credentials: a new password, a lock or a new role ends them.

Through the ways that exist: the account page (own password), Django's admin (password reset, lock,
role), the `changepassword` command.
"""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD
from insurdesk.api.tests.client import ApiClient
from insurdesk.audit.models import AuditEntry
from insurdesk.org.models import ApiToken, User
from insurdesk.org.services import token_issue

NEW_PASSWORD = "Another-secret-42"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get(reverse("account")).status_code == 200
    return client


def still_signed_in(client: Client) -> bool:
    response = client.get(reverse("account"))
    return response.status_code == 200


def token_works(raw: str) -> bool:
    return ApiClient(raw).get("/customers").status_code == 200


@pytest.fixture
def victim(make_user):
    return make_user("clerk", username="zhou")


@pytest.fixture
def superadmin(units):
    user = User.objects.create_superuser("root", password=PASSWORD, role="admin", unit=units["HQ"])
    return signed_in(user)


def _admin_user_form(admin_client: Client, user: User, **changes) -> dict:
    """The admin's change form of the user as it stands, with some fields changed."""
    page = admin_client.get(reverse("admin:org_user_change", args=[user.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, list | tuple):
            data[name] = [getattr(v, "pk", v) for v in value]
        elif value is None:
            continue
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif hasattr(value, "strftime"):
            data[f"{name}_0"], data[f"{name}_1"] = value.strftime("%Y-%m-%d"), value.strftime("%H:%M:%S")
        else:
            data[name] = getattr(value, "pk", value)
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    data.pop("password", None)
    return data


def test_changing_the_own_password_on_the_account_page_ends_other_sessions_and_tokens(victim):
    here, elsewhere = signed_in(victim), signed_in(victim)
    raw = token_issue(user=victim)
    assert token_works(raw)
    page = here.get(reverse("account"))
    assert "修改密码" in page.content.decode()
    response = here.post(
        reverse("account_password"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert still_signed_in(here)  # the session that changed it stays
    assert not still_signed_in(elsewhere)
    assert not token_works(raw)
    entry = AuditEntry.objects.filter(action="token.revoke_all").get()
    assert entry.detail == {"count": 1, "reason": "password"}


def test_a_wrong_current_password_changes_nothing(victim):
    here = signed_in(victim)
    raw = token_issue(user=victim)
    response = here.post(
        reverse("account_password"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200 and "旧密码" in response.content.decode()
    assert token_works(raw)


def test_an_administrator_resetting_the_password_ends_sessions_and_tokens(victim, superadmin):
    session = signed_in(victim)
    raw = token_issue(user=victim)
    response = superadmin.post(
        f"/admin/org/user/{victim.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not still_signed_in(session)
    assert not token_works(raw)


def test_locking_a_user_in_the_admin_revokes_its_tokens(victim, superadmin):
    session = signed_in(victim)
    raw = token_issue(user=victim)
    data = _admin_user_form(superadmin, victim, is_active=False)
    response = superadmin.post(reverse("admin:org_user_change", args=[victim.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not still_signed_in(session)
    victim.is_active = True
    victim.save()
    assert not token_works(raw)  # unlocking does not bring the old tokens back
    assert ApiToken.objects.get(user=victim).revoked_at is not None


def test_changing_the_role_in_the_admin_ends_sessions_and_tokens(victim, superadmin):
    session = signed_in(victim)
    raw = token_issue(user=victim)
    data = _admin_user_form(superadmin, victim, role="cs")
    response = superadmin.post(reverse("admin:org_user_change", args=[victim.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    victim.refresh_from_db()
    assert victim.role == "cs"
    assert not still_signed_in(session)
    assert not token_works(raw)


def test_the_changepassword_command_ends_sessions_and_tokens(victim, monkeypatch):
    session = signed_in(victim)
    raw = token_issue(user=victim)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", "zhou", stdout=io.StringIO())
    assert not still_signed_in(session)
    assert not token_works(raw)


def test_an_unrelated_change_keeps_sessions_and_tokens(victim):
    session = signed_in(victim)
    raw = token_issue(user=victim)
    victim.email = "zhou@example.cn"
    victim.save()
    assert still_signed_in(session) and token_works(raw)
