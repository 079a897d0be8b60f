"""Keep every answer under /api/ in the API's shape: JSON {"errors": [...]}, never an HTML page.

Django answers some requests before or around the API's own handlers: an unknown path (its 404 page,
or the debug page in development), a wrong method (ninja's plain 405), a body over the limit. Those
answers are replaced here by the error body with a stable code; an unhandled exception in an API
operation is answered by insurdesk.api.errors as JSON 500, without a traceback.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

from insurdesk.api.errors import error_body

API_PREFIX = "/api/"

_BY_STATUS = {
    400: ("malformed", "请求无效"),
    403: ("forbidden", "您的角色无权执行此操作"),
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("too_large", "请求体过大"),
}


def too_large_body() -> dict:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_body("", "too_large", f"请求体过大，不能超过 {limit} 字节（文件请以 multipart 上传）")


def shaped(status: int, *, allow: str | None = None) -> JsonResponse:
    """Return the API's error answer for an HTTP status."""
    if status == 413:
        body = too_large_body()
    elif status in _BY_STATUS:
        body = error_body("", *_BY_STATUS[status])
    elif status >= 500:
        body = error_body("", "server_error", "服务器内部错误，已记录；请稍后再试或联系系统管理员")
    else:
        body = error_body("", "http_error", f"请求失败（HTTP {status}）")
    response = JsonResponse(body, status=status)
    if allow:
        response["Allow"] = allow
    return response


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class ApiShapeMiddleware:
    """Refuse an over-limit API body before reading it; turn any non-JSON API error into JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        content_type = request.META.get("CONTENT_TYPE", "")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # Files come as multipart and are capped per upload (insurdesk.common.uploads); any other body
        # is read into memory, so its declared length is enough to refuse it unread.
        if (
            limit is not None
            and not content_type.startswith("multipart/")
            and _declared_length(request) > limit
        ):
            return shaped(413)
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return shaped(response.status_code, allow=response.get("Allow"))
        return response
