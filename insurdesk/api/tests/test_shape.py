"""Every answer under /api/v1 keeps the API's shape: JSON {"errors": [...]}, never HTML or a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from insurdesk.api.tests.client import as_user
from insurdesk.api.tests.conformance import allowing

ROOT = Path(__file__).resolve().parents[3]


def _errors(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"errors"}, body
    assert [e["code"] for e in body["errors"]] == [code], body
    assert "Traceback" not in response.content.decode()
    return body


@pytest.fixture
def api(make_user):
    return as_user(make_user("admin"))


def test_a_body_over_the_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = json.dumps({"kind": "individual", "name": "张三", "notes": "x" * 20_000})
    _errors(api.post("/customers", raw=big), 413, "too_large")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/customers/abc/def/ghi", "/api/v1/"])
def test_an_unknown_api_path_is_a_json_404(api, path):
    _errors(api.client.get(path), 404, "not_found")


def test_an_unknown_api_path_is_a_json_404_with_debug_on(api, settings):
    settings.DEBUG = True
    _errors(api.client.get("/api/v1/no-such-thing"), 404, "not_found")


@pytest.mark.parametrize("method", ["delete", "put", "options"])
def test_a_wrong_method_is_a_json_405(api, method):
    response = getattr(api.client, method)("/api/v1/customers")
    _errors(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("debug", [True, False])
def test_an_unhandled_exception_is_a_json_500_without_traceback(api, settings, monkeypatch, debug):
    settings.DEBUG = debug

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr("insurdesk.customers.api.customer_list", broken)
    with allowing("500"):
        response = api.get("/customers")
    body = _errors(response, 500, "server_error")
    assert "secret internals" not in json.dumps(body, ensure_ascii=False)


def test_pages_outside_the_api_keep_their_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code in (302, 404)
    assert not response.get("Content-Type", "").startswith("application/json")


def _settings_debug(env: dict) -> str:
    code = "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','insurdesk.settings');" \
           "from django.conf import settings;print(settings.DEBUG)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INSURDESK_")}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_production_mode_switches_debug_off(tmp_path):
    from insurdesk.common.crypto import generate_key, generate_keyring_entry

    env = {
        "INSURDESK_PRODUCTION": "1",
        "INSURDESK_DATA_DIR": str(tmp_path),
        "INSURDESK_SECRET_KEY": "x" * 50,
        "INSURDESK_FIELD_KEYS": generate_keyring_entry("k1"),
        "INSURDESK_INDEX_KEY": generate_key(),
        "INSURDESK_AUDIT_KEY": generate_key(),
    }
    assert _settings_debug(env) == "False"
    assert _settings_debug({"INSURDESK_DATA_DIR": str(tmp_path / "dev")}) == "True"


def test_make_run_says_it_is_a_development_server_with_debug_on():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "development server" in recipe and "DEBUG" in recipe and "INSURDESK_PRODUCTION=1" in recipe
