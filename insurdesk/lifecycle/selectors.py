"""Reads of retention and destruction, cut to the viewer's scope through the customer archive's scope."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from insurdesk.common.errors import FieldError, NotFound
from insurdesk.customers.models import Customer
from insurdesk.customers.selectors import customer_scope
from insurdesk.lifecycle.models import (
    AnonymousStatistic,
    DestructionRecord,
    DestructionRequest,
    RequestState,
)
from insurdesk.lifecycle.relationship import (
    RelationshipFacts,
    ended_before,
    ended_on_from_row,
    relationship_facts,
)
from insurdesk.lifecycle.rules import RetentionRule, add_years, longest_years, recording_rule, retention_rules


@dataclass
class RuleOutcome:
    rule: RetentionRule
    what: str
    anchor: datetime.date | None  # None: the event that starts the period has not happened yet

    @property
    def ends_on(self) -> datetime.date | None:
        return None if self.anchor is None else self.rule.ends_on(self.anchor)


@dataclass
class RetentionStatus:
    customer: Customer
    facts: RelationshipFacts
    outcomes: list[RuleOutcome]
    today: datetime.date
    destroyed: bool

    @property
    def running(self) -> list[RuleOutcome]:
        """Return the outcomes whose period has not started yet (relationship or contract still running)."""
        return [o for o in self.outcomes if o.anchor is None]

    @property
    def binding(self) -> RuleOutcome:
        """Return the outcome that ends last; one that has not started outlasts every other."""
        if self.running:
            return self.running[0]
        return max(self.outcomes, key=lambda o: o.ends_on)

    @property
    def ends_on(self) -> datetime.date | None:
        return self.binding.ends_on

    @property
    def due(self) -> bool:
        """Tell whether every period has ended (the period runs through its last day)."""
        return not self.destroyed and self.ends_on is not None and self.ends_on < self.today

    def refusal(self) -> str:
        """Return why the archive may not be destroyed yet, naming the rule, its source and the end date."""
        if self.destroyed:
            return "该档案已销毁"
        b = self.binding
        if b.anchor is None:
            return (
                f"{b.what}尚未结束，「{b.rule.label}」的保存期限（{b.rule.anchor}起{b.rule.years}年，"
                f"{b.rule.source}）尚未开始计算，不能销毁"
            )
        return (
            f"「{b.rule.label}」保存期限未满：{b.what}，应保存至 {b.ends_on.isoformat()}"
            f"（{b.rule.anchor}起{b.rule.years}年，{b.rule.source}），届满前不能销毁"
        )


def retention_status(*, customer: Customer, today: datetime.date | None = None) -> RetentionStatus:
    """Return every rule that applies to the archive, with the date each period ends."""
    today = today or timezone.localdate()
    rules = retention_rules()
    facts = relationship_facts(customer, today=today)
    ended = facts.ended_on
    if ended is None:
        relation = "业务关系（有效合同：" + "、".join(facts.open_contracts[:3]) + "）"
    else:
        relation = f"业务关系于 {ended.isoformat()} 结束"
    outcomes = [
        RuleOutcome(rules["aml_identity"], relation, ended),
        RuleOutcome(rules["personal_info"], relation, ended),
    ]
    if facts.last_transaction is not None:
        outcomes.append(
            RuleOutcome(
                rules["aml_transaction"],
                f"最后一笔交易于 {facts.last_transaction.isoformat()}",
                facts.last_transaction,
            )
        )
    for rec in facts.recordings:
        what = rec.label + (
            "（合同仍有效）"
            if rec.contract_end is None
            else f"（合同于 {rec.contract_end.isoformat()} 终止）"
        )
        outcomes.append(RuleOutcome(recording_rule(rules, long_term=rec.long_term), what, rec.contract_end))
    destroyed = DestructionRecord.objects.filter(customer=customer).exists()
    return RetentionStatus(customer, facts, outcomes, today, destroyed)


def customer_for_retention(*, viewer, pk: int) -> Customer:
    """Return one archive in the viewer's scope; outside it the archive does not exist."""
    customer = customer_scope(viewer).select_related("unit").filter(pk=pk).first()
    if customer is None:
        raise NotFound(FieldError("", "not_found", "客户档案不存在"))
    return customer


