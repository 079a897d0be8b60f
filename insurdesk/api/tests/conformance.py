"""Check an answer of the API against its own OpenAPI description (used by the test suite).

Every answer the test client gets from /api/v1/ is looked up in the published description: its
status must be one the operation documents, and its JSON body must validate against the documented
schema (JSON Schema 2020-12, as OpenAPI 3.1 uses). A test whose call gets an answer the description
contradicts fails, so the description cannot drift from what the code answers.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re

import jsonschema_rs

API_PREFIX = "/api/v1/"
# Answers of the middleware around the API, the same for every operation (docs/security.md).
UNDOCUMENTED_ALLOWED = frozenset({"405", "413", "429"})
_allowed: set[str] = set()


@contextlib.contextmanager
def allowing(*statuses: str):
    """Let a test provoke an answer no operation documents (a forced 500, say)."""
    _allowed.update(statuses)
    try:
        yield
    finally:
        _allowed.difference_update(statuses)


_SKIP = frozenset({"/api/v1/openapi.json", "/api/v1/docs"})


@functools.cache
def _description() -> dict:
    from insurdesk.api.urls import api

    # As served: JSON round trip (status codes become strings, models plain data).
    return json.loads(json.dumps(api.get_openapi_schema(path_prefix=API_PREFIX), default=str))


@functools.cache
def _routes() -> list[tuple[re.Pattern, str]]:
    routes = []
    for template in _description()["paths"]:
        pattern = re.escape(template)
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        routes.append((re.compile(pattern + "/?"), template))
    # Literal segments win over parameters: /payments/due before /payments/{id}.
    routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))
    return routes


@functools.cache
def _validator(template: str, method: str, status: str):
    answer = _description()["paths"][template][method]["responses"][status]
    schema = (answer.get("content") or {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    root = {**schema, "components": _description().get("components", {})}
    return jsonschema_rs.Draft202012Validator(root)


def problems(method: str, path: str, status: int, content_type: str, body: bytes) -> list[str]:
    """Return how an answer contradicts the description (empty when it agrees or is not an operation)."""
    if not path.startswith(API_PREFIX) or path.rstrip("/") in _SKIP:
        return []
    template = next((t for pattern, t in _routes() if pattern.fullmatch(path)), None)
    if template is None:
        return []  # not an operation: the answer is the API's JSON 404 (insurdesk.api.middleware)
    operations = _description()["paths"][template]
    method = method.lower()
    if method not in operations:
        return []  # a wrong method: JSON 405
    documented = operations[method]["responses"]
    where = f"{method.upper()} {template} → {status}"
    if str(status) not in documented:
        if str(status) in UNDOCUMENTED_ALLOWED or str(status) in _allowed:
            return []
        return [f"{where}: status not documented (documented: {', '.join(sorted(documented))})"]
    validator = _validator(template, method, str(status))
    if validator is None:
        return []
    if not content_type.startswith("application/json"):
        return [f"{where}: documented as JSON, answered {content_type!r}"]
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return [f"{where}: body is not JSON"]
    return [f"{where}: {error.message} at {'/'.join(map(str, error.instance_path))}"
            for error in validator.iter_errors(data)][:5]  # fmt: skip
