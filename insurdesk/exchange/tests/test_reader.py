"""The reader process: a second process reads and normalises ahead, and nothing the user sees changes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time

import pytest

from insurdesk.common.checkpoint import WalCheckpointer
from insurdesk.exchange import reader
from insurdesk.exchange.models import ImportIssue, ImportRun
from insurdesk.exchange.pipeline import _Importer, import_file
from insurdesk.exchange.tests.conftest import FILES
from insurdesk.exchange.tests.test_archive_parts import counts

pytestmark = pytest.mark.django_db

fork_only = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="the reader process needs fork (Linux)"
)


def issues_of(run: ImportRun) -> list[tuple]:
    return list(
        ImportIssue.objects.filter(run=run)
        .order_by("row", "id")
        .values_list("row", "column", "value", "code", "message", "level")
    )


def summary(run: ImportRun) -> tuple:
    return (run.status, run.processed, run.created, run.updated, run.unchanged, run.merged, run.refused,
            run.warnings, run.parts)  # fmt: skip


@fork_only
@pytest.mark.parametrize("name", ["damaged_utf8.csv", "archive_utf8.csv", "archive_openpyxl.xlsx"])
def test_a_dry_run_reports_the_same_with_and_without_the_reader(root_unit, monkeypatch, name):
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "0")
    alone = import_file(actor=None, path=FILES / name, dry_run=True, batch_size=2)
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "1")
    ahead = import_file(actor=None, path=FILES / name, dry_run=True, batch_size=2)

    assert summary(ahead) == summary(alone)
    assert issues_of(ahead) == issues_of(alone)
    assert reader.stats["peak_mb"] > 0  # the reader ran and said goodbye
    assert multiprocessing.active_children() == []


@fork_only
def test_an_import_with_the_reader_writes_every_part_in_batches(root_unit, monkeypatch):
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "1")
    run = import_file(actor=None, path=FILES / "archive_utf8.csv", batch_size=2)

    assert (run.status, run.created, run.merged, run.refused) == ("done", 4, 1, 0)
    assert counts() | {"audit": 0} == {
        "customers": 4, "customer_history": 4, "policies": 5, "payments": 4, "claims": 1, "claim_history": 1,
        "contacts": 2, "contact_history": 2, "audit": 0,
    }  # fmt: skip
    again = import_file(actor=None, path=FILES / "archive_utf8.csv", batch_size=2)
    assert (again.created, again.unchanged, again.updated) == (0, 4, 0)
    assert multiprocessing.active_children() == []


def archives() -> list[tuple]:
    from insurdesk.customers.models import Customer

    fields = ("archive_no", "name", "id_number", "mobile", "residence_address", "gender", "birth_date",
              "completeness", "id_hash", "mobile_hash")
    return sorted(tuple(getattr(c, f) for f in fields) for c in Customer.objects.all())


@fork_only
def test_the_reader_cleans_the_archives_ahead_and_they_come_out_the_same(
    root_unit, monkeypatch
):
    from insurdesk.customers import bulk

    cleaned = []
    clean_values = bulk.clean_values

    def counting(*args, **kwargs):  # the writer's calls only: the reader uses the pipeline's name
        cleaned.append(args[1].get("name"))
        return clean_values(*args, **kwargs)

    monkeypatch.setattr(bulk, "clean_values", counting)
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "0")
    alone = import_file(actor=None, path=FILES / "archive_utf8.csv", batch_size=2)
    by_writer_alone, stored_alone = list(cleaned), archives()
    assert alone.created == 4 and len(by_writer_alone) == 4

    from insurdesk.customers.models import Customer

    Customer.history.all().delete()
    for model in ("policies.Payment", "claims.Claim", "care.ContactLog", "policies.Policy"):
        from django.apps import apps

        apps.get_model(model)._base_manager.all().delete()
    Customer.objects.all().delete()
    ImportRun.objects.all().delete()
    cleaned.clear()
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "1")
    ahead = import_file(actor=None, path=FILES / "archive_utf8.csv", batch_size=2)

    assert summary(ahead)[:7] == summary(alone)[:7]
    # The writer cleaned none: every archive came cleaned from the reader, that of the customer of two
    # rows too (the second row repeats the first's values, so the merged values are the first row's).
    assert cleaned == []
    assert [a[1:] for a in archives()] == [a[1:] for a in stored_alone]


@fork_only
def test_a_later_row_that_adds_a_value_makes_the_writer_clean_the_merged_archive(
    root_unit, monkeypatch, tmp_path
):
    from insurdesk.customers import bulk
    from insurdesk.customers.models import Customer
    from insurdesk.exchange.tests.conftest import person_id, write_csv

    cleaned = []
    clean_values = bulk.clean_values
    monkeypatch.setattr(bulk, "clean_values", lambda *a, **k: cleaned.append(a[1]) or clean_values(*a, **k))
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "1")
    number = person_id(81)
    path = write_csv(
        tmp_path / "two.csv",
        ["客户姓名", "身份证号码", "联系方式", "地址"],
        [
            ["赵六", number, "13800000081", ""],
            ["赵六", number, "", "北京市朝阳区"],  # adds the address the first row lacked
            ["钱七", person_id(82), "", ""],
        ],
    )
    run = import_file(actor=None, path=path, batch_size=10)

    assert (run.created, run.merged, run.refused) == (2, 1, 0)
    zhao = Customer.objects.get(name="赵六")
    assert (zhao.mobile, zhao.residence_address) == ("13800000081", "北京市朝阳区")
    assert [d["name"] for d in cleaned] == ["赵六"]  # the merged values; 钱七 came cleaned from the reader


def test_values_cleaned_ahead_are_used_only_while_the_row_and_the_terms_are_the_same(root_unit):
    import datetime

    from insurdesk.customers.bulk import Ready, _Context, _prepare_row
    from insurdesk.exchange.tests.conftest import person_id

    ctx = _Context(None)
    data = {"name": "王五", "id_type": "resident_id", "id_number": person_id(71)}
    values = {"name": "别名", "id_type": "resident_id", "id_number": person_id(71)}  # tells which was used
    ready = Ready(dict(data), ctx.terms, values, [], [], [])

    assert _prepare_row(ctx, "individual", 0, dict(data), ready).customer.name == "别名"
    changed = dict(data, name="王六")
    assert _prepare_row(ctx, "individual", 0, changed, ready).customer.name == "王六"
    tomorrow = Ready(dict(data), (ctx.today + datetime.timedelta(days=1), *ctx.terms[1:]), values, [], [], [])
    assert _prepare_row(ctx, "individual", 0, dict(data), tomorrow).customer.name == "王五"


@fork_only
def test_a_reader_that_fails_stops_the_import_and_keeps_what_was_committed(root_unit, monkeypatch):
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "1")
    monkeypatch.setenv("INSURDESK_IMPORT_GROUP", "1")  # what is committed: each batch (SQLite groups them)
    read_cells = _Importer._read_cells

    def broken(self, number, cells):
        if number == 4:
            raise OSError("磁盘读取失败")
        return read_cells(self, number, cells)

    monkeypatch.setattr(_Importer, "_read_cells", broken)  # the forked reader inherits it
    with pytest.raises(RuntimeError, match="读取进程出错：OSError: 磁盘读取失败"):
        import_file(actor=None, path=FILES / "archive_utf8.csv", batch_size=2)

    run = ImportRun.objects.get()
    assert run.status != "done" and run.rows_done == 3  # rows 2 and 3: the one batch before the bad row
    assert "读取进程出错" in run.message
    assert multiprocessing.active_children() == []
    monkeypatch.setattr(_Importer, "_read_cells", read_cells)
    again = import_file(actor=None, path=FILES / "archive_utf8.csv", batch_size=2)
    assert (again.pk, again.status, again.processed) == (run.pk, "done", 5)


@fork_only
def test_a_reader_alive_but_silent_is_stopped_instead_of_waited_for(root_unit, monkeypatch):
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "1")
    monkeypatch.setenv("INSURDESK_IMPORT_GROUP", "1")  # what is committed: each batch (SQLite groups them)
    monkeypatch.setattr(reader, "_STALL", 2.0)
    read_cells = _Importer._read_cells

    def stuck(self, number, cells):
        if number == 4:
            time.sleep(3600)  # as if a lock another thread held at the fork never came free
        return read_cells(self, number, cells)

    monkeypatch.setattr(_Importer, "_read_cells", stuck)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="读取进程 2 秒没有送来数据"):
        import_file(actor=None, path=FILES / "archive_utf8.csv", batch_size=2)

    assert time.monotonic() - started < 60
    assert ImportRun.objects.get().rows_done == 3  # what came before the stuck row is committed
    assert multiprocessing.active_children() == []  # the stuck reader was killed


def test_the_reader_is_used_for_large_files_unless_turned_off(monkeypatch):
    monkeypatch.delenv("INSURDESK_IMPORT_READER", raising=False)
    forking = "fork" in multiprocessing.get_all_start_methods()
    assert reader.wanted(reader.MIN_ROWS) is (forking and multiprocessing.cpu_count() >= 2)
    assert reader.wanted(reader.MIN_ROWS - 1) is False
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "0")
    assert reader.wanted(10**6) is False
    monkeypatch.setenv("INSURDESK_IMPORT_READER", "1")
    assert reader.wanted(1) is forking


def test_the_checkpointer_does_nothing_inside_a_transaction_or_off_sqlite():
    with WalCheckpointer() as checkpoints:  # pytest-django runs the test in a transaction
        checkpoints.committed()
        assert checkpoints.active is False


def test_the_checkpoint_thread_copies_committed_log_pages_into_the_database(tmp_path):
    path = str(tmp_path / "wal.sqlite3")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # as the checkpointer sets it on the importing connection
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    checkpoints = WalCheckpointer()
    thread = threading.Thread(target=checkpoints._run, args=(path,))
    thread.start()
    for batch in range(5):
        writer.execute("BEGIN IMMEDIATE")
        writer.executemany("INSERT INTO t (v) VALUES (?)", [(f"{batch}-{i}" * 20,) for i in range(2000)])
        writer.execute("COMMIT")
        checkpoints.committed()
    checkpoints._stop.set()
    checkpoints._wake.set()
    thread.join(timeout=30)

    assert not thread.is_alive() and checkpoints.checkpoints >= 1 and checkpoints.failures == 0
    # The writer never checkpoints: the rows (1.2 MB of text) are in the database file by the thread.
    assert os.path.getsize(path) > 1_000_000
    # Another connection reading the database file sees every row.
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone()[0] == 10_000
    writer.close()


def _log_sizes(path: str, restart) -> list[int]:
    """Write 8 batches the way the import does: the next batch begins before the last one's checkpoint."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    other = sqlite3.connect(path, isolation_level=None)  # the checkpoint thread's connection
    sizes = []
    for batch in range(8):
        writer.execute("BEGIN IMMEDIATE")
        other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()  # the last batch's, running late
        writer.executemany("INSERT INTO t (v) VALUES (?)", [(f"{batch}-{i}" * 40,) for i in range(2000)])
        writer.execute("COMMIT")
        sizes.append(os.path.getsize(path + "-wal"))
        if restart is not None:
            restart(writer.cursor())
    assert writer.execute("SELECT count(*) FROM t").fetchone()[0] == 16_000
    writer.close()
    other.close()
    return sizes


