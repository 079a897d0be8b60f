"""Request helpers and response headers every page and endpoint shares (docs/security.md).

Django's SecurityMiddleware already sends nosniff, the referrer policy and the cross-origin opener
policy, XFrameOptionsMiddleware sends X-Frame-Options, django-csp the content security policy.
This adds what none of them does: no caching of answers that carry personal data, and the
browser features the site never uses switched off.
"""

import ipaddress

from django.conf import settings

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


def client_ip(request) -> str | None:
    """Return the caller's address: REMOTE_ADDR, or the address the trusted proxies saw.

    With INSURDESK_PROXY_COUNT = n proxies in front, the n-th address from the right of
    X-Forwarded-For is the one the outermost proxy received the request from; anything further
    left was written by the client and is not trusted.
    """
    found = request.META.get("REMOTE_ADDR") or None
    hops = getattr(settings, "INSURDESK_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if len(addresses) >= hops:
            found = addresses[-hops]
    try:
        return str(ipaddress.ip_address(found)) if found else None
    except ValueError:
        return None


class SecurityHeadersMiddleware:
    """Forbid caching of signed-in and API answers; switch off unused browser features."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        personal = (user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META
        # An archive left in a shared browser's cache, or on a stolen laptop's disk, is a leak.
        if personal and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response


def csp_nonce(request) -> dict:
    """Give templates the request's CSP nonce as `csp_nonce`, the name django-htmx's script tag reads.

    django-csp's own context processor names it CSP_NONCE; the nonce is made (and sent in the
    header) only when a template uses it.
    """
    return {"csp_nonce": getattr(request, "csp_nonce", None)}
