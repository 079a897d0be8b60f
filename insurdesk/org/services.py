"""Writes on units, users and API tokens."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import Duplicate, FieldError, NotFound, ValidationFailed
from insurdesk.org.models import ApiToken, OrgUnit, Role, UnitLevel, User, hash_token


def _require_manage(actor) -> None:
    from insurdesk.org.policy import require

    require(actor, "org.manage", "只有系统管理员可以管理用户和机构")


_LEVEL_BY_DEPTH = [UnitLevel.HEAD, UnitLevel.PROVINCE, UnitLevel.BRANCH, UnitLevel.SUB]


@transaction.atomic
def unit_create(
    *, actor, code: str, name: str, parent_code: str | None = None, level: str | None = None
) -> OrgUnit:
    """Create an org unit under its parent (the root when none is given and one exists)."""
    _require_manage(actor)
    code, name = (code or "").strip(), (name or "").strip()
    if not code:
        raise ValidationFailed(FieldError("code", "required", "机构代码不能为空"))
    if not name:
        raise ValidationFailed(FieldError("name", "required", "机构名称不能为空"))
    if OrgUnit.objects.filter(code=code).exists():
        raise Duplicate(FieldError("code", "duplicate", f"机构代码 {code} 已存在"))
    parent = None
    if parent_code:
        parent = OrgUnit.objects.filter(code=parent_code).first()
        if parent is None:
            raise NotFound(FieldError("parent", "not_found", f"上级机构 {parent_code} 不存在"))
    else:
        parent = OrgUnit.objects.filter(parent__isnull=True).order_by("id").first()
    depth = 0 if parent is None else parent.depth + 1
    unit = OrgUnit.objects.create(
        code=code,
        name=name,
        parent=parent,
        level=level or _LEVEL_BY_DEPTH[min(depth, len(_LEVEL_BY_DEPTH) - 1)],
        path="",
    )
    unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
    unit.save(update_fields=["path"])
    audit_log(actor=actor, action="unit.create", target=unit, detail={"code": code, "name": name})
    return unit


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    role: str,
    unit_code: str | None = None,
    password: str | None = None,
    full_name: str = "",
    email: str = "",
) -> User:
    """Create a user with one role in one unit (the root unit by default)."""
    _require_manage(actor)
    if role not in Role.values:
        raise ValidationFailed(
            FieldError("role", "choice", f"角色 {role} 无效，可选：{', '.join(Role.values)}")
        )
    if not username:
        raise ValidationFailed(FieldError("username", "required", "用户名不能为空"))
    if User.objects.filter(username=username).exists():
        raise Duplicate(FieldError("username", "duplicate", f"用户名 {username} 已存在"))
    unit = (
        OrgUnit.objects.filter(code=unit_code).first()
        if unit_code
        else OrgUnit.objects.filter(parent__isnull=True).order_by("id").first()
    )
    if unit is None:
        raise NotFound(FieldError("unit", "not_found", f"机构 {unit_code or '(根机构)'} 不存在"))
    user = User(username=username, role=role, unit=unit, email=email)
    if full_name:
        user.last_name, user.first_name = full_name[:1], full_name[1:]
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_log(
        actor=actor,
        action="user.create",
        target=user,
        detail={"username": username, "role": role, "unit": unit.code},
    )
    return user


@transaction.atomic
def token_issue(*, user: User, days: int | None = None) -> str:
    """Issue an API token for the user; only its hash is stored."""
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        key_hash=hash_token(raw),
        prefix=raw[:8],
        expires_at=timezone.now() + timedelta(days=days or settings.INSURDESK_API_TOKEN_DAYS),
    )
    audit_log(actor=user, action="token.issue", target=user, detail={"prefix": raw[:8]})
    return raw


def token_user(raw: str) -> User | None:
    """Return the active user behind a raw token, or None."""
    tok = ApiToken.objects.select_related("user", "user__unit").filter(key_hash=hash_token(raw)).first()
    if tok is None or not tok.active or not tok.user.is_active:
        return None
    return tok.user


@transaction.atomic
def token_revoke(*, actor, raw: str) -> bool:
    n = ApiToken.objects.filter(key_hash=hash_token(raw), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if n:
        audit_log(actor=actor, action="token.revoke", target=actor, detail={"prefix": raw[:8]})
    return bool(n)


@transaction.atomic
def token_revoke_by_id(*, actor: User, token_id: int) -> ApiToken:
    """Revoke one of the actor's own tokens; another user's token does not exist for it."""
    tok = ApiToken.objects.select_for_update().filter(pk=token_id, user=actor).first()
    if tok is None:
        raise NotFound(FieldError("", "not_found", "令牌不存在"))
    if tok.revoked_at is None:
        tok.revoked_at = timezone.now()
        tok.save(update_fields=["revoked_at"])
        audit_log(actor=actor, action="token.revoke", target=actor, detail={"prefix": tok.prefix})
    return tok


@transaction.atomic
def tokens_revoke_all(*, user: User, reason: str) -> int:
    """Revoke every active API token of the user (its password, role or state changed)."""
    n = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if n:
        audit_log(actor=None, action="token.revoke_all", target=user, detail={"count": n, "reason": reason})
    return n


# ---------------------------------------------------------------- second factor (TOTP, django-otp)

OTP_THROTTLED = "尝试次数过多，请 {seconds} 秒后再试"


def second_factor_device(user: User):
    """Return the user's confirmed TOTP device, or None when it has not enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


