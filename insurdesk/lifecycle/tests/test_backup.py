"""`insurdesk backup` / `insurdesk restore` end to end, in separate processes as an operator runs them.

Data with encrypted fields, history, relations, the audit log and files is backed up, everything is
wiped, and the restore must give back every raw row (ciphertext as stored) and every file byte for
byte, with the audit chain intact. A backup altered, cut or re-sealed with a changed member is refused
before anything is touched, with a message naming what failed.
"""

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from types import SimpleNamespace

import pytest
from django.conf import settings

from insurdesk.lifecycle.archive import (
    CHUNK_BYTES,
    BackupError,
    DecryptingReader,
    EncryptingWriter,
    decode_key,
)
from insurdesk.lifecycle.backup import MANIFEST, unpack
from insurdesk.lifecycle.tests.scratch import ROOT, backends

# The test database is the template of the scratch installations (see scratch.py).
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", params=backends())
def round_trip(request, scratch, tmp_path_factory):
    """Populate, back up, wipe, restore; keep what was seen on the way."""
    site = scratch(request.param)
    before = site.worker("populate", "--customers", "12", "--files", "6", "--then-state")["state"]
    path = tmp_path_factory.mktemp("backups") / "full.idbk"
    started = time.monotonic()
    made = site.run("backup", str(path))
    backup_seconds = time.monotonic() - started
    site.wipe()
    assert not site.files.exists()
    restored = site.run("restore", str(path), "--yes")
    after = site.worker("state")
    return SimpleNamespace(
        site=site,
        path=path,
        before=before,
        after=after,
        made=made,
        restored=restored,
        backup_seconds=backup_seconds,
    )


def test_every_row_and_file_comes_back_identical(round_trip):
    before, after = round_trip.before, round_trip.after
    assert before["tables"]["customers_customer"][0] == 12
    assert before["tables"]["customers_historicalcustomer"][0] >= 12 + 9
    assert before["tables"]["audit_auditentry"][0] > 30 and len(before["files"]) == 6
    assert after["tables"] == before["tables"]
    assert after["files"] == before["files"]
    assert after["audit"][0] is True and after["audit"][1] == before["audit"][1]
    assert "audit chain intact" in round_trip.restored.stdout


def test_the_backup_file_holds_no_readable_data(round_trip):
    blob = round_trip.path.read_bytes()
    assert blob.startswith(b"INSURDESK-BACKUP\n")
    for clear in ("深圳市南山区科技园".encode(), b"customers_customer", b"%PDF-1.7", b"manifest.json"):
        assert clear not in blob
    assert oct(round_trip.path.stat().st_mode & 0o777) == "0o600"


def test_the_manifest_lists_checksums_migrations_and_key_ids(round_trip, tmp_path):
    unpacked = unpack(round_trip.path, tmp_path)
    m = unpacked.manifest
    names = [member["name"] for member in m["members"]]
    assert names[0].startswith("database/") and sum(n.startswith("files/scans/") for n in names) == 6
    assert all(len(member["sha256"]) == 64 for member in m["members"])
    assert m["database"]["vendor"] == round_trip.site.backend
    assert "0001_initial" in m["database"]["migrations"]["customers"]
    assert m["database"]["tables"]["customers_customer"] == 12
    assert m["keys"]["field_key_ids"] and len(m["keys"]["index_key_fingerprint"]) == 16
    assert settings.INSURDESK_FIELD_KEYS.split(":")[0] in m["keys"]["field_key_ids"]
    assert "base64" not in json.dumps(m) and settings.INSURDESK_INDEX_KEY not in json.dumps(m)


# ---------------------------------------------------------------- tampering


