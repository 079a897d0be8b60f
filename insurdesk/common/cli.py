"""Translate domain refusals into command-line errors: one line per error, code first."""

from django.core.management.base import CommandError

from insurdesk.common.errors import DomainError


def command_error(exc: DomainError) -> CommandError:
    lines = [f"error {e.code}: {e.field + ': ' if e.field else ''}{e.message}" for e in exc.errors]
    return CommandError("\n".join(lines), returncode=2 if exc.http_status == 422 else 1)


def system_actor():
    """Return None: commands run as the system unless --actor names a user."""
    return None
