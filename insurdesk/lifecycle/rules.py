"""Retention rules (保存期限) per record kind, each with its legal source; the years are configurable.

``settings.INSURDESK_RETENTION_YEARS`` ("personal_info=3,aml_identity=15" or a dict) lengthens or
shortens a rule, but never below the minimum the law sets: a configuration that tries is refused
by the system check ``lifecycle.E002`` and by ``retention_rules()`` itself.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

AML_SOURCE = (
    "《中华人民共和国反洗钱法》（2024年修订）第三十四条；《金融机构客户尽职调查和客户身份资料及交易记录"
    "保存管理办法》（中国人民银行 国家金融监督管理总局 中国证监会令〔2025〕第11号）"
)
RECORDING_SOURCE = "《保险销售行为可回溯管理暂行办法》（保监发〔2017〕54号）"
PIPL_SOURCE = "《中华人民共和国个人信息保护法》第十九条、第四十七条"


@dataclass(frozen=True)
class RetentionRule:
    code: str
    label: str
    records: str
    anchor: str
    years: int
    minimum_years: int
    source: str

    def ends_on(self, anchor: datetime.date) -> datetime.date:
        """Return the last day of the period: the same calendar day `years` after the anchor."""
        return add_years(anchor, self.years)

    def describe(self) -> str:
        return f"{self.label}：{self.anchor}起保存{self.years}年（{self.source}）"


DECLARED: tuple[RetentionRule, ...] = (
    RetentionRule(
        code="aml_identity",
        label="客户身份资料",
        records="个人及单位客户的身份资料：证件、联系方式、职业、受益所有人、反洗钱信息",
        anchor="业务关系结束之日",
        years=10,
        minimum_years=10,
        source=AML_SOURCE,
    ),
    RetentionRule(
        code="aml_transaction",
        label="交易记录",
        records="保费收付、退保、理赔等每笔交易的记录",
        anchor="交易结束之日",
        years=10,
        minimum_years=10,
        source=AML_SOURCE,
    ),
    RetentionRule(
        code="sales_recording_short",
        label="双录资料（保险期间一年及以下）",
        records="销售过程录音录像及其质检记录",
        anchor="保险合同终止之日",
        years=5,
        minimum_years=5,
        source=RECORDING_SOURCE,
    ),
    RetentionRule(
        code="sales_recording_long",
        label="双录资料（保险期间一年以上）",
        records="销售过程录音录像及其质检记录",
        anchor="保险合同终止之日",
        years=10,
        minimum_years=10,
        source=RECORDING_SOURCE,
    ),
    RetentionRule(
        code="personal_info",
        label="其他个人信息",
        records="反洗钱规定之外的个人信息：联系记录、营销偏好、同意记录等，仅保存实现处理目的所必要的期间",
        anchor="业务关系结束之日",
        years=5,
        minimum_years=0,
        source=PIPL_SOURCE,
    ),
)
DECLARED_CODES = frozenset(rule.code for rule in DECLARED)


def add_years(day: datetime.date, years: int) -> datetime.date:
    """Return the same calendar day `years` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def parse_overrides(value) -> dict[str, int]:
    """Read "code=years,code=years" (or a dict) into {code: years}; refuse unknown codes and non-numbers."""
    if not value:
        return {}
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for part in str(value).split(","):
            if not part.strip():
                continue
            code, sep, years = part.partition("=")
            if not sep:
                raise ImproperlyConfigured(f"INSURDESK_RETENTION_YEARS: {part.strip()!r} is not 'rule=years'")
            items.append((code.strip(), years.strip()))
    out = {}
    for code, years in items:
        if code not in DECLARED_CODES:
            known = ", ".join(sorted(DECLARED_CODES))
            raise ImproperlyConfigured(f"INSURDESK_RETENTION_YEARS: unknown rule {code!r} (known: {known})")
        try:
            out[code] = int(years)
        except (TypeError, ValueError):
            raise ImproperlyConfigured(
                f"INSURDESK_RETENTION_YEARS: {code}={years!r} is not a whole number of years"
            ) from None
    return out


def retention_rules(overrides=None) -> dict[str, RetentionRule]:
    """Return the rules in force by code: the declared table with the configured years applied."""
    if overrides is None:
        overrides = getattr(settings, "INSURDESK_RETENTION_YEARS", "")
    years = parse_overrides(overrides)
    out = {}
    for rule in DECLARED:
        if rule.code in years:
            if years[rule.code] < rule.minimum_years:
                raise ImproperlyConfigured(
                    f"INSURDESK_RETENTION_YEARS: {rule.code}={years[rule.code]} is shorter than the "
                    f"{rule.minimum_years} years the law requires ({rule.source})"
                )
            rule = replace(rule, years=years[rule.code])
        out[rule.code] = rule
    return out


def recording_rule(rules: dict[str, RetentionRule], *, long_term: bool) -> RetentionRule:
    """Return the sales-recording rule for a contract of more (long_term) or at most one year."""
    return rules["sales_recording_long" if long_term else "sales_recording_short"]


def longest_years(rules: dict[str, RetentionRule]) -> int:
    return max(rule.years for rule in rules.values())
