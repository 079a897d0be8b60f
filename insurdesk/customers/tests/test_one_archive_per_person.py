"""One archive per person whatever the document type (issue 15 point 5), on every way in."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_create

pytestmark = pytest.mark.django_db

GOOD_ID = "110105199003071239"  # FACTS.md: born 1990-03-07, male


@pytest.fixture
def clerk(make_user):
    return make_user("clerk", "SZ")


def seed(units, **data) -> Customer:
    customer, _ = customer_create(actor=None, kind="individual", data={"unit_id": units["SZ"].pk, **data})
    return customer


def test_the_hostile_sequence_ends_with_one_archive(clerk, units):
    """Issue 15.5: resident ID as passport, type changed, birth date set against it, second archive."""
    api = as_user(clerk)
    body = {"kind": "individual", "name": "张伟", "id_type": "passport", "id_number": GOOD_ID}
    r = api.post("/customers", body)
    assert r.status_code == 422 and error_codes(r) == {("id_number", "wrong_document_type")}

    archive = seed(units, name="张伟", id_number=GOOD_ID)
    r = api.patch(f"/customers/{archive.pk}", {"id_type": "passport"})
    assert r.status_code == 422 and error_codes(r) == {("id_number", "wrong_document_type")}
    against = {"id_type": "passport", "birth_date": "1970-01-01", "gender": "F"}
    r = api.patch(f"/customers/{archive.pk}", against)
    assert r.status_code == 422 and ("id_number", "wrong_document_type") in error_codes(r)
    archive.refresh_from_db()
    assert (archive.id_type, archive.birth_date, archive.gender) == (
        "resident_id",
        datetime.date(1990, 3, 7),
        "M",
    )

    r = api.post("/customers", {**body, "id_type": "resident_id"})
    assert r.status_code == 409 and error_codes(r) == {("id_number", "duplicate")}
    assert Customer.objects.count() == 1


def test_changing_the_type_re_runs_the_identity_and_duplicate_checks(clerk, units):
    seed(units, name="张伟", id_number=GOOD_ID)
    other = seed(units, name="John Smith", id_type="passport", id_number="E12345678")
    api = as_user(clerk)

    r = api.patch(f"/customers/{other.pk}", {"id_type": "resident_id"})
    assert r.status_code == 422 and ("id_number", "format") in error_codes(r)
    r = api.patch(f"/customers/{other.pk}", {"id_type": "resident_id", "id_number": GOOD_ID})
    assert r.status_code == 409 and error_codes(r) == {("id_number", "duplicate")}
    r = api.patch(f"/customers/{other.pk}", {"id_type": "military_id", "id_number": GOOD_ID})
    assert r.status_code == 422 and error_codes(r) == {("id_number", "wrong_document_type")}
    other.refresh_from_db()
    assert (other.id_type, other.id_number) == ("passport", "E12345678")


def test_derived_facts_follow_the_number_when_the_type_becomes_resident_id(clerk, units):
    other = seed(
        units, name="李娜", id_type="passport", id_number="E12345678", birth_date=datetime.date(1980, 1, 1)
    )
    api = as_user(clerk)
    number = "11010519491231002X"  # FACTS.md: born 1949-12-31, female
    r = api.patch(f"/customers/{other.pk}", {"id_type": "resident_id", "id_number": number})
    assert r.status_code == 422 and ("birth_date", "mismatch") in error_codes(r)
    r = api.patch(
        f"/customers/{other.pk}",
        {"id_type": "resident_id", "id_number": number, "birth_date": "1949-12-31", "gender": "F"},
    )
    assert r.status_code == 200, r.json()
    other.refresh_from_db()
    assert (other.birth_date, other.gender) == (datetime.date(1949, 12, 31), "F")


def test_the_edit_page_refuses_a_resident_id_typed_as_a_passport(client, clerk, units):
    archive = seed(units, name="John Smith", id_type="passport", id_number="E12345678")
    client.force_login(clerk)
    url = reverse("customers:edit", args=[archive.pk])
    post = {
        "name": "John Smith",
        "id_type": "passport",
        "id_number": GOOD_ID,
        "nationality": "CHN",
        "version": archive.version,
    }
    html = client.post(url, post).content.decode()
    assert "证件类型应为居民身份证" in html
    archive.refresh_from_db()
    assert archive.id_number == "E12345678"


def test_the_import_refuses_a_resident_id_under_another_document_type(clerk, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(f"客户姓名,证件类型,证件号码\n张伟,护照,{GOOD_ID}\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("import", str(path), "--user", clerk.username, stdout=out, stderr=err)
    assert exc.value.code == 1
    assert "wrong_document_type" in err.getvalue() and "证件类型应为居民身份证" in err.getvalue()
    assert not Customer.objects.exists()
