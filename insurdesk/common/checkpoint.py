"""SQLite WAL checkpoints of a long bulk write, on a thread of their own.

In WAL mode each commit appends the transaction's pages to the log, and the committing connection
copies the log back into the database file (a checkpoint) whenever it has grown past 1,000 pages.
An import commits thousands of rows a batch into tables whose random-order indexes (identity hash,
phone hash, names, the audit log's targets) touch a different page for nearly every row, so from a
few hundred thousand rows on, each commit's checkpoint writes tens of megabytes at scattered offsets
and syncs the file: about half of the time of plain bulk inserts at a million rows
(docs/benchmarks.md). SQLite's own advice for a writer that must not wait for that is to turn the
automatic checkpoint off on the writing connection and run checkpoints from another thread or
process (https://www.sqlite.org/wal.html, "Application-Initiated Checkpoints"). The checkpoint runs in
SQLite's C code with Python's lock released, so on a machine with two cores it costs the import next
to nothing; a PASSIVE checkpoint never blocks the writer or readers, and nothing about durability
changes: commits are in the log as before, and a crash replays the log as after any crash.

A log that is checkpointed must also be restarted, or it grows without end: SQLite writes from the
start of the log again only when a write transaction begins while every frame of the log is already
in the database file, and an importing loop begins its next batch while the thread is still copying
the last one's. Left alone, the log of a million-row import grew to 9.8 GB; every commit appended at
a new offset, and the log crowded the database's own pages out of the operating system's cache (from
row 740,000 to 885,000 the import fell from about 2,000 to 860–1,000 rows/s, waiting on disk reads;
docs/benchmarks.md). So once the log holds
more than `_RESTART_FRAMES` frames, the writing connection itself, between two batches, runs a
RESTART checkpoint (the copying left is the last batch's; the thread has done the rest) and the next
batch starts the log from its beginning; `journal_size_limit` then trims the file.

Nothing is needed on PostgreSQL (the server writes its own checkpoints in its own processes), on an
in-memory database or inside a transaction that outlives the bulk write (tests): there the context
manager does nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from django.db import connections

logger = logging.getLogger(__name__)

_SECONDS = 0.5  # the longest the checkpointer waits for a commit before it checkpoints anyway
_AUTOCHECKPOINT = 1000  # SQLite's default, restored afterwards
_RESTART_FRAMES = 16_384  # 64 MB of 4 KB pages: past this the writer restarts the log between batches
_SIZE_LIMIT = 128 * 1024 * 1024  # journal_size_limit meanwhile: what a restart trims the log file to


class WalCheckpointer:
    """Checkpoint the SQLite log from a thread while the current connection writes in bulk.

    with WalCheckpointer() as checkpoints:
        for batch in batches:
            write(batch)            # one transaction
            checkpoints.committed()  # wakes the thread
    """

    def __init__(self, using: str = "default"):
        self.using = using
        self.active = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0
        self.failures = 0
        self.restarts = 0
        self.log_frames = 0  # frames in the log at the thread's last checkpoint
        self._busy = threading.Lock()  # held by whoever checkpoints: SQLite allows one at a time

    def _applies(self) -> str | None:
        connection = connections[self.using]
        if connection.vendor != "sqlite" or connection.in_atomic_block:
            return None
        name = str(connection.settings_dict["NAME"])
        if not name or name == ":memory:" or "mode=memory" in name:
            return None
        connection.ensure_connection()
        with connection.cursor() as cursor:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        return name if str(mode).lower() == "wal" else None

    def __enter__(self) -> WalCheckpointer:
        name = self._applies()
        if name is None:
            return self
        with connections[self.using].cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            self._size_limit = cursor.execute("PRAGMA journal_size_limit").fetchone()[0]
            cursor.execute(f"PRAGMA journal_size_limit={_SIZE_LIMIT}")
        self.active = True
        self._thread = threading.Thread(target=self._run, args=(name,), name="wal-checkpoint", daemon=True)
        self._thread.start()
        return self

    def committed(self) -> None:
        if not self.active:
            return
        if self.log_frames >= _RESTART_FRAMES:
            with connections[self.using].cursor() as cursor:
                self.restart(cursor)
        else:
            self._wake.set()

    def restart(self, cursor) -> None:
        """Checkpoint the whole log on the writing connection so that its next write restarts the log."""
        with self._busy:  # after the thread's round, if one is running: a second checkpointer gets BUSY
            busy, log, done = cursor.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        if busy or log != done:  # a reader on an old snapshot: the log grows until the next try
            self.failures += 1
        else:
            self.restarts += 1
        self.log_frames = 0

    def __exit__(self, *exc) -> None:
        if not self.active:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join()
        self.active = False
        connection = connections[self.using]
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT}")
                cursor.execute(f"PRAGMA journal_size_limit={self._size_limit}")

    def _run(self, name: str) -> None:
        # Its own connection: a connection of Django's belongs to the thread that opened it. Plain
        # sqlite3, as this thread runs nothing but the checkpoint statement.
        try:
            db = sqlite3.connect(name, timeout=20, isolation_level=None, check_same_thread=True)
        except sqlite3.Error:
            logger.exception("WAL checkpoint thread: cannot open %s", name)
            self.failures += 1
            return
        try:
            while True:
                self._wake.wait(_SECONDS)
                self._wake.clear()
                stopping = self._stop.is_set()
                try:
                    with self._busy:
                        busy, log, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                    if not busy:
                        self.log_frames = log
                except sqlite3.Error:  # busy or locked: the next round takes it up
                    self.failures += 1
                if stopping:
                    return
        finally:
            db.close()