@transaction.atomic
def second_factor_begin(*, user: User):
    """Return the user's pending TOTP device (a new secret), created on first call."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
        audit_log(actor=user, action="auth.second_factor_begin", target=user, detail={"device": device.pk})
    return device


def _failed_check(device, code: str) -> ValidationFailed | None:
    """Check a code (django-otp saves its back-off counter); return the refusal, or None if it passed."""
    allowed, info = device.verify_is_allowed()
    if not allowed:
        locked_until = (info or {}).get("locked_until")
        seconds = max(1, int((locked_until - timezone.now()).total_seconds()) + 1) if locked_until else 60
        return ValidationFailed(FieldError("code", "throttled", OTP_THROTTLED.format(seconds=seconds)))
    if not device.verify_token((code or "").replace(" ", "").strip()):
        return ValidationFailed(FieldError("code", "invalid_otp", "动态口令错误或已过期"))
    return None


def second_factor_confirm(*, user: User, device_id: int, code: str):
    """Confirm the pending device with a code from the app; it replaces any earlier device."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False).first()
        )
        if device is None:
            raise NotFound(FieldError("", "not_found", "绑定已失效，请刷新页面重新扫码"))
        failed = _failed_check(device, code)
    if failed:  # raised outside the transaction, so the throttle counter the check saved stays
        raise failed
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_log(actor=user, action="auth.second_factor_enrol", target=user, detail={"device": device.pk})
    return device


