"""Schemathesis against /api/v1/openapi.json: whatever a signed-in client sends, no answer is a 5xx,
and no answer contradicts the description (status, content type, body schema).

Every operation the schema publishes is called with generated parameters and bodies (its examples,
then random values) under a valid bearer token, through the WSGI application in this process, so the
test database and its transaction are the ones used: once as a system administrator in an empty world,
and as a clerk and as an administrator over the demo data (`insurdesk demo`, a small number of
archives), where ids the fuzzer tries hit real, scoped records. The run is bounded: a few examples per
operation.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from insurdesk.org.services import token_issue, unit_create, user_create
from insurdesk.wsgi import application

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 4
DEMO_EXAMPLES = 2
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
schema.config.phases.coverage.enabled = False
schema.config.phases.stateful.enabled = False


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Keep the test's transaction open across requests, as Django's own test client does.

    The WSGI application closes "old" connections when a request ends; inside a test transaction on
    PostgreSQL that would close the test's connection under it.
    """
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


@pytest.fixture
def bearer(db, settings):
    """A system administrator's token (one unit, one user: the cheapest world every operation accepts)."""
    settings.INSURDESK_API_RATE_LIMIT = 0  # the fuzzer sends more than a client may per minute
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    unit_create(actor=None, code="HQ", name="总公司")
    admin = user_create(actor=None, username="fuzz-admin", role="admin", unit_code="HQ")
    return {"Authorization": f"Bearer {token_issue(user=admin)}"}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_with_a_server_error(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)


@pytest.fixture(params=["clerk", "admin"])
def demo_bearer(request, db, settings):
    """A demo login's token over a small demo world (the demo's own org tree, logins and archives)."""
    from insurdesk.demo.data import load_demo
    from insurdesk.org.models import User

    settings.INSURDESK_API_RATE_LIMIT = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_demo(customers=12)
    user = User.objects.get(username=request.param)
    return {"Authorization": f"Bearer {token_issue(user=user)}"}


@schema.parametrize()
@settings(
    max_examples=DEMO_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_over_demo_data_as_clerk_and_admin_no_answer_contradicts_the_schema(case, demo_bearer):
    case.call_and_validate(headers=demo_bearer, checks=CHECKS)
