"""Scheduled jobs that `insurdesk serve`'s scheduler runs at set times without cron: a registry.

The daily duties are the first job (insurdesk.ops.scheduler); the monthly reports register theirs the
same way from their app's ready(): ``@scheduled("monthly_reports", every="month", at=lambda: (1,
time(2, 30)))`` on a function of the period ("2026-11") that returns a line saying what it did. The
scheduler runs each job once per period across every server (a lease in the database), and a period
missed while no server ran is run at the next start.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

Runner = Callable[[str], str]


@dataclass(frozen=True)
class Job:
    name: str
    every: str  # "day" or "month"
    at: Callable[[], tuple[int, datetime.time]]  # (day of month, ignored daily; local time)
    run: Runner

    def due_period(self, now: datetime.datetime) -> str:
        """Return the latest period whose start time has passed at local time `now`."""
        day_of_month, at = self.at()
        if self.every == "day":
            day = now.date() if now.time() >= at else now.date() - datetime.timedelta(days=1)
            return day.isoformat()
        this_month = now.replace(day=1)
        start = datetime.datetime.combine(now.date().replace(day=min(day_of_month, 28)), at, now.tzinfo)
        month = this_month if now >= start else (this_month - datetime.timedelta(days=1)).replace(day=1)
        return f"{month.year:04d}-{month.month:02d}"


_JOBS: dict[str, Job] = {}


def scheduled(name: str, *, every: str, at: Callable[[], tuple[int, datetime.time]]):
    """Register a job run once per day or month after its time `at()` (local time)."""
    if every not in ("day", "month"):
        raise ValueError("every must be 'day' or 'month'")

    def register(func: Runner) -> Runner:
        _JOBS[name] = Job(name, every, at, func)
        return func

    return register


def jobs() -> list[Job]:
    return list(_JOBS.values())
