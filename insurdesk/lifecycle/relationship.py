"""When a customer's business relationship (业务关系) ended, from what every installed app knows.

"Relationship ends" is the latest of: the archive's last change, the end of the last contract the
customer is party to (policyholder, insured, beneficiary, group member — any row that links the
customer to the contract), the last transaction on those contracts and the last change of any
application naming the customer; a contract still running means the relationship has not ended.

The other apps are declared below by app label, model and field names and found through the app
registry, never imported, so lifecycle sits just above customers in the layers. A declared app that
is installed but lacks a declared field is an error (system check ``lifecycle.E001``): retention
must fail closed, never count a relationship as ended because a column was renamed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from insurdesk.customers.models import Customer
from insurdesk.lifecycle.rules import add_years


@dataclass(frozen=True)
class ContractSource:
    """Contracts (保单): running until terminated or past their expiry date."""

    app_label: str
    model: str
    label_field: str
    start_field: str
    terminated_field: str
    expiry_field: str

    def fields(self) -> tuple[str, ...]:
        return (self.label_field, self.start_field, self.terminated_field, self.expiry_field)

    def open_q(self, today: datetime.date) -> Q:
        return Q(**{f"{self.terminated_field}__isnull": True}) & (
            Q(**{f"{self.expiry_field}__isnull": True}) | Q(**{f"{self.expiry_field}__gte": today})
        )

    def end(self):
        return Coalesce(F(self.terminated_field), F(self.expiry_field))


@dataclass(frozen=True)
class DatedSource:
    """Rows whose latest date extends the relationship: transactions, applications."""

    app_label: str
    model: str
    date_field: str
    via: str = ""  # a foreign key to a model linked to the customer (a payment's policy)

    def fields(self) -> tuple[str, ...]:
        return (self.date_field, self.via) if self.via else (self.date_field,)


@dataclass(frozen=True)
class RecordingSource:
    """Sales recordings (双录) kept on an application, ending with the contract issued from it."""

    app_label: str
    model: str
    label_field: str
    file_field: str
    reference_field: str
    date_field: str
    contract_accessor: str  # the reverse one-to-one from the contract

    def fields(self) -> tuple[str, ...]:
        return (self.label_field, self.file_field, self.reference_field, self.date_field)


CONTRACTS = (
    ContractSource("policies", "Policy", "policy_no", "effective_date", "terminated_on", "expiry_date"),
)
TRANSACTIONS = (DatedSource("policies", "Payment", "paid_on", via="policy"),)
ACTIVITY = (DatedSource("applications", "Application", "updated_at"),)
RECORDINGS = (
    RecordingSource(
        "applications",
        "Application",
        "application_no",
        "recording_file",
        "recording_reference",
        "updated_at",
        "policy",
    ),
)


def source_model(source) -> type[models.Model] | None:
    """Return the source's model, or None when its app is not installed."""
    try:
        return apps.get_model(source.app_label, source.model)
    except LookupError:
        return None


def source_problems() -> list[str]:
    """Return what is missing from installed sources: a declared field, or any link to a customer."""
    problems = []
    for source in (*CONTRACTS, *TRANSACTIONS, *ACTIVITY, *RECORDINGS):
        model = source_model(source)
        if model is None:
            continue
        for name in source.fields():
            try:
                model._meta.get_field(name)
            except FieldDoesNotExist:
                problems.append(f"{model._meta.label} has no field {name!r}")
        if isinstance(source, DatedSource) and source.via:
            continue
        if not customer_paths(model):
            problems.append(f"{model._meta.label} has no link to customers.Customer")
    return problems


def customer_paths(model: type[models.Model]) -> list[str]:
    """Return the lookups from model to a customer: its foreign keys, and rows pointing at it with one."""
    paths = []
    for f in model._meta.get_fields():
        if f.is_relation and f.many_to_one and f.related_model is Customer:
            paths.append(f.name)
        elif f.is_relation and f.auto_created and not f.concrete and f.related_model is not None:
            for g in f.related_model._meta.get_fields():
                if g.is_relation and g.many_to_one and g.concrete and g.related_model is Customer:
                    paths.append(f"{f.name}__{g.name}")
    return paths


def linked_q(model: type[models.Model], customer_ref, *, via: str = "") -> Q:
    """Return the condition "this row is linked to the customer" over every path found."""
    target = model._meta.get_field(via).related_model if via else model
    prefix = f"{via}__" if via else ""
    q = Q(pk__in=[])
    for path in customer_paths(target):
        q |= Q(**{f"{prefix}{path}": customer_ref})
    return q


def _local_date(value) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


@dataclass
class Recording:
    label: str
    contract_end: datetime.date | None  # None while the contract runs
    long_term: bool


@dataclass
class RelationshipFacts:
    archive_changed: datetime.date
    open_contracts: list[str] = field(default_factory=list)
    contract_ends: list[tuple[str, datetime.date]] = field(default_factory=list)
    last_transaction: datetime.date | None = None
    last_activity: datetime.date | None = None
    recordings: list[Recording] = field(default_factory=list)

    @property
    def ended_on(self) -> datetime.date | None:
        """Return the day the relationship ended, or None while a contract runs."""
        if self.open_contracts:
            return None
        dates = [self.archive_changed, self.last_transaction, self.last_activity]
        dates += [end for _, end in self.contract_ends]
        return max(d for d in dates if d is not None)


