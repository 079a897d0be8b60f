"""REST endpoints for API tokens (`/api/v1/auth/...`), and the pieces every app's endpoints share.

The shared pieces live here, in the lowest app with endpoints, because the layer contract lets
every domain app import `org` but none import `insurdesk.api`.
"""

import re
import types
import typing
from datetime import date, datetime

from django.contrib.auth import authenticate
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import DomainError
from insurdesk.common.security import client_ip
from insurdesk.common.text import BIDI_CONTROLS, hidden_character
from insurdesk.org.models import ApiToken, hash_token
from insurdesk.org.policy import needs_second_factor
from insurdesk.org.services import second_factor_device, second_factor_verify, token_issue, token_revoke

router = Router(tags=["auth"])


class FieldErrorOut(Schema):
    field: str = Field(
        description="出错的字段（点号路径，如 legal_representative.id_number）；整体错误为空串"
    )
    code: str = Field(
        description="稳定的错误码，如 required、checksum、birth_date、mismatch、duplicate、conflict"
    )
    message: str = Field(description="中文说明")


class ExistingOut(Schema):
    id: int
    archive_no: str = ""


class ErrorsOut(Schema):
    errors: list[FieldErrorOut]
    existing: ExistingOut | None = Field(
        None, description="重复建档时已有档案（仅当它在调用者的管辖范围内时给出）"
    )


def errors(field: str, code: str, message: str) -> dict:
    return {"errors": [{"field": field, "code": code, "message": message}]}


def storable_text(value):
    """Refuse text no database column can hold: NUL (PostgreSQL) or an unpaired surrogate (UTF-8)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError("unstorable_text", "text holds an unpaired surrogate") from None
        if "\x00" in value:
            raise PydanticCustomError("unstorable_text", "text holds a NUL character")
    return value


# Secrets are compared, never shown: they may hold any character.
_SECRET_FIELDS = frozenset({"password", "otp", "token", "old_password", "new_password"})


def visible_text(value, field_name: str | None = None):
    """Refuse text whose look hides what it holds: bidi controls, zero-width or other invisible characters."""
    if isinstance(value, str) and field_name not in _SECRET_FIELDS:
        ch = hidden_character(value, multiline=True)
        if ch is not None:
            kind = "bidi_control" if ch in BIDI_CONTROLS else "invisible_character"
            raise PydanticCustomError(kind, "text holds U+{code}", {"code": f"{ord(ch):04X}"})
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|z|[+-]\d{2}:?\d{2})?"
)


def _temporal(annotation) -> type | None:
    """Return datetime or date when the annotation is (or may be) one, else None."""
    if annotation is datetime:
        return datetime
    if annotation is date:
        return date
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        found = [_temporal(a) for a in typing.get_args(annotation)]
        return datetime if datetime in found else date if date in found else None
    return None


_NOT_A_DATE = "(not ISO 8601)"


def iso_temporal(value, kind: type | None) -> bool:
    """Tell whether a date or time arrived as ISO 8601 text (or not at all): 0 or "1700000000" did not."""
    if kind is None or value is None or isinstance(value, date) or value == "":
        return True
    pattern = _ISO_DATETIME if kind is datetime else _ISO_DATE
    return isinstance(value, str) and bool(pattern.fullmatch(value.strip()))


class StrictSchema(Schema):
    """API input (bodies and queries): dates and times only as ISO 8601 text, never numbers.

    pydantic turns 0 into 1970-01-01 and "1700000000" into a time. A value that is not ISO text is
    swapped for text no parser accepts, so pydantic refuses it on its field, with its usual error.
    """

    @model_validator(mode="before")
    @classmethod
    def _iso_dates(cls, data):
        # ninja hands schemas without extra="forbid" their input wrapped in a DjangoGetter.
        raw = getattr(data, "_obj", data)
        if not isinstance(raw, dict):
            return data
        bad = {}
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if key in raw and not iso_temporal(raw[key], _temporal(field.annotation)):
                bad[key] = _NOT_A_DATE
        return {**raw, **bad} if bad else data


class InSchema(StrictSchema):
    """A request body: unknown fields are refused, text must be storable and show what it holds."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value, info: ValidationInfo):
        return visible_text(storable_text(value), info.field_name)


class TokenIn(InSchema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=4096)
    otp: str | None = Field(
        None,
        max_length=8,
        description="动态口令（6 位数字）：绑定了动态口令的用户必填；系统管理员、合规专员须先在网页上绑定",
    )


class TokenOut(Schema):
    token: str = Field(description="只显示这一次；服务器只保存它的哈希")
    expires_at: datetime


@router.post(
    "/token",
    auth=None,
    url_name="auth_token",
    summary="用户名和密码换取访问令牌",
    exclude_unset=True,
    response={200: TokenOut, 400: ErrorsOut, 401: ErrorsOut, 422: ErrorsOut, 429: ErrorsOut},
)
def token(request, payload: TokenIn):
    user = authenticate(request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        # Answer the lockout in the API's error shape; the flag would make axes' middleware
        # replace this answer with its HTML page.
        request.axes_locked_out = False
        return Status(429, errors("username", "locked", "登录失败次数过多，账户已暂时锁定，请稍后再试"))
    if user is None:
        return Status(401, errors("password", "invalid_credentials", "用户名或密码错误"))
    refusal = _second_factor_refusal(request, user, payload.otp)
    if refusal is not None:
        return Status(401, refusal)
    audit_log(
        actor=user,
        action="auth.login",
        target=user,
        detail={"username": user.username, "channel": "api"},
        ip=client_ip(request),
    )
    raw = token_issue(user=user)
    expires_at = ApiToken.objects.filter(key_hash=hash_token(raw)).values_list("expires_at", flat=True).get()
    return Status(200, {"token": raw, "expires_at": expires_at})


def _second_factor_refusal(request, user, code: str | None) -> dict | None:
    """Ask for the TOTP code of users who have a device, or whose role must have one."""
    if second_factor_device(user) is None:
        if needs_second_factor(user):
            return errors(
                "otp", "otp_setup_required", "您的角色须使用动态口令：请先在网页“账户安全”中绑定，再申请令牌"
            )
        return None
    if not code:
        return errors("otp", "otp_required", "请提供动态口令 otp（身份验证器中的 6 位数字）")
    try:
        second_factor_verify(user=user, code=code, ip=client_ip(request), channel="api")
    except DomainError as exc:
        first = exc.errors[0]
        return errors("otp", "invalid_otp" if first.code != "throttled" else "throttled", first.message)
    return None


@router.post(
    "/revoke",
    url_name="auth_revoke",
    summary="撤销本次请求所用的访问令牌",
    response={204: None, 401: ErrorsOut},
)
def revoke(request):
    token_revoke(actor=request.auth, raw=request.auth_token)
    return Status(204, None)
