"""A policy number is searched as printed: hyphens and spaces are ignored on both sides."""

import pytest
from django.urls import reverse

from insurdesk.policies.models import Policy, policy_key
from insurdesk.policies.selectors import policy_list


def test_the_search_key_drops_hyphens_and_spaces_and_upper_cases():
    assert policy_key(" bar-p 002 ") == "BARP002"
    assert policy_key("BAR－P－002") == "BARP002"


@pytest.fixture
def policy(issued):
    return issued()


def test_a_number_typed_with_or_without_hyphens_finds_a_policy_kept_as_written(policy, make_user):
    Policy.objects.filter(pk=policy.pk).update(policy_no="BAR-P-002")
    policy.refresh_from_db()
    policy.save()  # the key follows the number on every save
    viewer = make_user("admin", "HQ")
    assert Policy.objects.get(pk=policy.pk).policy_key == "BARP002"
    for typed in ("BAR-P-002", "barp002", "BAR P 002", "BARP-002"):
        assert list(policy_list(viewer=viewer, query=typed)) == [policy], typed


def test_the_top_bar_search_opens_the_policy_by_its_number(policy, make_user, client):
    client.force_login(make_user("admin", "HQ"))
    response = client.get(reverse("policies:search"), {"q": policy.policy_no.lower()})
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:detail", args=[policy.pk])
    response = client.get(reverse("policies:search"), {"q": "王建国"})
    assert response["Location"].startswith(reverse("customers:list"))
