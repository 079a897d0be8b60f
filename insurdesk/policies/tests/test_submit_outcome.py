"""提交核保 says what actually happened; the application page shows its conclusion and its policy."""

import pytest
from django.urls import reverse

from insurdesk.applications.services import application_create, application_second_entry
from insurdesk.applications.testing import second_entry_of
from insurdesk.policies.models import Policy
from insurdesk.underwriting.testing import individual_input

# Submitting commits, then underwriting and issuing run on commit, before the page reads the outcome.
pytestmark = pytest.mark.django_db(transaction=True)

HEALTH = {"health_disclosure": True, "health_details": "高血压"}


def _entered(nb, **overrides):
    data = individual_input(policyholder=nb.husband, insured=nb.wife, agent=nb.agent, **overrides)
    app, _ = application_create(actor=nb.clerk, data=data)
    application_second_entry(actor=nb.clerk2, application_id=app.pk, data=second_entry_of(app))
    return app


def test_an_application_accepted_and_issued_at_once_says_so_with_a_link(client, nb):
    app = _entered(nb)
    client.force_login(nb.clerk)
    response = client.post(reverse("applications:submit", args=[app.pk]))
    policy = Policy.objects.get(application=app)
    page = client.get(response["Location"]).content.decode()
    link = f'<a href="{reverse("policies:detail", args=[policy.pk])}">{policy.policy_no}</a>'
    assert f"自动核保通过，已出单 {link}" in page
    assert "已提交核保" not in page
    # The application page shows the conclusion and links to its policy.
    assert "核保结论" in page and "核保通过" in page
    assert f'href="{reverse("policies:detail", args=[policy.pk])}"' in page


def test_a_referred_application_says_it_went_to_a_person(client, nb):
    app = _entered(nb, **HEALTH)
    client.force_login(nb.clerk)
    response = client.post(reverse("applications:submit", args=[app.pk]), follow=True)
    page = response.content.decode()
    assert "已提交核保，已转人工核保" in page
    assert "未出单" in page


def test_the_archive_lists_the_customers_applications_in_progress(client, nb):
    app = _entered(nb, **HEALTH)
    client.force_login(nb.service)
    page = client.get(reverse("policies:customer_policies", args=[nb.wife.pk])).content.decode()
    assert "在途投保单" in page and app.application_no in page
