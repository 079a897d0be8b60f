"""AML risk rating (反洗钱风险评级) from declared rules: plain Python, no ORM.

Each rule looks at the customer's facts and, when it applies, adds points and may set a floor (a
level the customer cannot be rated below, e.g. a politically exposed person is at least high).
The level is the higher of the score band and every floor, so adding a risk factor never lowers
it. Thresholds come from settings (environment); the thresholds the trade uses are [R] in
FACTS.md and are therefore all configurable.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from insurdesk.compliance.calculations import LEVEL_LABELS, level_rank, max_level

# Occupations and industries treated as high risk (cash-intensive or value-storing trades), as
# (keyword, category). Matched as substrings of occupation/employer or industry/business scope.
HIGH_RISK_TRADES: tuple[tuple[str, str], ...] = (
    ("珠宝", "贵金属珠宝"), ("黄金", "贵金属珠宝"), ("贵金属", "贵金属珠宝"),
    ("典当", "典当"),
    ("娱乐", "娱乐场所"), ("夜总会", "娱乐场所"), ("KTV", "娱乐场所"), ("酒吧", "娱乐场所"),
    ("彩票", "彩票博彩"), ("博彩", "彩票博彩"),
    ("外汇", "外汇与货币兑换"), ("货币兑换", "外汇与货币兑换"),
    ("虚拟货币", "虚拟货币"), ("加密货币", "虚拟货币"), ("数字货币", "虚拟货币"),
    ("拍卖", "拍卖与古玩"), ("古董", "拍卖与古玩"), ("文物", "拍卖与古玩"), ("艺术品", "拍卖与古玩"),
    ("小额贷款", "非正规融资"), ("民间借贷", "非正规融资"),
    ("个体经营", "现金密集型个体经营"), ("现金密集", "现金密集型个体经营"),
)  # fmt: skip

# FATF "call for action" jurisdictions (ISO 3166 alpha-3) [R]: extend with INSURDESK_AML_HIGH_RISK_COUNTRIES.
DEFAULT_HIGH_RISK_COUNTRIES = ("PRK", "IRN", "MMR")
# Border prefectures by address-code prefix (GB/T 2260) [R]: Yunnan 德宏 5331, 西双版纳 5328, 临沧 5309,
# 普洱 5308, 保山 5305, 怒江 5333, 红河 5325, 文山 5326; Guangxi 防城港 4506, 崇左 4514, 百色 4510.
DEFAULT_BORDER_REGIONS = (
    "5331",
    "5328",
    "5309",
    "5308",
    "5305",
    "5333",
    "5325",
    "5326",
    "4506",
    "4514",
    "4510",
)
DEFAULT_REVIEW_YEARS = {"high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class Thresholds:
    cash_premium: Decimal = Decimal("20000")
    large_transfer: Decimal = Decimal("200000")
    surrender: Decimal = Decimal("10000")
    early_surrender_years: int = 2
    beneficiary_changes: int = 3
    lookback_days: int = 365
    medium_score: int = 25
    high_score: int = 60
    high_risk_countries: tuple[str, ...] = DEFAULT_HIGH_RISK_COUNTRIES
    border_regions: tuple[str, ...] = DEFAULT_BORDER_REGIONS
    extra_trades: tuple[str, ...] = ()
    review_years: dict = field(default_factory=lambda: dict(DEFAULT_REVIEW_YEARS))

    @classmethod
    def from_settings(cls) -> "Thresholds":
        from django.conf import settings

        def get(name, default):
            return getattr(settings, name, default)

        d = cls()
        return cls(
            cash_premium=Decimal(str(get("INSURDESK_AML_CASH_THRESHOLD", d.cash_premium))),
            large_transfer=Decimal(str(get("INSURDESK_AML_TRANSFER_THRESHOLD", d.large_transfer))),
            surrender=Decimal(str(get("INSURDESK_AML_SURRENDER_THRESHOLD", d.surrender))),
            early_surrender_years=int(get("INSURDESK_AML_EARLY_SURRENDER_YEARS", d.early_surrender_years)),
            beneficiary_changes=int(get("INSURDESK_AML_BENEFICIARY_CHANGES", d.beneficiary_changes)),
            lookback_days=int(get("INSURDESK_AML_LOOKBACK_DAYS", d.lookback_days)),
            medium_score=int(get("INSURDESK_AML_MEDIUM_SCORE", d.medium_score)),
            high_score=int(get("INSURDESK_AML_HIGH_SCORE", d.high_score)),
            high_risk_countries=tuple(get("INSURDESK_AML_HIGH_RISK_COUNTRIES", d.high_risk_countries)),
            border_regions=tuple(get("INSURDESK_AML_BORDER_REGIONS", d.border_regions)),
            extra_trades=tuple(get("INSURDESK_AML_EXTRA_TRADES", ())),
            review_years={**d.review_years, **dict(get("INSURDESK_AML_REVIEW_YEARS", {}))},
        )


@dataclass(frozen=True)
class Movement:
    """A premium payment or transfer: amount, day, and the business reference it came from."""

    amount: Decimal
    on: date | None = None
    reference: str = ""


@dataclass(frozen=True)
class Surrender:
    """A surrender (退保): the amount paid out (when known) and how many years the policy had run."""

    amount: Decimal | None = None
    policy_years: float | None = None
    on: date | None = None
    reference: str = ""
    early: bool = False  # judged early by the system that raised it, when the policy years are not known


@dataclass
class TransactionFacts:
    """What the transaction systems know about a customer in the look-back window (providers.py)."""

    cash_premiums: list[Movement] = field(default_factory=list)
    transfers: list[Movement] = field(default_factory=list)
    surrenders: list[Surrender] = field(default_factory=list)
    beneficiary_changes: list[date] = field(default_factory=list)
    flagged_frequent_changes: int = 0  # flags raised by servicing for frequent beneficiary changes
    reported_flags: int = 0

    def merge(self, other: "TransactionFacts") -> None:
        """Add another provider's facts; one business reference counts once."""
        for name in ("cash_premiums", "transfers", "surrenders"):
            mine = getattr(self, name)
            seen = {m.reference for m in mine if m.reference}
            mine.extend(m for m in getattr(other, name) if not m.reference or m.reference not in seen)
        self.beneficiary_changes.extend(other.beneficiary_changes)
        self.flagged_frequent_changes += other.flagged_frequent_changes
        self.reported_flags += other.reported_flags


