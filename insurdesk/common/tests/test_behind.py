"""SQLite's write-behind: a transaction's bulk inserts run in a helper thread, and nothing shows it.

Every read sees the inserts before it, savepoints roll back what they covered, a failing insert fails
the transaction (nothing of it stays), and an exception drops what was still queued.
"""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import PendingEntry, audit_log_many, audit_verify
from insurdesk.common import behind
from insurdesk.common.behind import write_behind
from insurdesk.common.bulk import insert_values

pytestmark = pytest.mark.django_db
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="write-behind is SQLite's (PostgreSQL overlaps whole batches)"
)


def entries(n: int, start: int = 0) -> list[PendingEntry]:
    return [
        PendingEntry(action="test.behind", target_type="x", target_id=start + i + 1, detail={"i": i})
        for i in range(n)
    ]


def helpers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "write-behind"]


@sqlite_only
def test_inserts_run_in_the_helper_and_every_read_sees_them():
    with transaction.atomic(), write_behind() as wb:
        assert wb is not None
        audit_log_many(entries(3))
        assert helpers() == ["write-behind"]
        # The read waits for the inserts into the table it names.
        assert AuditEntry.objects.filter(action="test.behind").count() == 3
        audit_log_many(entries(2, 3))
        keys = sorted(wb.keys.items())
    assert helpers() == []
    got = list(AuditEntry.objects.filter(action="test.behind").order_by("seq").values_list("id", "target_id"))
    assert [t for _, t in got] == ["1", "2", "3", "4", "5"]
    assert dict(keys)["audit_auditentry"] == got[-1][0]  # the keys handed out are the rows' own
    assert audit_verify().ok


@sqlite_only
def test_a_savepoint_rolled_back_takes_its_inserts_with_it_and_the_chain_goes_on():
    with transaction.atomic(), write_behind():
        audit_log_many(entries(2))
        try:
            with transaction.atomic():
                audit_log_many(entries(4, 10))
                raise ValueError("放弃")
        except ValueError:
            pass
        audit_log_many(entries(1, 20))
    kept = AuditEntry.objects.filter(action="test.behind").order_by("seq").values_list("target_id", flat=True)
    assert list(kept) == ["1", "2", "21"]
    assert audit_verify().ok


@sqlite_only
def test_an_insert_that_fails_fails_the_transaction_and_leaves_nothing_of_it():
    audit_log_many(entries(1))
    before = AuditEntry.objects.count()
    taken = AuditEntry.objects.get().seq
    row = (taken, "2026-01-01 00:00:00", None, "system", "test.dup", "", "", "{}", None, "0" * 64, "0" * 64)
    with pytest.raises(IntegrityError), transaction.atomic(), write_behind():
        audit_log_many(entries(2, 5))
        insert_values(AuditEntry, behind_columns(), [row])  # the same seq: the unique index refuses it
        audit_log_many(entries(2, 7))  # queued after the failure: never run
    assert AuditEntry.objects.count() == before
    assert helpers() == []
    assert audit_verify().ok


@sqlite_only
def test_after_a_failure_nothing_else_runs_in_the_block():
    audit_log_many(entries(1))
    taken = AuditEntry.objects.get().seq
    row = (taken, "2026-01-01 00:00:00", None, "system", "test.dup", "", "", "{}", None, "0" * 64, "0" * 64)
    with pytest.raises(RuntimeError, match="写入线程此前已失败"), transaction.atomic(), write_behind():
        insert_values(AuditEntry, behind_columns(), [row])
        with pytest.raises(IntegrityError):  # a caller that would go on after the failure...
            AuditEntry.objects.update(actor_name="x")  # (waits for the insert, which failed)
        with pytest.raises(RuntimeError, match="写入线程此前已失败"):  # ...is stopped
            AuditEntry.objects.update(actor_name="y")
    # and the block fails again on its way out, so the transaction is rolled back
    assert set(AuditEntry.objects.values_list("actor_name", flat=True)) == {"system"}


@sqlite_only
def test_an_exception_in_the_block_drops_what_is_queued():
    before = AuditEntry.objects.count()
    with pytest.raises(KeyError), transaction.atomic(), write_behind():
        audit_log_many(entries(50))
        raise KeyError("停")
    assert AuditEntry.objects.count() == before
    assert helpers() == []


@pytest.mark.django_db(transaction=True)
def test_not_behind_outside_a_transaction_or_when_turned_off(monkeypatch):
    with write_behind() as wb:
        assert wb is None  # autocommit: nothing holds the write lock between statements
    monkeypatch.setenv("INSURDESK_WRITE_BEHIND", "0")
    with transaction.atomic(), write_behind() as wb:
        assert wb is None
        audit_log_many(entries(1))
    assert AuditEntry.objects.filter(action="test.behind").count() == 1


def behind_columns() -> list[str]:
    from insurdesk.audit.services import ENTRY_COLUMNS

    return ENTRY_COLUMNS


# A transaction's steps: append n entries, append n in a savepoint that is rolled back, count.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 5)),
        st.tuples(st.just("undone"), st.integers(1, 5)),
        st.tuples(st.just("count"), st.just(0)),
    ),
    max_size=8,
)


def play(plan, *, behind_on: bool) -> list:
    """Run the steps in a transaction that is rolled back; return what its reads saw and the chain."""
    seen = []

    class Undo(Exception):
        pass

    try:
        with transaction.atomic(), write_behind() if behind_on else _nothing() as wb:
            assert (wb is not None) == behind_on
            for i, (step, n) in enumerate(plan):
                if step == "append":
                    audit_log_many(entries(n, 100 * i))
                elif step == "undone":
                    try:
                        with transaction.atomic():
                            audit_log_many(entries(n, 100 * i))
                            raise Undo
                    except Undo:
                        pass
                else:
                    seen.append(AuditEntry.objects.filter(action="test.behind").count())
            seen.append(list(AuditEntry.objects.order_by("seq").values_list("seq", "target_id")))
            seen.append(audit_verify().ok)
            raise Undo
    except Undo:
        pass
    return seen


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@sqlite_only
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
def test_any_steps_see_and_leave_the_same_behind_or_not(plan):
    assert play(plan, behind_on=True) == play(plan, behind_on=False)


def test_the_module_keeps_no_block_after_one_ends():
    with transaction.atomic(), write_behind():
        audit_log_many(entries(1))
    assert behind.active(connection) is None


def test_write_behind_is_sqlites_alone():
    with transaction.atomic(), write_behind() as wb:
        assert (wb is not None) == (connection.vendor == "sqlite")
        audit_log_many(entries(2))
        assert helpers() == (["write-behind"] if connection.vendor == "sqlite" else [])
    assert AuditEntry.objects.filter(action="test.behind").count() == 2 and audit_verify().ok
