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
    assert not audit_verify().ok


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
