# ruff: noqa: E501 - tables of Chinese test data read best one row per line
"""A run killed with SIGKILL at any point leaves no half row; running it again completes it exactly.

The import runs as a real `insurdesk import` process against its own database (a SQLite file, or a
fresh PostgreSQL database when the suite runs on PostgreSQL) and is killed mid-run, twice, then run
to the end; a separate process then checks the archives, their history and the audit chain.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from insurdesk.exchange.tests.conftest import person_id, write_csv

ROOT = Path(__file__).resolve().parents[3]
ROWS = 1500
BATCH = 25

CHECK = r"""
import json, django
django.setup()
from collections import Counter
from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.customers.models import Customer
from insurdesk.exchange.models import ImportRun
customers = list(Customer.objects.all())
history = Counter(Customer.history.values_list("id", "history_type"))
print(json.dumps({
    "customers": {c.id_number: [c.name, c.mobile, c.version] for c in customers},
    "history_plus": sum(n for (pk, t), n in history.items() if t == "+"),
    "history_change": sum(n for (pk, t), n in history.items() if t == "~"),
    "history_orphans": Customer.history.exclude(id__in=[c.pk for c in customers]).count(),
    "audit_create": AuditEntry.objects.filter(action="customer.create").count(),
    "audit_change": AuditEntry.objects.filter(action="customer.change").count(),
    "audit_ok": audit_verify().ok,
    "runs": list(ImportRun.objects.order_by("id").values("status", "processed", "total_rows", "created",
                                                         "updated", "unchanged", "merged", "refused")),
}, ensure_ascii=False))
"""


@pytest.fixture
def own_database(tmp_path):
    """Yield the environment of a fresh, migrated database of the suite's engine, outside the test's."""
    engine = settings.DATABASES["default"]["ENGINE"]
    env = {
        **os.environ,
        "INSURDESK_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "insurdesk.settings",
        "PYTHONPATH": str(ROOT),
        "INSURDESK_DEBUG": "0",
    }
    env.pop("INSURDESK_TEST_SQLITE_NAME", None)
    drop = None
    if engine.endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'kill.sqlite3'}"
    else:
        import psycopg

        db = settings.DATABASES["default"]
        name = f"insurdesk_kill_{uuid.uuid4().hex[:10]}"
        params = {
            "host": db["HOST"] or "127.0.0.1",
            "port": db["PORT"] or 5432,
            "user": db["USER"],
            "password": db["PASSWORD"] or None,
            "dbname": "postgres",
            "autocommit": True,
        }
        with psycopg.connect(**params) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop():
            with psycopg.connect(**params) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{user}@{params['host']}:{params['port']}/{name}"
    try:
        _cli(env, "migrate", "--noinput", "-v", "0")
        _cli(env, "addunit", "HQ", "总公司")
        yield env
    finally:
        if drop is not None:
            drop()


def _cli(env, *args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "insurdesk.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=check,
    )


def _state(env) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHECK],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _processed(env) -> int:
    """Read the run's committed progress straight from its database (a Django process takes a second)."""
    url = env["DATABASE_URL"]
    query = "SELECT processed FROM exchange_importrun ORDER BY id DESC LIMIT 1"
    try:
        if url.startswith("sqlite:///"):
            import sqlite3

            with sqlite3.connect(f"file:{url[len('sqlite:///') :]}?mode=ro", uri=True, timeout=5) as conn:
                row = conn.execute(query).fetchone()
        else:
            import psycopg

            with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=5) as conn:
                row = conn.execute(query).fetchone()
    except Exception:  # the table is locked or not written yet: ask again
        return 0
    return row[0] if row else 0


