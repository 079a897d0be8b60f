"""Text is what it looks like, on every way in: pages, API, and (in exchange's tests) the import.

Findings of the hostile test (issue 15.10): names accepted U+202E and U+200B ("张\\u202e三gnp.exe"), and
a reveal reason of four zero-width spaces, or "....", was accepted and logged.
"""

import pytest
from django.urls import reverse

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.audit.models import AuditEntry
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_create
from insurdesk.customers.tests.test_views import individual_post

SPOOFED = "张\u202e三gnp.exe"
ZERO_WIDTH_NAME = "张\u200b三"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    "field, value, code",
    [
        ("name", SPOOFED, "bidi_control"),
        ("name", ZERO_WIDTH_NAME, "invisible_character"),
        ("residence_address", "北京市\u2066朝阳区", "bidi_control"),
        ("notes", "备注\ufeff", "invisible_character"),
    ],
)
def test_the_api_refuses_hidden_characters_naming_the_field(
    make_user, units, individual_data, field, value, code
):
    api = as_user(make_user("clerk"))
    body = {"kind": "individual", **individual_data(unit_id=units["SZ"].pk), field: value}
    r = api.post("/customers", body)
    assert r.status_code == 422, r.content
    assert (field, code) in error_codes(r)
    assert not Customer.objects.exists()


def test_the_api_refuses_a_hidden_character_in_a_change(make_user, units, individual_data):
    customer, _ = customer_create(actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk))
    r = as_user(make_user("clerk")).patch(f"/customers/{customer.pk}", {"name": SPOOFED})
    assert r.status_code == 422 and ("name", "bidi_control") in error_codes(r)
    customer.refresh_from_db()
    assert "\u202e" not in customer.name


def test_the_service_refuses_it_whatever_the_caller(units, individual_data):
    from insurdesk.common.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        customer_create(actor=None, kind="individual", data=individual_data(name=ZERO_WIDTH_NAME))
    assert [(e.field, e.code) for e in info.value.errors] == [("name", "invisible_character")]


def test_the_page_shows_the_refusal_on_the_name_field(client, make_user, units, individual_data):
    client.force_login(make_user("clerk"))
    response = client.post(
        reverse("customers:create_individual"), individual_post(individual_data(name=SPOOFED))
    )
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get("name", []))
    assert "文字方向控制字符" in errors and "U+202E" in errors
    assert not Customer.objects.exists()


@pytest.fixture
def revealable(make_user, units, individual_data):
    agent = make_user("agent", "SZ", username="agent_wu")
    customer, _ = customer_create(
        actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk, agent_id=agent.pk)
    )
    return agent, customer


@pytest.mark.parametrize("reason", ["\u200b\u200b\u200b\u200b", "....", "！！！！", "看看"])
def test_a_reveal_reason_needs_real_words_in_the_api(revealable, reason):
    agent, customer = revealable
    r = as_user(agent).post(f"/customers/{customer.pk}/reveal", {"field": "id_number", "reason": reason})
    assert r.status_code == 422, r.content
    assert {f for f, _ in error_codes(r)} == {"reason"}
    assert not AuditEntry.objects.filter(action="customer.reveal").exists()


@pytest.mark.parametrize("reason", ["\u200b\u200b\u200b\u200b", "...."])
def test_a_reveal_reason_needs_real_words_on_the_page(client, revealable, reason):
    agent, customer = revealable
    client.force_login(agent)
    response = client.post(
        reverse("customers:reveal", args=[customer.pk]),
        {"field": "id_number", "reason": reason},
        headers={"HX-Request": "true"},
    )
    assert customer.id_number not in response.content.decode()
    assert not AuditEntry.objects.filter(action="customer.reveal").exists()


def test_a_real_reveal_reason_still_passes(revealable):
    agent, customer = revealable
    r = as_user(agent).post(
        f"/customers/{customer.pk}/reveal", {"field": "id_number", "reason": "客户来电核对"}
    )
    assert r.status_code == 200 and r.json()["value"] == customer.id_number
