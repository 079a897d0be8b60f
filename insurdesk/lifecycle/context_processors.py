"""Template context for the navigation: whether the user sees retention and destruction."""

from insurdesk.org.policy import can


def navigation(request):
    return {"can_lifecycle": can(getattr(request, "user", None), "lifecycle.view")}
