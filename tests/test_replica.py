"""A streaming replica (DATABASE_REPLICA_URL): exports read from it, pages and writes use the primary.

The test makes its own two PostgreSQL clusters in its own temporary directory — a primary started with
`initdb`, and a hot standby copied from it with `pg_basebackup -R` on another port — migrates insurdesk on
the primary, then pauses the standby's replay: a customer created meanwhile is on the customer list (the
primary) but not in the export (the replica), until replay resumes. Runs in the PostgreSQL test session
where PostgreSQL's server programs are installed; skipped with the reason elsewhere.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from insurdesk.lifecycle.tests.scratch import ROOT, base_env, pg_url
from insurdesk.ops.tests.serving import free_port, wait_until

pytestmark = pytest.mark.django_db


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, capture_output=True, text=True, timeout=180, **kw)


@pytest.fixture(scope="module")
def clusters(django_db_setup, django_db_blocker):
    if not pg_url():
        pytest.skip("the replica test runs in the PostgreSQL test session (DATABASE_URL=postgres://…)")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_basebackup) are not installed")
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the clusters as")
    home = Path(tempfile.mkdtemp(prefix="insurdesk-replica-"))
    if os.geteuid() == 0:
        os.chown(home, owner.pw_uid, owner.pw_gid)
    primary, standby = home / "primary", home / "standby"
    ports = free_port(), free_port()
    started = []
    try:
        r = _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(primary),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        assert r.returncode == 0, r.stderr
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {ports[0]}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{home}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nfsync = off\nshared_buffers = 32MB\n"
            )
        r = _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(primary), "-l", str(home / "primary.log"), "-w", "start"]
        )
        assert r.returncode == 0, r.stderr + (home / "primary.log").read_text()
        started.append(primary)
        r = _as_postgres(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres", "insurdesk"]
        )
        assert r.returncode == 0, r.stderr
        r = _as_postgres(
            [
                str(bindir / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(ports[0]),
                "-U",
                "postgres",
                "-D",
                str(standby),
                "-R",
                "-X",
                "stream",
            ]
        )
        if r.returncode != 0:
            pytest.skip(f"pg_basebackup could not copy the primary: {r.stderr.strip()}")
        with open(standby / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {ports[1]}\n")
        r = _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(standby), "-l", str(home / "standby.log"), "-w", "start"]
        )
        assert r.returncode == 0, r.stderr + (home / "standby.log").read_text()
        started.append(standby)
        urls = {
            "primary": f"postgres://postgres@127.0.0.1:{ports[0]}/insurdesk",
            "replica": f"postgres://postgres@127.0.0.1:{ports[1]}/insurdesk",
        }
        env = base_env(home / "data", urls["primary"])
        env["DATABASE_REPLICA_URL"] = urls["replica"]
        (home / "data").mkdir()
        # The session's migrated, empty test database, copied (a fresh `migrate` takes minutes here).
        from django.db import connection

        source = connection.settings_dict
        dump = subprocess.run(
            [
                str(bindir / "pg_dump"),
                "-h",
                source["HOST"] or "127.0.0.1",
                "-p",
                str(source["PORT"] or 5432),
                "-U",
                source["USER"] or "postgres",
                "--no-owner",
                source["NAME"],
            ],
            capture_output=True,
            timeout=300,
        )
        assert dump.returncode == 0, dump.stderr
        load = subprocess.run(
            [
                str(bindir / "psql"),
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(ports[0]),
                "-U",
                "postgres",
                "insurdesk",
            ],
            input=dump.stdout,
            capture_output=True,
            timeout=300,
        )
        assert load.returncode == 0, load.stderr
        yield {"env": env, "urls": urls, "home": home}
    finally:
        for data in reversed(started):
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(home, ignore_errors=True)


def _sql(url: str, query: str):
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        return conn.execute(query).fetchall()


def _shell(env: dict, code: str) -> dict:
    r = subprocess.run(
        [sys.executable, "-m", "insurdesk.cli", "shell", "-c", "import json\n" + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


COUNTS = """
import io
from insurdesk.common.replica import replica_reads
from insurdesk.customers.selectors import customer_list
from insurdesk.exchange.exporters import export_list
from insurdesk.audit.models import AuditEntry
from insurdesk.org.models import User
user = User.objects.get(username='exporter')
out = io.StringIO()
rows = export_list(viewer=user, name='customers', params={}, fmt='csv', target=out)
print(json.dumps({'page': customer_list(viewer=user).count(), 'export': rows,
                  'audit': AuditEntry.objects.filter(action='exchange.export').count()}))
"""


@pytest.mark.timeout(900)  # two clusters started and a database copied on a shared 2-core machine
def test_exports_read_the_replica_and_pages_the_primary(clusters):
    env, urls = clusters["env"], clusters["urls"]
    for args in (["addunit", "HQ", "总公司"], ["adduser", "exporter", "--role", "admin", "--password-stdin"]):
        r = subprocess.run(
            [sys.executable, "-m", "insurdesk.cli", *args],
            cwd=ROOT,
            env=env,
            input="Replica-test-1\n",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
    primary_lsn = _sql(urls["primary"], "SELECT pg_current_wal_lsn()::text")[0][0]
    wait_until(
        lambda: _sql(urls["replica"], f"SELECT pg_last_wal_replay_lsn() >= '{primary_lsn}'::pg_lsn")[0][0],
        "the replica replayed the set-up",
    )
    assert _shell(env, COUNTS) == {"page": 0, "export": 0, "audit": 1}

    _sql(urls["replica"], "SELECT pg_wal_replay_pause()")
    try:
        _shell(
            env,
            (
                "import datetime\n"
                "from insurdesk.customers.services import customer_create\n"
                "from insurdesk.identity.testing import make_resident_id\n"
                "birth = datetime.date(1990, 5, 6)\n"
                "data = {'name': '林小雨', 'id_type': 'resident_id', 'gender': 'F', 'birth_date': birth,\n"
                "        'id_number': make_resident_id(birth, 'F'), 'mobile': '13800138000'}\n"
                "c, _ = customer_create(actor=None, kind='individual', data=data)\n"
                "print(json.dumps({'id': c.pk}))"
            ),
        )
        # the primary has it (the page), the paused replica not yet (the export); the export's audit entry
        # was written to the primary
        assert _shell(env, COUNTS) == {"page": 1, "export": 0, "audit": 2}
    finally:
        _sql(urls["replica"], "SELECT pg_wal_replay_resume()")
    primary_lsn = _sql(urls["primary"], "SELECT pg_current_wal_lsn()::text")[0][0]
    wait_until(
        lambda: _sql(urls["replica"], f"SELECT pg_last_wal_replay_lsn() >= '{primary_lsn}'::pg_lsn")[0][0],
        "the replica caught up",
    )
    assert _shell(env, COUNTS) == {"page": 1, "export": 1, "audit": 3}
