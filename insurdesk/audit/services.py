"""Append to and verify the tamper-evident log."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from django.db import connections, router, transaction
from django.utils import timezone

from insurdesk.audit.models import AuditEntry, AuditHead
from insurdesk.common.behind import active
from insurdesk.common.bulk import build, insert_values

GENESIS = "0" * 64


def head_mac(seq: int, chain_hash: str, *, at: str = "") -> str:
    """Sign a chain head (and, for an anchor, its time) under INSURDESK_AUDIT_KEY."""
    from django.conf import settings

    message = f"{seq}:{chain_hash}" + (f":{at}" if at else "")
    return hmac.new(settings.INSURDESK_AUDIT_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


# One encoder for every entry: json.dumps with options builds a new one each call.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _at_text(at) -> str:
    return at.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def _canonical(
    seq, at, actor_id, actor_name, action, target_type, target_id, detail, ip, *, at_text=None
) -> bytes:
    body = [
        seq,
        at_text if at_text is not None else _at_text(at),
        actor_id,
        actor_name,
        action,
        target_type,
        target_id,
        detail,
        ip,
    ]
    return _ENCODER.encode(body).encode()


def entry_hash(prev_hash: str, *, at_text=None, **fields) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(**fields, at_text=at_text)).hexdigest()


_LABELS: dict = {}  # model class -> "app_label.model_name"


def _target(target, target_type, target_id):
    if target is not None:
        label = _LABELS.get(type(target))
        if label is None:
            label = _LABELS[type(target)] = f"{target._meta.app_label}.{target._meta.model_name}"
        return label, str(target.pk)
    return target_type or "", str(target_id or "")


_JSON_AS_IS = (str, int, float, bool, type(None))


def _plain(value):
    """Return `value` as JSON will read it back (what json.loads(json.dumps(value, default=str)) gives).

    Written out because bulk paths log thousands of entries, and the round trip through text cost
    more than the rest of an entry; anything unusual (keys that are not text) still takes it.
    """
    if type(value) in _JSON_AS_IS:
        return value
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            return {k: _plain(v) for k, v in value.items()}
    elif isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    elif not isinstance(value, str | int | float):  # subclasses (enums) are written as their base type
        return str(value)
    return json.loads(json.dumps(value, default=str))


@dataclass
class PendingEntry:
    action: str
    actor: object = None
    target: object = None
    target_type: str = ""
    target_id: str = ""
    detail: dict | None = None
    ip: str | None = None


def audit_log(
    *,
    actor,
    action: str,
    target=None,
    target_type: str = "",
    target_id="",
    detail: dict | None = None,
    ip: str | None = None,
) -> AuditEntry | None:
    """Append one entry to the chain, in the caller's transaction (None when a `held` block keeps it)."""
    written = _written(
        [
            PendingEntry(
                action=action,
                actor=actor,
                target=target,
                target_type=target_type,
                target_id=target_id,
                detail=detail,
                ip=ip,
            )
        ]
    )
    return written.entry(0) if written else None


# Where audit_log_many puts its entries instead of writing them, while a `held` block runs.
_HELD: ContextVar[list | None] = ContextVar("audit_held", default=None)


@contextlib.contextmanager
def held(entries: list) -> Iterator[list]:
    """Collect, in `entries`, what audit_log(_many) is given in this block (this thread), unwritten.

    For a writer that must not hold the chain head's lock while it does a long piece of work in a
    transaction another transaction waits on (the import overlapping its batches on PostgreSQL): it
    writes the entries itself with audit_log_many, in the same transaction, when the work is done. The
    entries' time is then the time they are written, as it is for every entry of one call.
    """
    token = _HELD.set(entries)
    try:
        yield entries
    finally:
        _HELD.reset(token)


def audit_log_many(pending: list[PendingEntry]) -> int:
    """Append entries in order under one lock of the chain head (bulk paths write their audit too).

    Return how many were written: none within a `held` block, whose owner writes them later.
    """
    written = _written(pending)
    return len(written) if written is not None else 0


def _written(pending: list[PendingEntry]) -> _Appended | None:
    entries = _HELD.get()
    if entries is not None:
        entries.extend(pending)
        return None
    return _append(pending)


# An entry's columns, in the order of the rows _append writes (also what an export of the log shows).
ENTRY_COLUMNS = ["seq", "at", "actor_id", "actor_name", "action", "target_type", "target_id", "detail", "ip",
                 "prev_hash", "hash"]  # fmt: skip


