"""The import pipeline: read → normalise → validate → write, in batches of one transaction each.

Rules (docs/design/exchange.md has the long form):

- A row is imported under the rules of entry by hand: new archives through the bulk path
  (`customers.bulk.customer_bulk_create`: the form's validation, encryption, identity hash, history,
  audit), changed archives through `customers.services.customer_update` (history and audit of each
  change). An empty cell never clears a stored value.
- A row's identity (the keyed hash of its cleaned identity number) decides whether it is new, already
  archived and unchanged, or a change. Importing the same file twice therefore changes nothing.
- Rows of one customer merge: the first row that passes sets the values, later rows may add values
  it left empty; a later row that contradicts an earlier one is refused (code "conflict") — nothing
  tells which of two phones is right, and taking the last one would make a re-import flip them back
  and forth.
- Each batch — its archives, history, audit entries, the problems found and the run's progress — is
  committed in one transaction, so a killed run leaves no half row and a re-run resumes after the
  last committed batch. `--dry-run` does all the work of each batch and rolls it back.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F
from django.utils import timezone

from insurdesk.audit.services import audit_log, audit_log_many, held
from insurdesk.common.behind import write_behind
from insurdesk.common.checkpoint import WalCheckpointer
from insurdesk.common.errors import DomainError, FieldError, NotAllowed, ValidationFailed
from insurdesk.customers.bulk import Ready, clean_terms, clean_values, customer_bulk_create
from insurdesk.customers.keys import identity_hash
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_update, numbers_from, reserve_numbers
from insurdesk.customers.validation import clean_corporate, clean_individual
from insurdesk.exchange import normalize as N
from insurdesk.exchange import reader
from insurdesk.exchange.headers import (
    ARCHIVE,
    CLAIM,
    COLUMNS,
    CONTACT,
    CORPORATE,
    CUSTOMER,
    PAYMENT,
    POLICY,
    TEMPLATES,
    Mapping,
    map_headers,
)
from insurdesk.exchange.models import ImportIssue, ImportRun, IssueLevel, RunStatus
from insurdesk.exchange.parts import PartsHandler
from insurdesk.exchange.readers import Table, Unreadable, open_table
from insurdesk.exchange.rows import (
    _CUSTOMER_EXTRA,
    _FIELD_ALIASES,
    MAX_VALUE_CHARS,
    Issue,
    Row,
    _convert,
    _fill,
    _fingerprint,
    _Seen,
    _unpack,
    cheap_key,
    masked,
)
from insurdesk.exchange.runs import claim, file_sha256, resumable_run
from insurdesk.exchange.sections import CHECKED, PolicyCheck, not_imported_message
from insurdesk.identity.documents import check_document
from insurdesk.identity.errors import IdentityError
from insurdesk.identity.normalize import clean_code
from insurdesk.identity.resident_id import check_char
from insurdesk.identity.uscc import parse_uscc
from insurdesk.org.policy import can
from insurdesk.org.selectors import viewer_unit_ids

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
_GROUP = 1  # SQLite: batches committed together by default (_Importer._group_size)
_HOLD = 3.0  # SQLite: seconds after which a group is committed however few batches it has
# SQLite: how long the import leaves the write lock free after a group's commit. Another connection
# waiting for the lock (a user saving a form) sleeps in SQLite's busy handler and tries again at
# most 100 ms later; without the gap the import took the lock back within a millisecond of each
# commit, and three of four such writers failed with "database is locked" after 20 s.
_GAP = 0.11
_GIVE_WAY_AFTER = 2.0  # SQLite: seconds of writing after which a commit is followed by the gap
# Columns whose values repeat down a file (dates, amounts, products, choices) are converted once per
# distinct text; the conversion depends on nothing but the text and the column.
_MEMO_KINDS = frozenset({"text", "code", "choice", "gender", "date", "amount", "capital", "int", "bool",
                         "percent"})  # fmt: skip
_MEMO_SIZE = 20_000
_MISSING = object()
Progress = Callable[[ImportRun], None]
# The row's unit and agent, as the file names them and as the writer resolves them (_resolve_assignment).
_ASSIGNMENT = frozenset({"unit_code", "agent_username", "unit_id", "agent_id"})

# Section handlers beyond the customer (policies, payments, claims, contacts); a file's columns of a
# section without a handler are reported, not dropped.
SECTION_HANDLERS: dict[str, object] = dict.fromkeys((POLICY, PAYMENT, CLAIM, CONTACT), PartsHandler)


def import_file(
    *,
    actor,
    path,
    dry_run: bool = False,
    run: ImportRun | None = None,
    file_name: str = "",
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportRun:
    """Import a customer list or archive table; return its run with counts, problems and status.

    A run of the same file left unfinished by a killed process is resumed where it stopped.
    """
    if actor is not None and not (actor.is_superuser or can(actor, "exchange.import")):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权批量导入"))
    if run is None:
        digest = file_sha256(path)
        run = None if dry_run else resumable_run(actor=actor, file_hash=digest)
        if run is None:
            run = ImportRun.objects.create(
                file_name=(file_name or os.path.basename(str(path)))[:200],
                file_path=str(path),
                file_hash=digest,
                file_size=os.path.getsize(path),
                dry_run=dry_run,
                created_by=actor if actor is not None and actor.pk else None,
            )
    claim(run)
    try:
        _Importer(actor=actor, run=run, batch_size=batch_size, progress=progress, path=path).run()
    except Unreadable as exc:
        _fail(run, str(exc))
    except Exception as exc:
        _fail(
            run,
            f"导入中断：{type(exc).__name__}: {exc}（已提交的批次保留，重新导入同一文件将从中断处继续）",
            keep_open=True,
        )
        raise
    run.refresh_from_db()
    return run


def _fail(run: ImportRun, message: str, *, keep_open: bool = False) -> None:
    fields = {"message": message[:2000], "heartbeat_at": timezone.now(), "worker": ""}
    if not keep_open:
        fields.update(status=RunStatus.FAILED, finished_at=timezone.now())
    ImportRun.objects.filter(pk=run.pk).update(**fields)
    run.refresh_from_db()


@contextlib.contextmanager
def _old_objects_frozen() -> Iterator[None]:
    """Keep Python's garbage collector off what existed before the batches, and run it less often.

    What exists then (Django, the app, the pre-pass) is frozen: a full collection no longer walks it,
    and it stays shared with the reader's fork. A batch makes and drops hundreds of thousands of
    objects, so the youngest generation is collected at 10,000 allocations instead of 700. Measured on
    60,000 rows (SQLite, docs/benchmarks.md): 68 full collections took 6.0 s of the run; frozen, 67
    took 2.0 s; with the threshold as well, 10 took 0.8 s, and the import went from 1,904 to 2,308
    rows/s with the same peak memory. At a million rows no change was measured: after that large a
    pre-pass, full collections were already rare. Objects are still freed by reference counting as
    before; only cycles among the frozen ones wait until the import ends.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 10_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


