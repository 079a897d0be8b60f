"""Template context for the compliance entries in the navigation and on the archive page."""

from insurdesk.org.policy import can


def navigation(request):
    user = getattr(request, "user", None)
    return {
        "can_compliance": can(user, "compliance.view"),
        "can_consent": can(user, "consent.view"),
    }
