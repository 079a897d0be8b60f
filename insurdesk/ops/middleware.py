"""One JSON log line and the metrics of every request, under a request id (X-Request-ID in and out)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from insurdesk.ops import metrics
from insurdesk.ops.logs import request_id

log = logging.getLogger("insurdesk.request")

# An id a proxy or client sends is kept when it is short and plain; otherwise a new one is made.
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def route_of(request) -> str:
    """Name the route (URL name, else its pattern) — never the path, which may hold search text."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _GOOD_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token = request_id.set(rid)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        duration = time.perf_counter() - started
        route = route_of(request)
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
        response["X-Request-ID"] = rid
        metrics.REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        metrics.LATENCY.labels(route).observe(duration)
        log.info(
            "request",
            extra={
                "request_id": rid,
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 1),
                "user_id": user_id,
            },
        )
        return response