def _kill_after(env, path: Path, at_least: int, rng: random.Random) -> None:
    """Start an import, wait until it has committed `at_least` rows, then SIGKILL it a moment later."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "insurdesk.cli", "import", str(path), "--batch-size", str(BATCH)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while _processed(env) < at_least:
            assert proc.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 0.3))  # land anywhere: inside a batch, between batches, in a commit
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the import finished before the kill; raise ROWS"


def _file(tmp_path: Path, name: str, mobile_prefix: str, rows_: int = ROWS) -> tuple[Path, dict]:
    rows, expected = [], {}
    for i in range(rows_):
        n = i % (rows_ * 4 // 5)  # a fifth of the rows repeat an earlier customer: they merge
        number = person_id(n, "M" if n % 2 else "F", year=1960 + n % 40)
        mobile = f"{mobile_prefix}{n:08d}"
        rows.append([f"客户{n}", number, mobile])
        expected[number] = [f"客户{n}", mobile]
    return write_csv(tmp_path / name, ["客户姓名", "身份证号码", "手机"], rows, "gb18030"), expected


def test_a_killed_import_resumes_with_nothing_lost_and_nothing_doubled(own_database, tmp_path):
    env, rng = own_database, random.Random(20261121)
    path, expected = _file(tmp_path, "kill.csv", "138")

    _kill_after(env, path, 200, rng)
    _kill_after(env, path, 700, rng)
    done = _cli(env, "import", str(path), "--batch-size", str(BATCH), check=False)

    assert done.returncode == 0, done.stderr
    state = _state(env)
    assert {k: v[:2] for k, v in state["customers"].items()} == expected
    assert state["history_plus"] == len(expected) == state["audit_create"]
    assert state["history_change"] == 0 and state["history_orphans"] == 0 and state["audit_ok"]
    (run,) = state["runs"]  # the re-runs continued the killed run
    assert run["status"] == "done" and run["processed"] == run["total_rows"] == ROWS
    assert (run["created"], run["merged"], run["refused"]) == (len(expected), ROWS - len(expected), 0)

    # Changed values, killed midway and run again: each archive changes once, its history once.
    changed, expected_changed = _file(tmp_path, "changed.csv", "139")
    _kill_after(env, changed, 400, rng)
    done = _cli(env, "import", str(changed), "--batch-size", str(BATCH), check=False)

    assert done.returncode == 0, done.stderr
    state = _state(env)
    assert {k: v[:2] for k, v in state["customers"].items()} == expected_changed
    assert all(v[2] == 2 for v in state["customers"].values())
    assert state["history_change"] == len(expected) == state["audit_change"] and state["audit_ok"]
    run = state["runs"][-1]
    assert run["status"] == "done" and run["updated"] == len(expected) and run["created"] == 0

    # And the same file once more changes nothing.
    again = _cli(env, "import", str(changed), check=False)
    assert again.returncode == 0 and f"未变化 {len(expected)}" in again.stdout
    assert _state(env)["history_change"] == len(expected)


@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    reason="PostgreSQL locks rows, not the whole database",
)
def test_a_user_can_save_while_an_import_runs(own_database, tmp_path):
    """SQLite has one writer at a time: a user's save gets in while an import runs.

    Each attempt here is what a user's save does (BEGIN IMMEDIATE, with a busy timeout). On a
    million rows, three of four such saves failed with "database is locked" after 20 s, until the
    import left the lock free every two seconds (pipeline._give_way; checked exactly in
    test_grouped). A file this small leaves gaps of its own (its batches' hand-over from the reader
    process), so this checks the whole path, not the gap.
    """
    import sqlite3

    from insurdesk.exchange.tests.conftest import ARCHIVE_HEADERS, ARCHIVE_PRODUCTS

    env = own_database
    # Rows of the archive table (a policy and a payment each), so that writing, not reading, is
    # what the import waits on, as with the offices' files.
    subprocess.run(
        [sys.executable, "-c", "import django, json, sys; django.setup(); "
         "from insurdesk.products.services import product_create; "
         "[product_create(actor=None, data=spec) for spec in json.loads(sys.argv[1])]",
         json.dumps(ARCHIVE_PRODUCTS)],
        env=env, cwd=ROOT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    rows = [
        [f"客户{n}", person_id(n, "M" if n % 2 else "F", year=1960 + n % 40), f"138{n:08d}", "北京市",
         f"P{n:08d}", "人寿险", "10万", "2023-01-01", "2043-01-01", "年缴", "100", "2023-01-01", "已缴费"]
        for n in range(12_000)
    ]  # fmt: skip
    path = write_csv(tmp_path / "busy.csv", ARCHIVE_HEADERS[:13], rows)
    # Read ahead in a second process, as a large file is: the writer then goes from one batch's
    # commit straight to the next batch (read in the same process, each batch's reading was a gap).
    env = {**env, "INSURDESK_IMPORT_READER": "1"}
    database = env["DATABASE_URL"][len("sqlite:///") :]
    proc = subprocess.Popen(
        [sys.executable, "-m", "insurdesk.cli", "import", str(path), "--batch-size", "1000"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Saves that committed while the import was still running (each after the import moved on: a save
    # is not counted twice in one gap). A save uses the site's own busy timeout (settings: 20 s), as a
    # user's does: "database is locked" fails the test; how long it waited is not asserted.
    busy_timeout = settings.DATABASES["default"]["OPTIONS"]["timeout"]
    saved_during_import = 0
    try:
        deadline = time.monotonic() + 300
        seen = 0
        while proc.poll() is None and saved_during_import < 4:
            now = _processed(env)
            if now == seen:
                assert time.monotonic() < deadline, "the import made no progress"
                time.sleep(0.05)  # polling the import's committed progress
                continue
            seen = now
            conn = sqlite3.connect(database, timeout=busy_timeout, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")  # raises "database is locked" if the import never gave way
                conn.execute("COMMIT")
            finally:
                conn.close()
            if proc.poll() is None and _processed(env) < len(rows):
                saved_during_import += 1
    finally:
        proc.wait(timeout=300)
    assert proc.returncode == 0, proc.stderr.read()
    assert saved_during_import >= 2, f"the import ended after {saved_during_import} saves; raise the rows"
    assert len(_state(env)["customers"]) == len(rows)