@dataclass
class AmlFacts:
    kind: str = "individual"
    trade_text: tuple[str, ...] = ()  # occupation, employer / industry, business scope
    nationalities: tuple[str, ...] = ()  # the customer's and, for a company, its beneficial owners'
    region_codes: tuple[str, ...] = ()  # 6-digit address codes: identity number, USCC division code
    pep: bool = False
    tx: TransactionFacts = field(default_factory=TransactionFacts)
    review_level: str | None = None  # the level the latest manual review set, a floor for the rules
    review_detail: str = ""
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    points: int
    floor: str | None
    detail: str

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "label": self.label,
            "points": self.points,
            "floor": self.floor or "",
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Rating:
    level: str
    score: int
    reasons: tuple[Reason, ...]

    @property
    def reason_dicts(self) -> list[dict]:
        return [r.as_dict() for r in self.reasons]


@dataclass(frozen=True)
class Rule:
    code: str
    label: str
    points: int
    floor: str | None
    test: Callable[[AmlFacts, Thresholds], str | None]  # the detail when the rule applies


def _money(d: Decimal) -> str:
    return f"{d:,.2f}"


def _trade(f: AmlFacts, th: Thresholds) -> str | None:
    text = " ".join(t for t in f.trade_text if t)
    if not text:
        return None
    upper = text.upper()
    hits = sorted(
        {cat for kw, cat in HIGH_RISK_TRADES if kw.upper() in upper}
        | {kw for kw in th.extra_trades if kw and kw.upper() in upper}
    )
    return f"职业/行业属高风险类别：{'、'.join(hits)}（{text[:60]}）" if hits else None


def _nationality(f: AmlFacts, th: Thresholds) -> str | None:
    listed = sorted({n for n in f.nationalities if n and n.upper() in th.high_risk_countries})
    return f"国籍/受益所有人国籍属高风险国家或地区：{'、'.join(listed)}" if listed else None


def _region(f: AmlFacts, th: Thresholds) -> str | None:
    hits = sorted({c for c in f.region_codes if c and any(c.startswith(p) for p in th.border_regions)})
    return f"证件/登记地址编码属边境高风险地区：{'、'.join(hits)}" if hits else None


def _pep(f: AmlFacts, th: Thresholds) -> str | None:
    return "客户为政治公众人物，须强化尽职调查" if f.pep else None


def _cash(f: AmlFacts, th: Thresholds) -> str | None:
    big = [m for m in f.tx.cash_premiums if m.amount >= th.cash_premium]
    if not big:
        return None
    top = max(big, key=lambda m: m.amount)
    return (
        f"{len(big)} 笔现金缴费达到 {_money(th.cash_premium)} 元，最大 {_money(top.amount)} 元"
        f"{'（' + top.reference + '）' if top.reference else ''}"
    )


def _transfer(f: AmlFacts, th: Thresholds) -> str | None:
    big = [m for m in f.tx.transfers if m.amount >= th.large_transfer]
    if not big:
        return None
    top = max(big, key=lambda m: m.amount)
    return f"{len(big)} 笔转账缴费达到 {_money(th.large_transfer)} 元，最大 {_money(top.amount)} 元"


def _large_surrender(f: AmlFacts, th: Thresholds) -> str | None:
    big = [s for s in f.tx.surrenders if s.amount is not None and s.amount >= th.surrender]
    if not big:
        return None
    top = max(big, key=lambda s: s.amount)
    return f"{len(big)} 笔退保金额达到 {_money(th.surrender)} 元，最大 {_money(top.amount)} 元"


