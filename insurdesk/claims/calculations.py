"""Pure arithmetic of claims: cover at the event, grace-period arrears, the benefit, payees, clocks.

No ORM here: every function takes plain values, so the rules are tested without a database.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def add_years(day: date, years: int) -> date:
    """Return the same day `years` later (29 Feb → 28 Feb in a common year)."""
    year = day.year + years
    return date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


@dataclass(frozen=True)
class Cover:
    """What a policy says about its cover, as plain values."""

    state: str
    effective_date: date
    expiry_date: date | None
    lapsed_on: date | None = None
    reinstated_on: date | None = None
    terminated_on: date | None = None


def cover_refusal(cover: Cover, event: date) -> tuple[str, str] | None:
    """Return (code, message) when the policy did not cover on the event's day, else None.

    Before the effective date, after the expiry or termination, or while lapsed (效力中止, 保险法 §36)
    there is no cover. A policy cancelled in its cooling-off period never covered.
    """
    if cover.state == "cancelled":
        return "cancelled", "保单已于犹豫期内撤单，自始不承担保险责任"
    if event < cover.effective_date:
        return (
            "before_effective",
            f"出险日期 {event:%Y-%m-%d} 早于保单生效日期 {cover.effective_date:%Y-%m-%d}，不在保险期间内",
        )
    if cover.expiry_date is not None and event > cover.expiry_date:
        return (
            "after_expiry",
            f"出险日期 {event:%Y-%m-%d} 晚于保单满期日期 {cover.expiry_date:%Y-%m-%d}，不在保险期间内",
        )
    if cover.terminated_on is not None and event > cover.terminated_on:
        return (
            "after_termination",
            f"保单已于 {cover.terminated_on:%Y-%m-%d} 终止，出险日期 {event:%Y-%m-%d} 在终止之后",
        )
    if lapsed_at(cover, event):
        return (
            "lapsed",
            f"出险时保单效力中止（自 {cover.lapsed_on:%Y-%m-%d} 起），不承担保险责任（保险法第三十六条）",
        )
    return None


def lapsed_at(cover: Cover, event: date) -> bool:
    """Tell whether the policy was lapsed on the day: from its lapse until a later reinstatement."""
    if cover.lapsed_on is None or event < cover.lapsed_on:
        return False
    reinstated_after = cover.reinstated_on is not None and cover.reinstated_on > cover.lapsed_on
    return not (reinstated_after and event >= cover.reinstated_on)


def premium_owed(instalments: list[tuple[date, Decimal]], grace_days: int, event: date) -> Decimal:
    """Return the premium owed on the event's day for instalments (due date, amount outstanding) whose
    grace period the event falls in; a claim then is paid less this amount (保险法 §36)."""
    owed = Decimal("0")
    for due, outstanding in instalments:
        if due <= event <= due + timedelta(days=grace_days) and outstanding > 0:
            owed += outstanding
    return owed.quantize(CENT)


def in_waiting_period(start: date, reinstated_on: date | None, waiting_days: int, event: date) -> bool:
    """Tell whether an illness event falls in the waiting period from the start (or a reinstatement)."""
    if waiting_days <= 0:
        return False
    starts = [start] + ([reinstated_on] if reinstated_on else [])
    return any(s <= event < s + timedelta(days=waiting_days) for s in starts)


def suicide_excluded(start: date, reinstated_on: date | None, event: date, years: int = 2) -> bool:
    """保险法 §44: suicide within `years` of the start or a reinstatement pays no death benefit."""
    starts = [start] + ([reinstated_on] if reinstated_on else [])
    return any(s <= event < add_years(s, years) for s in starts)


def benefit(
    *, covered: Decimal, deductible: Decimal, ratio: Decimal, remaining: Decimal, owed: Decimal
) -> Decimal:
    """Return the amount payable: (covered − deductible) × ratio, at most the remaining sum insured,
    less the premium owed in the grace period; never below nothing."""
    base = max(covered - deductible, Decimal("0")) * ratio / Decimal("100")
    capped = min(base, max(remaining, Decimal("0")))
    return max(capped - owed, Decimal("0")).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Beneficiary:
    name: str
    order: int
    share: Decimal | None
    relation: str = ""
    valid: bool = True


@dataclass(frozen=True)
class Payee:
    name: str
    role: str
    share: Decimal
    amount: Decimal


ESTATE = "被保险人的法定继承人（遗产）"


def death_payees(beneficiaries: list[Beneficiary], amount: Decimal, *, legal: bool = False) -> list[Payee]:
    """Split a death benefit among the first order of valid beneficiaries by share (unspecified shares
    equal); no valid beneficiary, or a legal designation, makes it the insured's estate (保险法 §42)."""
    valid = [b for b in beneficiaries if b.valid]
    if legal or not valid:
        return [Payee(ESTATE, "法定继承", Decimal("100"), amount)]
    first = min(b.order for b in valid)
    group = [b for b in valid if b.order == first]
    shares = [b.share for b in group]
    if any(s is None or s <= 0 for s in shares):
        shares = [Decimal("100") / len(group)] * len(group)
    total = sum(shares)
    out, paid = [], Decimal("0")
    for i, (b, s) in enumerate(zip(group, shares, strict=True)):
        if i == len(group) - 1:
            part = amount - paid
        else:
            part = (amount * s / total).quantize(CENT, rounding=ROUND_HALF_UP)
        paid += part
        label = f"第{first}顺序受益人" + (f"（{b.relation}）" if b.relation else "")
        out.append(Payee(b.name, label, (s * 100 / total).quantize(CENT), part))
    return [p for p in out if p.amount > 0]


