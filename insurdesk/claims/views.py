"""Claim pages: the list, and a customer's claims as a fragment of the archive page."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from insurdesk.claims.forms import ClaimFilterForm
from insurdesk.claims.selectors import ClaimFilters, claim_list, customer_claims
from insurdesk.common.errors import NotFound
from insurdesk.customers.selectors import customer_get

PAGE_SIZE = 20


@require_http_methods(["GET", "HEAD"])
def claim_list_view(request):
    form = ClaimFilterForm(request.GET or None)
    query, filters = "", ClaimFilters()
    if form.is_bound and form.is_valid():
        query = form.cleaned_data.get("q") or ""
        filters = ClaimFilters(state=form.cleaned_data.get("state") or "")
    page = Paginator(claim_list(viewer=request.user, query=query, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "claims/list.html", {"form": form, "page": page})


@require_http_methods(["GET", "HEAD"])
def customer_claims_view(request, pk: int):
    """The customer's claims, as a fragment the archive page loads with htmx."""
    try:
        customer = customer_get(viewer=request.user, pk=pk)
    except NotFound:
        raise Http404(_("客户档案不存在")) from None
    rows = customer_claims(viewer=request.user, customer_id=customer.pk)
    return render(request, "claims/_customer_claims.html", {"customer": customer, "rows": rows})
