"""Make valid identity values for tests, demo data and benchmarks (fast enough for millions of rows)."""

import datetime
import random

from insurdesk.identity.resident_id import check_char
from insurdesk.identity.uscc import ALPHABET, org_check_char, uscc_check_char

# Codes in python-stdnum's table, so generated numbers raise no "unknown address code" warning.
KNOWN_REGIONS = (
    "110101", "110105", "110108", "120101", "310104", "310115", "320102", "330106",
    "350211", "370102", "420102", "440104", "440305", "500103", "510107", "610113",
)  # fmt: skip
# Three-digit mobile prefixes that phonenumbers 9.0 also accepts, so demo data passes both checks.
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147",
    "150", "151", "152", "153", "155", "156", "157", "158", "159", "162", "165", "166",
    "167", "170", "171", "172", "173", "175", "176", "177", "178", "180", "181", "182",
    "183", "184", "185", "186", "187", "188", "189", "190", "191", "192", "193", "195",
    "196", "197", "198", "199",
)  # fmt: skip


def make_resident_id(
    birth_date: datetime.date,
    gender: str,
    region: str = "110105",
    seq: int | None = None,
    rng=random,
) -> str:
    """Return a valid 18-character resident ID number.

    seq is the 3-digit sequence code (0–999) itself; its parity must match gender (odd = male), so
    callers that need unique numbers step it by 2. Without seq a random one of the right parity is drawn.
    """
    if gender not in ("M", "F"):
        raise ValueError(f"gender must be 'M' or 'F', not {gender!r}")
    if len(region) != 6 or not (region.isascii() and region.isdigit()):
        raise ValueError(f"region must be 6 digits, not {region!r}")
    if seq is None:
        seq = rng.randrange(500) * 2 + 1 if gender == "M" else rng.randrange(1, 500) * 2
    elif not 0 <= seq <= 999 or (seq % 2 == 1) != (gender == "M"):
        raise ValueError(f"seq must be 0–999, odd for men and even for women, not {seq!r} for {gender}")
    first17 = f"{region}{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}{seq:03d}"
    return first17 + check_char(first17)


def make_uscc(rng=random, prefix: str = "91", division: str = "110108") -> str:
    """Return a valid unified social credit code whose organisation code check also holds."""
    org8 = "".join(rng.choices(ALPHABET, k=8))
    first17 = prefix + division + org8 + org_check_char(org8)
    return first17 + uscc_check_char(first17)


def make_mobile(rng=random) -> str:
    """Return a valid 11-digit mainland mobile number."""
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"


def resident_ids(min_date: datetime.date = datetime.date(1900, 1, 1), max_date: datetime.date | None = None):
    """Return a hypothesis strategy of (number, birth_date, gender) for valid resident ID numbers."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw):
        birth_date = draw(st.dates(min_date, max_date or datetime.date.today()))
        gender = draw(st.sampled_from("MF"))
        region = draw(st.one_of(st.sampled_from(KNOWN_REGIONS), st.integers(0, 999_999).map("{:06d}".format)))
        seq = draw(st.integers(0, 499)) * 2 + (gender == "M")
        return make_resident_id(birth_date, gender, region, seq), birth_date, gender

    return strategy()


def usccs():
    """Return a hypothesis strategy of valid unified social credit codes."""
    from hypothesis import strategies as st

    chars = st.sampled_from(ALPHABET)

    @st.composite
    def strategy(draw):
        prefix = draw(chars) + draw(chars)
        division = draw(st.integers(0, 999_999).map("{:06d}".format))
        org8 = draw(st.text(ALPHABET, min_size=8, max_size=8))
        first17 = prefix + division + org8 + org_check_char(org8)
        return first17 + uscc_check_char(first17)

    return strategy()
