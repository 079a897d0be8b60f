"""Pure arithmetic of policies and premiums: schedules, due dates, grace and lapse, cooling-off refunds.

No ORM here: every function takes plain values, so the rules are tested (and reused by the bench)
without a database.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")

# Payment modes (缴费方式) and how many instalments a year each has; "single" (趸交) is paid once.
SINGLE = "single"
INSTALMENTS_PER_YEAR: dict[str, int] = {"annual": 1, "semiannual": 2, "quarterly": 4, "monthly": 12}
PAYMENT_MODES: tuple[str, ...] = (SINGLE, *INSTALMENTS_PER_YEAR)
MODE_LABELS = {
    "single": "趸交",
    "annual": "年交",
    "semiannual": "半年交",
    "quarterly": "季交",
    "monthly": "月交",
}

# 保险法 §36: the contract is suspended when a premium is unpaid more than 60 days after its due date.
STATUTORY_GRACE_DAYS = 60
# 保险法 §37: after 2 years without a reinstatement agreement the insurer may terminate.
REINSTATEMENT_YEARS = 2


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    """Return the same day `years` later; 29 February becomes 28 February in a common year."""
    return add_months(day, 12 * years)


def months_between_instalments(mode: str) -> int:
    if mode == SINGLE:
        return 0
    try:
        return 12 // INSTALMENTS_PER_YEAR[mode]
    except KeyError:
        raise ValueError(f"unknown payment mode {mode!r}") from None


def instalment_count(mode: str, payment_years: int) -> int:
    """Return how many premiums the policy asks for: one for 趸交, years × per-year otherwise."""
    if mode == SINGLE:
        return 1
    if payment_years < 1:
        raise ValueError("payment_years must be at least 1")
    return payment_years * INSTALMENTS_PER_YEAR[mode]


def split_amount(total: Decimal, parts: int) -> list[Decimal]:
    """Split an amount into `parts` cent amounts adding up to it exactly; the first parts take odd cents."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    total = Decimal(total).quantize(CENT)
    cents = int(total * 100)
    base, extra = divmod(cents, parts)
    return [(Decimal(base + (1 if i < extra else 0)) / 100).quantize(CENT) for i in range(parts)]


@dataclass(frozen=True)
class Instalment:
    """One premium of the schedule: its number (1-based), due date, the period it pays for, the amount."""

    seq: int
    due_date: date
    period_start: date
    period_end: date
    amount: Decimal


def instalment_amount(annual_premium: Decimal, mode: str, seq: int) -> Decimal:
    """Return the amount of instalment `seq` (1-based); each policy year adds up to the annual premium."""
    if mode == SINGLE:
        return Decimal(annual_premium).quantize(CENT)
    per_year = INSTALMENTS_PER_YEAR[mode]
    return split_amount(annual_premium, per_year)[(seq - 1) % per_year]


def instalment_at(
    *, mode: str, annual_premium: Decimal, effective: date, seq: int, coverage_end: date | None = None
) -> Instalment:
    """Return instalment `seq` (1-based) of a schedule without building the rest of it.

    Due dates are counted from the effective date each time (never from the previous due date),
    so the 31st stays the 31st wherever a month allows it. A single premium covers the whole term.
    """
    if seq < 1:
        raise ValueError("seq starts at 1")
    step = months_between_instalments(mode)
    if mode == SINGLE:
        if seq != 1:
            raise ValueError("a single premium has one instalment")
        end = coverage_end or add_years(effective, 1) - timedelta(days=1)
        return Instalment(1, effective, effective, end, Decimal(annual_premium).quantize(CENT))
    due = add_months(effective, (seq - 1) * step)
    period_end = add_months(effective, seq * step) - timedelta(days=1)
    return Instalment(seq, due, due, period_end, instalment_amount(annual_premium, mode, seq))


