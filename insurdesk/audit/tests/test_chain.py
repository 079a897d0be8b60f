import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from insurdesk.audit.models import AuditEntry, AuditHead
from insurdesk.audit.services import audit_log, audit_verify

pytestmark = pytest.mark.django_db


def _write(n=5):
    for i in range(n):
        audit_log(
            actor=None, action="test.event", target_type="t", target_id=i, detail={"i": i, "名": "张三"}
        )


def test_intact_chain_verifies():
    _write()
    result = audit_verify()
    assert result.ok and result.checked == 5


def test_altered_entry_is_reported():
    _write()
    AuditEntry.objects.filter(seq=3).update(detail={"i": 99})
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 3 and "altered" in result.problem


def test_removed_entry_is_reported():
    _write()
    AuditEntry.objects.filter(seq=2).delete()
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 2 and "removed" in result.problem


def test_removed_last_entry_is_reported():
    _write()
    AuditEntry.objects.filter(seq=5).delete()
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 5 and "removed" in result.problem


def test_an_entry_appended_behind_the_head_is_reported_as_inserted():
    from insurdesk.audit.services import entry_hash

    _write()
    last = AuditEntry.objects.get(seq=5)
    fields = dict(
        seq=6, at=last.at, actor_id=None, actor_name="system", action="forged", target_type="t",
        target_id="9", detail={}, ip=None,
    )  # fmt: skip
    AuditEntry.objects.create(prev_hash=last.hash, hash=entry_hash(last.hash, **fields), **fields)
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 6 and "inserted" in result.problem


def test_an_empty_log_with_a_head_that_moved_is_reported():
    AuditHead.objects.create(id=1, seq=1, hash="a" * 64)
    assert not audit_verify().ok
    AuditHead.objects.filter(id=1).update(seq=0)
    assert not audit_verify().ok  # the head's hash no longer matches the empty chain


def test_inserted_entry_is_reported():
    _write()
    e = AuditEntry.objects.get(seq=3)
    for seq in (5, 4, 3):  # one at a time, highest first: seq is unique
        AuditEntry.objects.filter(seq=seq).update(seq=seq + 1)
    AuditEntry.objects.create(seq=3, at=e.at, action="forged", prev_hash=e.prev_hash, hash="f" * 64)
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == 3


def test_verify_command_exit_status():
    _write(3)
    call_command("audit", "verify")
    AuditHead.objects.update(seq=2)
    with pytest.raises(CommandError):
        call_command("audit", "verify")
