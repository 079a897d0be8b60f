"""Group member lists mask the birth date with the identity number (issue 15 point 2)."""

import datetime

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from insurdesk.api.tests.client import as_user
from insurdesk.identity.testing import make_resident_id
from insurdesk.policies.services import policy_issue
from insurdesk.underwriting.services import underwriting_open
from insurdesk.underwriting.testing import group_input, submit_application

TODAY = timezone.localdate()


def test_masked_roles_see_a_members_year_of_birth_only(nb):
    data = group_input(
        company=nb.company, agent=nb.agent, application_date=TODAY - datetime.timedelta(days=1)
    )
    app = submit_application(clerk=nb.clerk, clerk2=nb.clerk2, data=data)
    underwriting_open(actor=None, application_id=app.pk)
    policy = policy_issue(actor=nb.clerk, application_id=app.pk)
    number = make_resident_id(datetime.date(1988, 1, 2), "M", seq=31)
    body = {"name": "王强", "id_number": number, "plan_level": "A"}
    assert as_user(nb.clerk).post(f"/policies/{policy.pk}/members", body).status_code == 201

    for role in ("cs", "manager"):
        (member,) = as_user(nb.users[role]).get(f"/policies/{policy.pk}/members").json()["items"]
        assert member["id_number"] == number[:6] + "********" + number[-4:]
        assert member["birth_date"] == "1988"
    (member,) = as_user(nb.clerk).get(f"/policies/{policy.pk}/members").json()["items"]
    assert (member["id_number"], member["birth_date"]) == (number, "1988-01-02")

    client = Client()
    client.force_login(nb.cs)
    html = client.get(reverse("policies:detail", args=[policy.pk])).content.decode()
    assert number[:6] + "********" + number[-4:] in html
    assert "1988-01-02" not in html and "19880102" not in html
