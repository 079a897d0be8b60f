"""System checks: the retention configuration and the apps retention reads must fit together."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register()
def retention_sources(app_configs=None, **kwargs):
    """Fail closed when an installed app no longer has the fields retention reads (lifecycle.E001)."""
    from insurdesk.lifecycle.relationship import source_problems

    return [
        checks.Error(
            f"Retention cannot tell when relationships end: {problem}.",
            hint="Update the sources declared in insurdesk/lifecycle/relationship.py.",
            id="lifecycle.E001",
        )
        for problem in source_problems()
    ]


@checks.register()
def retention_configuration(app_configs=None, **kwargs):
    """Refuse retention periods the law does not allow, or that cannot be read (lifecycle.E002)."""
    from insurdesk.lifecycle.rules import retention_rules

    try:
        retention_rules()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="lifecycle.E002")]
    return []