def _detail_text(detail) -> str:
    """Return the canonical JSON of an entry's detail: the text its hash covers, and the text stored.

    Encoding the detail as given yields the same text as encoding `_plain(detail)` (the encoder writes
    subclasses of str, int and float as their base type and anything else as str(value), as _plain
    does) — except for a dict with keys that are not text, which sort_keys orders by the keys
    themselves rather than by their text: those take _plain first.
    """
    if not detail:
        return "{}"
    if _text_keys(detail):
        return _ENCODER.encode(detail)
    return _ENCODER.encode(_plain(detail))


def _text_keys(value) -> bool:
    if isinstance(value, dict):
        if not all(type(k) is str for k in value):
            return False
        value = value.values()
    elif not isinstance(value, list | tuple):
        return True
    return all(_text_keys(v) for v in value if isinstance(v, dict | list | tuple))


@transaction.atomic
def _append(pending: list[PendingEntry]) -> _Appended:
    """Chain and insert the entries: their text is encoded once, for the hash and for the table.

    Bulk paths append a few entries per imported row; building each as a model instance and letting
    the JSON field encode its detail again cost more than the rest of the entry, so the rows go in as
    prepared values (common.bulk.insert_values) and the instances returned are made from them.
    """
    connection = connections[router.db_for_write(AuditEntry)]
    behind = active(connection)
    known = behind.state.get("audit_head") if behind is not None else None
    if known is not None:
        # Written earlier in this SQLite transaction, which holds the write lock: no one else moved it.
        seq, prev = known
    else:
        AuditHead.objects.get_or_create(id=1)
        head = AuditHead.objects.select_for_update().get(id=1)
        seq, prev = head.seq, head.hash
    now = timezone.now()
    at_text = _at_text(now)  # every entry of the call has the same time
    at_column = AuditEntry._meta.get_field("at").get_db_prep_save(now, connection)
    actors: dict[int, tuple] = {}
    rows = []
    for p in pending:
        seq += 1
        ttype, tid = _target(p.target, p.target_type, p.target_id)
        who = actors.get(id(p.actor))
        if who is None:
            actor = p.actor if p.actor is not None and getattr(p.actor, "is_authenticated", False) else None
            who = actors[id(p.actor)] = (actor.pk, actor.get_username()) if actor else (None, "system")
        detail = _detail_text(p.detail)
        # What _canonical encodes, one list: its first seven items, the detail, the address.
        start = _ENCODER.encode([seq, at_text, who[0], who[1], p.action, ttype, tid])
        body = f"{start[:-1]},{detail},{'null' if p.ip is None else _ENCODER.encode(p.ip)}]"
        h = hashlib.sha256(prev.encode() + body.encode()).hexdigest()
        rows.append((seq, at_column, who[0], who[1], p.action, ttype, tid, detail, p.ip, prev, h))
        prev = h
    keys = insert_values(AuditEntry, ENTRY_COLUMNS, rows)
    if behind is not None:
        # Behind the inserts, in order; the next call of this transaction takes the head from here.
        table = AuditHead._meta.db_table
        behind.queue(
            f'UPDATE "{table}" SET "seq" = ?, "hash" = ?, "mac" = ? WHERE "id" = 1',
            [seq, prev, head_mac(seq, prev)],
            table,
        )
        behind.state["audit_head"] = (seq, prev)
    else:
        AuditHead.objects.filter(id=1).update(seq=seq, hash=prev, mac=head_mac(seq, prev))
    return _Appended(keys, rows, now, [p.detail for p in pending])


@dataclass
class _Appended:
    keys: list[int]
    rows: list[tuple]
    at: datetime.datetime
    details: list

    def __len__(self) -> int:
        return len(self.keys)

    def entry(self, i: int) -> AuditEntry:
        values = dict(zip(ENTRY_COLUMNS, self.rows[i], strict=True))
        values.update(at=self.at, detail=_plain(self.details[i] or {}))
        entry = build(AuditEntry, id=self.keys[i], **values)
        entry._state.adding = False
        entry._state.db = router.db_for_write(AuditEntry)
        return entry


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""