@dataclass
class DueRow:
    customer: Customer
    relationship_ended_on: datetime.date
    earliest_destruction: datetime.date
    open_request_id: int | None


def due_customers(*, viewer, today: datetime.date | None = None) -> tuple[QuerySet[Customer], dict]:
    """Return the viewer's archives whose every retention period has ended, not yet destroyed.

    The cut is on the relationship's end plus the longest configured period: every rule's starting
    event (last transaction, contract end) lies on or before the relationship's end, so no archive
    is listed early; the archive page and the destruction service check each rule exactly.
    """
    today = today or timezone.localdate()
    years = longest_years(retention_rules())
    cutoff = add_years(today, -years) - datetime.timedelta(days=1)
    qs = customer_scope(viewer).select_related("unit")
    qs = qs.exclude(Exists(DestructionRecord.objects.filter(customer=OuterRef("pk"))))
    qs, names = ended_before(qs, cutoff=cutoff, today=today)
    open_request = DestructionRequest.objects.filter(customer=OuterRef("pk"), state=RequestState.REQUESTED)
    qs = qs.annotate(open_request_id=Subquery(open_request.values("pk")[:1])).order_by("updated_at", "id")
    return qs, {"names": names, "years": years}


def due_rows(page, meta: dict) -> list[DueRow]:
    """Shape a page of due_customers() for display."""
    out = []
    for c in page:
        ended = ended_on_from_row(c, meta["names"])
        out.append(
            DueRow(c, ended, add_years(ended, meta["years"]) + datetime.timedelta(days=1), c.open_request_id)
        )
    return out


def destruction_requests(*, viewer, state: str = "") -> QuerySet[DestructionRequest]:
    """Return the requests on archives in the viewer's scope, newest first."""
    qs = DestructionRequest.objects.filter(customer__in=customer_scope(viewer)).select_related(
        "customer", "customer__unit", "requested_by", "decided_by"
    )
    return qs.filter(state=state) if state else qs


def destruction_request_get(*, viewer, pk: int) -> DestructionRequest:
    req = destruction_requests(viewer=viewer).filter(pk=pk).first()
    if req is None:
        raise NotFound(FieldError("", "not_found", "销毁申请不存在"))
    return req


def destruction_records(*, viewer) -> QuerySet[DestructionRecord]:
    """Return the destruction records of archives in the viewer's scope, newest first."""
    return DestructionRecord.objects.filter(customer__in=customer_scope(viewer)).select_related(
        "customer__unit", "requested_by", "approved_by"
    )


def anonymous_statistics(*, viewer) -> list[dict]:
    """Return the counts of destroyed archives by year destroyed, kind and unit, in the viewer's units."""
    from insurdesk.org.selectors import viewer_unit_ids

    qs = AnonymousStatistic.objects.all()
    ids = viewer_unit_ids(viewer)
    if ids is not None and not viewer.is_superuser:
        qs = qs.filter(unit_id__in=ids)
    rows = (
        qs.values("destroyed_on__year", "kind", "unit__name")
        .annotate(n=Count("id"))
        .order_by("-destroyed_on__year", "kind", "unit__name")
    )
    return [
        {"year": r["destroyed_on__year"], "kind": r["kind"], "unit": r["unit__name"], "count": r["n"]}
        for r in rows
    ]


def customer_requests(*, customer: Customer) -> list[DestructionRequest]:
    """Return an archive's destruction requests, newest first (the open one, if any, among them)."""
    return list(
        DestructionRequest.objects.filter(customer=customer).select_related("requested_by", "decided_by")
    )
