"""`insurdesk backup` and `insurdesk restore`: one encrypted file holding the database and DATA_DIR/files.

Inside the container (insurdesk.lifecycle.archive) is a tar stream:

* ``database/insurdesk.sqlite3`` — SQLite's online backup API, one step, so one consistent snapshot
  while others write (WAL); or ``database/insurdesk.pgdump`` — ``pg_dump --format=custom`` run on a
  snapshot exported from a REPEATABLE READ transaction, in which the row counts and the migration
  state of the manifest are read too. Encrypted columns stay the ciphertext they are in the database
  (never ``dumpdata``, which would write them decrypted).
* ``files/...`` — every regular file under MEDIA_ROOT, read after the database snapshot: a file a row
  of the snapshot names was written before that row committed.
* ``manifest.json`` last — SHA-256 and size of every member, row counts, applied migrations, the ids
  of the field keys and a fingerprint of the index key (never a key), the tools' versions.

Restore reads the whole file first, into a private staging directory: every chunk must authenticate,
the final chunk must be there, every member must match the manifest; only then, and after a "yes",
does it replace the database (SQLite: the backup API into the live file; PostgreSQL: one psql
transaction that drops the tables and loads the dump) and then the files directory. See
docs/decisions/0004-encrypted-backups.md.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader

from insurdesk.common.crypto import blind_index, get_keyring
from insurdesk.lifecycle.archive import (
    BackupError,
    DecryptingReader,
    EncryptingWriter,
    decode_key,
    key_fingerprint,
)

MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/insurdesk.sqlite3"
PG_MEMBER = "database/insurdesk.pgdump"
FILES = "files/"
BACKUP_SUFFIX = ".idbk"
_MEMBER_RE = re.compile(r"^(manifest\.json|database/insurdesk\.(sqlite3|pgdump)|files/.+)$")
_COPY = 1 << 20


# ---------------------------------------------------------------- small pieces


def _private_dir(prefix: str) -> Path:
    root = Path(settings.DATA_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))  # mode 0700


def index_key_fingerprint() -> str:
    """Name the index key without revealing it: search hashes are only valid under the same key."""
    return blind_index("insurdesk key fingerprint", purpose="insurdesk.backup")[:16]


class _Hashing:
    """A file wrapper that hashes and counts what is read through it."""

    def __init__(self, fh):
        self.fh, self.sha, self.size = fh, hashlib.sha256(), 0

    def read(self, n=-1):
        data = self.fh.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path, members: list[dict]) -> None:
    st = path.stat()
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o600
    with open(path, "rb") as fh:
        hashing = _Hashing(fh)
        tar.addfile(info, hashing)
    members.append({"name": name, "size": hashing.size, "sha256": hashing.sha.hexdigest()})


def _vendor() -> str:
    return connection.vendor


def _sqlite_path() -> str | None:
    """Return the SQLite file, or None for an in-memory database (tests)."""
    return None if connection.is_in_memory_db() else str(settings.DATABASES["default"]["NAME"])


def _sqlite_facts(db: sqlite3.Connection) -> tuple[dict[str, int], dict[str, list[str]]]:
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in counts:
        for app, name in db.execute("SELECT app, name FROM django_migrations ORDER BY app, name"):
            migrations.setdefault(app, []).append(name)
    return counts, migrations


# ---------------------------------------------------------------- PostgreSQL tools


def _pg_env() -> dict[str, str]:
    s = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if s.get(key):
            env[var] = str(s[key])
    for opt, var in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
        ("passfile", "PGPASSFILE"),
        ("service", "PGSERVICE"),
    ):
        if s.get("OPTIONS", {}).get(opt):
            env[var] = str(s["OPTIONS"][opt])
    return env


def _server_major() -> int:
    connection.ensure_connection()
    return connection.pg_version // 10000


def _tool_major(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    m = re.search(r"\) (\d+)", out)
    return int(m.group(1)) if m else None


def pg_tool(name: str, server_major: int) -> tuple[str, int]:
    """Return the client tool (pg_dump, pg_restore, psql) matching the server: same major, else newer."""
    found = []
    override = os.environ.get("INSURDESK_PG_BIN_DIR")
    if override:
        found.append(str(Path(override) / name))
    for d in sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    ):
        if d.parent.name.isdigit() and int(d.parent.name) >= server_major:
            found.append(str(d / name))
    if shutil.which(name):
        found.append(shutil.which(name))
    for path in found:
        major = _tool_major(path)
        if major is not None and major >= server_major:
            return path, major
    raise BackupError(
        f"{name} {server_major} or newer is needed for this PostgreSQL {server_major} server and none was "
        f"found; install postgresql-client-{server_major} (or set INSURDESK_PG_BIN_DIR)"
    )


def _pg_snapshot(dest: Path) -> dict:
    """Dump the database with pg_dump on a snapshot exported here; read counts and migrations in it."""
    server = _server_major()
    pg_dump, tool = pg_tool("pg_dump", server)
    wrapper = connections.create_connection("default")
    conn = wrapper.get_new_connection(wrapper.get_connection_params())
    try:
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
            tables = [r[0] for r in cur.fetchall()]
            counts = {}
            for t in tables:
                cur.execute(f'SELECT count(*) FROM "{t}"')
                counts[t] = cur.fetchone()[0]
            migrations: dict[str, list[str]] = {}
            if "django_migrations" in counts:
                cur.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
                for app, name in cur.fetchall():
                    migrations.setdefault(app, []).append(name)
            proc = subprocess.run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password", f"--file={dest}"],
                env=_pg_env(),
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise BackupError(f"pg_dump failed: {proc.stderr.strip()}")
    finally:
        conn.rollback()
        conn.close()
    return {
        "vendor": "postgresql",
        "member": PG_MEMBER,
        "method": f"pg_dump {tool} --format=custom",
        "server_major": server,
        "tables": counts,
        "migrations": migrations,
    }


def _sqlite_snapshot(dest: Path) -> dict:
    """Copy the database with SQLite's backup API in one step: a consistent snapshot beside writers."""
    path = _sqlite_path()
    if path is None:
        connection.ensure_connection()
        source, own = connection.connection, False
    else:
        source, own = sqlite3.connect(path, timeout=60), True
    target = sqlite3.connect(dest)
    try:
        source.backup(target)  # pages=-1: the whole file under one read transaction
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        if target.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError("the database fails SQLite's quick_check: repair it before backing it up")
        counts, migrations = _sqlite_facts(target)
    finally:
        target.close()
        if own:
            source.close()
    return {
        "vendor": "sqlite",
        "member": SQLITE_MEMBER,
        "method": f"sqlite3 backup API (SQLite {sqlite3.sqlite_version})",
        "tables": counts,
        "migrations": migrations,
    }


