"""Rate limits on the REST API: a fixed window per token, or per address for calls without one.

Counts live in Django's cache alias INSURDESK_RATE_LIMIT_CACHE: a file cache under the data
directory by default, so every server process on the machine shares them (docs/security.md), or Redis
(INSURDESK_CACHE_URL) shared by every server. The file cache's increment is not atomic across
processes: under contention a few counts may be lost there, so the limit is a ceiling against runaway
or abusive clients, not an exact quota; Redis counts exactly.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.http import JsonResponse
from django.urls import reverse

from insurdesk.common.security import client_ip


def bucket(request) -> str:
    """Name whose requests are counted together: the bearer token's hash, else the address."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return f"address:{client_ip(request) or 'unknown'}"


def hit(key: str, *, limit: int, window: int, now: float | None = None) -> tuple[bool, int, int]:
    """Count one request of `key` in the current window: (allowed, remaining, seconds to reset).

    One cache entry per caller and window, created by `add` and counted by `incr`: atomic on Redis
    (INSURDESK_CACHE_URL, shared by every server), a read-then-write on the file cache.
    """
    now = time.time() if now is None else now
    start = int(now // window) * window
    cache = caches[settings.INSURDESK_RATE_LIMIT_CACHE]
    slot = f"ratelimit:{window}:{start}:{key}"
    cache.add(slot, 0, timeout=2 * window)
    try:
        count = cache.incr(slot)
    except ValueError:  # expired between add and incr
        cache.add(slot, 1, timeout=2 * window)
        count = 1
    reset = max(1, math.ceil(start + window - now))
    return count <= limit, max(0, limit - count), reset


class ApiRateLimitMiddleware:
    """Answer 429 in the API's error shape once a caller has spent its window's requests."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._prefix: str | None = None

    def prefix(self) -> str:
        if self._prefix is None:
            self._prefix = reverse("api:api-root")
        return self._prefix

    def __call__(self, request):
        limit = settings.INSURDESK_API_RATE_LIMIT
        if limit <= 0 or not request.path.startswith(self.prefix()):
            return self.get_response(request)
        window = settings.INSURDESK_API_RATE_WINDOW
        allowed, remaining, reset = hit(bucket(request), limit=limit, window=window)
        if not allowed:
            response = JsonResponse(
                {
                    "errors": [
                        {
                            "field": "",
                            "code": "rate_limited",
                            "message": f"请求过于频繁：每 {window} 秒最多 {limit} 次，请 {reset} 秒后再试",
                        }
                    ]
                },
                status=429,
                json_dumps_params={"ensure_ascii": False},
            )
            response["Retry-After"] = str(reset)
        else:
            response = self.get_response(request)
        response["X-RateLimit-Limit"] = str(limit)
        response["X-RateLimit-Remaining"] = str(remaining)
        response["X-RateLimit-Reset"] = str(reset)
        return response
