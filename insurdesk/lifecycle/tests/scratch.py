"""Scratch installations for tests that run insurdesk in other processes: a data directory and a database.

A pytest plugin (loaded from the root conftest): ``scratch(backend)`` returns a fresh installation
whose database is a copy of the session's migrated, empty test database — a file made with SQLite's
backup API, or ``CREATE DATABASE insurdesk_scratch_… TEMPLATE <test database>`` on the same
PostgreSQL server (dropped at the end of the session).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 180


def pg_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def backends() -> list[str]:
    """The database this test session runs on: its migrated test database is the scratch template."""
    return ["postgresql"] if pg_url() else ["sqlite"]


def _pg_url(dbname: str) -> str:
    parts = urlsplit(pg_url())
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        _pg_url("postgres").replace("postgres://", "postgresql://", 1), autocommit=True
    ) as conn:
        conn.execute(sql)


def base_env(data_dir: Path, database_url: str) -> dict[str, str]:
    """The environment of an insurdesk process using this test session's keys."""
    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSURDESK_", "DATABASE_URL", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="insurdesk.settings",
        PYTHONPATH=str(ROOT),
        INSURDESK_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        INSURDESK_SECRET_KEY=settings.SECRET_KEY,
        INSURDESK_FIELD_KEYS=settings.INSURDESK_FIELD_KEYS,
        INSURDESK_INDEX_KEY=settings.INSURDESK_INDEX_KEY,
        INSURDESK_BACKUP_KEY=settings.INSURDESK_BACKUP_KEY,
        INSURDESK_AUDIT_KEY=settings.INSURDESK_AUDIT_KEY,
    )
    return env


@dataclass
class Scratch:
    backend: str
    data_dir: Path
    database: str  # the SQLite file or the PostgreSQL database name

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}" if self.backend == "sqlite" else _pg_url(self.database)

    @property
    def files(self) -> Path:
        return self.data_dir / "files"

    def env(self) -> dict[str, str]:
        return base_env(self.data_dir, self.url)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `insurdesk <args>`; fail the test with its output when it fails and check is set."""
        proc = subprocess.run(
            [sys.executable, "-m", "insurdesk.cli", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"insurdesk {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def worker(self, *args: str) -> dict:
        """Run a worker command and return its JSON answer."""
        proc = subprocess.run(
            [sys.executable, "-m", "insurdesk.lifecycle.tests.worker", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if proc.returncode != 0:
            pytest.fail(f"worker {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def popen_worker(self, *args: str, stdin: bool = False) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "insurdesk.lifecycle.tests.worker", *args],
            cwd=ROOT,
            env=self.env(),
            stdin=subprocess.PIPE if stdin else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wipe(self) -> None:
        """Lose everything: the database (an empty one takes its place) and the files."""
        shutil.rmtree(self.files, ignore_errors=True)
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(self.database + suffix).unlink(missing_ok=True)
        else:
            _pg_admin(f'DROP DATABASE "{self.database}" WITH (FORCE)')
            _pg_admin(f'CREATE DATABASE "{self.database}"')


class _Factory:
    def __init__(self, tmp_path_factory, db_blocker):
        self.tmp = tmp_path_factory
        self.db_blocker = db_blocker
        self.templates: dict[str, str] = {}
        self.databases: list[str] = []

    def prepare(self, backend: str) -> str:
        """Copy the session's migrated, empty test database once (no second `migrate`).

        Runs when the session fixture is set up, before any test opens a transaction on the database.
        """
        from django.db import connection

        if backend not in self.templates:
            if backend != connection.vendor:
                pytest.fail(
                    f"a {backend} scratch needs a {backend} test session (this one is {connection.vendor})"
                )
            with self.db_blocker.unblock():
                if backend == "sqlite":
                    name = str(self.tmp.mktemp("template") / "insurdesk.sqlite3")
                    connection.ensure_connection()
                    target = sqlite3.connect(name)
                    connection.connection.backup(target)
                    target.close()
                else:
                    name = f"insurdesk_scratch_tpl_{uuid.uuid4().hex[:10]}"
                    source = connection.settings_dict["NAME"]
                    connection.close()  # CREATE DATABASE … TEMPLATE needs the source unused
                    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
                    self.databases.append(name)
            self.templates[backend] = name
        return self.templates[backend]

    def __call__(self, backend: str) -> Scratch:
        template = self.prepare(backend)
        data = self.tmp.mktemp(f"scratch-{backend}")
        if backend == "sqlite":
            name = str(data / "insurdesk.sqlite3")
            src, dst = sqlite3.connect(template), sqlite3.connect(name)
            src.backup(dst)
            src.close()
            dst.close()
        else:
            name = f"insurdesk_scratch_{uuid.uuid4().hex[:12]}"
            _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            self.databases.append(name)
        return Scratch(backend, data, name)

    def close(self) -> None:
        for name in reversed(self.databases):
            # A failed cleanup must not hide the test's own result.
            with contextlib.suppress(Exception):
                _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Test modules using `scratch` carry a django_db mark, or pytest-django sets up no test database.
@pytest.fixture(scope="session")
def scratch(tmp_path_factory, django_db_setup, django_db_blocker):
    """scratch(backend) -> a new Scratch installation ("sqlite" or "postgresql"), migrated, empty."""
    factory = _Factory(tmp_path_factory, django_db_blocker)
    factory.prepare(backends()[0])
    yield factory
    factory.close()
