"""Every read of applications and problem items, cut to the viewer's scope in one place."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from insurdesk.applications.calculations import mismatch_rate
from insurdesk.applications.entry import is_sensitive
from insurdesk.applications.models import Application, ErrorParty, Origin, ProblemItem, State
from insurdesk.applications.workflow import OPEN_PROBLEM_STATES
from insurdesk.common import masking
from insurdesk.common.errors import FieldError, NotFound
from insurdesk.identity.normalize import clean_code
from insurdesk.org.models import User
from insurdesk.org.policy import can
from insurdesk.org.selectors import viewer_unit_ids


def application_scope(viewer) -> QuerySet[Application]:
    """Return the applications the viewer may see: its unit subtree; an agent only its own."""
    qs = Application.objects.all()
    if viewer is None or not viewer.is_authenticated:
        return qs.none()
    if viewer.is_superuser:
        return qs
    if viewer.effective_role == "agent":
        return qs.filter(agent_id=viewer.pk)
    ids = viewer_unit_ids(viewer)
    return qs if ids is None else qs.filter(unit_id__in=ids)


@dataclass
class ApplicationFilters:
    state: str = ""
    agent_id: int | None = None
    first_entry_by_id: int | None = None


def application_list(
    *, viewer, query: str = "", filters: ApplicationFilters | None = None
) -> QuerySet[Application]:
    """Return the viewer's applications by number or policyholder name prefix, newest first."""
    qs = application_scope(viewer).select_related(
        "unit", "agent", "policyholder", "insured", "first_entry_by", "second_entry_by", "assignee"
    )
    q = (query or "").strip()
    if q:
        code = clean_code(q)
        qs = qs.filter(
            Q(application_no=code) | Q(policyholder_name__gte=q, policyholder_name__lt=q + "\U0010ffff")
        )
    f = filters or ApplicationFilters()
    if f.state:
        qs = qs.filter(state=f.state)
    if f.agent_id:
        qs = qs.filter(agent_id=f.agent_id)
    if f.first_entry_by_id:
        qs = qs.filter(first_entry_by_id=f.first_entry_by_id)
    return qs.order_by("-id")


def application_get(*, viewer, pk: int) -> Application:
    """Return one application in the viewer's scope with its lines, beneficiaries and problem items."""
    app = (
        application_scope(viewer)
        .select_related(
            "unit",
            "agent",
            "policyholder",
            "insured",
            "first_entry_by",
            "second_entry_by",
            "submitted_by",
            "assignee",
            "recording_attached_by",
            "recording_checked_by",
        )
        .prefetch_related("lines__product", "lines__rider_of__product", "lines__plan_level", "beneficiaries")
        .filter(pk=pk)
        .first()
    )
    if app is None:
        raise NotFound(FieldError("", "not_found", "投保单不存在"))
    return app


def key_values_visible(viewer, app: Application) -> bool:
    """Tell whether the viewer sees the key fields: before second entry only the first-entry clerk does."""
    return app.state != State.SECOND_ENTRY or (viewer is not None and viewer.pk == app.first_entry_by_id)


# Queues (待办): name -> (state, the action whose holders work it, title).
QUEUES: dict[str, tuple[str, str, str]] = {
    "second_entry": (State.SECOND_ENTRY, "application.second_entry", "待二次录入"),
    "problems": (State.PROBLEMS, "application.resolve", "问题件处理中"),
    "entered": (State.ENTERED, "application.submit", "待提交核保"),
    "underwriting": (State.UNDERWRITING, "application.queue_underwriting", "待核保"),
}


def queues_for(viewer) -> list[str]:
    """Return the names of the queues the viewer works."""
    return [name for name, (_, action, _) in QUEUES.items() if can(viewer, action)]


def application_queue(*, viewer, name: str) -> QuerySet[Application]:
    """Return one queue, oldest first (age = time in the state); a clerk's own first entries are left out
    of the second-entry queue, since nobody may key both."""
    state, _, _ = QUEUES[name]
    qs = (
        application_scope(viewer)
        .filter(state=state)
        .select_related("policyholder", "first_entry_by", "second_entry_by", "assignee", "agent", "unit")
    )
    if name == "second_entry" and viewer is not None:
        qs = qs.exclude(first_entry_by_id=viewer.pk)
    if name == "problems":
        qs = qs.annotate(open_problems=Count("problems", filter=Q(problems__state__in=OPEN_PROBLEM_STATES)))
    return qs.order_by("state_changed_at", "id")


def queue_counts(*, viewer) -> dict[str, int]:
    return {name: application_queue(viewer=viewer, name=name).count() for name in queues_for(viewer)}


def queue_owner(app: Application, name: str):
    """Return who holds an application in a queue: its assignee, else the one whose step comes next."""
    if app.assignee_id:
        return app.assignee
    if name == "entered":
        return app.first_entry_by
    return None


