# ruff: noqa: E501 - tables of Chinese test data read best one row per line
"""PostgreSQL: a batch's archives are written while the batch before it writes its other parts.

(On SQLite the same tests check that one batch at a time leaves the same and nothing overlapped;
there, a batch's inserts run in the write-behind helper thread: common.behind.)

The overlapped import must leave what the one-batch-at-a-time import leaves: every archive, policy,
payment and audit entry once, batches committed in order, and a failure anywhere keeping what was
committed before it and nothing after. Batches of four rows, so that customers, parties and policies
cross batch boundaries; a customer's later rows come one to nine rows after its first.
"""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.db import connection

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.common.behind import WriteBehind
from insurdesk.customers.keys import identity_hash
from insurdesk.customers.models import Customer
from insurdesk.exchange import pipeline
from insurdesk.exchange.models import ImportRun, RunStatus
from insurdesk.exchange.parts import PartsHandler
from insurdesk.exchange.pipeline import import_file
from insurdesk.exchange.tests.conftest import person_id, write_csv
from insurdesk.exchange.tests.test_archive_parties import HEADERS
from insurdesk.policies.models import Payment, Policy

pytestmark = pytest.mark.django_db(transaction=True)

# On SQLite (one writer at a time) batches are written one at a time: the same tests then check that
# it leaves the same, and that nothing overlapped.
OVERLAP = connection.vendor == "postgresql"

BATCH = 4


def adult(k: int) -> str:
    return person_id(200 + k)


def kid(j: int) -> str:
    return person_id(300 + j, year=2010)


def archive_rows() -> tuple[list[list[str]], dict]:
    """Return the table's rows and what they must leave: archives, policies and payments."""
    rows, policies, payments, people = [], {}, set(), set()
    last_policy: dict[str, str] = {}

    def add(name, number, policy_no, paid_on, parent=None):
        people.add(number)
        cells = [name, number, f"138{int(number[-9:-1]):08d}", "北京市", policy_no, "人寿险", "10万", "2023-01-01",
                 "2033-01-01", "年缴", "100", paid_on, "已缴费"]  # fmt: skip
        if parent is None:
            cells += ["", "", "", "", ""]
            policies[policy_no] = (number, number)
        else:
            cells += [f"成人{parent}", adult(parent), "", "", "子女"]
            people.add(adult(parent))
            policies[policy_no] = (adult(parent), number)
        payments.add((policy_no, paid_on))
        last_policy[number] = policy_no
        rows.append(cells)

    for i in range(36):
        day = (datetime.date(2023, 1, 1) + datetime.timedelta(days=i)).isoformat()
        if i % 3 == 2 and i >= 9:
            # A customer met one to nine rows before: the same archive, a second payment of its policy.
            earlier = rows[i - 1 - (i * 7) % 9]
            name, number = earlier[0], earlier[1]
            parent = next((k for k in range(12) if adult(k) == earlier[14]), None)
            add(name, number, last_policy[number], day, parent)
        elif i % 4 == 1:
            # A child insured by a parent who is (or will be) a row's customer too.
            add(f"孩子{i}", kid(i), f"P{i:04d}", day, parent=(i + 3) % 12)
        else:
            add(f"成人{i % 12}", adult(i % 12), f"P{i:04d}", day)
    return rows, {"people": people, "policies": policies, "payments": payments}


def left_behind() -> dict:
    hashes = {c.id_hash: c.id_number for c in Customer.objects.all()}
    return {
        "people": set(hashes.values()),
        "policies": {
            p.policy_no: (hashes[p.policyholder.id_hash], hashes[p.insured.id_hash])
            for p in Policy.objects.select_related("policyholder", "insured")
        },
        "payments": {
            (p.policy.policy_no, p.paid_on.isoformat()) for p in Payment.objects.select_related("policy")
        },
    }


@pytest.fixture
def table(root_unit, tmp_path, monkeypatch):
    # Each batch its own transaction on SQLite too (batches grouped in one commit: test_grouped).
    monkeypatch.setenv("INSURDESK_IMPORT_GROUP", "1")
    rows, expected = archive_rows()
    return write_csv(tmp_path / "archive.csv", HEADERS, rows), expected, len(rows)


