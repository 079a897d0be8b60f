"""Record every sign-in, sign-out and failed sign-in in the tamper-evident log (档案使用记录)."""

import time

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from insurdesk.audit.services import audit_log
from insurdesk.common.security import client_ip
from insurdesk.org.models import User
from insurdesk.org.services import second_factor_device, tokens_revoke_all

# Session keys: when the user signed in, when it was last seen, whether it has a TOTP device.
AUTH_AT = "insurdesk_auth_at"
SEEN_AT = "insurdesk_seen_at"
HAS_DEVICE = "insurdesk_has_otp_device"


def _channel(request) -> str:
    path = getattr(request, "path", "") or ""
    return "api" if path.startswith("/api/") else "web"


def _ip(request) -> str | None:
    return client_ip(request) if request is not None else None


def logged_username(typed: str) -> tuple[str, bool]:
    """Return the username as the log keeps it, and whether such a user exists.

    The log is append-only, so a password typed into the username box would stay in it for good:
    a name no user has is kept only as its first two characters and its length.
    """
    typed = (typed or "")[:150]
    if typed and User.objects.filter(username=typed).exists():
        return typed, True
    return (f"{typed[:2]}…({len(typed)})" if typed else ""), False


def axes_username(request, credentials=None) -> str:
    """Return the username django-axes counts and stores: the audit log's form (logged_username).

    axes keeps every failed attempt's username in its tables; a password typed into the username box
    would stay there. A real user's name is counted whole, so its lockout is exact; a name nobody has
    is counted by its first two characters and length, which is all an attacker could lock with it.
    """
    typed = (credentials or {}).get("username")
    if typed is None and request is not None:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        typed = data.get("username") if hasattr(data, "get") else None
    return logged_username(str(typed or ""))[0]


@receiver(user_logged_in, dispatch_uid="insurdesk.audit_login")
def audit_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[AUTH_AT] = request.session[SEEN_AT] = now
        request.session[HAS_DEVICE] = second_factor_device(user) is not None
    audit_log(
        actor=user,
        action="auth.login",
        target=user,
        detail={"username": user.get_username(), "channel": _channel(request)},
        ip=_ip(request),
    )


@receiver(user_logged_out, dispatch_uid="insurdesk.audit_logout")
def audit_logout(sender, request, user, **kwargs):
    if user is None:
        return
    audit_log(
        actor=user,
        action="auth.logout",
        target=user,
        detail={"username": user.get_username(), "channel": _channel(request)},
        ip=_ip(request),
    )


@receiver(user_login_failed, dispatch_uid="insurdesk.audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    username, known = logged_username(str(credentials.get("username", "")))
    audit_log(
        actor=None,
        action="auth.login_failed",
        target_type="org.user",
        detail={
            "username": username,
            "known_user": known,
            "locked": bool(getattr(request, "axes_locked_out", False)),
            "channel": _channel(request),
        },
        ip=_ip(request),
    )


# -- credentials changed: the user's API tokens go with them (sessions: User._get_session_auth_hash)

_BEFORE = "_insurdesk_credentials_before"


def _credentials(user: User) -> tuple:
    return (user.password, user.role, user.is_active, user.is_superuser)


@receiver(pre_save, sender=User, dispatch_uid="insurdesk.credentials_before")
def remember_credentials(sender, instance: User, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    before = User.objects.filter(pk=instance.pk).values_list(
        "password", "role", "is_active", "is_superuser"
    ).first()
    setattr(instance, _BEFORE, before)


@receiver(post_save, sender=User, dispatch_uid="insurdesk.credentials_changed")
def revoke_on_credentials_change(sender, instance: User, created=False, raw=False, **kwargs):
    """Changing or resetting the password, locking the user or changing its role revokes its tokens.

    Every way in saves the user (the admin, `changepassword`, the account page, a service), so this
    one receiver covers them all; a queryset update() would bypass it and is not used on users.
    """
    before = instance.__dict__.pop(_BEFORE, None)
    if raw or created or before is None:
        return
    after = _credentials(instance)
    reasons = [
        reason
        for reason, changed in (
            ("password", before[0] != after[0]),
            ("role", before[1] != after[1] or before[3] != after[3]),
            ("locked", before[2] and not after[2]),
        )
        if changed
    ]
    if reasons:
        tokens_revoke_all(user=instance, reason=",".join(reasons))
