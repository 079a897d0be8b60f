"""Fixtures of the policy tests: those of underwriting, and issued policies."""

import pytest

from insurdesk.underwriting.tests.fixtures import _fast_passwords, nb, submitted  # noqa: F401


@pytest.fixture
def issued(nb, submitted):  # noqa: F811 (the fixtures imported above)
    """issued(decision="standard", **overrides) -> a policy issued from an accepted application."""
    from insurdesk.policies.services import policy_issue
    from insurdesk.underwriting.services import underwriting_decide, underwriting_open

    def make(decision: str = "standard", today=None, **overrides):
        app = submitted(**overrides)
        if decision == "standard":
            underwriting_open(actor=None, application_id=app.pk)
        else:
            payload = {
                "rated": {"extra_premium": "1200.00"},
                "exclusion": {"exclusion": "因高血压及其并发症导致的保险事故不承担保险责任"},
            }[decision]
            underwriting_decide(
                actor=nb.underwriter, application_id=app.pk, decision=decision, reasons="核保意见", **payload
            )
        return policy_issue(actor=nb.clerk, application_id=app.pk, today=today)

    return make
