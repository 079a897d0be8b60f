"""Links from the list pages to the export page, carrying the list's current filters."""

from django import template
from django.urls import reverse

register = template.Library()

_NOT_FILTERS = ("page", "list", "format")


@register.simple_tag(takes_context=True)
def export_url(context, name: str) -> str:
    """Return the export page opened on list `name` with the filters the list page now shows."""
    request = context.get("request")
    params = request.GET.copy() if request is not None else None
    query = ""
    if params is not None:
        for key in _NOT_FILTERS:
            params.pop(key, None)
        query = params.urlencode()
    return f"{reverse('exchange:exports')}?list={name}{'&' + query if query else ''}#export-{name}"
