"""Reads that may come from a streaming replica (DATABASE_REPLICA_URL): reports and exports.

Code that reads a large, already committed picture and writes nothing it reads back wraps the reads
in `with replica_reads():`; the router then sends them to the "replica" database when one is set.
Everything else — every read of a page or API call that may follow its own write, every write, every
`select_for_update` — goes to the primary. A replica lags by up to its replay delay: an export may miss
a change of the last second or so, never one of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_reading: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    """Send the reads inside `replica_reads()` to the replica; everything else to the primary."""

    def db_for_read(self, model, **hints):
        if _reading.get() and REPLICA in settings.DATABASES:
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