# ---------------------------------------------------------------- backup


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("insurdesk")
    except Exception:  # noqa: BLE001 - an uninstalled checkout has no metadata
        return "unknown"


def create_backup(path: Path, *, log: Callable[[str], None] = lambda s: None) -> dict:
    """Write an encrypted snapshot of the database and files to path; return its manifest."""
    key = decode_key(settings.INSURDESK_BACKUP_KEY)
    path = Path(path)
    if path.is_dir():
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = path / f"insurdesk-{stamp}{BACKUP_SUFFIX}"
    if path.exists():
        raise BackupError(f"{path} exists; choose a new name (a backup never overwrites another)")
    media = Path(settings.MEDIA_ROOT).resolve()
    if media in path.resolve().parents:
        raise BackupError(f"{path} is inside {media}, which the backup copies; write it elsewhere")
    work = _private_dir(".backup-")
    partial = path.with_name(path.name + ".partial")
    try:
        snapshot = work / "db"
        database = _pg_snapshot(snapshot) if _vendor() == "postgresql" else _sqlite_snapshot(snapshot)
        log(
            f"database: {database['method']}, {sum(database['tables'].values())} rows "
            f"in {len(database['tables'])} tables"
        )
        members: list[dict] = []
        skipped: list[str] = []
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            writer = EncryptingWriter(raw, key)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                _add(tar, database["member"], snapshot, members)
                snapshot.unlink()
                if media.is_dir():
                    for file in sorted(media.rglob("*")):
                        rel = file.relative_to(media).as_posix()
                        if file.is_symlink() or not file.is_file():
                            if not file.is_dir():
                                skipped.append(rel)
                            continue
                        _add(tar, FILES + rel, file, members)
                manifest = {
                    "format": 1,
                    "app": "insurdesk",
                    "version": _version(),
                    "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                    "host": socket.gethostname(),
                    "database": database,
                    "keys": {
                        "field_key_ids": list(get_keyring().ids),
                        "index_key_fingerprint": index_key_fingerprint(),
                        "backup_key_fingerprint": key_fingerprint(key),
                    },
                    "files": {
                        "count": sum(m["name"].startswith(FILES) for m in members),
                        "bytes": sum(m["size"] for m in members if m["name"].startswith(FILES)),
                        "skipped": skipped,
                    },
                    "members": members,
                }
                body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(body), int(datetime.datetime.now().timestamp()), 0o600
                tar.addfile(info, _BytesReader(body))
            writer.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
        log(f"files: {manifest['files']['count']} ({manifest['files']['bytes']} bytes)")
        manifest["path"] = str(path)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)
        partial.unlink(missing_ok=True)