@pytest.fixture
def halves(monkeypatch):
    """The threads that wrote the batches' second halves."""
    names = []
    original = pipeline._Importer._second_half

    def spy(self, *args):
        names.append(threading.current_thread().name)
        return original(self, *args)

    monkeypatch.setattr(pipeline._Importer, "_second_half", spy)
    return names


@pytest.fixture
def behind_inserts(monkeypatch):
    """The tables written by SQLite's helper thread (common.behind)."""
    tables = []
    original = WriteBehind.insert

    def spy(self, table, *args):
        tables.append(table)
        return original(self, table, *args)

    monkeypatch.setattr(WriteBehind, "insert", spy)
    return tables


@pytest.mark.parametrize("ahead", ["0", "1"], ids=["read-here", "reader-process"])
def test_overlapped_batches_leave_every_archive_policy_and_payment_once(
    table, halves, behind_inserts, monkeypatch, ahead
):
    path, expected, total = table
    monkeypatch.setenv("INSURDESK_IMPORT_READER", ahead)

    run = import_file(actor=None, path=path, batch_size=BATCH)

    assert (run.status, run.processed, run.refused, run.rows_done) == (RunStatus.DONE, total, 0, total + 1)
    assert left_behind() == expected
    # Each batch's second half ran in the helper thread (PostgreSQL).
    if OVERLAP:
        assert len(halves) == -(-total // BATCH) and {n.split("_")[0] for n in halves} == {"import-parts"}
    else:
        assert halves == []
        # ... and on SQLite, its inserts ran in the write-behind helper.
        assert {"customers_customer", "policies_policy", "policies_payment", "audit_auditentry"} <= set(
            behind_inserts
        )
    # One archive each, created once with its history and audit entry; the chain holds.
    assert Customer.objects.count() == len(expected["people"])
    assert Customer.history.filter(history_type="+").count() == len(expected["people"])
    assert AuditEntry.objects.filter(action="customer.create").count() == len(expected["people"])
    assert AuditEntry.objects.filter(action="exchange.import").count() == 1
    assert audit_verify().ok
    numbers = sorted(Customer.objects.values_list("archive_no", flat=True))
    assert len(set(numbers)) == len(numbers)


def test_one_batch_at_a_time_leaves_the_same(table, halves, behind_inserts, monkeypatch):
    path, expected, total = table
    monkeypatch.setenv("INSURDESK_IMPORT_OVERLAP", "0")
    monkeypatch.setenv("INSURDESK_WRITE_BEHIND", "0")

    run = import_file(actor=None, path=path, batch_size=BATCH)

    assert (run.status, run.processed, run.refused, halves, behind_inserts) == (RunStatus.DONE, total, 0, [], [])
    assert left_behind() == expected
    assert audit_verify().ok


def test_the_same_file_again_changes_nothing(table):
    path, expected, _ = table
    import_file(actor=None, path=path, batch_size=BATCH)
    before = (left_behind(), AuditEntry.objects.exclude(action="exchange.import").count())

    again = import_file(actor=None, path=path, batch_size=BATCH)

    assert (again.created, again.updated, again.refused) == (0, 0, 0)
    assert (left_behind(), AuditEntry.objects.exclude(action="exchange.import").count()) == before
    assert audit_verify().ok


def _fail_on(monkeypatch, owner, name: str, call: int, error: type[Exception] = RuntimeError) -> None:
    original = getattr(owner, name)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise error("磁盘已满")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)