def _plain_members(path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with open(path, "rb") as fh:
        reader = DecryptingReader(fh, decode_key(settings.INSURDESK_BACKUP_KEY))
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            return [(info, tar.extractfile(info).read()) for info in tar]


def _reseal(members, path) -> None:
    with open(path, "wb") as fh:
        writer = EncryptingWriter(fh, decode_key(settings.INSURDESK_BACKUP_KEY))
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for info, data in members:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        writer.close()


def test_a_member_changed_by_someone_with_the_key_is_named(round_trip, tmp_path):
    members = _plain_members(round_trip.path)
    i = next(i for i, (info, _) in enumerate(members) if info.name.startswith("files/"))
    info, data = members[i]
    members[i] = (info, data[:-1] + bytes([data[-1] ^ 1]))
    forged = tmp_path / "forged.idbk"
    _reseal(members, forged)
    with pytest.raises(BackupError, match=f"member {info.name} does not match its checksum"):
        unpack(forged, tmp_path / "staging")


def test_a_member_added_or_removed_is_refused(round_trip, tmp_path):
    members = _plain_members(round_trip.path)
    extra = tarfile.TarInfo("files/extra.pdf")
    _reseal([*members[:-1], (extra, b"%PDF-"), members[-1]], tmp_path / "added.idbk")
    with pytest.raises(BackupError, match="member files/extra.pdf is in the backup but not in its manifest"):
        unpack(tmp_path / "added.idbk", tmp_path / "s1")
    dropped = members[1][0].name
    _reseal([members[0], *members[2:]], tmp_path / "dropped.idbk")
    with pytest.raises(BackupError, match=f"member {dropped} is listed in the manifest but missing"):
        unpack(tmp_path / "dropped.idbk", tmp_path / "s2")
    _reseal([m for m in members if m[0].name != MANIFEST], tmp_path / "bare.idbk")
    with pytest.raises(BackupError, match="no manifest"):
        unpack(tmp_path / "bare.idbk", tmp_path / "s3")


def test_a_flipped_byte_is_refused_naming_chunk_and_member(round_trip, tmp_path):
    blob = bytearray(round_trip.path.read_bytes())
    blob[600] ^= 0x40  # inside the first chunk, which holds the start of the database
    bad = tmp_path / "flipped.idbk"
    bad.write_bytes(bytes(blob))
    with pytest.raises(
        BackupError, match=r"chunk 0 .* failed authentication.*while reading the first member"
    ):
        unpack(bad, tmp_path / "staging")


def test_a_member_path_escaping_the_staging_directory_is_refused(round_trip, tmp_path):
    members = _plain_members(round_trip.path)
    evil = tarfile.TarInfo("files/../../etc/cron.d/x")
    _reseal([(evil, b"x"), *members], tmp_path / "evil.idbk")
    with pytest.raises(BackupError, match="unexpected member"):
        unpack(tmp_path / "evil.idbk", tmp_path / "staging")
    assert not (tmp_path / "etc").exists()


def test_the_command_refuses_a_cut_backup_and_changes_nothing(round_trip, tmp_path):
    site = round_trip.site
    cut = tmp_path / "cut.idbk"
    blob = round_trip.path.read_bytes()
    cut.write_bytes(blob[: len(blob) - 100])
    proc = site.run("restore", str(cut), "--yes", check=False)
    assert proc.returncode != 0 and "error restore: the backup is truncated" in proc.stderr
    assert site.worker("state") == round_trip.after


def test_a_backup_made_under_another_key_is_named_so(round_trip, tmp_path):
    env_key = settings.INSURDESK_BACKUP_KEY
    try:
        settings.INSURDESK_BACKUP_KEY = "A" * 43 + "="
        with pytest.raises(BackupError, match="made under backup key"):
            unpack(round_trip.path, tmp_path)
    finally:
        settings.INSURDESK_BACKUP_KEY = env_key


# ---------------------------------------------------------------- while in use, and killed


@pytest.mark.parametrize("backend", backends())
def test_a_backup_taken_while_customers_are_written_restores_consistent(scratch, backend, tmp_path):
    site = scratch(backend)
    site.files.mkdir()
    (site.files / "a.pdf").write_bytes(b"%PDF-1.7 a")
    loop = site.popen_worker("create-loop", "--seed", "3")
    try:
        assert loop.stdout.readline().strip() == "ready"
        for _ in range(20):
            loop.stdout.readline()
        path = tmp_path / "live.idbk"
        site.run("backup", str(path))
        for _ in range(5):
            loop.stdout.readline()  # still writing after the snapshot
    finally:
        loop.kill()
        loop.wait()
    target = scratch(backend)
    target.run("restore", str(path), "--yes")
    result = target.worker("check")
    assert result["problems"] == [] and result["customers"] >= 20


KILL_AT = 4 * CHUNK_BYTES  # the backup is killed once its .partial file holds at least this much


def _stopped(pid: int) -> None:
    """Stop the process and return once it is stopped (waitpid reports it), not after a guessed time."""
    os.kill(pid, signal.SIGSTOP)
    _, status = os.waitpid(pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"the backup ended instead of stopping (status {status})"


@pytest.mark.parametrize("backend", backends())
def test_a_backup_killed_midway_leaves_no_backup_behind(scratch, backend, tmp_path):
    """Killed while .partial holds KILL_AT bytes of a much larger backup: no backup, a damaged partial.

    The backup runs in short steps (SIGCONT … SIGSTOP) and the size of .partial is read while it is
    stopped, so the kill lands exactly at the state observed, however loaded the machine is.
    """
    site = scratch(backend)
    site.files.mkdir()
    big = site.files / "big.bin"
    big.write_bytes(os.urandom(24 * CHUNK_BYTES))
    path = tmp_path / "killed.idbk"
    partial = path.with_name(path.name + ".partial")
    backup = subprocess.Popen(
        [sys.executable, "-m", "insurdesk.cli", "backup", str(path)],
        cwd=ROOT,
        env=site.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _stopped(backup.pid)
        seen = 0
        while seen < KILL_AT:
            os.kill(backup.pid, signal.SIGCONT)
            time.sleep(0.005)  # one step of the backup's work, not a wait for a state
            _stopped(backup.pid)
            assert not path.exists(), "the backup finished before .partial reached KILL_AT bytes"
            seen = partial.stat().st_size if partial.exists() else 0
        backup.send_signal(signal.SIGKILL)
    finally:
        if backup.returncode is None:
            backup.kill()
        backup.wait()
    assert backup.returncode == -signal.SIGKILL  # died by the kill, not by an error of its own
    # The branch tested: killed midway through the files, before the last byte and the rename.
    assert not path.exists()
    assert KILL_AT <= partial.stat().st_size == seen < big.stat().st_size
    proc = site.run("restore", str(partial), "--check", check=False)
    assert proc.returncode != 0 and "error restore" in proc.stderr and "backup verified" not in proc.stdout


def test_the_restored_database_takes_new_writes(round_trip):
    """Last in the module: it changes the restored installation."""
    result = round_trip.site.worker(
        "populate", "--customers", "3", "--files", "0", "--seed", "7", "--then-check"
    )
    assert result["check"]["problems"] == [] and result["check"]["customers"] == 12 + 3
