"""Pure arithmetic on product terms: parse term codes, label them, count years and instalments.

Coverage terms: "30d", "6m", "1y", "20y", "to70" (to the insured's 70th birthday), "life" (终身).
Payment terms: "single" (趸交), "10y", "to60".
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

TERM_RE = re.compile(
    r"^(?:(?P<n>[1-9]\d{0,2})(?P<unit>[dmy])|to(?P<age>[1-9]\d{0,2})|(?P<life>life)|(?P<single>single))$"
)
WHOLE_LIFE_AGE = 105  # the age a whole-life term counts to, for year arithmetic
INSTALMENTS_PER_YEAR = {"single": 1, "annual": 1, "semiannual": 2, "quarterly": 4, "monthly": 12}
MONTHS_PER_INSTALMENT = {"annual": 12, "semiannual": 6, "quarterly": 3, "monthly": 1}


@dataclass(frozen=True)
class Term:
    kind: str  # "d", "m", "y", "to", "life", "single"
    n: int = 0

    @property
    def label(self) -> str:
        return {
            "d": f"{self.n}天",
            "m": f"{self.n}个月",
            "y": f"{self.n}年",
            "to": f"至{self.n}周岁",
            "life": "终身",
            "single": "趸交",
        }[self.kind]


def parse_term(code: str) -> Term | None:
    """Return the term a code names, or None when the code is not one."""
    m = TERM_RE.match((code or "").strip())
    if m is None:
        return None
    if m["unit"]:
        return Term(m["unit"], int(m["n"]))
    if m["age"]:
        return Term("to", int(m["age"]))
    return Term("life") if m["life"] else Term("single")


def term_label(code: str) -> str:
    term = parse_term(code)
    return term.label if term else code


def is_coverage_term(code: str) -> bool:
    term = parse_term(code)
    return term is not None and term.kind != "single"


def is_payment_term(code: str) -> bool:
    term = parse_term(code)
    return term is not None and term.kind in ("single", "y", "to")


def add_months(d: date, months: int) -> date:
    """Return the same day `months` later, the month's last day when it has no such day."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError(d)


def add_years(d: date, years: int) -> date:
    return add_months(d, 12 * years)


def coverage_end(code: str, *, start: date, birth_date: date | None) -> date | None:
    """Return the last day of cover for a term starting on `start` (None for whole life)."""
    term = parse_term(code)
    if term is None or term.kind in ("single", "life"):
        return None
    if term.kind == "d":
        return start + timedelta(days=term.n - 1)
    if term.kind == "m":
        return add_months(start, term.n) - timedelta(days=1)
    if term.kind == "y":
        return add_years(start, term.n) - timedelta(days=1)
    if birth_date is None:
        return None
    return add_years(birth_date, term.n) - timedelta(days=1)


def term_years(code: str, *, age: int | None) -> Decimal | None:
    """Return the length of a term in years (fractions for days and months); None when unknown."""
    term = parse_term(code)
    if term is None:
        return None
    if term.kind == "single":
        return Decimal(0)
    if term.kind == "d":
        return Decimal(term.n) / Decimal(365)
    if term.kind == "m":
        return Decimal(term.n) / Decimal(12)
    if term.kind == "y":
        return Decimal(term.n)
    if age is None:
        return None
    target = WHOLE_LIFE_AGE if term.kind == "life" else term.n
    return Decimal(max(target - age, 0))


def over_one_year(code: str, *, age: int | None) -> bool:
    """Tell whether a coverage term is longer than one year (to-age and whole-life terms are)."""
    term = parse_term(code)
    if term is None:
        return False
    if term.kind in ("to", "life"):
        years = term_years(code, age=age)
        return years is None or years > 1
    years = term_years(code, age=age)
    return years is not None and years > 1


def payment_years(code: str, *, age: int | None) -> int | None:
    """Return how many years premiums are paid for a payment term (0 for single premium)."""
    term = parse_term(code)
    if term is None or term.kind not in ("single", "y", "to"):
        return None
    if term.kind == "single":
        return 0
    if term.kind == "y":
        return term.n
    return None if age is None else max(term.n - age, 0)


def instalment_count(mode: str, term: str, *, age: int | None) -> int | None:
    """Return the number of premium instalments for a payment mode and term (1 for single premium)."""
    if mode == "single":
        return 1
    years = payment_years(term, age=age)
    if years is None or mode not in INSTALMENTS_PER_YEAR:
        return None
    return max(years, 1) * INSTALMENTS_PER_YEAR[mode]


def instalment_due_dates(mode: str, term: str, *, start: date, age: int | None) -> list[date]:
    """Return the due date of each instalment, the first on `start`."""
    count = instalment_count(mode, term, age=age)
    if count is None:
        return []
    if mode == "single":
        return [start]
    step = MONTHS_PER_INSTALMENT[mode]
    return [add_months(start, i * step) for i in range(count)]
