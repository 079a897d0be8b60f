"""Uploaded files are protected like the database (issue 15.8).

The finding: import files stayed in var/imports/ in plain text, mode 0644, forever; the database file
was 0644. Now they are encrypted with the field keys, 0600 in a 0700 folder under the files the backup
covers, read through a decrypted copy that is deleted afterwards, and deleted after the configured
period (or right after their import).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from insurdesk.common.crypto import DecryptionError
from insurdesk.common.daily import duties
from insurdesk.common.filestore import decrypted_copy, iter_decrypted, protect_sqlite_files, write_encrypted
from insurdesk.customers.models import Customer
from insurdesk.exchange.models import ImportRun, RunStatus
from insurdesk.exchange.services import import_start, upload_dir, upload_purpose, uploads_expire
from insurdesk.exchange.tests.conftest import person_id, write_csv

pytestmark = pytest.mark.django_db

NUMBER = person_id(7)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.DATA_DIR = tmp_path
    return settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def upload(tmp_path, make_user):
    path = write_csv(tmp_path / "客户.csv", ["客户姓名", "身份证号码"], [["张三", NUMBER]])
    return import_start(actor=make_user("clerk"), upload=SimpleUploadedFile("客户.csv", path.read_bytes()))


def test_an_uploaded_import_file_is_encrypted_private_and_inside_the_backed_up_files(
    media, tmp_path, make_user
):
    run = upload(tmp_path, make_user)
    stored = Path(run.file_path)
    assert upload_dir() in stored.parents and Path(media.MEDIA_ROOT) in stored.parents  # backup: MEDIA_ROOT
    assert mode(stored) == 0o600 and mode(stored.parent) == 0o700
    raw = stored.read_bytes()
    assert NUMBER.encode() not in raw and "张三".encode() not in raw
    assert b"".join(iter_decrypted(stored, purpose=upload_purpose(run.file_hash))).decode().count(NUMBER) == 1


def test_the_import_reads_a_decrypted_copy_that_is_gone_afterwards(
    media, tmp_path, make_user, run_tasks, archive_products
):
    run = upload(tmp_path, make_user)
    assert run_tasks() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.created == 1
    assert Customer.objects.get().id_number == NUMBER
    leftovers = (
        [p for p in (tmp_path / "tmp").rglob("*") if p.is_file()] if (tmp_path / "tmp").exists() else []
    )
    assert leftovers == []
    assert Path(run.file_path).exists()  # kept for the configured period (30 days by default)


def test_with_no_retention_the_file_is_deleted_after_its_import(
    media, tmp_path, make_user, run_tasks, archive_products
):
    media.INSURDESK_UPLOAD_RETENTION_DAYS = 0
    run = upload(tmp_path, make_user)
    run_tasks()
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and not Path(run.file_path).exists()


def test_the_daily_duty_deletes_files_older_than_the_period(
    media, tmp_path, make_user, run_tasks, archive_products
):
    assert media.INSURDESK_UPLOAD_RETENTION_DAYS == 30
    assert "upload_retention" in {d.name for d in duties()}
    run = upload(tmp_path, make_user)
    run_tasks()
    stored = Path(run.file_path)
    assert uploads_expire() == 0 and stored.exists()
    old = stored.stat().st_mtime - 31 * 86400
    os.utime(stored, (old, old))
    assert uploads_expire() == 1 and not stored.exists()
    assert ImportRun.objects.get().file_hash == run.file_hash  # the run and its report stay


def test_an_altered_or_cut_file_does_not_decrypt(media, tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(os.urandom(3 << 20))
    stored = tmp_path / "x" / "f.enc"
    with open(plain, "rb") as f:
        write_encrypted(f, stored, purpose="p")
    assert b"".join(iter_decrypted(stored, purpose="p")) == plain.read_bytes()
    with pytest.raises(DecryptionError):
        list(iter_decrypted(stored, purpose="other"))
    data = bytearray(stored.read_bytes())
    data[100] ^= 1
    (tmp_path / "altered.enc").write_bytes(bytes(data))
    with pytest.raises(DecryptionError):
        list(iter_decrypted(tmp_path / "altered.enc", purpose="p"))
    first_two = stored.read_bytes()[: stored.stat().st_size * 2 // 3]
    (tmp_path / "cut.enc").write_bytes(first_two)
    with pytest.raises(DecryptionError):
        list(iter_decrypted(tmp_path / "cut.enc", purpose="p"))
    with decrypted_copy(stored, purpose="p") as copy:
        assert mode(copy) == 0o600 and copy.read_bytes() == plain.read_bytes()
    assert not copy.exists()


def test_the_sqlite_database_file_is_made_private(tmp_path):
    db = tmp_path / "insurdesk.sqlite3"
    sqlite3.connect(db).close()
    os.chmod(db, 0o644)
    connection = SimpleNamespace(vendor="sqlite", settings_dict={"NAME": str(db)})
    protect_sqlite_files(None, connection)
    assert mode(db) == 0o600
