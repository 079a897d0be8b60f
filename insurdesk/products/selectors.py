"""Reads of the product catalogue."""

from django.db.models import Q, QuerySet

from insurdesk.common.errors import FieldError, NotFound
from insurdesk.products.models import Product


def product_list(*, query: str = "", line: str = "", active_only: bool = False) -> QuerySet[Product]:
    """Return products by code or name fragment and line, with their riders' mains and plan levels."""
    qs = Product.objects.prefetch_related("attaches_to", "plan_levels")
    q = (query or "").strip()
    if q:
        qs = qs.filter(Q(code__istartswith=q) | Q(name__contains=q))
    if line:
        qs = qs.filter(line=line)
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("code")


def product_get(*, code: str) -> Product:
    """Return one product by its code."""
    p = (
        Product.objects.prefetch_related("attaches_to", "plan_levels")
        .filter(code=(code or "").strip().upper())
        .first()
    )
    if p is None:
        raise NotFound(FieldError("", "not_found", "险种不存在"))
    return p


def products_by_code(codes) -> dict[str, Product]:
    """Return the products named by the codes, keyed by code (unknown codes are left out)."""
    wanted = {(c or "").strip().upper() for c in codes}
    return {
        p.code: p
        for p in Product.objects.filter(code__in=wanted).prefetch_related("attaches_to", "plan_levels")
    }
