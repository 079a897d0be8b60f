"""Template context shared by every page: the side menu and the user's role."""

from django.urls import NoReverseMatch, reverse

from insurdesk.org.menu import menu_for
from insurdesk.org.policy import can


def _global_search_url(user) -> str:
    if not can(user, "customer.view"):
        return ""
    try:
        return reverse("policies:search")
    except NoReverseMatch:
        return reverse("customers:list")


def navigation(request):
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    match = getattr(request, "resolver_match", None)
    return {
        "can_create_customer": can(user, "customer.create"),
        "user_role_label": user.get_role_display() if signed_in else "",
        "menu": menu_for(user, match.view_name if match else None) if signed_in else [],
        "global_search_url": _global_search_url(user) if signed_in else "",
    }
