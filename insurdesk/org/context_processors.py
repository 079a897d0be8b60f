"""Template context shared by every page."""

from insurdesk.org.policy import can


def navigation(request):
    user = getattr(request, "user", None)
    return {
        "can_create_customer": can(user, "customer.create"),
        "user_role_label": user.get_role_display() if user is not None and user.is_authenticated else "",
    }