@pytest.mark.parametrize(
    ("owner", "name", "committed"),
    [
        # Batch 4's second half fails while batch 5's first half is written: batches 1–3 stay.
        (PartsHandler, "write", 3),
        # Batch 3's first half fails while batch 2's second half is written: batches 1–2 stay.
        (pipeline._Importer, "_create", 2),
    ],
)
def test_a_failure_keeps_the_batches_before_it_and_the_rerun_completes(
    table, monkeypatch, owner, name, committed
):
    path, expected, total = table
    _fail_on(monkeypatch, owner, name, committed + 1)

    with pytest.raises(RuntimeError, match="磁盘已满"):
        import_file(actor=None, path=path, batch_size=BATCH)

    run = ImportRun.objects.get()
    assert (run.status, run.rows_done, run.processed) == (
        RunStatus.RUNNING,
        committed * BATCH + 1,
        committed * BATCH,
    )
    assert "已提交的批次保留" in run.message
    # What the committed batches wrote, and nothing of the later ones.
    rows, _ = archive_rows()
    kept = {r[1] for r in rows[: committed * BATCH]} | {r[14] for r in rows[: committed * BATCH] if r[14]}
    assert set(Customer.objects.values_list("id_hash", flat=True)) == {
        identity_hash("resident_id", n) for n in kept
    }
    assert audit_verify().ok
    monkeypatch.undo()

    again = import_file(actor=None, path=path, batch_size=BATCH)

    assert (again.pk, again.status, again.processed, again.refused) == (run.pk, RunStatus.DONE, total, 0)
    assert left_behind() == expected
    assert Customer.objects.count() == len(expected["people"])
    assert audit_verify().ok


def test_a_second_half_that_times_out_fails_the_import_and_is_not_waited_for_again(table, monkeypatch):
    path, _, _ = table
    _fail_on(monkeypatch, PartsHandler, "write", 2, TimeoutError)
    monkeypatch.setattr(pipeline, "DEADLOCK_CHECK", 0.05)

    with pytest.raises(TimeoutError, match="磁盘已满"):
        import_file(actor=None, path=path, batch_size=BATCH)

    assert ImportRun.objects.get().rows_done == BATCH + 1


def test_a_dependency_the_keys_miss_fails_the_import_instead_of_hanging(root_unit, tmp_path, monkeypatch):
    """Batch 1 archives a parent named as a party; batch 2 has the parent as its own customer."""
    rows = [
        ["成人0", adult(0), "13800000200", "北京市", "P0001", "人寿险", "10万", "2023-01-01", "2033-01-01", "年缴", "100", "2023-01-01", "已缴费", "", "", "", "", ""],
        ["孩子1", kid(1), "13800000301", "北京市", "P0002", "人寿险", "10万", "2023-01-01", "2033-01-01", "年缴", "100", "2023-01-01", "已缴费", "成人5", adult(5), "", "", "子女"],
        ["成人5", adult(5), "13800000205", "北京市", "P0003", "人寿险", "10万", "2023-01-01", "2033-01-01", "年缴", "100", "2023-01-01", "已缴费", "", "", "", "", ""],
        ["成人6", adult(6), "13800000206", "北京市", "P0004", "人寿险", "10万", "2023-01-01", "2033-01-01", "年缴", "100", "2023-01-01", "已缴费", "", "", "", "", ""],
    ]  # fmt: skip
    path = write_csv(tmp_path / "archive.csv", HEADERS, rows)
    # As if _keys did not know of parties: batch 2 archives the parent before batch 1's second half
    # (held back a second here) tries to, and each then waits for the other.
    monkeypatch.setattr(pipeline, "_keys", lambda batch: set())
    monkeypatch.setattr(pipeline, "DEADLOCK_CHECK", 0.2)
    original = PartsHandler.write

    def late(self, *args):
        time.sleep(1)
        return original(self, *args)

    monkeypatch.setattr(PartsHandler, "write", late)

    if not OVERLAP:  # one batch at a time: nothing to wait on
        assert import_file(actor=None, path=path, batch_size=2).status == RunStatus.DONE
        assert Customer.objects.count() == 4 and audit_verify().ok
        return
    with pytest.raises(pipeline.Deadlock, match="互相等待"):
        import_file(actor=None, path=path, batch_size=2)

    run = ImportRun.objects.get()
    assert (run.status, run.rows_done) == (RunStatus.RUNNING, 3)  # batch 1 committed after batch 2 let go
    assert Customer.objects.filter(id_hash=identity_hash("resident_id", adult(5))).count() == 1
    monkeypatch.undo()

    again = import_file(actor=None, path=path, batch_size=2)

    assert (again.status, again.processed, again.refused) == (RunStatus.DONE, 4, 0)
    assert Customer.objects.count() == 4 and audit_verify().ok
