"""TOTP second factor: required for admin and compliance, optional for the others, on pages and the API."""

import re
from base64 import b32decode

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD
from insurdesk.api.tests.client import ApiClient, error_codes
from insurdesk.audit.models import AuditEntry
from insurdesk.org.policy import SECOND_FACTOR_ROLES
from insurdesk.org.testing import confirmed_device, totp_code


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def password_only(user) -> Client:
    """Sign in through the login page: the password, and no second factor yet."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_admin_and_compliance_must_use_a_second_factor():
    assert {"admin", "compliance"} == SECOND_FACTOR_ROLES


@pytest.mark.parametrize("role", ["admin", "compliance"])
def test_a_role_that_needs_it_is_sent_to_enrolment_before_any_page(make_user, role):
    client = password_only(make_user(role))
    for url in (reverse("customers:list"), reverse("account"), reverse("home")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('otp_setup')}?next={url.replace('/', '%2F')}"
    assert client.post(reverse("customers:create_individual"), {}).status_code == 302


def test_a_superuser_counts_as_admin(make_user):
    root = make_user("clerk")
    root.is_superuser = True
    root.save()
    response = password_only(root).get(reverse("customers:list"))
    assert response["Location"].startswith(reverse("otp_setup"))


def test_other_roles_need_no_second_factor(make_user):
    client = password_only(make_user("clerk"))
    assert client.get(reverse("customers:list")).status_code == 200


def test_the_enrolment_page_shows_a_qr_code_as_inline_svg_and_the_secret_as_text(make_user):
    client = password_only(make_user("admin", username="root"))
    html = client.get(reverse("otp_setup")).content.decode()
    assert "<svg" in html and "<img" not in html.split("otp-qr")[1].split("</div>")[0]
    secret = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user__username="root", confirmed=False)
    assert b32decode(secret) == device.bin_key
    assert "绑定动态口令" in html and "账户：insurdesk" in html


def test_enrolment_with_a_wrong_code_is_refused_in_chinese(make_user):
    client = password_only(make_user("admin"))
    client.get(reverse("otp_setup"))
    response = client.post(reverse("otp_setup"), {"code": "000000"})
    assert response.status_code == 200 and "动态口令错误或已过期" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_enrolment_with_the_app_code_confirms_the_device_and_opens_the_site(make_user):
    admin = make_user("admin")
    client = password_only(admin)
    client.get(reverse("otp_setup"))
    device = TOTPDevice.objects.get(user=admin)
    wanted = reverse("customers:list")
    response = client.post(reverse("otp_setup"), {"code": totp_code(device), "next": wanted})
    assert response.status_code == 302 and response["Location"] == wanted
    assert client.get(wanted).status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEntry.objects.filter(action="auth.second_factor_enrol", actor_id=admin.pk).exists()


def test_after_the_password_an_enrolled_user_is_asked_for_the_code(make_user):
    compliance = make_user("compliance")
    device = confirmed_device(compliance)
    client = password_only(compliance)
    response = client.get(reverse("customers:list"))
    assert response["Location"].startswith(reverse("otp_verify"))
    page = client.get(response["Location"]).content.decode()
    assert "动态口令验证" in page
    wrong = client.post(reverse("otp_verify"), {"code": "123456"})
    assert "动态口令错误或已过期" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # the back-off after a wrong code is tested below
    ok = client.post(reverse("otp_verify"), {"code": totp_code(device), "next": reverse("customers:list")})
    assert ok["Location"] == reverse("customers:list")
    assert client.get(reverse("customers:list")).status_code == 200
    actions = list(AuditEntry.objects.filter(actor_id=compliance.pk).values_list("action", flat=True))
    assert "auth.second_factor_failed" in actions and "auth.second_factor" in actions


def test_a_code_is_accepted_once(make_user):
    user = make_user("admin")
    device = confirmed_device(user)
    code = totp_code(device)
    first = password_only(user)
    assert first.post(reverse("otp_verify"), {"code": code})["Location"] == reverse("home")
    second = password_only(user)
    assert "动态口令错误或已过期" in second.post(reverse("otp_verify"), {"code": code}).content.decode()


def test_repeated_wrong_codes_slow_the_next_try_down(make_user):
    user = make_user("admin")
    device = confirmed_device(user)
    client = password_only(user)
    client.post(reverse("otp_verify"), {"code": "000000"})
    response = client.post(reverse("otp_verify"), {"code": totp_code(device)})
    assert "尝试次数过多" in response.content.decode()


def test_a_stolen_password_cannot_replace_an_enrolled_device(make_user):
    user = make_user("admin")
    confirmed_device(user)
    client = password_only(user)
    response = client.get(reverse("otp_setup"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("otp_verify"))
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_a_clerk_may_enrol_and_is_then_asked_for_the_code(make_user):
    clerk = make_user("clerk")
    client = password_only(clerk)
    assert "未绑定" in client.get(reverse("account")).content.decode()
    client.get(reverse("otp_setup"))
    device = TOTPDevice.objects.get(user=clerk)
    client.post(reverse("otp_setup"), {"code": totp_code(device)})
    assert "已绑定" in client.get(reverse("account")).content.decode()
    later = password_only(clerk)
    assert later.get(reverse("customers:list"))["Location"].startswith(reverse("otp_verify"))


def test_logout_works_before_the_second_factor(make_user):
    client = password_only(make_user("admin"))
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


# --- the API token endpoint ---


def test_a_role_that_needs_a_second_factor_gets_no_token_before_enrolment(make_user):
    admin = make_user("admin")
    r = ApiClient().post("/auth/token", {"username": admin.username, "password": PASSWORD})
    assert r.status_code == 401 and error_codes(r) == {("otp", "otp_setup_required")}


def test_an_enrolled_user_needs_the_code_for_a_token(make_user):
    user = make_user("compliance")
    device = confirmed_device(user)
    body = {"username": user.username, "password": PASSWORD}
    r = ApiClient().post("/auth/token", body)
    assert r.status_code == 401 and error_codes(r) == {("otp", "otp_required")}
    r = ApiClient().post("/auth/token", {**body, "otp": "000000"})
    assert r.status_code == 401 and error_codes(r) == {("otp", "invalid_otp")}
    device.refresh_from_db()
    device.throttle_reset()
    r = ApiClient().post("/auth/token", {**body, "otp": totp_code(device)})
    assert r.status_code == 200 and r.json()["token"]


def test_a_clerk_without_a_device_gets_a_token_with_the_password(make_user):
    user = make_user("clerk")
    r = ApiClient().post("/auth/token", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 200