class _BytesReader:
    def __init__(self, data: bytes):
        self._data, self._pos = data, 0

    def read(self, n=-1):
        end = len(self._data) if n is None or n < 0 else self._pos + n
        out = self._data[self._pos : end]
        self._pos += len(out)
        return out


# ---------------------------------------------------------------- read and verify


@dataclass
class Unpacked:
    manifest: dict
    staging: Path
    members: dict[str, dict] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.staging / self.manifest["database"]["member"]

    @property
    def files(self) -> Path:
        return self.staging / "files"


def _safe_member(name: str) -> None:
    parts = PurePosixPath(name).parts
    if not _MEMBER_RE.match(name) or name.startswith("/") or ".." in parts or "" in name.split("/"):
        raise BackupError(f"the backup holds an unexpected member {name!r}; refused")


def unpack(path: Path, staging: Path) -> Unpacked:
    """Decrypt the whole backup into staging and check it against its manifest, or raise BackupError."""
    key = decode_key(settings.INSURDESK_BACKUP_KEY)
    found: dict[str, dict] = {}
    manifest_body = None
    current = "the first member"
    try:
        with open(path, "rb") as raw:
            reader = DecryptingReader(raw, key)
            try:
                with tarfile.open(fileobj=reader, mode="r|") as tar:
                    for info in tar:
                        current = info.name
                        _safe_member(info.name)
                        if not info.isfile():
                            raise BackupError(f"member {info.name} is not a regular file; refused")
                        if info.name in found or (info.name == MANIFEST and manifest_body is not None):
                            raise BackupError(f"member {info.name} appears twice; refused")
                        src = tar.extractfile(info)
                        if info.name == MANIFEST:
                            manifest_body = src.read(64 * 1024 * 1024)
                            continue
                        target = staging / info.name
                        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                        sha, size = hashlib.sha256(), 0
                        with open(target, "wb") as out:
                            while chunk := src.read(_COPY):
                                sha.update(chunk)
                                size += len(chunk)
                                out.write(chunk)
                        found[info.name] = {"size": size, "sha256": sha.hexdigest()}
                        current = f"the member after {info.name}"
                    current = "the end of the backup"
                while reader.read(_COPY):  # the padding after the tar end: it must authenticate too
                    pass
                if not reader.finished:
                    raise BackupError("the backup is truncated: its final chunk is missing")
            except BackupError as exc:
                raise BackupError(f"{exc} (while reading {current})") from None
            except tarfile.TarError as exc:
                raise BackupError(
                    f"the backup's contents are damaged ({exc}) while reading {current}"
                ) from None
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
    if manifest_body is None:
        raise BackupError("the backup has no manifest.json; refused")
    manifest = json.loads(manifest_body)
    listed = {m["name"]: m for m in manifest.get("members", [])}
    for name, m in listed.items():
        got = found.get(name)
        if got is None:
            raise BackupError(f"member {name} is listed in the manifest but missing from the backup")
        if got["size"] != m["size"] or got["sha256"] != m["sha256"]:
            raise BackupError(
                f"member {name} does not match its checksum in the manifest (altered or damaged)"
            )
    extra = sorted(set(found) - set(listed))
    if extra:
        raise BackupError(f"member {extra[0]} is in the backup but not in its manifest; refused")
    if manifest.get("format") != 1 or manifest.get("database", {}).get("member") not in found:
        raise BackupError("the manifest is not one this insurdesk can restore")
    return Unpacked(manifest, staging, found)


def compatibility(manifest: dict) -> tuple[list[str], list[str]]:
    """Return (problems that forbid the restore, notes) for restoring manifest into this installation."""
    problems, notes = [], []
    vendor = manifest["database"]["vendor"]
    if vendor != _vendor():
        problems.append(f"the backup holds a {vendor} database; this installation uses {_vendor()}")
    missing = [k for k in manifest["keys"]["field_key_ids"] if k not in get_keyring().ids]
    if missing:
        problems.append(
            f"field key(s) {', '.join(missing)} of the backup are not in INSURDESK_FIELD_KEYS: encrypted "
            "values would be unreadable; add the key(s) first"
        )
    if manifest["keys"]["index_key_fingerprint"] != index_key_fingerprint():
        problems.append(
            "INSURDESK_INDEX_KEY differs from the one the backup was made with: identity and mobile search "
            "would find nothing; set the original index key"
        )
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    applied = {(app, name) for app, names in manifest["database"]["migrations"].items() for name in names}
    newer = sorted(applied - known)
    if newer:
        problems.append(
            f"the backup was made by a newer insurdesk (migration {newer[0][0]}.{newer[0][1]} is unknown "
            "here); upgrade insurdesk first"
        )
    pending = known - applied
    if pending:
        notes.append(
            f"{len(pending)} migration(s) are newer than the backup: run `insurdesk migrate` after the "
            "restore"
        )
    return problems, notes


