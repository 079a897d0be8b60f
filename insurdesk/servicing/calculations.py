"""Pure arithmetic of servicing: policy years, cash value, loan limits and interest, pro rata premiums,
surrender and reinstatement sums, survival-benefit dates. No ORM; every rule is tested without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from insurdesk.policies.calculations import add_years

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAYS_IN_YEAR = Decimal(365)
SURRENDER_PAYMENT_DAYS = 30  # 保险法 §47: the cash value is refunded within 30 days of the notice
REINSTATEMENT_YEARS = 2  # 保险法 §37


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def policy_year(effective: date, day: date) -> int:
    """Return the policy year `day` falls in (1 from the effective date to the day before its anniversary)."""
    if day < effective:
        return 0
    year = day.year - effective.year
    if add_years(effective, year) > day:
        year -= 1
    return year + 1


def completed_years(effective: date, day: date) -> int:
    return max(0, policy_year(effective, day) - 1)


def cash_value(table: Sequence, sum_insured: Decimal, effective: date, day: date) -> Decimal:
    """Return the cash value on `day`: the table's value at the end of the last completed policy year.

    Within the first year it is interpolated from 0 to the first year's value by days, as tables are
    quoted at year ends; after the table's last year its last value holds.
    """
    if not table or day < effective:
        return ZERO
    units = Decimal(sum_insured) / 1000
    done = completed_years(effective, day)
    start = add_years(effective, done)
    end = add_years(effective, done + 1)
    low = Decimal(str(table[done - 1])) if done >= 1 and done - 1 < len(table) else ZERO
    if done >= len(table):
        return money(Decimal(str(table[-1])) * units)
    high = Decimal(str(table[done]))
    fraction = Decimal((day - start).days) / Decimal((end - start).days)
    return money((low + (high - low) * fraction) * units)


def loan_limit(cash: Decimal, share_percent: Decimal, outstanding: Decimal = ZERO) -> Decimal:
    """Return how much more may be lent: the product's share of the cash value less what is owed."""
    cap = money(Decimal(cash) * Decimal(share_percent) / 100)
    return max(ZERO, cap - Decimal(outstanding))


def daily_interest(principal: Decimal, rate_percent: Decimal, days: int) -> Decimal:
    """Return simple interest for `days` at a yearly rate, unrounded (the loan keeps the fractions)."""
    if days <= 0:
        return Decimal(0)
    return Decimal(principal) * Decimal(rate_percent) / 100 * days / DAYS_IN_YEAR


def pro_rata(annual_amount: Decimal, day: date, period_start: date, period_end: date) -> Decimal:
    """Return the share of a yearly amount for the days from `day` to the period's end, both included."""
    total = (period_end - period_start).days + 1
    if total <= 0 or day > period_end:
        return ZERO
    remaining = (period_end - max(day, period_start)).days + 1
    return money(Decimal(annual_amount) * remaining / total)


def surrender_value(
    *,
    in_cooling_off: bool,
    premium_received: Decimal,
    cash: Decimal,
    loan_balance: Decimal = ZERO,
) -> Decimal:
    """Return what a surrender pays: the premium received inside the cooling-off, else the cash value;
    less any policy loan and its interest; never more than the premium received nor less than zero."""
    base = Decimal(premium_received) if in_cooling_off else min(Decimal(cash), Decimal(premium_received))
    return max(ZERO, money(base - Decimal(loan_balance)))


def arrears_interest(owed: Sequence[tuple[Decimal, date]], rate_percent: Decimal, day: date) -> Decimal:
    """Return the interest on each unpaid premium from its due date to `day` (复效补交利息)."""
    total = sum((daily_interest(amount, rate_percent, (day - due).days) for amount, due in owed), Decimal(0))
    return money(total)


def reinstatement_deadline(lapsed_on: date) -> date:
    return add_years(lapsed_on, REINSTATEMENT_YEARS)


def survival_dates(effective: date, interval_years: int, until: date, expiry: date | None) -> list[date]:
    """Return the anniversaries a survival benefit falls due on, up to `until` (and before expiry)."""
    if interval_years <= 0:
        return []
    out, k = [], 1
    while True:
        due = add_years(effective, k * interval_years)
        if due > until or (expiry is not None and due > expiry):
            return out
        out.append(due)
        k += 1


def benefit(per_thousand: Decimal, sum_insured: Decimal) -> Decimal:
    return money(Decimal(per_thousand) * Decimal(sum_insured) / 1000)


def refund_due(day: date) -> date:
    return day + timedelta(days=SURRENDER_PAYMENT_DAYS)


def upper_amount(value: Decimal) -> str:
    """Return an amount in Chinese capitals (人民币壹万贰仟元整) for printed endorsements."""
    value = money(value)
    sign = "负" if value < 0 else ""
    value = abs(value)
    yuan, cents = int(value), int((value - int(value)) * 100)
    words = ""
    if yuan:
        groups = []
        while yuan:
            groups.append(yuan % 10000)
            yuan //= 10000
        need_zero = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                need_zero = bool(words)
                continue
            if words and (need_zero or group < 1000):
                words += "零"
            words += _four(group) + _BIG[index]
            need_zero = False
        words += "元"
    jiao, fen = divmod(cents, 10)
    if not jiao and not fen:
        return f"{sign}人民币{words or '零元'}整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif words:
        words += "零"
    if fen:
        words += _DIGITS[fen] + "分"
    return f"{sign}人民币{words}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL = ("仟", "佰", "拾", "")
_BIG = ("", "万", "亿", "万亿")


def _four(group: int) -> str:
    out, zero = "", False
    for unit, d in zip(_SMALL, f"{group:04d}", strict=True):
        if d == "0":
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[int(d)] + unit
    return out