def second_factor_verify(*, user: User, code: str, ip: str | None = None, channel: str = "web"):
    """Check a code against the user's device; a failure is logged and slows the next try down."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("-id").first()
        )
        if device is None:
            raise NotFound(FieldError("code", "otp_setup_required", "尚未绑定动态口令，请先绑定"))
        failed = _failed_check(device, code)
    # Raised after both transactions, so the throttle counter and the log entry outlive the refusal.
    with transaction.atomic():
        audit_log(
            actor=user,
            action="auth.second_factor_failed" if failed else "auth.second_factor",
            target=user,
            detail={"username": user.username, "channel": channel},
            ip=ip,
        )
    if failed:
        raise failed
    return device


# ---------------------------------------------------------------- administration (系统管理, issue 16)


def _managed_user(actor, user_id: int) -> User:
    from insurdesk.org.policy import require

    require(actor, "org.manage", "只有系统管理员可以管理用户")
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound(FieldError("", "not_found", "用户不存在"))
    return user


def _refuse_self(actor, user: User, what: str) -> None:
    if actor is not None and actor.pk == user.pk:
        raise ValidationFailed(FieldError("", "own_account", f"不能{what}自己的账户，请由另一位管理员操作"))


@transaction.atomic
def user_change(
    *, actor, user_id: int, role: str, unit_id: int, full_name: str = "", email: str = ""
) -> User:
    """Change a user's role, unit, name or e-mail; an administrator cannot change its own role."""
    user = _managed_user(actor, user_id)
    if role not in Role.values:
        raise ValidationFailed(FieldError("role", "choice", f"角色 {role} 无效"))
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound(FieldError("unit", "not_found", "机构不存在"))
    if role != user.role:
        _refuse_self(actor, user, "更改")
    before = {
        "role": user.role,
        "unit": user.unit.code if user.unit else "",
        "name": str(user),
        "email": user.email,
    }
    full_name = (full_name or "").strip()
    user.role, user.unit, user.email = role, unit, (email or "").strip()
    user.last_name, user.first_name = (full_name[:1], full_name[1:]) if full_name else ("", "")
    user.save()
    after = {"role": role, "unit": unit.code, "name": str(user), "email": user.email}
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changed:
        audit_log(actor=actor, action="user.change", target=user, detail=changed)
    return user


@transaction.atomic
def user_set_locked(*, actor, user_id: int, locked: bool, reason: str = "") -> User:
    """Lock (deactivate) or unlock a user; unlocking also clears its failed sign-in lockout."""
    user = _managed_user(actor, user_id)
    if locked:
        _refuse_self(actor, user, "锁定")
        if not (reason or "").strip():
            raise ValidationFailed(FieldError("reason", "required", "请填写锁定原因"))
    if user.is_active == (not locked):
        return user
    user.is_active = not locked
    user.save(update_fields=["is_active"])
    if locked:
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    else:
        from axes.utils import reset

        reset(username=user.username)
    audit_log(
        actor=actor,
        action="user.lock" if locked else "user.unlock",
        target=user,
        detail={"username": user.username, "reason": (reason or "").strip()},
    )
    return user


@transaction.atomic
def user_reset_password(*, actor, user_id: int) -> str:
    """Give a user a new random password, shown once to the administrator; the user changes it later."""
    user = _managed_user(actor, user_id)
    raw = "-".join(secrets.token_urlsafe(6)[:6] for _ in range(3))
    user.set_password(raw)
    user.save(update_fields=["password"])
    audit_log(actor=actor, action="user.reset_password", target=user, detail={"username": user.username})
    return raw


@transaction.atomic
def user_reset_second_factor(*, actor, user_id: int) -> int:
    """Remove a user's authenticator devices: its next sign-in binds a new one (a lost phone)."""
    user = _managed_user(actor, user_id)
    n, _ = TOTPDevice.objects.filter(user=user).delete()
    audit_log(
        actor=actor,
        action="user.reset_second_factor",
        target=user,
        detail={"username": user.username, "devices": n},
    )
    return n


@transaction.atomic
def user_revoke_tokens(*, actor, user_id: int) -> int:
    """Revoke every active API token of a user."""
    user = _managed_user(actor, user_id)
    n = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_log(
        actor=actor, action="user.revoke_tokens", target=user, detail={"username": user.username, "tokens": n}
    )
    return n


@transaction.atomic
def unit_rename(*, actor, unit_id: int, name: str) -> OrgUnit:
    """Rename an org unit (its code, which imports and users refer to, stays)."""
    from insurdesk.org.policy import require

    require(actor, "org.manage", "只有系统管理员可以管理机构")
    unit = OrgUnit.objects.select_for_update().filter(pk=unit_id).first()
    if unit is None:
        raise NotFound(FieldError("", "not_found", "机构不存在"))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(FieldError("name", "required", "机构名称不能为空"))
    if name != unit.name:
        audit_log(actor=actor, action="unit.rename", target=unit, detail={"name": [unit.name, name]})
        unit.name = name
        unit.save(update_fields=["name"])
    return unit