def _long_term(start: datetime.date | None, expiry: datetime.date | None) -> bool:
    """More than one year of cover; an unknown or whole-life term counts as long (the longer rule)."""
    if start is None or expiry is None:
        return True
    return expiry > add_years(start, 1)


def relationship_facts(customer: Customer, *, today: datetime.date) -> RelationshipFacts:
    """Return what the installed apps record about one customer's relationship."""
    facts = RelationshipFacts(archive_changed=_local_date(customer.updated_at))
    for source in CONTRACTS:
        model = source_model(source)
        if model is None:
            continue
        rows = model._default_manager.filter(linked_q(model, customer.pk)).distinct()
        for row in rows:
            label = f"{model._meta.verbose_name} {getattr(row, source.label_field)}"
            terminated, expiry = getattr(row, source.terminated_field), getattr(row, source.expiry_field)
            if terminated is None and (expiry is None or expiry >= today):
                facts.open_contracts.append(label)
            else:
                facts.contract_ends.append((label, terminated or expiry))
    for source in TRANSACTIONS:
        model = source_model(source)
        if model is not None:
            last = model._default_manager.filter(linked_q(model, customer.pk, via=source.via)).aggregate(
                last=models.Max(source.date_field)
            )["last"]
            facts.last_transaction = max(
                filter(None, (facts.last_transaction, _local_date(last))), default=None
            )
    for source in ACTIVITY:
        model = source_model(source)
        if model is not None:
            last = model._default_manager.filter(linked_q(model, customer.pk)).aggregate(
                last=models.Max(source.date_field)
            )["last"]
            facts.last_activity = max(filter(None, (facts.last_activity, _local_date(last))), default=None)
    for source in RECORDINGS:
        model = source_model(source)
        if model is None:
            continue
        present = ~Q(**{source.file_field: ""}) | ~Q(**{source.reference_field: ""})
        for row in model._default_manager.filter(linked_q(model, customer.pk)).filter(present).distinct():
            facts.recordings.append(_recording(source, row, today))
    return facts


def _recording(source: RecordingSource, row, today: datetime.date) -> Recording:
    label = f"{row._meta.verbose_name} {getattr(row, source.label_field)} 双录"
    try:
        contract = getattr(row, source.contract_accessor)
    except ObjectDoesNotExist:
        contract = None
    if contract is None:
        # No contract came of it (declined, withdrawn): kept from the application's last change, long rule.
        return Recording(label, _local_date(getattr(row, source.date_field)), long_term=True)
    spec = next((c for c in CONTRACTS if source_model(c) is type(contract)), None)
    if spec is None:
        return Recording(label, None, long_term=True)
    terminated, expiry = getattr(contract, spec.terminated_field), getattr(contract, spec.expiry_field)
    running = terminated is None and (expiry is None or expiry >= today)
    return Recording(
        label,
        None if running else (terminated or expiry),
        long_term=_long_term(getattr(contract, spec.start_field), expiry),
    )


def _day_after_start(day: datetime.date) -> datetime.datetime:
    """Return the first instant after `day` in the local time zone."""
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))


def ended_before(qs, *, cutoff: datetime.date, today: datetime.date):
    """Keep the customers whose relationship ended on or before cutoff, annotating what ended it.

    Annotations: ``rel_contract_end`` and ``rel_last_transaction`` / ``rel_last_activity`` (None when
    there are none); the archive's own ``updated_at`` is the third date.
    """
    ref = OuterRef("pk")
    limit = _day_after_start(cutoff)
    qs = qs.filter(updated_at__lt=limit)
    ends, txs, acts = [], [], []
    for i, source in enumerate(CONTRACTS):
        model = source_model(source)
        if model is None:
            continue
        linked = model._default_manager.filter(linked_q(model, ref))
        last_end = (
            linked.filter(~source.open_q(today))
            .annotate(_end=source.end())
            .order_by(F("_end").desc())
            .values("_end")[:1]
        )
        qs = qs.annotate(
            **{f"_open{i}": Exists(linked.filter(source.open_q(today))), f"_end{i}": Subquery(last_end)}
        )
        qs = qs.filter(**{f"_open{i}": False}).filter(
            Q(**{f"_end{i}__isnull": True}) | Q(**{f"_end{i}__lte": cutoff})
        )
        ends.append(f"_end{i}")
    for kind, sources, bucket in (("tx", TRANSACTIONS, txs), ("act", ACTIVITY, acts)):
        for i, source in enumerate(sources):
            model = source_model(source)
            if model is None:
                continue
            name = f"_{kind}{i}"
            last = (
                model._default_manager.filter(linked_q(model, ref, via=source.via))
                .order_by(F(source.date_field).desc())
                .values(source.date_field)[:1]
            )
            is_datetime = isinstance(model._meta.get_field(source.date_field), models.DateTimeField)
            qs = qs.annotate(**{name: Subquery(last)}).filter(
                Q(**{f"{name}__isnull": True})
                | Q(**{f"{name}__lt" if is_datetime else f"{name}__lte": limit if is_datetime else cutoff})
            )
            bucket.append(name)
    return qs, {"contract_end": ends, "last_transaction": txs, "last_activity": acts}


def ended_on_from_row(row, names: dict[str, list[str]]) -> datetime.date:
    """Return the relationship's end from a row annotated by ended_before()."""
    dates = [_local_date(row.updated_at)]
    for group in names.values():
        dates += [_local_date(getattr(row, n)) for n in group]
    return max(d for d in dates if d is not None)
