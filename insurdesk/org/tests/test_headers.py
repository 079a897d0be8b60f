"""Security headers, the content security policy, CSRF on every form."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD

TEMPLATE_ROOT = Path(settings.BASE_DIR) / "insurdesk"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def csp(response) -> dict[str, list[str]]:
    out = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_pages_send_the_security_headers(client, db):
    r = client.get(reverse("login"))
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert r["X-Frame-Options"] == "DENY"
    assert r["Cross-Origin-Opener-Policy"] == "same-origin"
    assert r["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "camera=()" in r["Permissions-Policy"]


def test_the_content_security_policy_allows_only_this_site_and_nonced_scripts(client, db):
    r = client.get(reverse("login"))
    policy = csp(r)
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    nonce = next(v for v in policy["script-src"] if v.startswith("'nonce-"))[7:-1]
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert (
        "unsafe-inline" not in r["Content-Security-Policy"]
        and "unsafe-eval" not in r["Content-Security-Policy"]
    )
    html = r.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(f'nonce="{nonce}"' in s for s in scripts)


def test_the_nonce_changes_with_every_answer(client, db):
    first, second = csp(client.get(reverse("login"))), csp(client.get(reverse("login")))
    assert first["script-src"] != second["script-src"]


def test_signed_in_pages_and_api_answers_are_not_cached(client, make_user):
    client.force_login(make_user("clerk"))
    assert client.get(reverse("customers:list"))["Cache-Control"] == "no-store"
    from insurdesk.api.tests.client import as_user

    assert as_user(make_user("clerk")).get("/customers")["Cache-Control"] == "no-store"


def test_a_form_post_without_the_csrf_token_is_refused(make_user):
    make_user("clerk", username="zhang")
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("login"), {"username": "zhang", "password": PASSWORD}).status_code == 403
    client.force_login(make_user("clerk"))
    assert client.post(reverse("customers:create_individual"), {}).status_code == 403
    assert client.post(reverse("api_token_create")).status_code == 403


def _templates():
    return [p for p in TEMPLATE_ROOT.rglob("templates/**/*.html")]


def test_every_post_form_in_every_template_carries_the_csrf_token():
    missing = []
    for path in _templates():
        text = path.read_text()
        for form in re.finditer(r"<form\b[^>]*>.*?</form>", text, re.S | re.I):
            tag = form.group(0).split(">", 1)[0]
            if re.search(r"method=[\"']?post", tag, re.I) and "csrf_token" not in form.group(0):
                missing.append(f"{path.relative_to(TEMPLATE_ROOT)}: {tag[:80]}")
    assert not missing, "POST forms without {% csrf_token %}:\n" + "\n".join(missing)


def test_no_template_uses_inline_styles_or_scripts_the_policy_would_block():
    found = []
    for path in _templates():
        text = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", path.read_text(), flags=re.S)
        blocked = (
            r"\sstyle=|<style\b|\son[a-z]+=|<script\b(?![^>]*\b(src=|type=.application/json))|hx-on|javascript:"
        )
        for m in re.finditer(blocked, text, re.I):
            found.append(
                f"{path.relative_to(TEMPLATE_ROOT)}: {text[max(0, m.start() - 30) : m.end() + 30]!r}"
            )
    assert not found, "blocked by the content security policy:\n" + "\n".join(found)