# ---------------------------------------------------------------- restore


def _restore_sqlite(snapshot: Path) -> None:
    source = sqlite3.connect(snapshot)
    path = _sqlite_path()
    try:
        if path is None:
            connection.ensure_connection()
            source.backup(connection.connection)
        else:
            connections.close_all()
            target = sqlite3.connect(path, timeout=60)
            try:
                source.backup(target)  # written in one transaction: a crash leaves the old database
            finally:
                target.close()
    finally:
        source.close()


_PG_PRELUDE = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT format('DROP VIEW IF EXISTS %I.%I CASCADE', schemaname, viewname) AS q
           FROM pg_views WHERE schemaname = current_schema() LOOP EXECUTE r.q; END LOOP;
  FOR r IN SELECT format('DROP TABLE IF EXISTS %I.%I CASCADE', schemaname, tablename) AS q
           FROM pg_tables WHERE schemaname = current_schema() LOOP EXECUTE r.q; END LOOP;
  FOR r IN SELECT format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', schemaname, sequencename) AS q
           FROM pg_sequences WHERE schemaname = current_schema() LOOP EXECUTE r.q; END LOOP;
END $$;
"""


def _restore_postgresql(dump: Path, work: Path) -> None:
    server = _server_major()
    pg_restore, _ = pg_tool("pg_restore", server)
    psql, _ = pg_tool("psql", server)
    prelude = work / "prelude.sql"
    prelude.write_text(_PG_PRELUDE)
    connections.close_all()
    env = _pg_env()
    # One transaction: the old tables are dropped and the dump loaded, or nothing changes.
    restore = subprocess.Popen(
        [pg_restore, "--no-owner", "--no-privileges", "--no-comments", "--file=-", str(dump)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    load = subprocess.run(
        [
            psql,
            "-X",
            "-q",
            "--no-password",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
            str(prelude),
            "-f",
            "-",
        ],
        stdin=restore.stdout,
        capture_output=True,
        text=True,
        env=env,
    )
    restore.stdout.close()
    restore_err = restore.stderr.read().decode(errors="replace")
    restore.wait()
    if restore.returncode != 0:
        raise BackupError(f"pg_restore failed: {restore_err.strip()}")
    if load.returncode != 0:
        raise BackupError(
            f"loading the dump failed, the database is unchanged: {load.stderr.strip()[-2000:]}"
        )


def _restore_files(source: Path) -> None:
    media = Path(settings.MEDIA_ROOT)
    media.parent.mkdir(parents=True, exist_ok=True)
    source.mkdir(exist_ok=True, mode=0o700)
    old = None
    if media.exists():
        old = media.with_name(f".{media.name}-before-restore-{os.getpid()}")
        os.replace(media, old)
    try:
        shutil.move(str(source), str(media))
    except OSError:
        if old is not None:
            os.replace(old, media)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def table_counts() -> dict[str, int]:
    """Return the number of rows in every table of the current database."""
    out = {}
    with connection.cursor() as cur:
        for table in sorted(connection.introspection.table_names(cur)):
            cur.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            out[table] = cur.fetchone()[0]
    return out


@dataclass
class RestoreReport:
    manifest: dict
    notes: list[str]
    counts_ok: bool
    count_differences: list[str]
    audit_ok: bool
    audit_checked: int
    audit_problem: str


def restore_backup(
    path: Path,
    *,
    confirm: Callable[[dict, list[str]], bool],
    log: Callable[[str], None] = lambda s: None,
    check_only: bool = False,
) -> RestoreReport | None:
    """Verify the backup completely, ask, then restore database and files; None when not confirmed."""
    from insurdesk.audit.services import audit_verify

    work = _private_dir(".restore-")
    try:
        unpacked = unpack(Path(path), work)
        manifest = unpacked.manifest
        log(
            f"verified: {len(unpacked.members)} members, checksums match "
            f"(made {manifest['created_at']} on {manifest['host']})"
        )
        problems, notes = compatibility(manifest)
        if problems:
            raise BackupError("; ".join(problems))
        if check_only or not confirm(manifest, notes):
            return None
        if manifest["database"]["vendor"] == "postgresql":
            _restore_postgresql(unpacked.database, work)
        else:
            _restore_sqlite(unpacked.database)
        log("database restored")
        _restore_files(unpacked.files)
        log(f"files restored: {manifest['files']['count']}")
        counts = table_counts()
        expected = manifest["database"]["tables"]
        diffs = [
            f"{t}: {counts.get(t)} rows, backup had {n}"
            for t, n in sorted(expected.items())
            if counts.get(t) != n
        ]
        result = audit_verify()
        return RestoreReport(manifest, notes, not diffs, diffs, result.ok, result.checked, result.problem)
    finally:
        shutil.rmtree(work, ignore_errors=True)
