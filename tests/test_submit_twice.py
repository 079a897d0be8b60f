"""Every web form that creates something is safe to submit twice (issue 15 point 4).

A double click or a reload of the POST sends the form's one-time token again: the second submission
is sent to what the first one created, with a message, and creates nothing.
"""

import datetime
import re

import pytest
from django.urls import reverse

from insurdesk.applications.models import Application
from insurdesk.applications.tests.test_views import entry_post
from insurdesk.common.formtokens import issue_form_token
from insurdesk.customers.models import Customer
from insurdesk.identity.testing import make_resident_id
from insurdesk.underwriting.tests.fixtures import _fast_passwords, nb  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
ONCE = "该表单已经提交过，未重复录入"


def token_of(client, url: str) -> str:
    html = client.get(url).content.decode()
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def twice(client, url: str, data: dict):
    data = {**data, "form_token": token_of(client, url)}
    first = client.post(url, data)
    second = client.post(url, data, follow=True)
    return first, second


def test_the_new_customer_form_submitted_twice_creates_one_archive(client, nb):  # noqa: F811
    client.force_login(nb.clerk)
    number = make_resident_id(datetime.date(1991, 2, 3), "F", seq=42)
    data = {"name": "赵敏", "id_type": "resident_id", "id_number": number, "nationality": "CHN"}

    first, second = twice(client, reverse("customers:create_individual"), data)

    assert first.status_code == 302, first.content.decode()[:2000]
    assert Customer.objects.filter(name="赵敏").count() == 1
    assert second.redirect_chain[0][0] == first["Location"] and ONCE in second.content.decode()


def test_the_new_application_form_submitted_twice_creates_one_application(client, nb):  # noqa: F811
    client.force_login(nb.clerk)
    people = {"agent": nb.agent, "husband": nb.husband, "wife": nb.wife}

    first, second = twice(client, reverse("applications:create"), entry_post(people))

    assert first.status_code == 302
    assert Application.objects.count() == 1
    assert second.redirect_chain[0][0] == first["Location"] and ONCE in second.content.decode()


def test_a_refused_submission_gives_its_token_back(client, nb):  # noqa: F811
    client.force_login(nb.clerk)
    url = reverse("customers:create_individual")
    token = token_of(client, url)
    bad = {"name": "赵敏", "id_type": "resident_id", "id_number": "110105199003071238", "form_token": token}
    assert client.post(url, bad).status_code in (200, 422)
    good = {
        **bad,
        "id_number": make_resident_id(datetime.date(1991, 2, 3), "F", seq=42),
        "nationality": "CHN",
    }
    assert client.post(url, good).status_code == 302
    assert Customer.objects.filter(name="赵敏").count() == 1


def test_another_users_or_a_forged_token_is_refused(client, nb, make_user):  # noqa: F811
    client.force_login(nb.clerk)
    url = reverse("customers:create_individual")
    data = {
        "name": "赵敏",
        "id_type": "resident_id",
        "id_number": make_resident_id(datetime.date(1991, 2, 3), "F", seq=42),
    }
    for token in (issue_form_token(make_user("clerk")), "forged"):
        assert client.post(url, {**data, "form_token": token}).status_code == 400
    assert not Customer.objects.filter(name="赵敏").exists()
