"""Speak /api/v1 as a user (compliance sits below insurdesk.api, so its tests carry their own client)."""

import json

from django.test import Client

from insurdesk.org.services import token_issue

BASE = "/api/v1"


class ApiClient:
    def __init__(self, token: str | None = None):
        self.client = Client(headers={"Authorization": f"Bearer {token}"} if token else {})

    def get(self, path: str, params: dict | None = None):
        return self.client.get(BASE + path, params or {})

    def post(self, path: str, body=None):
        data = json.dumps(body if body is not None else {}, default=str)
        return self.client.post(BASE + path, data, content_type="application/json")


def as_user(user) -> ApiClient:
    return ApiClient(token_issue(user=user))


def error_codes(response) -> set[tuple[str, str]]:
    body = response.json()
    for err in body["errors"]:
        assert set(err) == {"field", "code", "message"} and err["message"], err
    return {(e["field"], e["code"]) for e in body["errors"]}