def premium_schedule(
    *,
    mode: str,
    annual_premium: Decimal,
    payment_years: int,
    effective: date,
    coverage_end: date | None = None,
) -> list[Instalment]:
    """Return every premium of the policy, first due on the effective date.

    `annual_premium` is the premium of one policy year (for 趸交, the single premium); the instalments
    of each year add up to it exactly, so the schedule adds up to annual premium × payment years.
    """
    if mode not in PAYMENT_MODES:
        raise ValueError(f"unknown payment mode {mode!r}")
    if Decimal(annual_premium) < 0:
        raise ValueError("a premium is never negative")
    n = instalment_count(mode, payment_years)
    return [
        instalment_at(
            mode=mode, annual_premium=annual_premium, effective=effective, seq=i, coverage_end=coverage_end
        )
        for i in range(1, n + 1)
    ]


def expiry_date(effective: date, coverage_years: int) -> date:
    """Return the last day of cover: the day before the anniversary `coverage_years` on (24:00 that day)."""
    if coverage_years < 1:
        raise ValueError("coverage_years must be at least 1")
    return add_years(effective, coverage_years) - timedelta(days=1)


def expiry_at_age(effective: date, birth_date: date, age: int) -> date:
    """Return the last day of cover "to age N" (保至 N 周岁): the eve of the first anniversary after it."""
    birthday = add_years(birth_date, age)
    years = birthday.year - effective.year
    if (birthday.month, birthday.day) > (effective.month, effective.day):
        years += 1
    return expiry_date(effective, max(1, years))


# --- grace, overdue and lapse (保险法 §36) ---


def grace_end(due: date, grace_days: int = STATUTORY_GRACE_DAYS) -> date:
    """Return the last day of the grace period (宽限期) of a premium due on `due`."""
    if grace_days < 0:
        raise ValueError("grace_days is never negative")
    return due + timedelta(days=grace_days)


def lapse_date(due: date, grace_days: int = STATUTORY_GRACE_DAYS) -> date:
    """Return the day the contract is suspended (效力中止) if the premium due on `due` stays unpaid."""
    return grace_end(due, grace_days) + timedelta(days=1)


def is_overdue(due: date, today: date) -> bool:
    return today > due


def should_lapse(due: date, today: date, grace_days: int = STATUTORY_GRACE_DAYS) -> bool:
    """Tell whether an unpaid premium due on `due` has outrun its grace period by `today`."""
    return today >= lapse_date(due, grace_days)


def reinstatement_deadline(lapsed_on: date) -> date:
    """Return the last day a lapsed policy may be reinstated by agreement (保险法 §37: two years)."""
    return add_years(lapsed_on, REINSTATEMENT_YEARS)


# Instalment status (已缴/未缴/逾期/部分)
PAID, UNPAID, OVERDUE, PARTIAL = "paid", "unpaid", "overdue", "partial"


def instalment_status(*, amount: Decimal, paid: Decimal, due: date, today: date) -> str:
    """Return the status of a premium from what it asks, what was paid and the day."""
    if paid >= amount:
        return PAID
    if paid > 0:
        return PARTIAL
    return OVERDUE if is_overdue(due, today) else UNPAID


# --- cooling-off (犹豫期) ---


def cooling_off_end(receipt: date, days: int) -> date:
    """Return the last day of the cooling-off period counted from the policy receipt (回执签收)."""
    if days < 0:
        raise ValueError("cooling-off days are never negative")
    return receipt + timedelta(days=days)


def within_cooling_off(receipt: date, days: int, today: date) -> bool:
    return days > 0 and receipt <= today <= cooling_off_end(receipt, days)


def cooling_off_refund(premium_paid: Decimal, fee: Decimal = Decimal("0")) -> Decimal:
    """Return what a cooling-off cancellation pays back: the premium paid, less a fee (工本费) if any."""
    refund = Decimal(premium_paid) - Decimal(fee)
    return max(Decimal("0.00"), refund).quantize(CENT, rounding=ROUND_DOWN)


# --- group policies (团险) ---


def group_application_date(effective: date) -> date:
    """Return the application date a group policy must carry: the day before it takes effect."""
    return effective - timedelta(days=1)
