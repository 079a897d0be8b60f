"""`insurdesk daily [--date YYYY-MM-DD]` — every daily duty, once a day, catching up missed days."""

import datetime
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from insurdesk.common.cli import command_error
from insurdesk.common.daily import duties
from insurdesk.common.errors import DomainError
from insurdesk.common.models import DailyRun

# A machine that was down longer than this is caught up by hand, day by day (--date), not at once.
MAX_CATCH_UP_DAYS = 31


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"error format: --date: 日期应为 YYYY-MM-DD，不是 {value!r}", returncode=2
        ) from None


def days_to_run(target: datetime.date) -> list[datetime.date]:
    """Return the days from the one after the last finished day (or `target`) up to `target`."""
    last = DailyRun.objects.filter(day__lte=target).order_by("-day").values_list("day", flat=True).first()
    if last is None or last >= target:
        return [target]
    # The last day with a record is looked at again: a duty killed on it has no record of its own yet.
    first = max(last, target - datetime.timedelta(days=MAX_CATCH_UP_DAYS - 1))
    return [first + datetime.timedelta(days=n) for n in range((target - first).days + 1)]


def run_day(day: datetime.date, write=lambda line: None) -> dict[str, dict[str, int]]:
    """Run each registered duty not yet finished for `day`; return what each one that ran did."""
    done = set(DailyRun.objects.filter(day=day).values_list("duty", flat=True))
    results = {}
    for duty in duties():
        if duty.name in done:
            continue
        started = timezone.now()
        clock = time.monotonic()
        with transaction.atomic():
            counts = duty.run(day) or {}
            DailyRun.objects.create(
                day=day, duty=duty.name, counts=counts, started_at=started, finished_at=timezone.now()
            )
        results[duty.name] = counts
        shown = ", ".join(f"{k} {v}" for k, v in counts.items()) or "nothing to do"
        write(f"{day} {duty.name}: {shown} ({time.monotonic() - clock:.1f} s)")
    return results


class Command(BaseCommand):
    help = (
        "Run every daily duty (overdue premiums, grace and lapse, maturity, and what each app adds) for "
        "today or --date, and for the days missed since the last run; a day's finished duties are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=_day, default=None, help="the business day (default: today)")

    def handle(self, *args, date=None, **opts):
        target = date or timezone.localdate()
        try:
            ran = 0
            for day in days_to_run(target):
                ran += len(run_day(day, write=self.stdout.write))
        except DomainError as exc:
            raise command_error(exc) from exc
        if not ran:
            self.stdout.write(f"ok: every duty of {target} had already run")
        else:
            self.stdout.write(f"ok: {ran} duties run up to {target}")
