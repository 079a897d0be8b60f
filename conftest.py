"""Fixtures shared by every app's tests: an org tree, users per role, valid customer data."""

import datetime
import random

import pytest

from insurdesk.identity.testing import make_resident_id, make_uscc

# scratch(backend): installations in other processes, for backup/restore and fault tests.
pytest_plugins = ["insurdesk.lifecycle.tests.scratch"]


_DB_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL run only the tests that touch a database.

    `make test` runs the suite on SQLite and again on PostgreSQL; a test that never opens a connection
    (validators, masking, crypto, pure calculations) proves nothing new the second time, and skipping it
    keeps both runs together under the suite's time budget. INSURDESK_TEST_ALL=1 runs everything.
    """
    import os

    from django.db import connection

    if connection.vendor != "postgresql" or os.environ.get("INSURDESK_TEST_ALL") == "1":
        return
    keep, dropped = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        uses_db = item.get_closest_marker("django_db") or _DB_FIXTURES & fixtures
        (keep if uses_db else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(autouse=True)
def _api_answers_agree_with_the_description(monkeypatch):
    """Every /api/v1/ answer a test client gets must be one its OpenAPI description documents (issue 15.13).

    Its status must be documented for the operation and its JSON body must validate against the
    documented schema (insurdesk/api/tests/conformance.py); otherwise the test fails where it called.
    """
    from django.test.client import Client

    original = Client.request

    def request(self, **request):
        response = original(self, **request)
        path = request.get("PATH_INFO", "")
        if path.startswith("/api/v1/") and not getattr(response, "streaming", False):
            from insurdesk.api.tests.conformance import problems

            found = problems(
                request.get("REQUEST_METHOD", "GET"),
                path,
                response.status_code,
                response.get("Content-Type", ""),
                response.content,
            )
            assert not found, "the answer contradicts /api/v1/openapi.json:\n" + "\n".join(found)
        return response

    monkeypatch.setattr(Client, "request", request)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Tests never reach the network; loopback (live server, PostgreSQL, browser) stays open."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"network access in a test: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _test_logins_include_the_second_factor(monkeypatch):
    """client.force_login()/login() stand for a complete sign-in, TOTP included for the roles that need it.

    Tests of the second factor itself sign in through the login page instead (insurdesk/org/tests).
    """
    from django.test.client import ClientMixin

    original = ClientMixin._login

    def _login(self, user, backend=None):
        from insurdesk.org.testing import pass_second_factor

        original(self, user, backend)
        pass_second_factor(self, user)

    monkeypatch.setattr(ClientMixin, "_login", _login)


@pytest.fixture(autouse=True)
def _own_rate_limit_counts(settings):
    """Each test counts API requests afresh: every test client calls from 127.0.0.1."""
    import uuid

    settings.CACHES = {
        **settings.CACHES,
        settings.INSURDESK_RATE_LIMIT_CACHE: {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"ratelimit-{uuid.uuid4().hex}",
        },
    }


@pytest.fixture(autouse=True)
def _own_audit_anchors(settings, tmp_path):
    """Each test anchors the audit chain in its own file: the data directory's belongs to its database."""
    settings.INSURDESK_AUDIT_ANCHORS = tmp_path / "audit-anchors.jsonl"


@pytest.fixture(autouse=True, scope="session")
def _static_files_listed_once():
    """Every test Client loads the middleware anew, and WhiteNoise (WHITENOISE_USE_FINDERS) would list
    and stat every static file each time: 30-50 ms a client, most of a page test. List them once."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    original = WhiteNoiseMiddleware.add_files_from_finders
    listed: dict[str, dict] = {}

    def add_files_from_finders(self):
        if self.static_prefix not in listed:
            original(self)
            listed[self.static_prefix] = dict(self.files)
        else:
            self.files.update(listed[self.static_prefix])

    WhiteNoiseMiddleware.add_files_from_finders = add_files_from_finders
    yield
    WhiteNoiseMiddleware.add_files_from_finders = original


@pytest.fixture
def units(db):
    """总公司 HQ → 省公司 GD → 分公司 SZ → 支公司 NS, and a sibling 分公司 GZ."""
    from insurdesk.org.services import unit_create

    hq = unit_create(actor=None, code="HQ", name="总公司")
    gd = unit_create(actor=None, code="GD", name="广东省分公司", parent_code="HQ")
    sz = unit_create(actor=None, code="SZ", name="深圳分公司", parent_code="GD")
    ns = unit_create(actor=None, code="NS", name="南山支公司", parent_code="SZ")
    gz = unit_create(actor=None, code="GZ", name="广州分公司", parent_code="GD")
    return {"HQ": hq, "GD": gd, "SZ": sz, "NS": ns, "GZ": gz}


PASSWORD = "Insurdesk-test-1"


@pytest.fixture
def make_user(units):
    """make_user(role, unit_code="SZ", username=None) -> a user with PASSWORD."""
    from insurdesk.org.services import user_create

    counter = {"n": 0}

    def make(role: str, unit: str = "SZ", username: str | None = None):
        counter["n"] += 1
        return user_create(
            actor=None,
            username=username or f"{role}{counter['n']}",
            role=role,
            unit_code=unit,
            password=PASSWORD,
        )

    return make


@pytest.fixture
def rng():
    return random.Random(20261121)


@pytest.fixture
def individual_data(rng):
    """individual_data(**overrides) -> a valid individual's input dict, a new identity each call."""

    def make(**overrides):
        birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(0, 20000))
        gender = rng.choice("MF")
        data = {
            "name": rng.choice("张王李赵刘陈杨黄周吴")
            + rng.choice(["伟", "芳", "娜", "敏", "静", "丽强", "磊", "洋"]),
            "id_type": "resident_id",
            "id_number": make_resident_id(birth, gender, rng=rng),
            "gender": gender,
            "birth_date": birth,
            "mobile": "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9)),
        }
        data.update(overrides)
        return data

    return make


@pytest.fixture
def corporate_data(rng):
    def make(**overrides):
        data = {
            "name": "深圳市" + rng.choice(["海岸", "南山", "前海", "科技园"]) + "科技有限公司",
            "uscc": make_uscc(rng=rng),
            "legal_rep_name": "李强",
            "legal_rep_id_type": "resident_id",
            "legal_rep_id_number": make_resident_id(datetime.date(1975, 5, 6), "M", rng=rng),
        }
        data.update(overrides)
        return data

    return make


@pytest.fixture
def catalogue(db):
    """The starter product catalogue (insurdesk/products/catalogue.py), keyed by product code."""
    from insurdesk.products.catalogue import load_starter_catalogue

    return {p.code: p for p in load_starter_catalogue()}
