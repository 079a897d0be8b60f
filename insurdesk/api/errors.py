"""Translate every refusal into the one error body of the API: {"errors": [{field, code, message}]}.

Domain refusals keep their stable codes; ninja's own request checks (pydantic) are given codes from
the same vocabulary, and their field is the dotted path inside the request ("legal_representative.name",
"beneficial_owners[0].id_number", a query parameter's name), never prefixed with "body".
"""

import logging
from functools import partial

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError

from insurdesk.common.errors import DomainError, Duplicate

logger = logging.getLogger("insurdesk.api")

# Discriminator values of the request bodies that are unions: pydantic puts the tag into the error path.
UNION_TAGS = frozenset({"individual", "corporate"})

_CODES = {
    "missing": "required",
    "union_tag_not_found": "required",
    "union_tag_invalid": "choice",
    "literal_error": "choice",
    "enum": "choice",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_long": "too_long",
    "too_short": "too_short",
    "greater_than": "range",
    "greater_than_equal": "range",
    "less_than": "range",
    "less_than_equal": "range",
    "decimal_max_digits": "range",
    "decimal_max_places": "format",
    "decimal_whole_digits": "range",
    "date_parsing": "format",
    "date_from_datetime_parsing": "format",
    "date_from_datetime_inexact": "format",
    "datetime_parsing": "format",
    "datetime_from_date_parsing": "format",
    "json_invalid": "malformed",
    "unstorable_text": "format",
    "string_unicode": "format",
    "bidi_control": "bidi_control",
    "invisible_character": "invisible_character",
    "value_error": "invalid",
    "assertion_error": "invalid",
}

_MESSAGES = {
    "required": "必填项不能为空",
    "choice": "取值无效，可选：{expected}",
    "unknown_field": "未知字段",
    "too_long": "长度不能超过 {max_length} 个字符",
    "too_short": "长度不能少于 {min_length} 个字符",
    "format": "格式不正确",
    "malformed": "请求体不是合法的 JSON",
    "invalid": "取值无效",
    "type": "类型不正确",
}
_KIND_MESSAGES = {
    "date_parsing": "日期格式不正确，应为 YYYY-MM-DD 且是存在的日期",
    "date_from_datetime_parsing": "日期格式不正确，应为 YYYY-MM-DD 且是存在的日期",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不能带时间",
    "datetime_parsing": "时间格式不正确，应为 ISO 8601",
    "datetime_from_date_parsing": "时间格式不正确，应为 ISO 8601",
    "decimal_max_places": "小数位数不能超过 {decimal_places} 位",
    "unstorable_text": "不能包含空字符（NUL）或无效的 Unicode 字符",
    "string_unicode": "不能包含空字符（NUL）或无效的 Unicode 字符",
    "bidi_control": "含有文字方向控制字符（U+{code}），显示的内容与实际不符，请删除",
    "invisible_character": "含有不可见字符（U+{code}），显示的内容与实际不符，请删除",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "decimal_max_digits": "数字位数不能超过 {max_digits} 位",
    "decimal_whole_digits": "整数部分不能超过 {whole_digits} 位",
}
_TYPE_LABELS = (
    ("string", "文本"),
    ("int", "整数"),
    ("bool", "布尔值 true/false"),
    ("decimal", "数字"),
    ("float", "数字"),
    ("datetime", "ISO 8601 时间"),
    ("date", "日期 YYYY-MM-DD"),
    ("model", "JSON 对象"),
    ("dict", "JSON 对象"),
    ("list", "数组"),
)
_SOURCE_LABELS = {"query": "查询参数", "path": "路径参数", "header": "请求头", "cookie": "Cookie"}


class _Defaults(dict):
    def __missing__(self, key):
        return "…"


def error_body(field: str, code: str, message: str) -> dict:
    return {"errors": [{"field": field, "code": code, "message": message}]}


def field_path(loc) -> str:
    """Return the dotted field path of a pydantic error location inside a ninja request.

    ("body", "payload", "corporate", "legal_representative", "name") → "legal_representative.name";
    ("body", "payload", "beneficial_owners", 0, "id_number") → "beneficial_owners[0].id_number";
    ("query", "page_size") → "page_size".
    """
    parts = list(loc)
    source = parts.pop(0) if parts else ""
    if source == "body" and parts:
        parts.pop(0)  # the view's parameter name
    if parts and parts[0] in UNION_TAGS:
        parts.pop(0)
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


