"""Automatic underwriting rules (自动核保规则) over plain values: each says pass, refer or decline, and why.

The service gathers the facts of an application into `CaseFacts`; `evaluate` runs every rule and
`overall` combines them: any decline → a proposed decline an underwriter confirms; any refer → the
manual queue; all pass → the case may be accepted automatically at standard rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from insurdesk.applications.calculations import (
    ADULT_AGE,
    death_consent_needed,
    has_insurable_interest,
    minor_death_cap,
    minor_death_problem,
)
from insurdesk.customers.calculations import age_on

PASS, REFER, DECLINE = "pass", "refer", "decline"
OUTCOME_LABELS = {PASS: "通过", REFER: "转人工", DECLINE: "拒保"}
_SEVERITY = {PASS: 0, REFER: 1, DECLINE: 2}

DEFAULT_CUMULATIVE_LIMIT = Decimal("3000000")

# Relationship of the insured to the policyholder (被保险人是投保人的…), 保险法 §31.
# (applications.models.Relationship; "employer": the policyholder employs the insured)
SELF, SPOUSE, CHILD, PARENT, EMPLOYER, OTHER = "self", "spouse", "child", "parent", "employer", "other"
FAMILY = frozenset({SPOUSE, CHILD, PARENT})


@dataclass
class LineFacts:
    """One product line of the application as the rules need it."""

    product_code: str
    product_name: str
    sum_insured: Decimal
    min_age: int | None = None
    max_age: int | None = None
    min_sum: Decimal | None = None
    max_sum: Decimal | None = None
    occupation_classes: frozenset[int] | None = None  # None: every class accepted
    death_cover: bool = False
    is_group: bool = False


@dataclass
class PersonFacts:
    name: str
    is_individual: bool = True
    birth_date: date | None = None
    occupation_class: int | None = None
    id_valid_to: date | None = None
    id_long_term: bool = False
    aml_risk: str = "low"
    pep: bool = False


@dataclass
class CaseFacts:
    """What the rules look at; built from the application and the archives by the service."""

    on: date
    policyholder: PersonFacts
    insured: PersonFacts | None
    relationship: str  # the insured is the policyholder's … (self/spouse/child/parent/employer/other)
    lines: list[LineFacts]
    consent_recorded: bool = False  # the insured's written consent to the cover and the sum (§34)
    health_answers: dict[str, bool] = field(default_factory=dict)  # question → answered "yes"
    health_notes: str = ""
    # Sums insured of the insured already in force or applied for elsewhere (excluding this application).
    existing_sum_insured: Decimal = Decimal("0")
    existing_death_sum: Decimal = Decimal("0")
    cumulative_limit: Decimal = DEFAULT_CUMULATIVE_LIMIT
    is_group: bool = False
    application_date: date | None = None
    requested_effective_date: date | None = None


@dataclass(frozen=True)
class RuleResult:
    code: str
    name: str
    outcome: str
    reason: str

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "outcome": self.outcome, "reason": self.reason}


def group_effective_date(application_date: date) -> date:
    """团险: a group policy takes effect the day after its application date (投保日期 = 生效日前一日)."""
    return application_date + timedelta(days=1)


def _r(code: str, name: str, outcome: str, reason: str) -> RuleResult:
    return RuleResult(code, name, outcome, reason)


def _money(value: Decimal) -> str:
    return f"{Decimal(value):,.2f}"


def _age(facts: CaseFacts) -> int | None:
    return age_on(facts.insured.birth_date, facts.on) if facts.insured else None


# --- the rules ---


def rule_age_limits(facts: CaseFacts) -> RuleResult:
    name = "投保年龄"
    if facts.insured is None:
        return _r("age_limits", name, PASS, "团体保单，年龄在被保险人清单中逐人校验")
    age = _age(facts)
    if age is None:
        return _r("age_limits", name, REFER, "被保险人出生日期缺失，无法校验投保年龄")
    for line in facts.lines:
        if line.min_age is not None and age < line.min_age:
            return _r(
                "age_limits",
                name,
                DECLINE,
                f"被保险人 {age} 周岁，低于{line.product_name}最低投保年龄 {line.min_age} 周岁",
            )
        if line.max_age is not None and age > line.max_age:
            return _r(
                "age_limits",
                name,
                DECLINE,
                f"被保险人 {age} 周岁，超过{line.product_name}最高投保年龄 {line.max_age} 周岁",
            )
    return _r("age_limits", name, PASS, f"被保险人 {age} 周岁，在各险种投保年龄范围内")


def rule_sum_limits(facts: CaseFacts) -> RuleResult:
    name = "保额限制"
    for line in facts.lines:
        if line.min_sum is not None and line.sum_insured < line.min_sum:
            return _r(
                "sum_limits",
                name,
                DECLINE,
                f"{line.product_name}保额 {_money(line.sum_insured)} 元"
                f"低于最低保额 {_money(line.min_sum)} 元",
            )
        if line.max_sum is not None and line.sum_insured > line.max_sum:
            return _r(
                "sum_limits",
                name,
                DECLINE,
                f"{line.product_name}保额 {_money(line.sum_insured)} 元"
                f"超过最高保额 {_money(line.max_sum)} 元",
            )
    return _r("sum_limits", name, PASS, "各险种保额在产品限额内")


def rule_occupation_class(facts: CaseFacts) -> RuleResult:
    name = "职业类别"
    if facts.insured is None:
        return _r("occupation_class", name, PASS, "团体保单，职业类别在被保险人清单中逐人校验")
    cls = facts.insured.occupation_class
    limited = [line for line in facts.lines if line.occupation_classes is not None]
    if not limited:
        return _r("occupation_class", name, PASS, "险种不限职业类别")
    if cls is None:
        return _r("occupation_class", name, REFER, "被保险人职业类别未填写，须人工确认")
    for line in limited:
        if cls not in line.occupation_classes:
            accepted = "、".join(str(c) for c in sorted(line.occupation_classes))
            return _r(
                "occupation_class",
                name,
                DECLINE,
                f"被保险人职业类别为 {cls} 类，{line.product_name}只接受 {accepted} 类",
            )
    return _r("occupation_class", name, PASS, f"职业类别 {cls} 类，各险种均可承保")


def rule_health(facts: CaseFacts) -> RuleResult:
    name = "健康告知"
    yes = [q for q, answer in facts.health_answers.items() if answer]
    if yes:
        return _r("health", name, REFER, "健康告知有异常：" + "；".join(yes) + "，须人工核保")
    if facts.health_notes.strip():
        return _r("health", name, REFER, "健康告知有补充说明，须人工核保")
    return _r("health", name, PASS, "健康告知均为“否”")


def _id_expired(person: PersonFacts, on: date) -> bool:
    return person.id_valid_to is not None and not person.id_long_term and person.id_valid_to < on


def rule_identity_documents(facts: CaseFacts) -> RuleResult:
    name = "证件有效期"
    expired = [
        f"{role}{p.name}（有效期至 {p.id_valid_to:%Y-%m-%d}）"
        for role, p in (("投保人", facts.policyholder), ("被保险人", facts.insured))
        if p is not None and _id_expired(p, facts.on)
    ]
    if expired:
        return _r(
            "identity_documents",
            name,
            REFER,
            "证件已过期：" + "、".join(expired) + "；须更新证件、重新核实身份后方可承保（反洗钱规定）",
        )
    return _r("identity_documents", name, PASS, "投保人、被保险人证件均在有效期内")


def rule_aml(facts: CaseFacts) -> RuleResult:
    name = "反洗钱风险"
    flagged = []
    for role, p in (("投保人", facts.policyholder), ("被保险人", facts.insured)):
        if p is None:
            continue
        if p.aml_risk == "high":
            flagged.append(f"{role}{p.name}反洗钱风险等级为高")
        if p.pep:
            flagged.append(f"{role}{p.name}为政治公众人物")
    if flagged:
        return _r("aml", name, REFER, "；".join(flagged) + "，须强化尽职调查后人工核保")
    return _r("aml", name, PASS, "反洗钱风险等级非高风险")


def rule_insurable_interest(facts: CaseFacts) -> RuleResult:
    """保险法 §31 (who may insure whom) and §34 (death cover needs the insured's consent)."""
    name = "保险利益"
    rel = facts.relationship
    if facts.insured is None or rel == SELF:
        return _r("insurable_interest", name, PASS, "投保人为被保险人本人" if rel == SELF else "团体保单")
    death = any(line.death_cover for line in facts.lines)
    if death and death_consent_needed(rel, insured_age=_age(facts)) and not facts.consent_recorded:
        return _r(
            "insurable_interest",
            name,
            DECLINE,
            "以死亡为给付条件的合同须经被保险人书面同意并认可保险金额（保险法第三十四条），未记录同意",
        )
    if not has_insurable_interest(rel, consent=facts.consent_recorded):
        return _r(
            "insurable_interest",
            name,
            DECLINE,
            "投保人与被保险人无法定保险利益关系，且未记录被保险人同意（保险法第三十一条）",
        )
    if rel in FAMILY:
        return _r(
            "insurable_interest", name, PASS, "投保人与被保险人为近亲属，具有保险利益（保险法第三十一条）"
        )
    if rel == EMPLOYER:
        return _r(
            "insurable_interest", name, PASS, "被保险人为投保人的雇员，具有保险利益（保险法第三十一条）"
        )
    return _r("insurable_interest", name, PASS, "被保险人已书面同意投保人为其订立合同（保险法第三十一条）")


def rule_minor_death_cover(facts: CaseFacts) -> RuleResult:
    """保险法 §33: no death cover on a person without capacity except by a parent; caps for minors."""
    name = "未成年人身故保额"
    death_sum = sum((line.sum_insured for line in facts.lines if line.death_cover), Decimal("0"))
    age = _age(facts)
    if facts.insured is None or death_sum == 0 or age is None or age >= ADULT_AGE:
        return _r("minor_death_cover", name, PASS, "不涉及未成年人身故保险金")
    total = death_sum + facts.existing_death_sum
    problem = minor_death_problem(age=age, relationship=facts.relationship, death_sum=total)
    if problem:
        return _r(
            "minor_death_cover",
            name,
            DECLINE,
            f"{problem}；本单及已有保单身故保险金累计 {_money(total)} 元（保险法第三十三条）",
        )
    return _r(
        "minor_death_cover",
        name,
        PASS,
        f"被保险人 {age} 周岁，身故保险金累计 {_money(total)} 元未超过限额 {_money(minor_death_cap(age))} 元",
    )


def rule_group_dates(facts: CaseFacts) -> RuleResult:
    """团险: the application date is the day before the policy takes effect."""
    name = "团险投保日期"
    if not facts.is_group:
        return _r("group_dates", name, PASS, "非团体保单")
    if facts.application_date is None or facts.requested_effective_date is None:
        return _r("group_dates", name, PASS, "未指定生效日期，承保时以投保日期次日生效")
    expected = group_effective_date(facts.application_date)
    if facts.requested_effective_date != expected:
        return _r(
            "group_dates",
            name,
            REFER,
            f"团体保单投保日期应为生效日期前一日：投保日期 {facts.application_date:%Y-%m-%d}，"
            f"指定生效日期 {facts.requested_effective_date:%Y-%m-%d}（应为 {expected:%Y-%m-%d}）",
        )
    return _r("group_dates", name, PASS, "投保日期为生效日期前一日")


def rule_cumulative_sum(facts: CaseFacts) -> RuleResult:
    name = "累计保额"
    if facts.insured is None:
        return _r("cumulative_sum", name, PASS, "团体保单不累计个人保额")
    this = sum((line.sum_insured for line in facts.lines), Decimal("0"))
    total = this + facts.existing_sum_insured
    if total > facts.cumulative_limit:
        return _r(
            "cumulative_sum",
            name,
            REFER,
            f"被保险人有效及在途保单累计保额 {_money(total)} 元（本单 {_money(this)} 元），"
            f"超过自动核保限额 {_money(facts.cumulative_limit)} 元，须财务核保",
        )
    return _r(
        "cumulative_sum",
        name,
        PASS,
        f"累计保额 {_money(total)} 元，未超过自动核保限额 {_money(facts.cumulative_limit)} 元",
    )


RULES: tuple[Callable[[CaseFacts], RuleResult], ...] = (
    rule_age_limits,
    rule_sum_limits,
    rule_occupation_class,
    rule_health,
    rule_identity_documents,
    rule_aml,
    rule_insurable_interest,
    rule_minor_death_cover,
    rule_cumulative_sum,
    rule_group_dates,
)


def evaluate(facts: CaseFacts) -> list[RuleResult]:
    """Run every rule in order; each reports its own outcome and reason."""
    return [rule(facts) for rule in RULES]


def overall(results: list[RuleResult]) -> str:
    """Return the most severe outcome: decline over refer over pass."""
    return max((r.outcome for r in results), key=_SEVERITY.__getitem__, default=PASS)
