"""Sign-in, sign-out, the start page, and the user's own security: second factor and API tokens."""

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from insurdesk.common.errors import DomainError, NotFound
from insurdesk.common.security import client_ip
from insurdesk.org.forms import OtpCodeForm
from insurdesk.org.menu import SHORTCUTS, menu_for
from insurdesk.org.models import ApiToken, hash_token
from insurdesk.org.policy import needs_second_factor
from insurdesk.org.selectors import api_tokens_of
from insurdesk.org.services import (
    second_factor_begin,
    second_factor_confirm,
    second_factor_device,
    second_factor_verify,
    token_issue,
    token_revoke_by_id,
)
from insurdesk.org.workbench import tiles_for


class LoginView(auth_views.LoginView):
    """Django's login page; its form passes the request to authenticate(), which django-axes needs."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
@require_http_methods(["GET", "HEAD"])
def home(request):
    """The role's workbench (工作台): counts of what it acts on today, each opening its list."""
    shortcuts = [
        e for section in menu_for(request.user, None) for e in section.entries if e.item.url_name in SHORTCUTS
    ]
    return render(request, "org/home.html", {"tiles": tiles_for(request.user), "shortcuts": shortcuts})


def _next(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return settings.LOGIN_REDIRECT_URL


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def otp_setup(request):
    """Show a new TOTP secret as a QR code and as text; a code from the app confirms it."""
    user = request.user
    if second_factor_device(user) is not None and not user.is_verified():
        # Replacing a device needs the current one: a stolen password alone must not re-enrol.
        return redirect(_url("otp_verify", _next(request)))
    device = second_factor_begin(user=user)
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = second_factor_confirm(user=user, device_id=device.pk, code=form.cleaned_data["code"])
        except DomainError as exc:
            form.add_error("code", exc.errors[0].message)
        else:
            request.session.cycle_key()
            otp_login(request, device)
            messages.success(request, "动态口令已绑定，以后登录时须输入身份验证器中的 6 位数字")
            return redirect(_next(request))
    secret = b32encode(device.bin_key).decode()
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr_svg": qr.svg_inline(scale=4, border=2, title="动态口令二维码"),
        "secret": _grouped(secret),
        "issuer": settings.OTP_TOTP_ISSUER,
        "required": needs_second_factor(user),
        "next": _next(request),
    }
    return render(request, "org/otp_setup.html", context)


def _url(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def otp_verify(request):
    """Ask for the code of the user's TOTP device after the password."""
    user = request.user
    if user.is_verified():
        return redirect(_next(request))
    if second_factor_device(user) is None:
        return redirect(_url("otp_setup", _next(request)))
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = second_factor_verify(user=user, code=form.cleaned_data["code"], ip=client_ip(request))
        except DomainError as exc:
            form.add_error("code", exc.errors[0].message)
        else:
            request.session.cycle_key()
            otp_login(request, device)
            return redirect(_next(request))
    return render(request, "org/otp_verify.html", {"form": form, "next": _next(request)})


def _account(request, *, new_token: str | None = None, new_token_expires=None, password_form=None):
    user = request.user
    context = {
        "password_form": password_form or PasswordChangeForm(user),
        "device": second_factor_device(user),
        "required": needs_second_factor(user),
        "tokens": api_tokens_of(user),
        "new_token": new_token,
        "new_token_expires": new_token_expires,
        "token_days": settings.INSURDESK_API_TOKEN_DAYS,
    }
    return render(request, "org/account.html", context)


@login_required
@require_http_methods(["GET", "HEAD"])
def account(request):
    """The user's own security: second factor and API tokens."""
    return _account(request)


@login_required
@require_POST
def account_password(request):
    """Change the user's own password: this session stays, every other session and API token ends."""
    form = PasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        return _account(request, password_form=form)
    user = form.save()  # the save revokes the user's tokens (insurdesk.org.signals)
    update_session_auth_hash(request, user)
    messages.success(request, "密码已修改；其他已登录的会话和全部 API 令牌已失效")
    return redirect("account")


@login_required
@require_POST
def api_token_create(request):
    """Issue an API token and show it this once (never stored, never put in a cookie or message)."""
    raw = token_issue(user=request.user)
    expires = ApiToken.objects.filter(key_hash=hash_token(raw)).values_list("expires_at", flat=True).get()
    return _account(request, new_token=raw, new_token_expires=expires)


@login_required
@require_POST
def api_token_revoke(request, pk: int):
    try:
        tok = token_revoke_by_id(actor=request.user, token_id=pk)
    except NotFound:
        raise Http404("令牌不存在") from None
    messages.success(request, f"令牌 {tok.prefix}… 已撤销")
    return redirect("account")
