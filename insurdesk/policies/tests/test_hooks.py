"""After commit: a submitted application gets its rules run; an accepted one gets its policy issued."""

from insurdesk.applications.models import State as AppState
from insurdesk.policies.models import Policy
from insurdesk.underwriting.models import CaseState, UnderwritingCase
from insurdesk.underwriting.services import underwriting_decide
from insurdesk.underwriting.testing import individual_input, submit_application


def test_submission_runs_the_rules_and_acceptance_issues_the_policy(nb, django_capture_on_commit_callbacks):
    data = individual_input(policyholder=nb.husband, insured=nb.wife, agent=nb.agent)
    with django_capture_on_commit_callbacks(execute=True):
        app = submit_application(clerk=nb.clerk, clerk2=nb.clerk2, data=data)
    case = UnderwritingCase.objects.get(application=app)
    assert case.state == CaseState.ACCEPTED and case.automatic
    policy = Policy.objects.get(application=app)
    assert policy.created_by is None  # issued by the system after automatic acceptance
    app.refresh_from_db()
    assert app.state == AppState.ISSUED


def test_a_manual_acceptance_issues_the_policy_in_the_underwriters_name(
    nb, django_capture_on_commit_callbacks
):
    data = individual_input(
        policyholder=nb.husband,
        insured=nb.wife,
        agent=nb.agent,
        health_disclosure=True,
        health_details="高血压",
    )
    with django_capture_on_commit_callbacks(execute=True):
        app = submit_application(clerk=nb.clerk, clerk2=nb.clerk2, data=data)
    assert UnderwritingCase.objects.get(application=app).state == CaseState.REFERRED
    with django_capture_on_commit_callbacks(execute=True):
        underwriting_decide(
            actor=nb.underwriter, application_id=app.pk, decision="rated", extra_premium="500", reasons="加费"
        )
    policy = Policy.objects.get(application=app)
    assert policy.created_by == nb.underwriter and policy.extra_premium == 500


def test_an_acceptance_waiting_for_its_recording_is_left_for_a_clerk(nb, django_capture_on_commit_callbacks):
    lines = [{"product_code": "U501", "coverage_term": "10y", "sum_insured": "100000", "premium": "10000.00"}]
    data = individual_input(
        policyholder=nb.husband,
        insured=nb.wife,
        agent=nb.agent,
        lines=lines,
        total_premium="10000.00",
        payment_term="5y",
    )
    with django_capture_on_commit_callbacks(execute=True):
        app = submit_application(clerk=nb.clerk, clerk2=nb.clerk2, data=data)
    app.refresh_from_db()
    assert app.state == AppState.ACCEPTED and not Policy.objects.exists()
