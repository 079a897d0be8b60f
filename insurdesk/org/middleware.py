"""Enforce the declared access of every page: sign-in, session age, second factor, then the action.

Runs last, in process_view, so every URL the resolver finds passes through one check derived from
insurdesk.org.policy.PAGES. An undeclared URL is refused for everyone. API operations are checked by
the API's token authentication against policy.API instead (cookies do not sign in to the API).
"""

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.http import urlencode

from insurdesk.org.policy import (
    API_NAMESPACE,
    PAGES,
    Scope,
    allows,
    needs_second_factor,
    page_access,
    undeclared_page,
)
from insurdesk.org.services import second_factor_device
from insurdesk.org.signals import AUTH_AT, HAS_DEVICE, SEEN_AT

log = logging.getLogger(__name__)

# The session's end moves INSURDESK_SESSION_IDLE_SECONDS ahead when it is saved; saving it on every
# request would cost a write each time, so it is saved when it was last seen over a minute ago.
TOUCH_SECONDS = 60


def _to_login(request, message: str | None = None):
    if message:
        messages.info(request, message)
    if getattr(request, "htmx", False):
        # htmx would swap the login page into a fragment; send the whole window there instead.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
        return response
    return redirect_to_login(request.get_full_path())


def _has_device(request) -> bool:
    """Tell whether the user has a confirmed TOTP device (remembered for the session)."""
    if HAS_DEVICE not in request.session:
        request.session[HAS_DEVICE] = second_factor_device(request.user) is not None
    return request.session[HAS_DEVICE]


def second_factor_pending(request) -> str | None:
    """Return the page the user must pass first ("otp_verify" or "otp_setup"), or None."""
    user = request.user
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return None
    required = needs_second_factor(user)
    if not required and not _has_device(request):
        return None
    request.session.pop(HAS_DEVICE, None)  # re-read after enrolment or a reset by an admin
    return "otp_verify" if _has_device(request) else "otp_setup"


def session_too_old(request) -> bool:
    """Tell whether the session has outlived INSURDESK_SESSION_MAX_SECONDS; else keep it alive."""
    now = int(time.time())
    session = request.session
    if now - session.setdefault(AUTH_AT, now) > settings.INSURDESK_SESSION_MAX_SECONDS:
        return True
    if now - session.get(SEEN_AT, 0) >= TOUCH_SECONDS:
        session[SEEN_AT] = now  # modified: saved, and its idle expiry pushed ahead
    return False


class AccessPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        name = match.view_name
        if match.namespaces[:1] == [API_NAMESPACE] and name not in PAGES:
            return None  # an API operation: insurdesk.api.auth checks it against policy.API
        access = page_access(name)
        if access is None:
            log.error(undeclared_page(name, match.route))
            raise PermissionDenied("undeclared")
        if access.scope == Scope.PUBLIC:
            return None
        user = request.user
        if not user.is_authenticated:
            return _to_login(request)
        if session_too_old(request):
            logout(request)
            return _to_login(request, "登录已超过最长时限，请重新登录")
        if access.second_factor:
            step = second_factor_pending(request)
            if step is not None:
                return _to_step(request, step)
        if not allows(user, access):
            raise PermissionDenied("您的角色无权执行此操作")
        return None


def _to_step(request, step: str):
    url = reverse(step)
    if request.method in ("GET", "HEAD") and not getattr(request, "htmx", False):
        url += "?" + urlencode({"next": request.get_full_path()})
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
