"""Reading and normalising the next batches of a file in a second process while this one writes.

An import is one Python process doing, per row, two kinds of work: reading and normalising the cells
and computing the identity key, which needs nothing but the file (about a fifth of its time), and
everything that needs the database (looking up, validating against what is stored, encrypting,
writing, auditing). Python runs one thread at a time, so on a machine with two cores the first kind
is done here, in a forked child, a few batches ahead of the writer (docs/benchmarks.md, issue 4).

The child gets the importer as it is after the pre-pass (mapping, damaged columns, repeated keys),
reads the rows after the last committed one, and sends batches of `Row` (pickled) through a bounded
queue. It never touches the database: the rows' look-ups (unit, agent) are finished by the writer.
It dies with its parent (PR_SET_PDEATHSIG), so a killed import leaves no reader behind, and a re-run
starts a new one after the last committed batch, as the single process does.

Only on Linux (fork keeps the importer's state and Python's string-hash seed, which the rows' in-run
keys depend on) and for files large enough to pay for the fork; INSURDESK_IMPORT_READER=0 turns it
off, =1 forces it (tests).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue as queues
import resource
import signal
import sys
import time
import traceback
from collections.abc import Iterator

from insurdesk.identity import load_tables

MIN_ROWS = 20_000  # below this, the fork and the pickling cost more than they save
_AHEAD = 4  # batches the reader may run ahead of the writer
_FIRST_MIN = 100  # rows: no first batch is made smaller than this
_POLL = 1.0  # seconds between checks that the other side is still there
# A batch takes the reader well under a second; one alive but silent this long is stuck (a lock some
# other thread of the parent held at the fork, say), and the import fails instead of waiting forever.
_STALL = 600.0

stats: dict = {}  # of the last reader: its peak memory, for bench/import.py


def wanted(remaining_rows: int) -> bool:
    setting = os.environ.get("INSURDESK_IMPORT_READER", "auto").strip().lower()
    if setting in ("0", "off", "no", "false"):
        return False
    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return False
    if setting in ("1", "on", "yes", "true"):
        return True
    return remaining_rows >= MIN_ROWS and (os.cpu_count() or 1) >= 2


def start(importer, start_after: int) -> Feed:
    """Fork the reader now (before the caller starts threads); return its batches of prepared rows."""
    load_tables()  # the region and mobile tables: read once, before the fork, not once a process
    context = multiprocessing.get_context("fork")
    channel = context.Queue(maxsize=_AHEAD)
    child = context.Process(
        target=_read, args=(importer, start_after, channel, os.getpid()), name="import-reader", daemon=True
    )
    child.start()
    stats.clear()
    return Feed(child, channel)


class Feed:
    """The reader's batches, in file order; close() stops the reader wherever it is."""

    def __init__(self, child, channel):
        self.child, self.channel = child, channel

    def __iter__(self) -> Iterator[list]:
        child, channel = self.child, self.channel
        heard = time.monotonic()
        while True:
            try:
                kind, payload = channel.get(timeout=_POLL)
            except queues.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"读取进程意外退出（退出码 {child.exitcode}）") from None
                if time.monotonic() - heard > _STALL:
                    raise RuntimeError(f"读取进程 {_STALL:.0f} 秒没有送来数据，已停止") from None
                continue
            if kind == "rows":
                yield payload
                heard = time.monotonic()  # the writer's time with the batch is not the reader's silence
            elif kind == "end":
                stats.update(payload)
                return
            else:
                raise RuntimeError(f"读取进程出错：{payload}")

    def close(self) -> None:
        if self.child.is_alive():
            self.child.kill()
        self.child.join(timeout=10)
        self.channel.close()
        self.channel.join_thread()


def _read(importer, start_after: int, channel, parent: int) -> None:
    _die_with(parent)
    # Never the parent's database connections: the child has no business with them, and closing an
    # inherited PostgreSQL connection would end the parent's session. multiprocessing leaves the child
    # by os._exit, so nothing closes them on the way out either.
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops this
    try:
        sizes = _sizes(importer.batch_size)
        size = next(sizes)
        batch: list = []
        for number, cells in importer.table.rows(start_after=start_after):
            batch.append(importer._prepare(number, cells))
            if len(batch) >= size:
                importer.clean_ahead(batch)
                _send(channel, ("rows", batch), parent)
                batch = []
                size = next(sizes)
        if batch:
            importer.clean_ahead(batch)
            _send(channel, ("rows", batch), parent)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        _send(channel, ("end", {"peak_mb": peak}), parent)
    except BaseException as exc:  # noqa: BLE001 -- every failure is the parent's to report
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        with contextlib.suppress(BaseException):
            _send(channel, ("error", detail[:2000]), parent)


def _sizes(size: int) -> Iterator[int]:
    """Yield the batches' sizes: the first ones smaller, so that the writer starts sooner.

    The writer waits for the first batch while this process forks and reads it; it writes a batch
    in about three times the time this takes to read one, so from a fifth of a batch, then half
    of one, the next is always ready before the writer asks.
    """
    for part in (5, 2):
        if size // part >= _FIRST_MIN:
            yield size // part
    while True:
        yield size


def _send(channel, item, parent: int) -> None:
    while True:
        try:
            channel.put(item, timeout=_POLL)
            return
        except queues.Full:
            if os.getppid() != parent:
                os._exit(0)


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), and check it has not already."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)
