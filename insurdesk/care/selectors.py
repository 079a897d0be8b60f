"""Every read of the contact log, cut to the viewer's scope in one place (the scope of the customer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from insurdesk.care.models import ContactLog
from insurdesk.customers.selectors import customer_scope


def contact_scope(viewer) -> QuerySet[ContactLog]:
    """Return the contacts the viewer may see: those of the customers in its scope."""
    if viewer is None or not viewer.is_authenticated:
        return ContactLog.objects.none()
    if viewer.is_superuser:
        return ContactLog.objects.all()
    return ContactLog.objects.filter(customer__in=customer_scope(viewer).values("pk"))


@dataclass
class ContactFilters:
    channel: str = ""
    follow_up: bool | None = None
    customer_id: int | None = None
    since: date | None = None


def contact_list(*, viewer, filters: ContactFilters | None = None) -> QuerySet[ContactLog]:
    """Return the viewer's contact records, newest first, shaped for a list."""
    f = filters or ContactFilters()
    qs = contact_scope(viewer).select_related("customer", "author", "policy")
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.follow_up is not None:
        qs = qs.filter(follow_up=f.follow_up)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.since:
        qs = qs.filter(contacted_on__gte=f.since)
    return qs.order_by("-contacted_on", "-id")


def customer_contacts(*, viewer, customer_id: int) -> list[ContactLog]:
    """Return the customer's contact records the viewer may see (the archive page's section)."""
    return list(contact_list(viewer=viewer, filters=ContactFilters(customer_id=customer_id))[:200])
