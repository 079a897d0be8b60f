"""Pure rules and arithmetic of an application: totals, shares, insurable interest, minors, recording.

No ORM here: callers pass plain values, so underwriting, issuing and the tests use the same rules.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from insurdesk.products.calculations import over_one_year

CENT = Decimal("0.01")
HUNDRED = Decimal("100")

# 保险法 §31: relations that carry an insurable interest without the insured's consent.
INTEREST_RELATIONSHIPS = frozenset({"self", "spouse", "child", "parent", "employer"})

# 保险法 §33: death benefit caps for minors (the regulator's figures; totals across insurers).
MINOR_DEATH_CAPS: tuple[tuple[int, Decimal], ...] = ((10, Decimal("200000")), (18, Decimal("500000")))
ADULT_AGE = 18
# Under 8 a person has no civil capacity (民法典 §20): only a parent may buy death cover on them.
NO_CAPACITY_AGE = 8

# 保监发〔2017〕54号: which sales need an audio-video recording. The regulation covers personal
# insurance (人身保险); the age rule and the channel rule apply to terms over one year.
RECORDING_LINES = frozenset({"life", "health", "accident"})
RECORDING_CHANNELS = frozenset({"bank", "part_time"})
RECORDING_AGE = 60
RECORDING_REASON_LABELS = {
    "channel": "通过银行或其他兼业代理机构销售保险期间超过一年的人身保险",
    "senior": "投保人60周岁（含）以上且保险期间超过一年",
    "unit_linked": "投资连结保险",
}


def money(value) -> Decimal:
    """Return an amount as a Decimal to the cent; refuse floats, whose binary value is not the amount."""
    if isinstance(value, float):
        raise TypeError("amounts are Decimal or text, never float")
    try:
        d = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, AttributeError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def premium_total(premiums: Iterable) -> Decimal:
    """Return the sum of the line premiums, to the cent."""
    return sum((money(p) for p in premiums), Decimal("0.00"))


def total_matches(total, premiums: Iterable) -> bool:
    """Tell whether a keyed total equals the sum of its lines to the cent."""
    return money(total) == premium_total(premiums)


def share_problems(beneficiaries: Iterable[tuple[int, object]]) -> list[tuple[int, Decimal]]:
    """Return (order, total) for every order whose shares do not total exactly 100%."""
    totals: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for order, share in beneficiaries:
        totals[order] += money(share)
    return [(order, total) for order, total in sorted(totals.items()) if total != HUNDRED]


def age_on(birth_date: date | None, on: date) -> int | None:
    """Return the age in whole years on a day (周岁)."""
    if birth_date is None:
        return None
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def has_insurable_interest(relationship: str, *, consent: bool) -> bool:
    """保险法 §31: self, spouse, children, parents, employees — or anyone who consents."""
    return relationship in INTEREST_RELATIONSHIPS or consent


def death_consent_needed(relationship: str, *, insured_age: int | None) -> bool:
    """保险法 §34: death cover needs the insured's consent, unless self or a parent covering a minor."""
    if relationship == "self":
        return False
    return not (relationship == "child" and insured_age is not None and insured_age < ADULT_AGE)


def minor_death_cap(age: int | None) -> Decimal | None:
    """保险法 §33: the cap on a minor's total death benefit (None for adults or unknown age)."""
    if age is None:
        return None
    for below, cap in MINOR_DEATH_CAPS:
        if age < below:
            return cap
    return None


def minor_death_problem(*, age: int | None, relationship: str, death_sum: Decimal) -> str | None:
    """Return why death cover on a minor breaks 保险法 §33, or None when it does not.

    `death_sum` is the insured's total death benefit, this application's and existing policies'.
    """
    if age is None or age >= ADULT_AGE:
        return None
    if age < NO_CAPACITY_AGE and relationship != "child":
        return "无民事行为能力人的身故保险只能由其父母投保"
    cap = minor_death_cap(age)
    if cap is not None and money(death_sum) > cap:
        return f"未成年人身故保险金总额不得超过 {cap:,.0f} 元（{age} 周岁）"
    return None


@dataclass(frozen=True)
class RecordingFacts:
    """What the recording rule looks at: per line (line, coverage term, unit-linked), channel, age."""

    lines: tuple[tuple[str, str, bool], ...]
    business_source: str
    agency_kind: str
    policyholder_age: int | None
    insured_age: int | None


def recording_reasons(facts: RecordingFacts, *, senior_age: int = RECORDING_AGE) -> list[str]:
    """Return why a sale needs an audio-video recording (双录), empty when it does not."""
    long_personal = any(
        line in RECORDING_LINES and over_one_year(term, age=facts.insured_age)
        for line, term, _ in facts.lines
    )
    reasons = []
    if long_personal and facts.business_source == "intermediary" and facts.agency_kind in RECORDING_CHANNELS:
        reasons.append("channel")
    if long_personal and facts.policyholder_age is not None and facts.policyholder_age >= senior_age:
        reasons.append("senior")
    if any(unit_linked for _, _, unit_linked in facts.lines):
        reasons.append("unit_linked")
    return reasons


@dataclass(frozen=True)
class ProductLimits:
    code: str
    min_age: int
    max_age: int
    min_sum: Decimal | None
    max_sum: Decimal | None
    occupation_classes: tuple[int, ...] = ()


def limit_problems(
    limits: ProductLimits, *, age: int | None, sum_insured: Decimal, occupation_class: int | None
) -> list[tuple[str, str]]:
    """Return (code, message) for each product limit the line is outside: age, sum, occupation class."""
    out = []
    if age is not None and not limits.min_age <= age <= limits.max_age:
        out.append(
            (
                "age",
                f"{limits.code}：被保险人 {age} 周岁，不在投保年龄 {limits.min_age}–{limits.max_age} 周岁内",
            )
        )
    amount = money(sum_insured)
    if limits.min_sum is not None and amount < limits.min_sum:
        out.append(("sum_insured", f"{limits.code}：保额 {amount} 元低于最低保额 {limits.min_sum} 元"))
    if limits.max_sum is not None and amount > limits.max_sum:
        out.append(("sum_insured", f"{limits.code}：保额 {amount} 元高于最高保额 {limits.max_sum} 元"))
    if (
        limits.occupation_classes
        and occupation_class is not None
        and occupation_class not in limits.occupation_classes
    ):
        classes = "、".join(str(c) for c in limits.occupation_classes)
        out.append(
            ("occupation_class", f"{limits.code}：职业类别 {occupation_class} 不在可承保类别（{classes}）内")
        )
    return out


def mismatch_rate(errors: int, fields: int) -> Decimal | None:
    """Return a clerk's mismatch rate in percent to two places (None when nothing was keyed)."""
    if fields <= 0:
        return None
    return (Decimal(errors) * HUNDRED / Decimal(fields)).quantize(CENT, rounding=ROUND_HALF_UP)
