"""A mask cannot be undone by the value beside it (issue 15 point 2).

The first 6 and last 4 characters of a resident ID plus the birth date in clear (digits 7–14) are the
whole number but for one sequence digit. Roles that see masks get the year of birth only, wherever
the masked number shows: archive page, API, history, exports; and for every document type.
"""

import csv
import datetime
import io

import pytest
from django.test import Client
from django.urls import reverse

from insurdesk.api.tests.client import as_user
from insurdesk.common.masking import mask_birth_date
from insurdesk.customers.selectors import MASKERS, shown
from insurdesk.customers.services import customer_create, customer_update
from insurdesk.org.policy import POLICY
from insurdesk.org.services import token_issue

pytestmark = pytest.mark.django_db

GOOD_ID = "110105199003071239"  # FACTS.md: born 1990-03-07, male
MASKED_ROLES = sorted({"cs", "agent", "manager"})
SEEING_ROLES = sorted(POLICY["customer.see_sensitive"])


@pytest.fixture
def zhang(units):
    customer, _ = customer_create(
        actor=None,
        kind="individual",
        data={"name": "张伟", "id_number": GOOD_ID, "unit_id": units["SZ"].pk},
    )
    return customer


def viewer(make_user, role, customer):
    user = make_user(role, "SZ")
    if role == "agent":
        customer.agent = user
        customer.save(update_fields=["agent"])
    return user


def test_the_declaration_masks_the_birth_date_to_its_year():
    assert MASKERS["birth_date"] is mask_birth_date
    assert mask_birth_date(datetime.date(1990, 3, 7)) == "1990"
    assert mask_birth_date("1990-03-07") == "1990"
    assert mask_birth_date(None) is None
    assert set(MASKED_ROLES).isdisjoint(SEEING_ROLES)


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_the_api_gives_masked_roles_the_year_of_birth_only(make_user, zhang, role):
    """Issue 15.2: the API showed 110105********1239 and 1990-03-07: together the whole number."""
    api = as_user(viewer(make_user, role, zhang))
    for record in (api.get(f"/customers/{zhang.pk}").json(), api.get("/customers").json()["items"][0]):
        assert record["id_number"] == "110105********1239"
        assert record["birth_date"] == "1990"


@pytest.mark.parametrize("role", SEEING_ROLES)
def test_roles_that_see_sensitive_data_get_the_whole_date(make_user, zhang, role):
    record = as_user(make_user(role, "SZ")).get(f"/customers/{zhang.pk}").json()
    assert (record["id_number"], record["birth_date"]) == (GOOD_ID, "1990-03-07")


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_the_archive_page_and_its_edit_form_show_no_whole_birth_date(client, make_user, zhang, role):
    client.force_login(viewer(make_user, role, zhang))
    html = client.get(reverse("customers:detail", args=[zhang.pk])).content.decode()
    assert "110105********1239" in html
    for whole in ("1990-03-07", "1990年3月7日", "March 7, 1990", "1990/03/07", "19900307"):
        assert whole not in html
    if role in POLICY["customer.change"]:
        form = client.get(reverse("customers:edit", args=[zhang.pk])).content.decode()
        assert "1990-03-07" not in form and "19900307" not in form


def test_history_shows_masked_roles_the_year_of_each_birth_date(client, make_user, units):
    passport_holder, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "John Smith",
            "id_type": "passport",
            "id_number": "E12345678",
            "birth_date": datetime.date(1985, 6, 15),
            "unit_id": units["SZ"].pk,
        },
    )
    later = {"birth_date": datetime.date(1985, 6, 16)}
    customer_update(actor=None, customer_id=passport_holder.pk, data=later)
    client.force_login(make_user("cs", "SZ"))
    html = client.get(reverse("customers:detail", args=[passport_holder.pk])).content.decode()
    assert "1985-06-15" not in html and "1985-06-16" not in html
    assert "E1*****78" in html
    record = as_user(make_user("manager", "SZ")).get(f"/customers/{passport_holder.pk}").json()
    assert record["birth_date"] == "1985"


def test_the_customer_export_gives_a_masked_role_the_year_only(make_user, zhang):
    manager = make_user("manager", "SZ")
    client = Client(headers={"Authorization": f"Bearer {token_issue(user=manager)}"})

    response = client.get("/api/v1/exports/customers", {"format": "csv"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    header, row = rows[0], rows[1]
    assert row[header.index("证件号码")] == "110105********1239"
    assert row[header.index("出生日期")] == "1990"


def test_shown_masks_the_birth_date_by_the_viewers_role(make_user, zhang):
    assert shown(make_user("cs"), "birth_date", zhang.birth_date) == "1990"
    assert shown(make_user("clerk"), "birth_date", zhang.birth_date) == datetime.date(1990, 3, 7)
