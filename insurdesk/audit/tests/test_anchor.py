"""Cutting the log's tail is detected (issue 15 point 6): a signed head, and anchors outside the database."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from insurdesk.audit.models import AuditEntry, AuditHead
from insurdesk.audit.services import (
    audit_anchor,
    audit_check_anchors,
    audit_log,
    audit_verify,
    head_mac,
)
from insurdesk.common.daily import duties

pytestmark = pytest.mark.django_db


def _write(n=5):
    for i in range(n):
        audit_log(actor=None, action="test.event", target_type="t", target_id=i, detail={"i": i})


def _cut_tail_and_move_the_head_back(keep: int) -> None:
    """What the hostile test did: delete the last entries, set the head row to the new last entry."""
    AuditEntry.objects.filter(seq__gt=keep).delete()
    last = AuditEntry.objects.get(seq=keep)
    AuditHead.objects.filter(id=1).update(seq=last.seq, hash=last.hash)


def verify_command() -> str:
    try:
        call_command("audit", "verify")
    except CommandError as exc:
        return str(exc)
    return "ok"


def test_every_append_signs_the_head_under_the_key_from_the_environment(settings):
    _write(3)
    head = AuditHead.objects.get()
    assert head.mac == head_mac(3, head.hash) and len(head.mac) == 64
    settings.INSURDESK_AUDIT_KEY = "another key"
    assert not audit_verify().ok and "head_mac" in audit_verify().problem


def test_a_cut_tail_with_the_head_moved_back_fails_verify():
    """Issue 15.6: deleting the last entries and setting the head to the new last entry passed verify."""
    _write(5)
    _cut_tail_and_move_the_head_back(3)

    result = audit_verify()

    assert not result.ok and "head_mac" in result.problem and "链头签名不符" in result.problem
    assert "head_mac" in verify_command()


def test_anchor_appends_the_signed_head_to_an_append_only_file(settings):
    _write(2)
    call_command("audit", "anchor")
    _write(2)
    anchor = audit_anchor()

    lines = [json.loads(line) for line in settings.INSURDESK_AUDIT_ANCHORS.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [2, 4] and anchor.seq == 4
    assert lines[1] == {"seq": 4, "hash": anchor.hash, "at": anchor.at, "mac": anchor.mac}
    assert settings.INSURDESK_AUDIT_ANCHORS.stat().st_mode & 0o777 == 0o600
    assert verify_command() == "ok"


def test_a_chain_shorter_than_an_anchor_is_reported_even_with_a_replayed_signed_head():
    """A head row saved earlier (seq, hash, MAC) put back after the cut: only the anchor tells."""
    _write(3)
    saved = AuditHead.objects.values("seq", "hash", "mac").get()
    _write(3)
    audit_anchor()
    AuditEntry.objects.filter(seq__gt=3).delete()
    AuditHead.objects.filter(id=1).update(**saved)
    assert audit_verify().ok  # the chain alone cannot tell

    check = audit_check_anchors()

    assert not check.ok and "truncated" in check.problems[0] and "第 6 条" in check.problems[0]
    message = verify_command()
    assert message.startswith("error anchors") and "记录链止于第 3 条" in message


def test_a_forged_anchor_line_is_reported(settings):
    _write(2)
    audit_anchor()
    with open(settings.INSURDESK_AUDIT_ANCHORS, "a") as f:
        f.write(json.dumps({"seq": 1, "hash": "0" * 64, "at": "2026-01-01T00:00:00+00:00", "mac": "f" * 64}))
        f.write("\n")
    check = audit_check_anchors()
    assert not check.ok and check.anchors == 1 and "签名不符" in check.problems[0]


def test_a_head_that_does_not_verify_is_not_anchored(settings):
    _write(4)
    _cut_tail_and_move_the_head_back(2)
    with pytest.raises(CommandError, match="链头签名不符"):
        call_command("audit", "anchor")
    assert not settings.INSURDESK_AUDIT_ANCHORS.exists()


def test_anchoring_is_a_daily_duty_that_runs_last():
    (registered,) = [d for d in duties() if d.name == "audit_anchor"]
    assert registered.order == 900 and registered.order == max(d.order for d in duties())
    _write(1)
    assert registered.run(None) == {"anchored_seq": 1}
