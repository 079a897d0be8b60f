"""Faults, from the user's side: two people saving one archive, and a process killed while it writes.

Concurrent edits: both clerks open the same archive; the first save wins, the second is told the
archive changed ("已被他人修改", HTTP 409 in the API) and its input is handed back, not lost; the
first clerk's change stays. A writer killed with SIGKILL at random moments (SQLite file in WAL mode,
and PostgreSQL when the session runs on it) leaves a database that passes its integrity check, whose
every customer has its history row and audit entry, whose audit chain verifies, and that holds every
customer the writer reported committed.
"""

import json
import os
import random
import signal
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.customers.services import customer_create
from insurdesk.lifecycle.tests.scratch import backends

pytestmark = pytest.mark.django_db

KILLS = 10  # writers killed at random moments (after 1-6 observed commits), one after the other


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class _Form(HTMLParser):
    """Collect what a browser would submit from the form that carries the `version` field."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {}
        elif tag == "option" and self._select and "selected" in a:
            self._form[self._select] = a.get("value", "")
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form[a["name"]] = a.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                self._form[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            self._form.setdefault(self._select, "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self._form[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def open_edit_form(client, customer) -> dict:
    parser = _Form()
    parser.feed(client.get(reverse("customers:edit", args=[customer.pk])).content.decode())
    return next(f for f in parser.forms if "version" in f)


@pytest.fixture
def archive(units, individual_data):
    customer, _ = customer_create(actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk))
    return customer


def test_the_second_save_on_the_page_is_told_and_keeps_its_input(archive, make_user):
    first, second = Client(), Client()
    first.force_login(make_user("clerk", "SZ"))
    second.force_login(make_user("clerk", "SZ"))
    form_a, form_b = open_edit_form(first, archive), open_edit_form(second, archive)
    assert form_a["version"] == form_b["version"] == "1"

    saved = first.post(reverse("customers:edit", args=[archive.pk]), {**form_a, "occupation": "律师"})
    assert saved.status_code == 302

    refused = second.post(reverse("customers:edit", args=[archive.pk]), {**form_b, "occupation": "医生"})
    html = refused.content.decode()
    assert refused.status_code == 200 and "已被他人修改" in html and "您的输入未保存" in html
    assert 'value="医生"' in html  # what the second clerk typed is still in the form
    archive.refresh_from_db()
    assert archive.occupation == "律师" and archive.version == 2

    # Reloading shows the first clerk's change; saving again on top of it works.
    again = open_edit_form(second, archive)
    assert again["occupation"] == "律师" and again["version"] == "2"
    assert (
        second.post(reverse("customers:edit", args=[archive.pk]), {**again, "occupation": "医生"}).status_code
        == 302
    )
    archive.refresh_from_db()
    assert archive.occupation == "医生" and archive.version == 3


def test_the_second_save_through_the_api_gets_409_and_the_first_stays(archive, make_user):
    a, b = as_user(make_user("clerk", "SZ")), as_user(make_user("clerk", "SZ"))
    version_a = a.get(f"/customers/{archive.pk}").json()["version"]
    version_b = b.get(f"/customers/{archive.pk}").json()["version"]
    assert version_a == version_b == 1

    assert (
        a.patch(f"/customers/{archive.pk}", {"occupation": "律师", "version": version_a}).status_code == 200
    )
    r = b.patch(f"/customers/{archive.pk}", {"occupation": "医生", "version": version_b})
    assert r.status_code == 409 and error_codes(r) == {("version", "conflict")}
    assert "已被他人修改" in r.json()["errors"][0]["message"]
    body = b.get(f"/customers/{archive.pk}").json()
    assert body["occupation"] == "律师" and body["version"] == 2


@pytest.mark.parametrize("backend", backends())
def test_two_processes_saving_at_the_same_instant_one_wins_one_is_told(scratch, backend, tmp_path):
    site = scratch(backend)
    first = site.worker("populate", "--customers", "1", "--files", "0")["first"]
    go = tmp_path / "go"  # both processes start up, say ready, then save the moment it appears
    procs = [
        site.popen_worker(
            "edit",
            "--customer",
            str(first["id"]),
            "--version",
            str(first["version"]),
            "--occupation",
            job,
            "--go",
            str(go),
        )
        for job in ("律师", "医生")
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["result"] for r in results) == ["conflict", "saved"]
    winner = ("律师", "医生")[[r["result"] for r in results].index("saved")]
    after = site.worker("first-customer")
    assert after["occupation"] == winner and after["version"] == first["version"] + 1
    assert "已被他人修改" in next(r["message"] for r in results if r["result"] == "conflict")


@pytest.mark.parametrize("backend", backends())
def test_a_writer_killed_at_random_moments_leaves_the_data_consistent(scratch, backend, tmp_path):
    site = scratch(backend)
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    committed: list[str] = []
    # One process starts Django once and forks a writer per round: a round costs its sleep, not a start.
    writers = site.popen_worker("fork-loop", "--seed", str(seed), stdin=True)
    try:
        for _ in range(KILLS):
            writers.stdin.write("go\n")
            writers.stdin.flush()
            ready = writers.stdout.readline().split()
            assert ready[:1] == ["ready"], writers.stderr.read()
            # Kill at a moment the test observed, not after a guessed time: once the writer has
            # reported its first commit and then 0-5 more, i.e. while it writes the next customer.
            for _ in range(1 + rng.randrange(6)):
                line = writers.stdout.readline()
                assert line and not line.startswith("exited"), f"the writer died: {writers.stderr.read()}"
                committed.append(line.strip())
            os.kill(int(ready[1]), signal.SIGKILL)
            while not (line := writers.stdout.readline()).startswith("exited"):
                assert line, f"the writers' parent died: {writers.stderr.read()}"
                committed.append(line.strip())
            assert os.WTERMSIG(int(line.split()[1])) == signal.SIGKILL
    finally:
        writers.stdin.close()
        writers.wait(timeout=60)
    expect = tmp_path / "committed.txt"
    expect.write_text("\n".join(committed))
    result = site.worker("check", "--expect", str(expect))
    assert result["problems"] == [], f"seed {seed}: {result['problems']}"
    assert result["customers"] >= len(committed) >= KILLS  # every round committed before its kill
    assert result["audit"] >= result["customers"]
