"""Bearer-token authentication for the REST API (`Authorization: Bearer <token>`), then the policy.

After the token names a user, the operation's declared access (insurdesk.org.policy.API) decides:
a role without the action gets 403 before the request body is even read; an undeclared operation
is refused for everyone. Scope is the selectors' job (404 outside it).
"""

import logging

from django.urls import reverse
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import HttpBearer

from insurdesk.org.policy import allows, api_access, api_key, undeclared_api
from insurdesk.org.services import token_user

log = logging.getLogger(__name__)


class TokenRejected(AuthenticationError):
    """A token was sent but is unknown, revoked or expired, or its user is inactive."""

    code = "invalid_token"

    def __init__(self) -> None:
        super().__init__(401, "访问令牌无效、已过期或已撤销，请重新获取（POST /api/v1/auth/token）")


class BearerToken(HttpBearer):
    openapi_description = "POST /api/v1/auth/token 取得令牌，然后在请求头中发送 Authorization: Bearer <token>"

    def authenticate(self, request, token: str):
        if not token:
            return None
        user = token_user(token)
        if user is None:
            raise TokenRejected()
        # The revoke endpoint needs the raw token; only its hash is stored.
        request.auth_token = token
        request.user = user
        authorize(request, user)
        return user


def operation_key(request) -> str:
    """Return the policy key ("GET /customers/{id}") of the API operation the request resolved to."""
    route = request.resolver_match.route
    root = reverse("api:api-root").lstrip("/")
    return api_key(request.method, route[len(root) :] if route.startswith(root) else route)


def authorize(request, user) -> None:
    """Refuse the call unless the operation is declared and the user's role has its action."""
    key = operation_key(request)
    access = api_access(*key.split(" ", 1))
    if access is None:
        log.error(undeclared_api(key))
        raise AuthorizationError(403, "forbidden")
    if not allows(user, access):
        raise AuthorizationError(403, "forbidden")
