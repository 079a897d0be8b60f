"""Build an issued policy for tests (and the site-wide access test's RECORDS), whatever the rules say."""

from insurdesk.policies.models import Policy
from insurdesk.policies.services import policy_issue
from insurdesk.underwriting.models import CaseState
from insurdesk.underwriting.services import underwriting_decide, underwriting_open
from insurdesk.underwriting.testing import submit_application


def issue_policy(*, clerk, clerk2, data: dict) -> Policy:
    """Enter, re-enter, submit and accept the application (the system overrides any referral), issue it."""
    app = submit_application(clerk=clerk, clerk2=clerk2, data=data)
    case = underwriting_open(actor=None, application_id=app.pk)
    if case.state == CaseState.REFERRED:
        underwriting_decide(
            actor=None, application_id=app.pk, decision="standard", reasons="测试：按标准体承保"
        )
    return policy_issue(actor=clerk, application_id=app.pk)