class _Rollback(Exception):
    """Raised inside a dry-run batch to undo its writes."""


@dataclass
class _Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    refused: int = 0
    issues: list[Issue] = field(default_factory=list)
    parts: dict = field(default_factory=dict)  # "policy.created" -> count, for the other parts of rows


@dataclass
class _Half:
    """A batch between its archives and its other parts (_write_customers, _write_parts)."""

    out: _Outcome
    groups: dict[str, list[Row]]
    ids: dict[str, int]
    parts: PartsHandler | None
    keys: set = field(default_factory=set)  # what its rows are identified by (_keys), when asked for


class _NumberPool:
    """Archive numbers reserved a thousand at a time, each reservation a transaction of its own.

    Used by both threads of an overlapped import (a second half archives the parties rows name), on a
    connection of its own kept in autocommit; what is left when the import ends is not given again.
    """

    def __init__(self, wrapper):
        self.wrapper = wrapper
        self.lock = threading.Lock()
        self.free: dict[str, list[int]] = {}

    def __call__(self, count: int, prefix: str) -> list[int]:
        with self.lock:
            free = self.free.setdefault(prefix, [])
            if len(free) < count:
                free.extend(self._reserve(max(count - len(free), 1000), prefix))
            taken, self.free[prefix] = free[:count], free[count:]
            return taken

    def _reserve(self, count: int, prefix: str) -> range:
        current = connections[DEFAULT_DB_ALIAS]
        connections[DEFAULT_DB_ALIAS] = self.wrapper
        try:
            return reserve_numbers(count, prefix)
        finally:
            connections[DEFAULT_DB_ALIAS] = current


# Seconds between two looks, while this thread waits for the batch before to commit, at whether that
# batch waits for a lock this thread's batch holds.
DEADLOCK_CHECK = 10.0


class Deadlock(RuntimeError):
    """The batch being written waits for a lock the next batch holds, which waits for it to commit."""


def _check_not_waiting_on_me(writing) -> None:
    """Raise Deadlock when the batch written on `writing` waits for this thread's open batch.

    _keys is meant to make that impossible; should a dependency it does not know of ever arise, the
    import fails, saying so, instead of hanging: this thread's batch is rolled back, which lets the
    batch before commit, and running the import again resumes after it.
    """
    mine = connections[DEFAULT_DB_ALIAS]
    with mine.cursor() as cursor:
        cursor.execute(
            "SELECT %s = ANY(pg_blocking_pids(%s))",
            [mine.connection.info.backend_pid, writing.connection.info.backend_pid],
        )
        (blocked,) = cursor.fetchone()
    if blocked:
        raise Deadlock(
            "导入的两个批次互相等待（程序缺陷，请报告）；已提交的批次保留，重新导入同一文件将从中断处继续"
        )


def _keys(batch: list[Row]) -> set:
    """Return what a batch's rows are identified by: customers, parties and policy numbers."""
    keys = set()
    for row in batch:
        if row.key is not None:
            keys.add(row.key)
        parts = row.parts
        if parts is not None:
            for party in parts.parties:
                keys.add(party.key)
                keys.update(party.keys)  # every hash it may be found or archived under
            if parts.policy is not None and parts.policy.policy_no:
                keys.add(("policy", parts.policy.policy_no))
    return keys


