"""Navigation entries of the import and export pages."""

from insurdesk.org.policy import can


def navigation(request):
    user = getattr(request, "user", None)
    return {"can_import": can(user, "exchange.import"), "can_export": can(user, "exchange.export")}
