"""/healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus, not for people."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from insurdesk.common.security import client_ip
from insurdesk.ops import metrics
from insurdesk.ops.health import readiness


@never_cache
@require_GET
def healthz(request):
    """The process is up and answers (no database touched)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    ok, checks = readiness()
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503)


def metrics_allowed(request) -> bool:
    """An address in INSURDESK_METRICS_ALLOW, or the bearer token INSURDESK_METRICS_TOKEN."""
    token = settings.INSURDESK_METRICS_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode()):
        return True
    address = client_ip(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in settings.INSURDESK_METRICS_ALLOW)


METRICS_REFUSED = "指标仅对 INSURDESK_METRICS_ALLOW 中的地址或持有 INSURDESK_METRICS_TOKEN 的请求开放"


@never_cache
@require_GET
def metrics_view(request):
    if not metrics_allowed(request):
        return JsonResponse(
            {
                "errors": [
                    {
                        "field": "",
                        "code": "forbidden",
                        "message": METRICS_REFUSED,
                    }
                ]
            },
            status=403,
            json_dumps_params={"ensure_ascii": False},
        )
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
