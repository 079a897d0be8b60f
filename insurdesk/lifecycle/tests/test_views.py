"""The retention pages as a compliance officer uses them: the due list, one archive, request and approve."""

import pytest
from django.urls import reverse

from insurdesk.customers.models import Customer
from insurdesk.lifecycle.models import DestructionRequest, RequestState
from insurdesk.lifecycle.services import ANONYMOUS_NAME, destruction_request
from insurdesk.org.models import Role
from insurdesk.org.policy import POLICY

REASON = "保存期限届满，客户已无业务往来"


def test_the_due_page_lists_archives_past_retention_with_the_rules(client, people, old_customer):
    due = old_customer(years=11)
    kept = old_customer(years=3)
    client.force_login(people.officer)
    html = client.get(reverse("lifecycle:index")).content.decode()
    assert due.archive_no in html and kept.archive_no not in html
    assert "反洗钱法" in html and "保监发〔2017〕54号" in html and "个人信息保护法" in html


def test_the_archive_page_names_the_rule_and_date_while_retention_runs(client, people, old_customer):
    c = old_customer(years=2)
    client.force_login(people.officer)
    html = client.get(reverse("lifecycle:customer", args=[c.pk])).content.decode()
    assert "保存期限未满" in html and "客户身份资料" in html and "申请销毁" not in html
    response = client.post(reverse("lifecycle:request", args=[c.pk]), {"reason": REASON}, follow=True)
    assert "届满前不能销毁" in response.content.decode()
    assert not DestructionRequest.objects.exists()


def test_request_then_a_second_officer_approves(client, people, old_customer):
    c = old_customer()
    client.force_login(people.officer)
    url = reverse("lifecycle:customer", args=[c.pk])
    assert "申请销毁" in client.get(url).content.decode()
    response = client.post(reverse("lifecycle:request", args=[c.pk]), {"reason": REASON}, follow=True)
    html = response.content.decode()
    assert "已提交销毁申请" in html and "批准并销毁" not in html and "撤回申请" in html
    req = DestructionRequest.objects.get()

    # The requester's own approval is refused even when posted directly.
    response = client.post(reverse("lifecycle:approve", args=[c.pk]), {"request_id": req.pk}, follow=True)
    assert "申请人不能审批" in response.content.decode()
    assert Customer.objects.get(pk=c.pk).name == c.name

    client.force_login(people.officer2)
    assert "批准并销毁" in client.get(url).content.decode()
    response = client.post(
        reverse("lifecycle:approve", args=[c.pk]), {"request_id": req.pk, "note": "同意"}, follow=True
    )
    assert "已审批，档案已匿名化销毁" in response.content.decode()
    assert Customer.objects.get(pk=c.pk).name == ANONYMOUS_NAME
    records = client.get(reverse("lifecycle:records")).content.decode()
    assert c.archive_no in records and "officer2" in records


def test_reject_and_withdraw(client, people, old_customer):
    c = old_customer()
    req = destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    client.force_login(people.officer2)
    client.post(reverse("lifecycle:reject", args=[c.pk]), {"request_id": req.pk, "note": "有未决投诉"})
    req.refresh_from_db()
    assert req.state == RequestState.REJECTED and req.decision_note == "有未决投诉"
    again = destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    client.force_login(people.officer)
    client.post(reverse("lifecycle:withdraw", args=[c.pk]), {"request_id": again.pk})
    again.refresh_from_db()
    assert again.state == RequestState.WITHDRAWN


def test_a_stale_request_id_is_not_decided(client, people, old_customer):
    c, other = old_customer(), old_customer()
    req = destruction_request(actor=people.officer, customer_id=other.pk, reason=REASON)
    client.force_login(people.officer2)
    response = client.post(reverse("lifecycle:approve", args=[c.pk]), {"request_id": req.pk}, follow=True)
    assert "不属于此档案" in response.content.decode()
    assert DestructionRequest.objects.get().state == RequestState.REQUESTED


@pytest.mark.parametrize("role", Role.values)
def test_each_role_reaches_the_pages_its_policy_allows(client, make_user, old_customer, role):
    c = old_customer()
    client.force_login(make_user(role, "HQ"))
    expected = 200 if role in POLICY["lifecycle.view"] else 403
    assert client.get(reverse("lifecycle:index")).status_code == expected
    assert client.get(reverse("lifecycle:customer", args=[c.pk])).status_code == expected
    response = client.post(reverse("lifecycle:request", args=[c.pk]), {"reason": REASON})
    assert response.status_code == (302 if role in POLICY["lifecycle.request"] else 403)


def test_an_archive_outside_the_scope_does_not_exist(client, people, units, individual_data):
    from insurdesk.customers.services import customer_create

    gz, _ = customer_create(actor=None, kind="individual", data=individual_data(unit_id=units["GZ"].pk))
    client.force_login(people.manager)  # 深圳
    assert client.get(reverse("lifecycle:customer", args=[gz.pk])).status_code == 404