def audit_verify(*, batch: int = 5000) -> VerifyResult:
    """Walk the chain; report the first entry altered, removed or inserted."""
    prev, expected_seq, checked = GENESIS, 1, 0
    qs = AuditEntry.objects.order_by("seq")
    for e in qs.iterator(chunk_size=batch):
        if e.seq != expected_seq:
            kind = "removed" if e.seq > expected_seq else "inserted"
            return VerifyResult(False, checked, expected_seq, f"{kind}: 序号 {expected_seq} 处链条不连续")
        if e.prev_hash != prev:
            return VerifyResult(False, checked, e.seq, "inserted or removed: 前序哈希不符")
        fields = dict(
            seq=e.seq,
            at=e.at,
            actor_id=e.actor_id,
            actor_name=e.actor_name,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
            detail=e.detail,
            ip=e.ip,
        )
        if entry_hash(prev, **fields) != e.hash:
            return VerifyResult(False, checked, e.seq, "altered: 内容与哈希不符")
        prev, expected_seq, checked = e.hash, expected_seq + 1, checked + 1
    head = AuditHead.objects.filter(id=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
    if checked > head_seq:  # entries past the head were added without the chain's lock
        return VerifyResult(False, head_seq, head_seq + 1, "inserted: 链尾之后多出记录")
    if checked < head_seq:
        return VerifyResult(False, checked, checked + 1, "removed: 链尾记录缺失")
    if head_hash != prev:
        return VerifyResult(False, max(checked - 1, 0), max(checked, 1), "altered: 链尾哈希与链头不符")
    if head is not None and not hmac.compare_digest(head.mac, head_mac(head_seq, head_hash)):
        return VerifyResult(
            False,
            checked,
            head_seq,
            "head_mac: 链头签名不符：链头被改写（例如删去链尾后把链头移回），"
            "或 INSURDESK_AUDIT_KEY 不是签名时的密钥",
        )
    return VerifyResult(True, checked)


# ---------------------------------------------------------------- anchors outside the database


@dataclass
class Anchor:
    seq: int
    hash: str
    at: str
    mac: str


class AnchorError(RuntimeError):
    """The chain head cannot be anchored: it does not verify."""


def audit_anchor(*, path=None) -> Anchor:
    """Append the signed chain head to the append-only anchor file under the data directory.

    The head is anchored only when its MAC holds and the entry it names is there with its hash, so a
    head moved back after the tail was cut is never written down as if it were true.
    """
    path = _anchor_path(path)
    head = AuditHead.objects.filter(id=1).first()
    seq, chain_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
    if head is not None and not hmac.compare_digest(head.mac, head_mac(seq, chain_hash)):
        raise AnchorError("链头签名不符，未写入锚点：请先运行 insurdesk audit verify")
    if seq and not AuditEntry.objects.filter(seq=seq, hash=chain_hash).exists():
        raise AnchorError(f"链头指向的第 {seq} 条记录不存在或哈希不符，未写入锚点")
    at = _at_text(timezone.now())
    anchor = Anchor(seq, chain_hash, at, head_mac(seq, chain_hash, at=at))
    line = json.dumps({"seq": seq, "hash": chain_hash, "at": at, "mac": anchor.mac}) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_APPEND: each anchor is one write at the end, whoever else appends; the file is never rewritten.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchor


def _anchor_path(path=None) -> Path:
    from django.conf import settings

    return Path(path) if path is not None else Path(settings.INSURDESK_AUDIT_ANCHORS)


@dataclass
class AnchorCheck:
    ok: bool
    anchors: int
    problems: list[str]


def audit_check_anchors(*, path=None) -> AnchorCheck:
    """Compare the chain against every anchor: each must be signed and its entry present with its hash."""
    path = _anchor_path(path)
    if not path.exists():
        return AnchorCheck(True, 0, [])
    anchors: list[Anchor] = []
    problems: list[str] = []
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            try:
                raw = json.loads(text)
                anchor = Anchor(int(raw["seq"]), str(raw["hash"]), str(raw["at"]), str(raw["mac"]))
            except (ValueError, KeyError, TypeError):
                problems.append(f"锚点文件第 {number} 行无法读取")
                continue
            if not hmac.compare_digest(anchor.mac, head_mac(anchor.seq, anchor.hash, at=anchor.at)):
                problems.append(f"锚点文件第 {number} 行（第 {anchor.seq} 条，{anchor.at}）签名不符")
                continue
            anchors.append(anchor)
    if anchors:
        last_seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        wanted = {a.seq for a in anchors if a.seq}
        found = dict(AuditEntry.objects.filter(seq__in=wanted).values_list("seq", "hash"))
        for a in anchors:
            if a.seq > last_seq:
                problems.append(
                    f"truncated: 记录链止于第 {last_seq} 条，短于 {a.at} 的锚点（第 {a.seq} 条）："
                    "链尾记录被删除"
                )
            elif a.seq and found.get(a.seq) != a.hash:
                problems.append(f"altered: 第 {a.seq} 条记录的哈希与 {a.at} 的锚点不符")
    return AnchorCheck(not problems, len(anchors), problems)
