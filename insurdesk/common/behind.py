"""SQLite: a transaction's bulk inserts run in a helper thread while this thread goes on (write-behind).

A bulk writer on SQLite spends about a fifth of its time inside SQLite's own code (the inserts
into tables with many indexes), and the sqlite3 module releases Python's interpreter lock while
SQLite works. Within a `write_behind` block on SQLite, common.bulk's inserts do not wait for that:
their keys are handed out here (the transaction holds SQLite's write lock from BEGIN IMMEDIATE, so
no other writer can take them; sqlite_sequence is moved on by the inserts themselves), the
statement goes to a helper thread that runs the block's statements one after the other, in order,
on the same connection, and the caller goes on with its Python while SQLite writes.

What keeps this exact:
- Every other statement of the block goes through Django's cursor, where an execute wrapper sees
  it first. A read waits until the inserts queued into the tables it names are done; anything
  else (an update, a Django insert, a rollback to a savepoint) waits until every queued statement
  is done, then runs. Savepoints and their release are queued in order with the inserts.
- The helper stops at the first statement that fails; the failure is raised in the caller's
  thread at its next wait — at the latest when the block ends — so the transaction is rolled back
  as it would have been.
- On the way out, the block waits for the helper; if the block is left by an exception, what is
  still queued is dropped (the transaction is being rolled back anyway).

Nothing changes on PostgreSQL (its import overlaps whole batches: exchange.pipeline), in a block
that holds no write lock (SQLite without BEGIN IMMEDIATE), or with INSURDESK_WRITE_BEHIND=0.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sqlite3
import threading
from collections.abc import Iterator
from itertools import chain

from django.db import DEFAULT_DB_ALIAS, connections

_ACTIVE: dict[int, WriteBehind] = {}  # id(Django connection wrapper) -> its block in progress
_READS = ("SELECT", "WITH")
_QUEUED = ("SAVEPOINT", "RELEASE")  # Django's savepoint statements, in order with the inserts


def active(connection) -> WriteBehind | None:
    """Return the write-behind block in progress on this connection, if any (this thread's)."""
    return _ACTIVE.get(id(connection)) if _ACTIVE else None


def enabled(connection) -> bool:
    return (
        connection.vendor == "sqlite"
        and os.environ.get("INSURDESK_WRITE_BEHIND", "1").strip() != "0"
        and (connection.settings_dict.get("OPTIONS") or {}).get("transaction_mode") == "IMMEDIATE"
    )


@contextlib.contextmanager
def write_behind(using: str = DEFAULT_DB_ALIAS) -> Iterator[WriteBehind | None]:
    """Run the block's bulk inserts in a helper thread (SQLite; see the module's text).

    Must be entered inside a transaction (atomic block) and left before it ends.
    """
    connection = connections[using]
    if not enabled(connection) or active(connection) is not None or not connection.in_atomic_block:
        yield None
        return
    behind = WriteBehind(connection)
    _ACTIVE[id(connection)] = behind
    try:
        with connection.execute_wrapper(behind.wrapper):
            yield behind
            behind.wait()
    except BaseException:
        behind.abandon()
        raise
    finally:
        del _ACTIVE[id(connection)]
        behind.stop()


class WriteBehind:
    def __init__(self, connection):
        self.connection = connection
        connection.ensure_connection()
        self.raw: sqlite3.Connection = connection.connection
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.changed = threading.Condition()
        self.queued = 0  # sequence number of the last statement queued
        self.done = 0  # ... and of the last one the helper has finished (or dropped)
        self.error: BaseException | None = None  # the helper's first failure; it runs nothing after it
        self.broken = False  # ... and the caller has been told
        self.dropping = False
        self.last_write: dict[str, int] = {}  # table -> the last queued statement writing it
        self.keys: dict[str, int] = {}  # table -> the last primary key handed out
        self.state: dict = {}  # for writers that keep what they wrote in the block (the audit head)
        self.thread: threading.Thread | None = None
        self.limit = self.raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    # -- writing --

    def insert(self, table: str, pk_column: str, columns: list[str], rows: list[tuple]) -> list[int]:
        """Queue the insert of prepared rows; return the keys they will have."""
        if self.broken or self.error is not None:
            self.wait()  # raises the failure
        last = self.keys.get(table)
        if last is None:
            last = self._last_key(table, pk_column)
        keys = list(range(last + 1, last + 1 + len(rows)))
        self.keys[table] = last + len(rows)
        quoted = ", ".join(f'"{c}"' for c in [pk_column, *columns])
        one = "(" + ", ".join(["?"] * (len(columns) + 1)) + ")"
        size = max(1, self.limit // (len(columns) + 1))
        for start in range(0, len(rows), size):
            # The key in front of each row's values, flattened: transposed twice in C, not row by row.
            transposed = zip(*rows[start : start + size], strict=True)
            params = list(chain.from_iterable(zip(keys[start : start + size], *transposed, strict=True)))
            values = ", ".join([one] * min(size, len(rows) - start))
            self.queue(f'INSERT INTO "{table}" ({quoted}) VALUES {values}', params, table)
        return keys

    def queue(self, sql: str, params, table: str | None = None) -> None:
        """Queue a statement (SQLite's ? placeholders) that returns nothing the caller needs."""
        if self.broken or self.error is not None:
            self.wait()  # raises the failure
        self.queued += 1
        if table is not None:
            self.last_write[table] = self.queued
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="write-behind", daemon=True)
            self.thread.start()
        self.jobs.put((self.queued, sql, params))

    def _last_key(self, table: str, pk_column: str) -> int:
        # Nothing of this block's is queued into `table` yet (its first insert asks), so both answers
        # are final; read on the raw connection beside the helper (SQLite serialises the calls).
        cursor = self.raw.cursor()
        try:
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [table])
            found = cursor.fetchone()
            cursor.execute(f'SELECT MAX("{pk_column}") FROM "{table}"')
            largest = cursor.fetchone()[0]
        finally:
            cursor.close()
        return max(found[0] if found else 0, largest or 0)

    # -- waiting --

    def wait(self, upto: int | None = None, *, raising: bool = True) -> None:
        """Wait until the statements queued up to `upto` (default: all) are done; raise their failure."""
        upto = self.queued if upto is None else upto
        if self.done < upto:
            with self.changed:
                while self.done < upto:
                    self.changed.wait()
        if raising and self.error is not None:
            self._fail()

    def _fail(self):
        if self.broken:  # a caller went on after the failure
            raise RuntimeError("写入线程此前已失败，本事务须回滚") from self.error
        self.broken = True
        with self.connection.wrap_database_errors:
            raise self.error

    def wrapper(self, execute, sql, params, many, context):
        head = sql.lstrip()[:9].upper()
        if self.broken:
            # What Django does on the way out of the failed transaction's blocks; nothing else runs.
            if not head.startswith(("ROLLBACK", "RELEASE")):
                self._fail()
            self.wait(raising=False)
        elif head.startswith(_QUEUED) and self.thread is not None:
            self.queue(sql, params or ())
            return None
        elif head.startswith(_READS):
            upto = max(
                (seq for table, seq in self.last_write.items() if seq > self.done and _names(sql, table)),
                default=0,
            )
            self.wait(upto)
        else:
            # Rolling back to a savepoint happens while an exception is handled: it must not replace it.
            self.wait(raising=not head.startswith("ROLLBACK"))
        if head.startswith("ROLLBACK"):
            self.state.clear()  # what writers kept may be undone now
        return execute(sql, params, many, context)

    # -- the helper --

    def _run(self) -> None:
        cursor = self.raw.cursor()
        try:
            while True:
                job = self.jobs.get()
                if job is None:
                    return
                seq, sql, params = job
                if self.error is None and not self.dropping:
                    try:
                        cursor.execute(sql, params)
                    except BaseException as exc:  # noqa: BLE001 -- raised in the caller's thread
                        self.error = exc
                with self.changed:
                    self.done = seq
                    self.changed.notify_all()
        finally:
            cursor.close()

    def abandon(self) -> None:
        """Drop what is still queued and wait for the statement running (the block failed)."""
        self.dropping = True
        self.wait(raising=False)

    def stop(self) -> None:
        if self.thread is not None:
            self.jobs.put(None)
            self.thread.join()
            self.thread = None


def _names(sql: str, table: str) -> bool:
    return re.search(rf"\b{re.escape(table)}\b", sql) is not None