def test_the_writer_restarts_the_log_so_that_it_stays_small(tmp_path):
    # Without a restart the log grows by every batch (a million-row import: 9.8 GB) …
    grown = _log_sizes(str(tmp_path / "a.sqlite3"), None)
    assert grown[-1] > 6 * grown[0]
    # … with one (what committed() does once the log is past its limit) it is written from its start again.
    checkpoints = WalCheckpointer()
    sizes = _log_sizes(str(tmp_path / "b.sqlite3"), checkpoints.restart)
    assert checkpoints.restarts == 8 and checkpoints.failures == 0
    assert sizes[-1] < 2 * sizes[0]


def test_the_collector_is_given_back_as_it_was_after_an_import_and_after_a_failed_one(root_unit, monkeypatch):
    import gc

    threshold = gc.get_threshold()
    seen = []
    failing = False
    read_cells = _Importer._read_cells

    def watching(self, number, cells):
        seen.append((gc.get_freeze_count() > 0, gc.get_threshold()[0]))
        if failing and number == 4:
            raise OSError("磁盘读取失败")
        return read_cells(self, number, cells)

    monkeypatch.setenv("INSURDESK_IMPORT_READER", "0")
    monkeypatch.setattr(_Importer, "_read_cells", watching)
    import_file(actor=None, path=FILES / "archive_utf8.csv", batch_size=2)
    assert (gc.get_freeze_count(), gc.get_threshold()) == (0, threshold)
    # During the batches the old objects were frozen and the youngest generation collected less often.
    assert seen[-1] == (True, max(threshold[0], 10_000))

    failing = True
    with pytest.raises(OSError):
        import_file(actor=None, path=FILES / "archive_utf8.csv", batch_size=2)
    assert (gc.get_freeze_count(), gc.get_threshold()) == (0, threshold)