def age_of(since: datetime | None, now: datetime | None = None) -> str:
    """Return an age as 天/小时/分钟 text."""
    if since is None:
        return ""
    seconds = max(int(((now or timezone.now()) - since).total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{rest // 60}分钟"
    return f"{rest // 60}分钟"


def problem_scope(viewer) -> QuerySet[ProblemItem]:
    return ProblemItem.objects.filter(application__in=application_scope(viewer))


def problem_list(
    *,
    viewer,
    open_only: bool = True,
    owner_id: int | None = None,
    unassigned: bool = False,
    application_id: int | None = None,
) -> QuerySet[ProblemItem]:
    """Return problem items of the viewer's applications, oldest first."""
    qs = problem_scope(viewer).select_related(
        "application", "owner", "created_by", "replied_by", "resolved_by"
    )
    if open_only:
        qs = qs.filter(state__in=OPEN_PROBLEM_STATES)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if unassigned:
        qs = qs.filter(owner__isnull=True)
    if application_id:
        qs = qs.filter(application_id=application_id)
    return qs.order_by("created_at", "id") if open_only else qs.order_by("application_id", "serial_no")


def problems_by_owner(*, viewer) -> list[dict]:
    """Return open problem items counted by owner (None = not yet assigned), with the oldest one's time."""
    from django.db.models import Min

    rows = (
        problem_scope(viewer)
        .filter(state__in=OPEN_PROBLEM_STATES)
        .values("owner_id")
        .annotate(count=Count("id"), oldest=Min("created_at"))
        .order_by("-count")
    )
    users = {u.pk: u for u in User.objects.filter(pk__in=[r["owner_id"] for r in rows if r["owner_id"]])}
    return [{"owner": users.get(r["owner_id"]), "count": r["count"], "oldest": r["oldest"]} for r in rows]


def problem_value(viewer, item: ProblemItem, value: str | None) -> str | None:
    """Return a problem item's value as this viewer may see it (ID numbers and accounts masked by role)."""
    if not value or not is_sensitive(item.field) or can(viewer, "customer.see_sensitive"):
        return value
    return masking.mask_account(value) if item.field == "bank_account" else masking.mask_id_number(value)


def entry_error_stats(*, viewer, since: date | None = None, until: date | None = None) -> list[dict]:
    """Return each clerk's keyed fields, errors and mismatch rate (errors ÷ fields keyed, %).

    A field counts for both entries of an application once second entry compared it; an error is a
    resolved entry problem item whose error party names the clerk's entry.
    """
    apps = application_scope(viewer).filter(second_entry_at__isnull=False)
    if since:
        apps = apps.filter(second_entry_at__date__gte=since)
    if until:
        apps = apps.filter(second_entry_at__date__lte=until)
    fields: dict[int, int] = {}
    entries: dict[int, int] = {}
    for column in ("first_entry_by_id", "second_entry_by_id"):
        for row in apps.values(column).annotate(n=Sum("key_field_count"), c=Count("id")):
            fields[row[column]] = fields.get(row[column], 0) + (row["n"] or 0)
            entries[row[column]] = entries.get(row[column], 0) + row["c"]
    items = ProblemItem.objects.filter(application__in=apps, arose_at=Origin.ENTRY, counts_as_error=True)
    errors: dict[int, int] = {}
    for column, parties in (
        ("application__first_entry_by_id", (ErrorParty.FIRST, ErrorParty.BOTH)),
        ("application__second_entry_by_id", (ErrorParty.SECOND, ErrorParty.BOTH)),
    ):
        for row in items.filter(error_party__in=parties).values(column).annotate(n=Count("id")):
            errors[row[column]] = errors.get(row[column], 0) + row["n"]
    users = {u.pk: u for u in User.objects.filter(pk__in=fields)}
    out = []
    for uid, keyed in fields.items():
        e = errors.get(uid, 0)
        out.append(
            {
                "user": users.get(uid),
                "user_id": uid,
                "entries": entries.get(uid, 0),
                "fields": keyed,
                "errors": e,
                "rate": mismatch_rate(e, keyed),
            }
        )
    return sorted(out, key=lambda r: (-(r["rate"] or 0), r["user_id"]))


def new_business_blocks(policyholder, insured) -> list[FieldError]:
    """Return why new business may not go on with these parties now (SPEC §1: an expired identity
    document, or a company's expired business licence, blocks new business), one error per party.

    Entry (初录 and its changes), underwriting's acceptance and issue all refuse with these reasons.
    """
    from insurdesk.compliance.selectors import customer_blocked_for_new_business

    errors = []
    seen = set()
    parties = (("policyholder", "投保人", policyholder), ("insured", "被保险人", insured))
    for field, label, customer in parties:
        if customer is None or customer.pk in seen:
            continue
        seen.add(customer.pk)
        reason = customer_blocked_for_new_business(customer)
        if reason:
            errors.append(FieldError(field, "id_expired", f"{label}{customer.name}：{reason}"))
    return errors
