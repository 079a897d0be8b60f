"""Template helpers of the policy pages: `user|may:"action"` asks the declared access policy."""

from django import template

from insurdesk.org.policy import can

register = template.Library()


@register.filter
def may(user, action: str) -> bool:
    """Tell whether the user's role allows the action (for menus; the view checks again)."""
    return can(user, action)
