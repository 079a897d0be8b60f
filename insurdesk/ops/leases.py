"""Leases: one holder at a time for a named job across every server, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from insurdesk.ops.models import Lease


def acquire(name: str, holder: str, *, seconds: float, now: datetime.datetime | None = None) -> bool:
    """Take the lease for `seconds` unless another holder's lease is still running; tell whether taken."""
    now = now or timezone.now()
    until = now + datetime.timedelta(seconds=seconds)
    try:
        with transaction.atomic():
            Lease.objects.get_or_create(name=name)
    except IntegrityError:
        pass  # another server created it first: the row exists either way
    with transaction.atomic():
        lease = Lease.objects.select_for_update().get(name=name)
        if lease.holder and lease.holder != holder and lease.expires_at and lease.expires_at > now:
            return False
        lease.holder, lease.expires_at = holder, until
        lease.save(update_fields=["holder", "expires_at"])
        return True


def renew(name: str, holder: str, *, seconds: float) -> bool:
    """Push the lease's end ahead while still held; False when it was lost (expired and taken)."""
    until = timezone.now() + datetime.timedelta(seconds=seconds)
    with transaction.atomic():
        return Lease.objects.filter(name=name, holder=holder).update(expires_at=until) == 1


def release(name: str, holder: str) -> None:
    with transaction.atomic():
        Lease.objects.filter(name=name, holder=holder).update(holder="", expires_at=None)
