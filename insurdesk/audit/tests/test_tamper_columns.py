"""Altering any one hashed column of any entry, or the chain head, makes `insurdesk audit verify` fail.

The columns come from what the chain hashes (the parameters of services._canonical) plus the two hash
columns, so a column added to the hash is tampered with here without a new test. Entries are written
on both hashing paths: one at a time (audit_log) and in bulk (audit_log_many).
"""

import datetime
import inspect

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models

from insurdesk.audit import services
from insurdesk.audit.models import AuditEntry, AuditHead
from insurdesk.audit.services import PendingEntry, audit_log, audit_log_many, audit_verify

pytestmark = pytest.mark.django_db

HASHED = [p for p in inspect.signature(services._canonical).parameters if p != "at_text"]
COLUMNS = [*HASHED, "prev_hash", "hash"]
N = 4
POSITIONS = {"first": 1, "middle": 2, "last": N}


def test_the_hashed_columns_are_the_entry_columns_that_are_not_hashes_themselves():
    # A column stored but not hashed could be altered silently.
    stored = [c for c in services.ENTRY_COLUMNS if c not in ("prev_hash", "hash")]
    assert sorted(HASHED) == sorted(stored)
    assert "actor_name" in HASHED


def _write(path: str, actor) -> int:
    """Append N entries on one path after whatever the chain holds; return the seq before them."""
    before = AuditEntry.objects.count()
    details = [{"i": i, "名": "张三", "金额": "500000.00"} for i in range(N)]
    if path == "single":
        for i, d in enumerate(details):
            audit_log(actor=actor, action="test.event", target_type="t", target_id=i, detail=d, ip="10.1.2.3")
    else:
        audit_log_many(
            [
                PendingEntry(action="test.event", actor=actor, target_type="t", target_id=str(i), detail=d,
                             ip="10.1.2.3")
                for i, d in enumerate(details)
            ]
        )  # fmt: skip
    return before


def _altered(entry: AuditEntry, column: str):
    value = getattr(entry, column)
    field = AuditEntry._meta.get_field(column)
    if column == "seq":
        return value + 1000  # unique: a number no other entry holds
    if isinstance(field, models.DateTimeField):
        return value + datetime.timedelta(microseconds=1)
    if isinstance(field, models.GenericIPAddressField):
        return "10.1.2.4"
    if isinstance(field, models.JSONField):
        return {**value, "i": 99}
    if isinstance(field, models.IntegerField):
        return 1 if value is None else value + 1
    if isinstance(field, models.CharField):
        if column in ("prev_hash", "hash"):
            return ("f" if value[0] != "f" else "e") + value[1:]
        return value + "x"
    pytest.fail(f"no way to alter column {column!r} ({type(field).__name__}): add one to _altered")


def _fails_verify():
    assert not audit_verify().ok
    with pytest.raises(CommandError):
        call_command("audit", "verify")


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("path", ["single", "bulk"])
def test_altering_one_column_of_one_entry_fails_verification(make_user, path, column, position):
    actor = make_user("clerk", "HQ", username="tamper_clerk")
    before = _write(path, actor)
    assert audit_verify().ok and audit_verify().checked == before + N
    call_command("audit", "verify")
    entry = AuditEntry.objects.get(seq=before + POSITIONS[position])
    assert entry.actor_name == "tamper_clerk" and entry.actor_id == actor.pk and entry.ip == "10.1.2.3"
    AuditEntry.objects.filter(pk=entry.pk).update(**{column: _altered(entry, column)})
    _fails_verify()


@pytest.mark.parametrize("column", ["seq", "hash"])
@pytest.mark.parametrize("path", ["single", "bulk"])
def test_altering_the_head_fails_verification(make_user, path, column):
    _write(path, make_user("clerk", "HQ", username="tamper_clerk"))
    assert audit_verify().ok
    head = AuditHead.objects.get(id=1)
    new = head.seq - 1 if column == "seq" else ("f" if head.hash[0] != "f" else "e") + head.hash[1:]
    AuditHead.objects.filter(id=1).update(**{column: new})
    _fails_verify()


def test_the_name_of_who_acted_is_covered_whoever_renames_it(make_user):
    """The user's name is what a reader of the log sees: renaming the actor in place is tampering."""
    before = _write("single", make_user("clerk", "HQ", username="tamper_clerk"))
    AuditEntry.objects.filter(seq=before + 2).update(actor_name="someone_else")
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == before + 2 and "altered" in result.problem