def pydantic_error(err: dict) -> dict:
    """Turn one pydantic error (as ninja reports it) into a {field, code, message} entry."""
    kind = err.get("type", "")
    field = field_path(err.get("loc", ()))
    ctx = _Defaults(err.get("ctx") or {})
    code = _CODES.get(kind, "type")
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        field = ".".join(x for x in (field, "kind") if x)
        ctx["expected"] = "individual, corporate"
        message = _MESSAGES[code].format_map(ctx)
    elif kind in _KIND_MESSAGES:
        message = _KIND_MESSAGES[kind].format_map(ctx)
    elif code == "type":
        expected = next((label for prefix, label in _TYPE_LABELS if kind.startswith(prefix)), "")
        message = f"类型不正确，应为{expected}" if expected else f"类型不正确（{err.get('msg', '')}）"
    elif code == "required" and not field:
        message = "请求体不能为空"
    else:
        message = _MESSAGES[code].format_map(ctx)
    source = (err.get("loc") or ("",))[0]
    if source in _SOURCE_LABELS:
        message = f"{_SOURCE_LABELS[source]}：{message}"
    return {"field": field, "code": code, "message": message}


def _validation_error(request, exc: ValidationError, api: NinjaAPI):
    return api.create_response(request, {"errors": [pydantic_error(e) for e in exc.errors]}, status=422)


def _domain_error(request, exc: DomainError, api: NinjaAPI):
    body = exc.as_dict()
    if isinstance(exc, Duplicate) and exc.existing is not None and exc.existing.visible:
        body["existing"] = {"id": exc.existing.pk, "archive_no": exc.existing.label}
    return api.create_response(request, body, status=exc.http_status)


def _authentication_error(request, exc: AuthenticationError, api: NinjaAPI):
    code = getattr(exc, "code", "unauthenticated")
    message = getattr(exc, "message", "") if code != "unauthenticated" else ""
    response = api.create_response(
        request,
        error_body("", code, message or "需要登录：请在请求头中发送 Authorization: Bearer <token>"),
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="insurdesk"'
    return response


def _authorization_error(request, exc: AuthorizationError, api: NinjaAPI):
    return api.create_response(request, error_body("", "forbidden", "您的角色无权执行此操作"), status=403)


def _throttled(request, exc: Throttled, api: NinjaAPI):
    response = api.create_response(
        request, error_body("", "throttled", "请求过于频繁，请稍后再试"), status=429
    )
    if exc.wait:
        response["Retry-After"] = str(int(exc.wait))
    return response


def _http_error(request, exc: HttpError, api: NinjaAPI):
    if exc.status_code == 400:
        body = error_body("", "malformed", "请求体不是合法的 JSON")
    else:
        body = error_body("", "http_error", str(exc))
    return api.create_response(request, body, status=exc.status_code)


def _not_found(request, exc: Http404, api: NinjaAPI):
    return api.create_response(request, error_body("", "not_found", "请求的资源不存在"), status=404)


def _too_large(request, exc: RequestDataTooBig, api: NinjaAPI):
    from insurdesk.api.middleware import too_large_body

    return api.create_response(request, too_large_body(), status=413)


def _unhandled(request, exc: Exception, api: NinjaAPI):
    """Log the failure with its traceback; answer JSON 500 without it, in development too."""
    logger.exception("API %s %s failed", request.method, request.path, exc_info=exc)
    return api.create_response(
        request,
        error_body("", "server_error", "服务器内部错误，已记录；请稍后再试或联系系统管理员"),
        status=500,
    )


def install(api: NinjaAPI) -> None:
    """Register the translations on the API (the most specific exception class wins)."""
    for exc_class, handler in (
        (ValidationError, _validation_error),
        (DomainError, _domain_error),
        (AuthenticationError, _authentication_error),
        (AuthorizationError, _authorization_error),
        (Throttled, _throttled),
        (HttpError, _http_error),
        (Http404, _not_found),
        (RequestDataTooBig, _too_large),
        (Exception, _unhandled),
    ):
        api.add_exception_handler(exc_class, partial(handler, api=api))
