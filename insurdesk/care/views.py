"""Contact log pages: the list, and a customer's contacts as a fragment of the archive page."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from insurdesk.care.forms import ContactFilterForm
from insurdesk.care.selectors import ContactFilters, contact_list, customer_contacts
from insurdesk.common.errors import NotFound
from insurdesk.customers.selectors import customer_get

PAGE_SIZE = 20


@require_http_methods(["GET", "HEAD"])
def contact_list_view(request):
    form = ContactFilterForm(request.GET or None)
    filters = ContactFilters()
    if form.is_bound and form.is_valid():
        flag = form.cleaned_data.get("follow_up")
        filters = ContactFilters(
            channel=form.cleaned_data.get("channel") or "", follow_up=None if not flag else flag == "1"
        )
    page = Paginator(contact_list(viewer=request.user, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "care/list.html", {"form": form, "page": page})


@require_http_methods(["GET", "HEAD"])
def customer_contacts_view(request, pk: int):
    """The customer's contact records, as a fragment the archive page loads with htmx."""
    try:
        customer = customer_get(viewer=request.user, pk=pk)
    except NotFound:
        raise Http404(_("客户档案不存在")) from None
    rows = customer_contacts(viewer=request.user, customer_id=customer.pk)
    return render(request, "care/_customer_contacts.html", {"customer": customer, "rows": rows})
