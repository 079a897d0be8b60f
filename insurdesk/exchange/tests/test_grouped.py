"""SQLite: an import commits its batches a few at a time, each batch a savepoint of the group's.

A commit writes every page its transaction changed to the log; grouping batches writes the pages of
the archives' random-order indexes once a group instead of once a batch (docs/decisions/0010). What a
user sees must not change: the same archives, policies and payments; the progress shows only what is
committed; a failure keeps the groups committed before it and the rerun completes the rest, with
nothing doubled. On PostgreSQL the batches are not grouped (its import overlaps them instead).
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.customers.models import Customer
from insurdesk.exchange import pipeline
from insurdesk.exchange.models import ImportRun, RunStatus
from insurdesk.exchange.pipeline import import_file
from insurdesk.exchange.tests.test_overlap import BATCH, _fail_on, archive_rows, left_behind

pytestmark = pytest.mark.django_db(transaction=True)

SQLITE = connection.vendor == "sqlite"
GROUP = 3  # batches a commit


@pytest.fixture
def table(root_unit, tmp_path, monkeypatch):
    from insurdesk.exchange.tests.conftest import write_csv
    from insurdesk.exchange.tests.test_archive_parties import HEADERS

    monkeypatch.setenv("INSURDESK_IMPORT_GROUP", str(GROUP))
    rows, expected = archive_rows()
    return write_csv(tmp_path / "archive.csv", HEADERS, rows), expected, len(rows)


def test_the_progress_shows_committed_groups_and_the_import_leaves_every_row_once(table):
    path, expected, total = table
    shown = []

    run = import_file(actor=None, path=path, batch_size=BATCH, progress=lambda r: shown.append(r.processed))

    assert (run.status, run.processed, run.refused, run.rows_done) == (RunStatus.DONE, total, 0, total + 1)
    step = BATCH * GROUP if SQLITE else BATCH
    committed = [n for n in shown if n]
    assert committed[:-1] == list(range(step, total + 1, step)) + ([total] if total % step else [])
    assert left_behind() == expected
    assert Customer.history.filter(history_type="+").count() == len(expected["people"])
    assert AuditEntry.objects.filter(action="customer.create").count() == len(expected["people"])
    assert audit_verify().ok


@pytest.mark.skipif(not SQLITE, reason="PostgreSQL commits each batch (its failures: test_overlap)")
def test_a_failure_inside_a_group_undoes_that_group_and_the_rerun_completes(table, monkeypatch):
    path, expected, total = table
    # The fifth archive-creating batch fails: it is in the second group (batches 4-6), whose
    # batches before it are undone with it.
    _fail_on(monkeypatch, pipeline._Importer, "_create", 5)
    committed = GROUP

    with pytest.raises(RuntimeError, match="磁盘已满"):
        import_file(actor=None, path=path, batch_size=BATCH)

    run = ImportRun.objects.get()
    assert (run.rows_done, run.processed) == (committed * BATCH + 1, committed * BATCH)
    rows, _ = archive_rows()
    kept = {r[1] for r in rows[: committed * BATCH]} | {r[14] for r in rows[: committed * BATCH] if r[14]}
    assert {c.id_number for c in Customer.objects.all()} == kept
    assert Customer.history.filter(history_type="+").count() == len(kept)  # none of the undone batch
    assert audit_verify().ok
    monkeypatch.undo()
    monkeypatch.setenv("INSURDESK_IMPORT_GROUP", str(GROUP))

    again = import_file(actor=None, path=path, batch_size=BATCH)

    assert (again.pk, again.status, again.processed, again.refused) == (run.pk, RunStatus.DONE, total, 0)
    assert left_behind() == expected
    assert Customer.history.filter(history_type="+").count() == len(expected["people"])
    assert audit_verify().ok


@pytest.mark.parametrize(
    ("setting", "dry_run", "in_transaction", "size"),
    [
        (None, False, False, pipeline._GROUP),
        ("6", False, False, 6),
        ("1", False, False, 1),
        ("no", False, False, pipeline._GROUP),  # not a number: the default
        (None, True, False, 1),  # a dry run rolls each batch back anyway
        (None, False, True, 1),  # within a caller's transaction the batches are its savepoints
    ],
)
def test_the_group_size(root_unit, monkeypatch, setting, dry_run, in_transaction, size):
    if setting is None:
        monkeypatch.delenv("INSURDESK_IMPORT_GROUP", raising=False)
    else:
        monkeypatch.setenv("INSURDESK_IMPORT_GROUP", setting)
    run = ImportRun(dry_run=dry_run)
    importer = pipeline._Importer(actor=None, run=run, batch_size=BATCH, progress=None)

    if in_transaction:
        with transaction.atomic():
            got = importer._group_size()
    else:
        got = importer._group_size()

    assert got == (size if SQLITE else 1)


@pytest.mark.parametrize("group", ["1", "3"])
def test_the_import_leaves_the_write_lock_free_between_commits(table, monkeypatch, group):
    """SQLite: after a commit that ends enough writing, the import sleeps outside any transaction.

    That is when another connection waiting for SQLite's one write lock (a user's save) takes it:
    its busy handler tries again every 100 ms, and without the gap a long import took the lock back
    within a millisecond of each commit (test_kill: a user can save while an import runs).
    """
    path, expected, total = table
    monkeypatch.setenv("INSURDESK_IMPORT_GROUP", group)
    monkeypatch.setattr(pipeline, "_GIVE_WAY_AFTER", 0.0)  # after every commit
    gaps = []

    def spy():
        raw = connection.connection
        gaps.append((connection.in_atomic_block, raw is not None and raw.in_transaction))

    monkeypatch.setattr(pipeline, "_give_way", spy)
    run = import_file(actor=None, path=path, batch_size=BATCH)

    assert run.status == RunStatus.DONE and left_behind() == expected
    if SQLITE:
        batches = -(-total // BATCH)
        assert len(gaps) == -(-batches // int(group))  # one after each commit
        assert set(gaps) == {(False, False)}  # the lock is free: no transaction is open
    else:
        assert gaps == []  # PostgreSQL locks rows, not the database
