"""A test client that speaks the API as a given user (token issued directly, no password hashing)."""

import json

from django.test import Client

from insurdesk.org.services import token_issue

BASE = "/api/v1"


class ApiClient:
    """Send JSON to /api/v1 with `Authorization: Bearer <token>` (no header when token is None)."""

    def __init__(self, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = Client(headers=headers)
        self.token = token

    def get(self, path: str, params: dict | None = None):
        return self.client.get(BASE + path, params or {})

    def post(self, path: str, body=None, *, raw: str | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {}, default=str)
        return self.client.post(BASE + path, data, content_type="application/json")

    def patch(self, path: str, body=None):
        return self.client.patch(
            BASE + path, json.dumps(body or {}, default=str), content_type="application/json"
        )


def as_user(user) -> ApiClient:
    return ApiClient(token_issue(user=user))


def error_codes(response) -> set[tuple[str, str]]:
    """Return the (field, code) pairs of an error answer, checking its shape on the way."""
    body = response.json()
    assert set(body) <= {"errors", "existing"}, body
    for err in body["errors"]:
        assert set(err) == {"field", "code", "message"} and err["message"], err
    return {(e["field"], e["code"]) for e in body["errors"]}