def _early_surrender(f: AmlFacts, th: Thresholds) -> str | None:
    early = [
        s
        for s in f.tx.surrenders
        if s.early or (s.policy_years is not None and s.policy_years < th.early_surrender_years)
    ]
    if not early:
        return None
    refs = "、".join(s.reference for s in early if s.reference)
    suffix = f"：{refs}" if refs else ""
    return f"{len(early)} 份保单在生效后 {th.early_surrender_years} 个保单年度内退保{suffix}"


def _beneficiary_changes(f: AmlFacts, th: Thresholds) -> str | None:
    since = f.today - timedelta(days=365)
    n = sum(1 for d in f.tx.beneficiary_changes if d >= since)
    if n >= th.beneficiary_changes:
        return f"近 12 个月变更受益人 {n} 次（标准：{th.beneficiary_changes} 次）"
    if f.tx.flagged_frequent_changes:
        return f"保全环节标记频繁变更受益人 {f.tx.flagged_frequent_changes} 次"
    return None


def _reported(f: AmlFacts, th: Thresholds) -> str | None:
    n = f.tx.reported_flags
    return f"有 {n} 笔交易已作为可疑交易上报" if n else None


def _review(f: AmlFacts, th: Thresholds) -> str | None:
    if f.review_level in (None, "low"):
        return None
    suffix = f"：{f.review_detail}" if f.review_detail else ""
    return f"最近一次人工审核定为{LEVEL_LABELS[f.review_level]}风险{suffix}"


RULES: tuple[Rule, ...] = (
    Rule("occupation", "高风险职业或行业", 30, None, _trade),
    Rule("nationality", "高风险国家或地区", 60, "high", _nationality),
    Rule("region", "边境高风险地区", 20, None, _region),
    Rule("pep", "政治公众人物", 60, "high", _pep),
    Rule("cash_premium", "大额现金缴费", 25, None, _cash),
    Rule("large_transfer", "大额转账缴费", 15, None, _transfer),
    Rule("large_surrender", "大额退保", 20, None, _large_surrender),
    Rule("early_surrender", "早期退保", 20, None, _early_surrender),
    Rule("beneficiary_changes", "频繁变更受益人", 25, None, _beneficiary_changes),
    Rule("reported_transaction", "可疑交易已上报", 60, "high", _reported),
)


def _conditions(th: Thresholds) -> dict[str, str]:
    trades = sorted({cat for _, cat in HIGH_RISK_TRADES}) + list(th.extra_trades)
    return {
        "occupation": f"职业、工作单位或行业、经营范围属于：{'、'.join(trades)}",
        "nationality": f"本人或受益所有人国籍为：{'、'.join(th.high_risk_countries)}",
        "region": f"身份证号或统一社会信用代码的行政区划代码以 {'、'.join(th.border_regions)} 开头",
        "pep": "客户被标记为政治公众人物",
        "cash_premium": f"{th.lookback_days} 天内有一笔现金缴费不低于 {_money(th.cash_premium)} 元",
        "large_transfer": f"{th.lookback_days} 天内有一笔转账缴费不低于 {_money(th.large_transfer)} 元",
        "large_surrender": f"{th.lookback_days} 天内有一笔退保金额不低于 {_money(th.surrender)} 元",
        "early_surrender": f"保单生效后 {th.early_surrender_years} 个保单年度内退保",
        "beneficiary_changes": f"12 个月内变更受益人不少于 {th.beneficiary_changes} 次，或保全环节已标记",
        "reported_transaction": "有交易已作为可疑交易上报",
    }


def rule_table(th: Thresholds | None = None) -> list[dict]:
    """Describe every declared rule with the thresholds in force, as the compliance desk lists them."""
    th = th or Thresholds()
    conditions = _conditions(th)
    return [
        {
            "code": r.code,
            "label": r.label,
            "points": r.points,
            "floor": LEVEL_LABELS[r.floor] if r.floor else "",
            "when": conditions[r.code],
        }
        for r in RULES
    ]


def rate(facts: AmlFacts, th: Thresholds | None = None) -> Rating:
    """Apply every declared rule; return the level, the score and the reasons that counted."""
    th = th or Thresholds()
    reasons = []
    for rule in RULES:
        detail = rule.test(facts, th)
        if detail:
            reasons.append(Reason(rule.code, rule.label, rule.points, rule.floor, detail))
    review = _review(facts, th)
    if review:
        reasons.append(Reason("review", "人工审核定级", 0, facts.review_level, review))
    score = sum(r.points for r in reasons)
    level = "high" if score >= th.high_score else "medium" if score >= th.medium_score else "low"
    for r in reasons:
        if r.floor:
            level = max_level(level, r.floor)
    return Rating(level, score, tuple(reasons))


def review_interval_years(level: str, th: Thresholds | None = None) -> int:
    return (th or Thresholds()).review_years[level]


__all__ = [
    "RULES",
    "AmlFacts",
    "Movement",
    "Rating",
    "Surrender",
    "Thresholds",
    "TransactionFacts",
    "level_rank",
    "rate",
    "rule_table",
]
