"""Revealing a masked value: its own permission, a reason, the audit log — on the page and in the API."""

import pytest
from django.urls import reverse

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.audit.models import AuditEntry
from insurdesk.common.masking import mask_id_number, mask_phone
from insurdesk.customers.services import customer_create
from insurdesk.org.models import Role
from insurdesk.org.policy import POLICY

REVEALERS = {"cs", "agent", "manager"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scene(units, make_user, individual_data):
    agent = make_user("agent", "SZ", username="agent_li")
    data = individual_data(unit_id=units["SZ"].pk, agent_id=agent.pk, mobile="13812345678")
    customer, _ = customer_create(actor=None, kind="individual", data=data)
    elsewhere, _ = customer_create(
        actor=None, kind="individual", data=individual_data(unit_id=units["GZ"].pk)
    )
    return agent, customer, elsewhere


def reveal(client, customer, field="id_number", reason="客户来电核对身份", htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        reverse("customers:reveal", args=[customer.pk]), {"field": field, "reason": reason}, headers=headers
    )


def test_reveal_is_its_own_permission_for_the_roles_that_see_masks():
    assert POLICY["customer.reveal"] == REVEALERS
    assert not REVEALERS & POLICY["customer.see_sensitive"]


def test_the_archive_page_offers_reveal_next_to_masked_values(client, scene):
    agent, customer, _ = scene
    client.force_login(agent)
    html = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert mask_id_number(customer.id_number) in html and customer.id_number not in html
    assert 'name="field" value="id_number"' in html and 'name="field" value="mobile"' in html
    assert f'hx-post="/customers/{customer.pk}/reveal/"' in html and 'name="reason"' in html


def test_roles_that_see_values_or_may_not_reveal_get_no_button(client, scene, make_user):
    _, customer, _ = scene
    client.force_login(make_user("clerk"))
    assert 'name="reason"' not in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()


def test_the_value_is_shown_in_place_and_the_reveal_logged_without_it(client, scene):
    agent, customer, _ = scene
    client.force_login(agent)
    response = reveal(client, customer, field="mobile", reason="  回访  客户 ")
    html = response.content.decode()
    assert response.status_code == 200 and "13812345678" in html and "<html" not in html
    assert 'id="reveal-mobile"' in html
    entry = AuditEntry.objects.get(action="customer.reveal")
    assert entry.actor_id == agent.pk and entry.target_id == str(customer.pk)
    assert entry.detail == {"field": "mobile", "reason": "回访 客户", "channel": "web"}
    assert "13812345678" not in str(entry.detail)
    # The next view of the archive is masked again.
    assert "13812345678" not in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert (
        mask_phone("13812345678")
        in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    )


def test_a_reason_is_required(client, scene):
    agent, customer, _ = scene
    client.force_login(agent)
    response = reveal(client, customer, reason="看看")
    html = response.content.decode()
    assert response.status_code == 200 and "请填写查看原因" in html and customer.id_number not in html
    assert not AuditEntry.objects.filter(action="customer.reveal").exists()


def test_without_htmx_the_value_is_shown_on_its_own_page(client, scene):
    agent, customer, _ = scene
    client.force_login(agent)
    response = reveal(client, customer, htmx=False)
    assert response.status_code == 200 and customer.id_number in response.content.decode()
    assert "返回客户档案" in response.content.decode()


@pytest.mark.parametrize("role", sorted(set(Role.values) - REVEALERS))
def test_other_roles_are_refused(client, scene, make_user, role):
    _, customer, _ = scene
    client.force_login(make_user(role, "SZ"))
    assert reveal(client, customer).status_code == 403
    assert not AuditEntry.objects.filter(action="customer.reveal").exists()


def test_outside_the_scope_the_archive_does_not_exist(client, scene, make_user):
    agent, customer, elsewhere = scene
    client.force_login(make_user("cs", "SZ"))
    assert reveal(client, elsewhere).status_code == 404
    client.force_login(make_user("agent", "SZ"))  # another agent: not its customer
    assert reveal(client, customer).status_code == 404


def test_health_notes_are_not_revealable(client, scene):
    agent, customer, _ = scene
    client.force_login(agent)
    assert "该项不能查看完整信息" in reveal(client, customer, field="health_notes").content.decode()


# --- API ---


def test_the_api_reveals_one_field_for_a_reason(scene):
    agent, customer, _ = scene
    r = as_user(agent).post(
        f"/customers/{customer.pk}/reveal", {"field": "id_number", "reason": "核对投保资料"}
    )
    assert r.status_code == 200 and r.json() == {"field": "id_number", "value": customer.id_number}
    entry = AuditEntry.objects.get(action="customer.reveal")
    assert entry.detail == {"field": "id_number", "reason": "核对投保资料", "channel": "api"}


def test_the_api_names_corporate_fields_as_it_shows_them(units, make_user, corporate_data):
    cs = make_user("cs", "SZ")
    company, _ = customer_create(actor=None, kind="corporate", data=corporate_data(unit_id=units["SZ"].pk))
    r = as_user(cs).post(
        f"/customers/{company.pk}/reveal",
        {"field": "legal_representative.id_number", "reason": "核对法人身份"},
    )
    assert r.status_code == 200 and r.json()["value"] == company.legal_rep_id_number
    assert AuditEntry.objects.get(action="customer.reveal").detail["field"] == "legal_rep_id_number"


def test_the_api_refuses_without_reason_other_roles_and_outside_the_scope(scene, make_user):
    agent, customer, elsewhere = scene
    r = as_user(agent).post(f"/customers/{customer.pk}/reveal", {"field": "id_number", "reason": ""})
    assert r.status_code == 422 and error_codes(r) == {("reason", "required")}
    r = as_user(make_user("clerk", "SZ")).post(
        f"/customers/{customer.pk}/reveal", {"field": "id_number", "reason": "核对资料"}
    )
    assert r.status_code == 403 and error_codes(r) == {("", "forbidden")}
    r = as_user(make_user("cs", "SZ")).post(
        f"/customers/{elsewhere.pk}/reveal", {"field": "id_number", "reason": "核对资料"}
    )
    assert r.status_code == 404 and error_codes(r) == {("", "not_found")}
