"""`Idempotency-Key` for POST endpoints: a retried request gets the first answer, never a second record.

A client that lost the answer to a POST (timeout, dropped connection) sends it again with the same
key. The first request with a key claims it in its own committed transaction before any work is done,
so of two concurrent requests only one does the work:

- same caller, operation, key and body, first one finished: its status and body are answered again,
  nothing is written;
- same key with another body: 409 `idempotency_mismatch`;
- same key while the first is still running: 409 `idempotency_in_progress` (retry later);
- the first one refused (a 4xx domain error) or failed: the claim is dropped, the key may be used again.

Keys are per caller (`request.auth`) and operation ("POST /api/v1/payments"); a key is 1–100 visible
ASCII characters. Without the header an endpoint behaves as before.
"""

from __future__ import annotations

import functools
import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from insurdesk.common.errors import Conflict, FieldError, ValidationFailed
from insurdesk.common.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY = 100


def _key_of(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= MAX_KEY) or not all(33 <= ord(ch) <= 126 for ch in key):
        raise ValidationFailed(
            FieldError(HEADER, "format", f"{HEADER} 应为 1–{MAX_KEY} 个可见 ASCII 字符（如 UUID）")
        )
    return key


def idempotent(view):
    """Make a POST endpoint answer a retry with the same `Idempotency-Key` and body as the first time.

    The endpoint returns what ninja accepts (a dict, a schema, or `Status(code, value)`); the stored
    answer is given back as `Status(code, value)` and goes through the endpoint's response schema again.
    """
    from ninja import Status

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        key = _key_of(request)
        user = getattr(request, "auth", None)
        if key is None or user is None:
            return view(request, *args, **kwargs)
        operation = f"{request.method} {request.path}"[:200]
        body = hashlib.sha256(request.body or b"").hexdigest()
        try:
            with transaction.atomic():
                claim = IdempotencyKey.objects.create(
                    user_id=user.pk, operation=operation, key=key, body_sha256=body
                )
        except IntegrityError:
            return _replay(Status, user.pk, operation, key, body)
        try:
            result = view(request, *args, **kwargs)
        except BaseException:
            IdempotencyKey.objects.filter(pk=claim.pk).delete()
            raise
        status, value = (result.status_code, result.value) if isinstance(result, Status) else (200, result)
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        IdempotencyKey.objects.filter(pk=claim.pk).update(
            status=status, response=json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
        )
        return result

    return wrapper


def _replay(Status, user_id: int, operation: str, key: str, body: str):
    found = IdempotencyKey.objects.filter(user_id=user_id, operation=operation, key=key).first()
    if found is None:  # dropped in the meantime by a refused first request: the caller may retry
        raise Conflict(FieldError(HEADER, "idempotency_in_progress", "同一幂等键的请求刚刚结束，请重试"))
    if found.body_sha256 != body:
        raise Conflict(
            FieldError(HEADER, "idempotency_mismatch", "该幂等键已用于另一内容的请求，请为新的请求使用新的键")
        )
    if found.status is None:
        raise Conflict(
            FieldError(HEADER, "idempotency_in_progress", "同一幂等键的请求仍在处理中，请稍后重试")
        )
    return Status(found.status, json.loads(found.response))


# For the router decorator's openapi_extra: the header in the OpenAPI document.
OPENAPI = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
            "description": "幂等键：同一键与同一请求体重试时返回第一次的结果；同一键换了请求体为 409",
        }
    ]
}
