"""Pure arithmetic of compliance: risk level order, review due dates, working days, safe spreadsheet cells."""

from collections.abc import Iterable
from datetime import date, timedelta

LEVELS = ("low", "medium", "high")
LEVEL_LABELS = {"low": "低", "medium": "中", "high": "高"}


def level_rank(level: str) -> int:
    return LEVELS.index(level)


def max_level(*levels: str) -> str:
    return max(levels, key=level_rank)


def add_years(day: date, years: int) -> date:
    """Return the same calendar day `years` later (29 Feb → 28 Feb in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def next_review_on(base: date, level: str, intervals: dict[str, int]) -> date:
    """Return when the next periodic review is due: `intervals[level]` years after `base`."""
    return add_years(base, intervals[level])


def add_working_days(
    start: date, days: int, *, holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()
) -> date:
    """Return the day `days` working days after `start` (start itself not counted).

    Saturdays, Sundays and `holidays` are not working days; `extra_workdays` are weekend days
    worked in exchange for a holiday (调休).
    """
    off, on = set(holidays), set(extra_workdays)
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if day in on or (day.weekday() < 5 and day not in off):
            left -= 1
    return day


def safe_cell(value) -> str:
    """Return the value as spreadsheet text that no spreadsheet evaluates (CSV/formula injection).

    The one rule of insurdesk.common.exports: a cell starting with = + - @, a tab, CR or LF, or the
    full-width forms Chinese input methods type, gets a leading apostrophe.
    """
    from insurdesk.common.exports import safe_cell as neutralise

    return neutralise("" if value is None else str(value))