@dataclass(frozen=True)
class Clock:
    kind: str  # decision, advance, payment, refusal_notice
    due: date


CLOCK_LABELS = {
    "decision": "作出核定（资料齐全后30日）",
    "advance": "先予支付（60日内未能确定金额）",
    "payment": "支付赔款（达成协议后10日）",
    "refusal_notice": "送达拒赔通知书（3日）",
}


def clocks(
    *,
    state: str,
    clock_from: date | None,
    agreed_on: date | None,
    decided_on: date | None,
    notice_sent: bool,
    advance_paid: bool,
    days: dict[str, int],
) -> list[Clock]:
    """Return the claim's running deadlines (保险法 §§23–25), earliest first."""
    out: list[Clock] = []
    if state in ("reviewing", "pending_approval") and clock_from is not None:
        out.append(Clock("decision", clock_from + timedelta(days=days["decision"])))
        if not advance_paid:
            out.append(Clock("advance", clock_from + timedelta(days=days["advance"])))
    elif state == "approved" and agreed_on is not None:
        out.append(Clock("payment", agreed_on + timedelta(days=days["payment"])))
    elif state == "rejected" and decided_on is not None and not notice_sent:
        out.append(Clock("refusal_notice", decided_on + timedelta(days=days["refusal_notice"])))
    return sorted(out, key=lambda c: c.due)


def limitation_end(event: date, years: int) -> date:
    """保险法 §26: the claim's limitation ends `years` after the event became known."""
    return add_years(event, years)


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]
_GROUPS = ["", "万", "亿", "万亿"]


def rmb_capital(amount: Decimal) -> str:
    """Return an amount in Chinese capitals: 12000 → 人民币壹万贰仟元整; 0.5 → 人民币伍角整."""
    amount = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount < 0:
        return "负" + rmb_capital(-amount)
    yuan, cents = divmod(int(amount * 100), 100)
    jiao, fen = divmod(cents, 10)
    text = ""
    if yuan:
        groups = []
        n = yuan
        while n:
            groups.append(n % 10000)
            n //= 10000
        parts = []
        zero_pending = False
        for gi in range(len(groups) - 1, -1, -1):
            g = groups[gi]
            if g == 0:
                zero_pending = True
                continue
            digits = f"{g:04d}"
            chunk = ""
            lead = True
            for pos, ch in enumerate(digits):
                d = int(ch)
                unit = _UNITS[3 - pos]
                if d == 0:
                    if not lead or parts:
                        zero_pending = True
                    continue
                if zero_pending and (parts or chunk):
                    chunk += "零"
                zero_pending = False
                lead = False
                chunk += _DIGITS[d] + unit
            parts.append(chunk + _GROUPS[gi])
        text = "".join(parts) + "元"
    if jiao == 0 and fen == 0:
        return "人民币" + (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    else:
        text += "整"
    return "人民币" + text