class _Importer:
    def __init__(self, *, actor, run: ImportRun, batch_size: int, progress: Progress | None, path=None):
        self.actor = actor
        self.path = path  # the file as read (a decrypted copy of an uploaded one); else the run's own
        self.run_record = run
        self.batch_size = max(1, batch_size)
        self.progress = progress
        self.table: Table | None = None
        self.mapping: Mapping | None = None
        self.kind = "individual"
        self.repeated: set[int] = set()
        self.seen: dict[str, _Seen] = {}
        self.fp_fields: tuple[str, ...] = ()
        self.policy_check: PolicyCheck | None = None
        self.parts: PartsHandler | None = None
        self._ids: dict[str, int] = {}  # identity hash -> archive id, for the batch being written
        self.damaged_columns: set[int] = set()  # identity columns holding numbers Excel damaged
        self._units: dict[str, int | None] = {}
        self._agents: dict[str, int | None] = {}
        self._scope_units = _MISSING  # the importer's unit ids (None: the whole tree), looked up once
        self._memo: dict[int, dict] = {}  # column index -> text -> converted value or Refused
        self.checkpoints = WalCheckpointer()  # runs around the loop (SQLite only); committed() wakes it
        self.terms: tuple | None = None  # what cleaning ahead depends on (customers.bulk.Ready), set in run()
        self._met_ahead: set[int] = set()  # the reader's: repeated customers whose first row it has cleaned
        self._sqlite = connections[DEFAULT_DB_ALIAS].vendor == "sqlite"
        self._gave_way = time.monotonic()  # when the write lock was last left free (_give_way)
        self._issues_stored: int | None = None  # issues of the run stored in full so far

    # -- set-up --

    def run(self) -> None:
        run = self.run_record
        self.table = table = open_table(self.path or run.file_path)
        try:
            self.mapping = mapping = map_headers(table.headers)
            self.kind = CORPORATE if mapping.template == CORPORATE else "individual"
            id_key = "uscc" if self.kind == CORPORATE else "id_number"
            if not mapping.has(id_key):
                wanted = "统一社会信用代码" if self.kind == CORPORATE else "证件号码（或 身份证号码）"
                raise Unreadable(
                    f"缺少必需的列：{wanted}；第 {table.header_row} 行的列名为："
                    + "、".join(str(h) for h in table.headers if h not in (None, ""))
                )
            self.id_index = mapping.index_of(id_key)
            # Columns of sections that cannot be imported yet are reported once, not read.
            self.columns = [
                (i, c)
                for i, c in mapping.fields.items()
                if c.section == CUSTOMER or c.section in SECTION_HANDLERS or c.section in CHECKED
            ]
            # Free text of the customer (addresses, notes) rarely repeats: only other parts' text is kept.
            self._memo = {
                i: {}
                for i, c in self.columns
                if c.kind in _MEMO_KINDS and not (c.kind == "text" and c.section == CUSTOMER)
            }
            handled = {s for s in mapping.sections() if s != CUSTOMER and s in SECTION_HANDLERS}
            self.parts = PartsHandler(self) if handled else None
            self.policy_check = (
                PolicyCheck() if (CHECKED - set(SECTION_HANDLERS)) & mapping.sections() else None
            )
            self.fp_fields = tuple(
                sorted(
                    {c.key for c in mapping.fields.values() if c.section == CUSTOMER} - _CUSTOMER_EXTRA
                    | self._contact_fields()
                )
            )
            resuming = run.rows_done > 0
            if not run.columns:
                self._record_file_issues()
            self._prepass()
            if resuming:
                self._rebuild_seen()
            self.terms = clean_terms(self.actor)
            with _old_objects_frozen():
                # The reader process (if any) is forked before the checkpointer's thread starts.
                source, stop = self._batches(run.rows_done)
                try:
                    with self.checkpoints:
                        self._loop(source)
                finally:
                    stop()  # the reader process too, when a batch failed
        finally:
            table.close()

    def _contact_fields(self) -> set[str]:
        return {"mobile", "landline", "email"} if self.mapping.has("phone") else set()

    def _record_file_issues(self) -> None:
        run, mapping, table = self.run_record, self.mapping, self.table
        header_row = table.header_row
        issues = []
        for _, header in mapping.unknown:
            issues.append(
                Issue(
                    header_row,
                    header,
                    "",
                    "unknown_column",
                    f"未识别的列“{header}”，本列未导入（可用的列名见模板的“填写说明”）",
                    IssueLevel.WARNING,
                )
            )
        for _, header, first in mapping.duplicate:
            issues.append(
                Issue(
                    header_row,
                    header,
                    "",
                    "duplicate_column",
                    f"与第 {first + 1} 列（{mapping.headers[first]}）重复，本列未导入",
                    IssueLevel.WARNING,
                )
            )
        missing_sections = sorted(
            s for s in mapping.sections() if s != CUSTOMER and s not in SECTION_HANDLERS
        )
        for section in missing_sections:
            for i, col in mapping.fields.items():
                if col.section == section:
                    issues.append(
                        Issue(
                            header_row,
                            mapping.headers[i],
                            "",
                            "not_imported",
                            not_imported_message(section),
                            IssueLevel.WARNING,
                        )
                    )
        columns = {
            "template": mapping.template,
            "template_label": TEMPLATES[mapping.template],
            "format": table.format,
            "encoding": table.encoding,
            "sheet": table.sheet_name,
            "header_row": header_row,
            "mapped": {mapping.headers[i]: c.key for i, c in sorted(mapping.fields.items())},
            "unknown": [h for _, h in mapping.unknown],
            "not_imported_sections": missing_sections,
        }
        with transaction.atomic():
            ImportIssue.objects.bulk_create([self._issue_model(i) for i in issues])
            ImportRun.objects.filter(pk=run.pk).update(
                columns=columns, template=mapping.template, warnings=F("warnings") + len(issues)
            )
        run.refresh_from_db()

    def _issue_model(self, issue: Issue) -> ImportIssue:
        return ImportIssue(
            run_id=self.run_record.pk,
            row=issue.row,
            column=issue.column[:100],
            value=issue.value[:MAX_VALUE_CHARS],
            code=issue.code[:40],
            message=issue.message[:500],
            level=issue.level,
        )

    def _prepass(self) -> None:
        """Count the rows and find the identities that occur in more than one row."""
        once: set[int] = set()
        repeated: set[int] = set()
        total = 0
        idx = self.id_index
        identity_columns = [i for i, c in self.mapping.fields.items() if c.kind == "identity"]
        damaged = self.damaged_columns
        parts = self.parts
        for _, cells in self.table.rows():
            total += 1
            if parts is not None:
                parts.prepass(cells)
            for i in identity_columns:
                # (A blank cell is not damaged: is_damaged_identity says so itself.)
                if i not in damaged and i < len(cells) and N.is_damaged_identity(cells[i]):
                    damaged.add(i)
            key = cheap_key(cells[idx]) if idx < len(cells) else None
            if key is None:
                continue
            if key in once:
                repeated.add(key)
            else:
                once.add(key)
        self.repeated = repeated
        if parts is not None:
            parts.end_prepass()
        ImportRun.objects.filter(pk=self.run_record.pk).update(total_rows=total)
        self.run_record.total_rows = total

    def _rebuild_seen(self) -> None:
        """After a restart, recover the merge state of customers whose first rows were committed."""
        done = self.run_record.rows_done
        refused = set(
            ImportIssue.objects.filter(
                run=self.run_record, level=IssueLevel.ERROR, row__lte=done
            ).values_list("row", flat=True)
        )
        idx = self.id_index
        for number, cells in self.table.rows():
            if number > done:
                break
            if self.parts is not None and number not in refused:
                self.parts.remember(number, cells)
            if number in refused or idx >= len(cells) or cheap_key(cells[idx]) not in self.repeated:
                continue
            # Same order of checks as the loop: a row refused there was recorded as refused.
            row = self._normalise(number, cells)
            row.key = self._identity_key(row.data)
            if row.key is not None and not row.refused:
                self._remember(row.key, row)

    # -- the loop --

    def _loop(self, source: Iterator[list[Row]]) -> None:
        run = self.run_record
        if self.progress is not None:
            self.progress(run)
        self._gave_way = time.monotonic()
        if self._overlapping():
            self._loop_overlapped(source)
        elif (group := self._group_size()) > 1:
            self._loop_grouped(source, group)
        else:
            for batch in source:
                self._commit(batch)
        with transaction.atomic():
            now = timezone.now()
            ImportRun.objects.filter(pk=run.pk).update(
                status=RunStatus.DONE, finished_at=now, heartbeat_at=now, worker=""
            )
            run.refresh_from_db()
            if not run.dry_run:
                audit_log(
                    actor=self.actor,
                    action="exchange.import",
                    target=run,
                    detail={
                        "file": run.file_name,
                        "sha256": run.file_hash,
                        "rows": run.processed,
                        "created": run.created,
                        "updated": run.updated,
                        "unchanged": run.unchanged,
                        "merged": run.merged,
                        "refused": run.refused,
                    },
                )
        if self.progress is not None:
            self.progress(run)

    # -- batches grouped in a transaction (SQLite) --

    def _group_size(self) -> int:
        """Batches committed together on SQLite (INSURDESK_IMPORT_GROUP, default 1); one elsewhere.

        On SQLite a commit writes every page its transaction changed to the log, and an archive's
        random-order indexes (identity and mobile hashes, names) change one page per new archive
        once they outgrow the page cache: grouping eight batches halved the bytes written in the
        first 100,000 rows. It did not make a million-row import faster on this machine's disk
        (docs/decisions/0010), so it is a setting for disks where writing costs more. Each batch
        stays a savepoint of its own, so the reader's batches and the writer's memory are those of
        one batch; only the commit, and what a killed run redoes, span the group.
        """
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "sqlite" or self.run_record.dry_run or connection.in_atomic_block:
            return 1
        value = os.environ.get("INSURDESK_IMPORT_GROUP", "").strip()
        return int(value) if value.isdigit() else _GROUP

    def _loop_grouped(self, source: Iterator[list[Row]], group: int) -> None:
        """Commit `group` batches at a time, or what was written in _HOLD seconds."""
        batches = iter(source)
        more = True
        while more:
            more = written = 0
            with transaction.atomic():
                began = time.monotonic()
                for batch in batches:
                    self._commit(batch, grouped=True)
                    written += 1
                    if written == group or time.monotonic() - began >= _HOLD:
                        more = True
                        break
            if written:
                self._committed()

    # -- batches overlapped (PostgreSQL) --

    def _overlapping(self) -> bool:
        connection = connections[DEFAULT_DB_ALIAS]
        return (
            connection.vendor == "postgresql"
            and not self.run_record.dry_run
            # Within a caller's transaction the batches are its savepoints; other connections would
            # not see what it has written.
            and not connection.in_atomic_block
            and os.environ.get("INSURDESK_IMPORT_OVERLAP", "1").strip() != "0"
        )

    def _loop_overlapped(self, source: Iterator[list[Row]]) -> None:
        """Check and write a batch's archives while the batch before it writes its other parts.

        On PostgreSQL the importing process waits on the server for about two fifths of a batch's
        time (its inserts, their reference checks, the commit). So each batch is one transaction on
        one of two connections: this thread checks batch N+1 and writes its archives on one while a
        second thread writes batch N's policies, payments, claims, contacts, audit and counts on the
        other and commits it. Batches still commit one after the other, in order.

        A batch waits for the one before it to commit first when they share a customer, a party or
        a policy number (the later rows must see the earlier ones' archives and policies). Nothing a
        batch's first half does waits on a lock the batch before holds: the audit chain's head is
        locked only by the second half (audit entries are held until then: audit.services.held), and
        archive numbers are reserved in short transactions of their own (customers.services.numbers_from).
        """
        own = connections[DEFAULT_DB_ALIAS]
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        numbers = connections.create_connection(DEFAULT_DB_ALIAS)
        wrappers = (own, other, numbers)
        for w in wrappers:
            w.inc_thread_sharing()
        helper = ThreadPoolExecutor(1, thread_name_prefix="import-parts")
        in_flight: tuple[Future, set, object] | None = None
        reserve = _NumberPool(numbers)

        def settle() -> None:
            nonlocal in_flight
            if in_flight is not None:
                (future, _, writing), in_flight = in_flight, None
                while True:
                    try:
                        future.result(timeout=DEADLOCK_CHECK)
                        break
                    except TimeoutError:
                        if future.done():  # the second half's own TimeoutError
                            raise
                        _check_not_waiting_on_me(writing)
                self.run_record.refresh_from_db()
                if self.progress is not None:
                    self.progress(self.run_record)

        def before_lookups(keys: set) -> None:
            if in_flight is not None and not keys.isdisjoint(in_flight[1]):
                settle()

        try:
            with numbers_from(reserve):
                for index, batch in enumerate(source):
                    wrapper = wrappers[index % 2]
                    connections[DEFAULT_DB_ALIAS] = wrapper
                    entries: list = []
                    atomic = transaction.atomic()
                    atomic.__enter__()
                    try:
                        with held(entries):
                            half = self._write_customers(batch, before_lookups)
                        settle()
                    except BaseException:
                        atomic.__exit__(*sys.exc_info())
                        raise
                    in_flight = (
                        helper.submit(self._second_half, wrapper, atomic, batch, half, entries, reserve),
                        half.keys,
                        wrapper,
                    )
                    # The next batch is read (units, agents looked up) on the connection it will use.
                    connections[DEFAULT_DB_ALIAS] = wrappers[(index + 1) % 2]
                settle()
        finally:
            helper.shutdown(wait=True)  # a batch being written is committed or rolled back
            connections[DEFAULT_DB_ALIAS] = own
            for w in wrappers:
                w.dec_thread_sharing()
            other.close()
            numbers.close()

    def _second_half(self, wrapper, atomic, batch: list[Row], half: _Half, entries: list, reserve) -> None:
        """In the helper thread: the batch's other parts, its audit and counts, then its commit."""
        connections[DEFAULT_DB_ALIAS] = wrapper
        try:
            with held(entries), numbers_from(reserve):
                outcome = self._write_parts(half)
            audit_log_many(entries)
            self._record(batch, outcome)
        except BaseException:
            atomic.__exit__(*sys.exc_info())
            raise
        atomic.__exit__(None, None, None)

    def _batches(self, start_after: int) -> tuple[Iterator[list[Row]], Callable[[], None]]:
        """Return the rows after `start_after`, read and normalised a batch at a time, and their stop."""
        remaining = self.run_record.total_rows - start_after
        if self.policy_check is None and reader.wanted(remaining):
            # Read a few batches ahead by a second process (exchange/reader.py); only the look-ups
            # are left to do here.
            feed = reader.start(self, start_after)
            return self._finished(feed), feed.close
        here = self._read_here(start_after)
        return here, here.close

    def _finished(self, feed) -> Iterator[list[Row]]:
        for batch in feed:
            for row in batch:
                self._finish(row, None)
            yield batch

    def _read_here(self, start_after: int) -> Iterator[list[Row]]:
        batch: list[Row] = []
        for number, cells in self.table.rows(start_after=start_after):
            batch.append(self._normalise(number, cells))
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _commit(self, batch: list[Row], *, grouped: bool = False) -> None:
        """Write one batch in its transaction (or, `grouped`, in a savepoint of the group's)."""
        run = self.run_record
        with transaction.atomic():
            if run.dry_run:
                outcome = _Outcome()
                try:
                    with transaction.atomic():
                        outcome = self._write(batch)
                        raise _Rollback
                except _Rollback:
                    pass
            else:
                with write_behind():  # SQLite: its inserts run beside the batch's Python
                    outcome = self._write(batch)
            self._record(batch, outcome)
        if grouped:
            run.refresh_from_db()  # for the next batch; the progress is shown after the commit
        else:
            self._committed()

    def _committed(self) -> None:
        """After a commit: wake the log's checkpointer, show the committed rows, give way (SQLite)."""
        run = self.run_record
        self.checkpoints.committed()
        run.refresh_from_db()
        if self.progress is not None:
            self.progress(run)
        if self._sqlite and time.monotonic() - self._gave_way >= _GIVE_WAY_AFTER:
            _give_way()
            self._gave_way = time.monotonic()

    def _record(self, batch: list[Row], outcome: _Outcome) -> None:
        """Add a batch's problems and counts to its run, in the batch's transaction."""
        run = self.run_record
        kept, omitted = self._within_bound(outcome.issues)
        ImportIssue.objects.bulk_create([self._issue_model(i) for i in kept], batch_size=500)
        warnings = sum(1 for i in outcome.issues if i.level == IssueLevel.WARNING)
        more = {}
        if outcome.parts:
            counts = ImportRun.objects.filter(pk=run.pk).values_list("parts", flat=True).first() or {}
            for key, n in outcome.parts.items():
                counts[key] = counts.get(key, 0) + n
            more["parts"] = counts
        ImportRun.objects.filter(pk=run.pk).update(
            **more,
            rows_done=batch[-1].number,
            processed=F("processed") + len(batch),
            created=F("created") + outcome.created,
            updated=F("updated") + outcome.updated,
            unchanged=F("unchanged") + outcome.unchanged,
            merged=F("merged") + outcome.merged,
            refused=F("refused") + outcome.refused,
            warnings=F("warnings") + warnings,
            issues_omitted=F("issues_omitted") + omitted,
            heartbeat_at=timezone.now(),
        )

    def _within_bound(self, issues: list[Issue]) -> tuple[list[Issue], int]:
        """Return the issues to store in full and how many are only counted (INSURDESK_IMPORT_MAX_ISSUES).

        A file of two million bad rows would otherwise store two million issues and a report as large.
        """
        if self._issues_stored is None:
            self._issues_stored = ImportIssue.objects.filter(run=self.run_record).count()
        room = max(0, settings.INSURDESK_IMPORT_MAX_ISSUES - self._issues_stored)
        kept = issues[:room]
        self._issues_stored += len(kept)
        return kept, len(issues) - len(kept)

    # -- one row --

    def _normalise(self, number: int, cells: list) -> Row:
        row = self._read_cells(number, cells)
        self._finish(row, cells)
        return row

    def _prepare(self, number: int, cells: list) -> Row:
        """Return the row read and keyed: the part of its work that needs no database (reader process)."""
        row = self._read_cells(number, cells)
        row.id_key, row.keyed = self._identity_key(row.data), True
        return row

    def clean_ahead(self, batch: list[Row]) -> None:
        """In the reader process: clean the archive values of each customer's first row as if new.

        Where the archive does turn out to be new, `_create` makes it from the values of the
        customer's rows merged; if those are exactly the first row's (a customer of one row, or
        later rows that repeat it) the writer takes the values cleaned here instead of cleaning
        them again (customers.bulk.Ready, used only while the values and the terms are the same).
        A customer's later rows are not cleaned here: only a group's first row's values are used,
        and each Ready costs the writer its unpickling.
        """
        kind, terms, repeated, met = self.kind, self.terms, self.repeated, self._met_ahead
        if terms is None:
            return
        today, may_set_aml_risk, may_override_uscc = terms
        for row in batch:
            if row.refused or row.id_key is None:
                continue
            if row.cheap in repeated:
                if row.cheap in met:
                    continue
                met.add(row.cheap)
            data = row.data
            if _ASSIGNMENT.isdisjoint(data):
                snapshot = data  # the same object: pickled once, with the row
            else:
                snapshot = {k: v for k, v in data.items() if k not in _ASSIGNMENT}
            try:
                values, warnings, owners, others = clean_values(
                    kind,
                    snapshot,
                    today=today,
                    may_set_aml_risk=may_set_aml_risk,
                    may_override_uscc=may_override_uscc,
                )
            except (ValidationFailed, ValueError, TypeError, ArithmeticError):
                continue  # the writer cleans it again and reports what is wrong
            row.ready = Ready(snapshot, terms, values, warnings, owners, others)

    def _finish(self, row: Row, cells: list | None) -> None:
        """The part of reading a row that looks things up: units, agents, products of checked parts."""
        self._resolve_assignment(row)
        if self.policy_check is not None and row.sections:
            self._check_parts(row, cells)

    def _read_cells(self, number: int, cells: list) -> Row:
        row = Row(number)
        mapping = self.mapping
        if self.id_index < len(cells):
            row.cheap = cheap_key(cells[self.id_index])
        for i, col in self.columns:
            value = cells[i] if i < len(cells) else None
            if N.is_blank(value):
                continue
            try:
                memo = self._memo.get(i) if type(value) is str else None
                if memo is not None:
                    converted = memo.get(value, _MISSING)
                    if converted is _MISSING:
                        try:
                            converted = _convert(col, value, mapping.scales.get(i, 1))
                        except N.Refused as exc:
                            converted = exc
                        if len(memo) >= _MEMO_SIZE:
                            memo.clear()
                        memo[value] = converted
                    if isinstance(converted, N.Refused):
                        raise N.Refused(converted.code, converted.message)
                else:
                    converted = _convert(col, value, mapping.scales.get(i, 1))
                if col.kind == "identity" and N.looks_truncated(converted):
                    self._check_truncated(i, converted)
            except N.Refused as exc:
                if col.section != CUSTOMER and col.section not in SECTION_HANDLERS:
                    # A part that is only checked: a notice, the customer is still imported.
                    message = exc.message + "（本行保单未导入）"
                    row.issues.append(
                        Issue(
                            number,
                            mapping.headers[i],
                            masked(col, value),
                            exc.code,
                            message,
                            IssueLevel.WARNING,
                        )
                    )
                    continue
                row.issues.append(
                    Issue(number, mapping.headers[i], masked(col, value), exc.code, exc.message)
                )
                row.source[col.key] = i
                row.bad.update(("mobile", "landline", "email") if col.key == "phone" else (col.key,))
                continue
            if converted is None:
                continue
            if col.section != CUSTOMER:
                if col.key == "policy_no" and isinstance(value, float):
                    message = (
                        "保单号被存成了数字，开头的0可能已丢失，请核对（建议把该列设为文本格式）"
                        if col.section in SECTION_HANDLERS
                        else "保单号被存成了数字，开头的0可能已丢失（请把该列设为文本格式）；本行保单未导入"
                    )
                    row.issues.append(
                        Issue(
                            number,
                            mapping.headers[i],
                            masked(col, value),
                            "damaged",
                            message,
                            IssueLevel.WARNING,
                        )
                    )
                row.sections.setdefault(col.section, {})[col.key] = converted
            elif col.key == "phone":
                for key, v in converted.items():
                    self._put(row, key, v, i, value)
            elif col.key == "archive_no":
                row.archive_no = converted
            else:
                self._put(row, col.key, converted, i, value)
        if row.data.get("id_number") and "id_type" not in row.data and self.kind != CORPORATE:
            row.data["id_type"] = "resident_id"
        for number_key, type_key in (
            ("legal_rep_id_number", "legal_rep_id_type"),
            ("contact_id_number", "contact_id_type"),
        ):
            if row.data.get(number_key) and type_key not in row.data:
                row.data[type_key] = "resident_id"
        return row

    def _check_truncated(self, index: int, number: str) -> None:
        compact = clean_code(number)
        if check_char(compact[:17]) != compact[17]:
            raise N.Refused("id_damaged", N.TRUNCATED_ID)
        if index in self.damaged_columns:
            raise N.Refused("id_damaged", N.TRUNCATED_COLUMN)

    def _check_parts(self, row: Row, cells: list) -> None:
        mapping = self.mapping
        for key, code, message in self.policy_check.check(row.sections):
            index = mapping.index_of(key)
            if index is None:
                header, shown = _label(key, ARCHIVE), ""
            else:
                header = mapping.headers[index]
                shown = masked(mapping.fields[index], cells[index]) if index < len(cells) else ""
            row.issues.append(Issue(row.number, header, shown, code, message, IssueLevel.WARNING))

    def _put(self, row: Row, key: str, value, index: int, raw) -> None:
        if key in row.data and row.data[key] != value:
            mapping = self.mapping
            first = row.source[key]
            row.issues.append(
                Issue(
                    row.number,
                    mapping.headers[index],
                    masked(mapping.fields[index], raw),
                    "ambiguous",
                    f"与本行“{mapping.headers[first]}”列的值不一致，无法确定使用哪一个",
                )
            )
            return
        row.data[key] = value
        row.source[key] = index

    def _resolve_assignment(self, row: Row) -> None:
        from insurdesk.org.models import OrgUnit, User

        code = row.data.pop("unit_code", None)
        if code is not None:
            if code not in self._units:
                unit = OrgUnit.objects.filter(code=code).first() or OrgUnit.objects.filter(name=code).first()
                self._units[code] = unit.pk if unit else None
            if self._units[code] is None:
                self._column_issue(row, "unit_code", code, "not_found", f"所属机构代码“{code}”不存在")
            else:
                row.data["unit_id"] = self._units[code]
                row.source["unit_id"] = row.source["unit_code"]
        username = row.data.pop("agent_username", None)
        if username is not None:
            if username not in self._agents:
                agent = User.objects.filter(username=username, role="agent", is_active=True).first()
                self._agents[username] = agent.pk if agent else None
            if self._agents[username] is None:
                self._column_issue(
                    row,
                    "agent_username",
                    username,
                    "not_found",
                    f"业务员“{username}”不存在或不是在职的业务员",
                )
            else:
                row.data["agent_id"] = self._agents[username]
                row.source["agent_id"] = row.source["agent_username"]

    def _column_issue(
        self, row: Row, key: str, value, code: str, message: str, level: str = IssueLevel.ERROR
    ) -> None:
        field = _FIELD_ALIASES.get(key, key)
        index = row.source.get(field)
        if index is None:
            index = self.mapping.index_of(field)
        if index is None and key in ("mobile", "landline", "email"):
            index = self.mapping.index_of("phone")
        col = self.mapping.fields.get(index) if index is not None else None
        header = (
            self.mapping.headers.get(index, key) if index is not None else _label(key, self.mapping.template)
        )
        if value is None and index is not None:
            value = row.data.get(_FIELD_ALIASES.get(key, key))
        row.issues.append(Issue(row.number, header, masked(col, value), code, message, level))

    def _identity_key(self, data: dict) -> str | None:
        try:
            if self.kind == CORPORATE:
                number = data.get("uscc")
                return identity_hash("uscc", parse_uscc(number).code) if number else None
            number = data.get("id_number")
            if not number:
                return None
            id_type = data.get("id_type") or "resident_id"
            return identity_hash(id_type, check_document(id_type, number).number)
        except (IdentityError, ValueError, TypeError, KeyError):
            return None

    def _clean(self, data: dict, *, creating: bool) -> tuple[dict, list[str]]:
        data = {k: v for k, v in data.items() if k not in ("unit_id", "agent_id")}
        if self.kind == CORPORATE:
            return clean_corporate(
                data,
                creating=creating,
                allow_uscc_override=self.actor is None or can(self.actor, "customer.override_uscc"),
            )
        return clean_individual(data, creating=creating)

    def _refuse_with_validation(self, row: Row) -> None:
        """Add the validation errors of the row's other fields, so one report names all its problems."""
        bad = row.bad
        data = {k: v for k, v in row.data.items() if k not in bad}
        try:
            self._clean(data, creating=False)
        except ValidationFailed as exc:
            for err in exc.errors:
                if _FIELD_ALIASES.get(err.field, err.field) not in bad:
                    self._column_issue(row, err.field, None, err.code, err.message)
        except (ValueError, TypeError, ArithmeticError):
            pass

    def _remember(self, key: str, row: Row) -> None:
        seen = self.seen.get(key)
        fp = _fingerprint(self.fp_fields, row.data)
        if seen is None:
            self.seen[key] = _Seen(row.number, fp)
            return
        seen.fp = _fill(self.fp_fields, seen.fp, fp)

    def _conflicts(self, row: Row, first_row: int, fp: bytes) -> bool:
        """Refuse the row's values that differ from those an earlier row of the same customer gave."""
        old, new = (
            _unpack(self.fp_fields, fp),
            _unpack(self.fp_fields, _fingerprint(self.fp_fields, row.data)),
        )
        clashes = [f for f, o, n in zip(self.fp_fields, old, new, strict=True) if o and n and o != n]
        for f in clashes:
            self._column_issue(
                row,
                f,
                None,
                "conflict",
                f"与第 {first_row} 行（同一客户）的值不同；同一客户的多行须一致，本行未导入",
            )
        return bool(clashes)

    # -- one batch --

    def _write(self, batch: list[Row]) -> _Outcome:
        return self._write_parts(self._write_customers(batch))

    def _write_customers(
        self, batch: list[Row], before_lookups: Callable[[set], None] | None = None
    ) -> _Half:
        """Check the batch's rows and write their archives: the first half of a batch's work.

        `before_lookups` is given the batch's keys (identities, policy numbers) before the first look-up.
        """
        out = _Outcome()
        groups: dict[str, list[Row]] = {}
        for row in batch:
            if not row.refused:
                # The reader's key is of the same data: finishing a row touches unit and agent only.
                row.key = row.id_key if row.keyed else self._identity_key(row.data)
        parts = None
        if self.parts is not None:
            self.parts.read_rows(batch)
        keys = set()
        if before_lookups is not None:
            keys = _keys(batch)
            before_lookups(keys)
        if self.parts is not None:
            # A row goes in whole or not at all: its other parts are checked before anything is written.
            self.parts.prepare(batch, read=False)
            # What prepare found is this batch's: the next batch's prepare replaces it in self.parts.
            parts = copy.copy(self.parts)
            parts.counts = Counter()
        for row in batch:
            if not row.refused:
                if row.key is None:
                    self._refuse_with_validation(row)
                    if not row.refused:  # the identity rule failed in a way validation did not name
                        self._column_issue(row, "id_number", None, "format", "证件号码无法识别")
            else:
                self._refuse_with_validation(row)
            if row.refused:
                out.refused += 1
                out.issues.extend(row.issues)
                continue
            groups.setdefault(row.key, []).append(row)
        existing = self._existing(list(groups))
        outside = self._refuse_out_of_scope(existing, groups, out)
        self._ids = {key: c.pk for key, c in existing.items()}
        new_groups: list[tuple[str, list[Row], dict]] = []
        for key, rows in groups.items():
            if key in outside:
                continue
            accepted = self._merge(key, rows, out)
            if not accepted:
                continue
            customer = existing.get(key)
            if customer is not None:
                self._apply_to_existing(customer, accepted, out, again=key in self.seen)
            elif key in self.seen and self.seen[key].first_row < accepted[0].number:
                # Archived earlier in this run and rolled back: only in a dry run.
                self._validate_only(accepted, out)
            else:
                data = {}
                for row in accepted:
                    for k, v in row.data.items():
                        data.setdefault(k, v)
                new_groups.append((key, accepted, data))
        if new_groups:
            self._create(new_groups, out)
        return _Half(out, groups, self._ids, parts, keys)

    def _write_parts(self, half: _Half) -> _Outcome:
        """Write the parts (policies, payments, claims, contacts) of the rows that went in."""
        out, groups = half.out, half.groups
        if half.parts is not None:
            half.parts.write([r for rows in groups.values() for r in rows], half.ids)
            out.parts = dict(half.parts.counts)
        for rows in groups.values():
            for row in rows:
                out.issues.extend(i for i in row.issues)
        if self.repeated:
            for key, rows in groups.items():
                for row in rows:
                    if not row.refused and row.cheap in self.repeated:
                        self._remember(key, row)
        return out

    def _existing(self, keys: list[str]) -> dict[str, Customer]:
        found = {}
        for i in range(0, len(keys), 500):
            for c in Customer.objects.filter(id_hash__any_of=keys[i : i + 500]):
                found[c.id_hash] = c
        return found

    def _sees(self, customer: Customer) -> bool:
        """Tell whether the importer may see an archive; its units are looked up once a run."""
        actor = self.actor
        if actor is None or actor.is_superuser:
            return True
        if actor.effective_role == "agent":
            return customer.agent_id == actor.pk
        if self._scope_units is _MISSING:
            ids = viewer_unit_ids(actor)
            self._scope_units = None if ids is None else frozenset(ids)
        return self._scope_units is None or customer.unit_id in self._scope_units

    def _refuse_out_of_scope(
        self, existing: dict[str, Customer], groups: dict[str, list[Row]], out: _Outcome
    ) -> set[str]:
        """Refuse the rows of archives outside the importer's scope, whatever their other columns.

        The batch's one look-up of existing archives already holds each one's unit and agent, so the
        check costs no query. A row that changes nothing of such an archive was counted "unchanged"
        and its policy, payment, claim and contact were written onto it (issue 15).
        """
        outside = {k for k, c in existing.items() if not self._sees(c)}
        for key in outside:
            del existing[key]
            for row in groups[key]:
                self._column_issue(
                    row,
                    _id_field(self.kind),
                    None,
                    "duplicate_out_of_scope",
                    "该证件已有客户档案，不在您的管辖范围内（请联系档案所属机构），本行未导入",
                )
                out.refused += 1
        return outside

    def _merge(self, key: str, rows: list[Row], out: _Outcome) -> list[Row]:
        """Return the rows of one customer that agree with what earlier rows gave; refuse the others."""
        seen = self.seen.get(key)
        accepted: list[Row] = []
        merged: dict = {}
        for row in rows:
            if seen is None and not accepted:
                accepted.append(row)
                merged.update(row.data)
                continue
            try:
                self._clean(row.data, creating=False)
            except ValidationFailed as exc:
                for err in exc.errors:
                    self._column_issue(row, err.field, None, err.code, err.message)
                out.refused += 1
                continue
            if seen is not None:
                first_row, fp = (
                    seen.first_row,
                    _fill(self.fp_fields, seen.fp, _fingerprint(self.fp_fields, merged)),
                )
            else:
                first_row, fp = accepted[0].number, _fingerprint(self.fp_fields, merged)
            if self._conflicts(row, first_row, fp):
                out.refused += 1
                continue
            accepted.append(row)
            for k, v in row.data.items():
                merged.setdefault(k, v)
        return accepted

    def _check_archive_no(self, customer: Customer | None, rows: list[Row]) -> bool:
        ok = True
        for row in rows:
            if row.archive_no is None:
                continue
            if customer is None:
                self._column_issue(
                    row,
                    "archive_no",
                    row.archive_no,
                    "archive_no_unused",
                    f"客户号“{row.archive_no}”未使用：新档案的客户号由系统分配",
                    IssueLevel.WARNING,
                )
            elif row.archive_no != customer.archive_no:
                self._column_issue(
                    row,
                    "archive_no",
                    row.archive_no,
                    "archive_no_mismatch",
                    f"该证件的档案客户号为 {customer.archive_no}，与本行填写的不一致，本行未导入",
                )
                ok = False
        return ok

    def _apply_to_existing(self, customer: Customer, rows: list[Row], out: _Outcome, *, again: bool) -> None:
        """Bring an archive up to date with the rows of its customer; `again` when this run met it before."""
        first = 0 if again else 1
        if not self._check_archive_no(customer, rows):
            out.refused += len(rows)
            return
        data: dict = {}
        for row in rows:
            for k, v in row.data.items():
                data.setdefault(k, v)
        try:
            clean, _ = self._clean(data, creating=False)
        except ValidationFailed as exc:
            self._group_refused(rows, exc.errors, out)
            return
        clean = {**clean, **{k: data[k] for k in ("unit_id", "agent_id") if k in data}}
        clean.pop("id_type", None)
        clean.pop("id_number", None)
        changes = {
            k: v for k, v in clean.items() if v is not None and v != "" and getattr(customer, k, None) != v
        }
        if self.kind == CORPORATE:
            changes.pop("id_type", None)
        if not changes:
            out.unchanged += first
            out.merged += len(rows) - first
            return
        try:
            _, warnings = customer_update(actor=self.actor, customer_id=customer.pk, data=changes)
        except DomainError as exc:
            if exc.http_status == 404:
                exc = ValidationFailed(
                    FieldError(
                        _id_field(self.kind),
                        "duplicate",
                        "该证件已有客户档案（不在您的管辖范围内，请联系档案所属机构）",
                    )
                )
            elif exc.http_status == 403:
                exc = ValidationFailed(
                    FieldError("", "forbidden", "该证件已有客户档案，您的角色无权修改客户档案")
                )
            self._group_refused(rows, exc.errors, out)
            return
        for w in warnings:
            self._column_issue(rows[0], _id_field(self.kind), None, "warning", w, IssueLevel.WARNING)
        out.updated += first
        out.merged += len(rows) - first

    def _validate_only(self, rows: list[Row], out: _Outcome) -> None:
        out.merged += len(rows)

    def _group_refused(self, rows: list[Row], errors: list[FieldError], out: _Outcome) -> None:
        by_row: dict[int, Row] = {}
        for err in errors:
            key = _FIELD_ALIASES.get(err.field, err.field)
            owner = next((r for r in rows if key in r.data), rows[0])
            self._column_issue(owner, err.field, None, err.code, err.message)
            by_row[owner.number] = owner
        for row in rows:
            if row.number not in by_row:
                self._column_issue(
                    row,
                    _id_field(self.kind),
                    None,
                    "group_refused",
                    f"同一客户的第 {rows[0].number} 行未通过校验，本行未导入",
                )
        out.refused += len(rows)

    def _create(self, groups: list[tuple[str, list[Row], dict]], out: _Outcome) -> None:
        payload, kept = [], []
        for key, rows, data in groups:
            if not self._check_archive_no(None, rows):
                out.refused += len(rows)
                continue
            payload.append(data)
            kept.append((key, rows))
        if not payload:
            return
        # The first row's values cleaned ahead fit the group's merged values when later rows of the
        # customer repeat them (Ready.fits compares).
        ready = {index: rows[0].ready for index, (_, rows) in enumerate(kept) if rows[0].ready}
        try:
            result = customer_bulk_create(
                actor=self.actor,
                kind=self.kind,
                rows=payload,
                batch_size=max(len(payload), 1),
                ready=ready,
                checked=True,  # by _existing, in this transaction
            )
        except NotAllowed as exc:
            for _, rows in kept:
                self._group_refused(rows, exc.errors, out)
            return
        errors: dict[int, list[FieldError]] = {}
        for e in result.refused:
            errors.setdefault(e.index, []).append(FieldError(e.field, e.code, e.message))
        warnings: dict[int, list[str]] = {}
        for index, w in result.warnings:
            warnings.setdefault(index, []).append(w)
        for index, (key, rows) in enumerate(kept):
            if index in errors:
                self._group_refused(rows, errors[index], out)
                continue
            if index in result.ids_by_index:
                self._ids[key] = result.ids_by_index[index]
            out.created += 1
            out.merged += len(rows) - 1
            for w in warnings.get(index, ()):
                self._column_issue(rows[0], _id_field(self.kind), None, "warning", w, IssueLevel.WARNING)


def _give_way() -> None:
    """Leave SQLite's write lock free long enough for a waiting writer to take it (see _GAP).

    Nothing in SQLite tells whether a writer is waiting, so the gap is taken after each commit that
    ends two seconds or more of writing (every five or so batches, or every group); the reader
    process and the log's checkpoint go on meanwhile: it costs about 5 % of a large import's time.
    """
    time.sleep(_GAP)


def _label(key: str, template: str) -> str:
    """Return the Chinese name of a field the file has no column for (e.g. a required one)."""
    key = _FIELD_ALIASES.get(key, key)
    for col in COLUMNS:
        if col.key == key and template in col.applies:
            return col.label
    try:
        return str(Customer._meta.get_field(key).verbose_name)
    except Exception:
        return key


def _id_field(kind: str) -> str:
    return "uscc" if kind == CORPORATE else "id_number"
