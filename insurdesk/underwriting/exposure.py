"""What an insured already carries elsewhere, for the cumulative rules (累计保额).

Applications in progress are counted here; issued policies live in a higher layer (policies), which
registers its own counter at start-up, so this module never imports it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from insurdesk.applications.models import OPEN_STATES, ApplicationLine


@dataclass(frozen=True)
class Exposure:
    sum_insured: Decimal = Decimal("0")
    death_sum: Decimal = Decimal("0")

    def __add__(self, other: "Exposure") -> "Exposure":
        return Exposure(self.sum_insured + other.sum_insured, self.death_sum + other.death_sum)


# provider(customer_id) -> Exposure of issued, not terminated policies
_providers: list[Callable[[int], Exposure]] = []


def register(provider: Callable[[int], Exposure]) -> None:
    if provider not in _providers:
        _providers.append(provider)


def _pending_applications(customer_id: int, exclude_application_id: int | None) -> Exposure:
    qs = ApplicationLine.objects.filter(
        application__insured_id=customer_id, application__state__in=OPEN_STATES
    )
    if exclude_application_id is not None:
        qs = qs.exclude(application_id=exclude_application_id)
    agg = qs.aggregate(
        total=Sum("sum_insured"), death=Sum("sum_insured", filter=Q(product__death_cover=True))
    )
    return Exposure(agg["total"] or Decimal("0"), agg["death"] or Decimal("0"))


def insured_exposure(customer_id: int, *, exclude_application_id: int | None = None) -> Exposure:
    """Return the sums insured of the person on open applications and issued policies, this one left out."""
    total = _pending_applications(customer_id, exclude_application_id)
    for provider in _providers:
        total = total + provider(customer_id)
    return total
