"""The servicing pages as a user sees them: the form of each kind, the request page, the queue, print."""

import pytest
from django.test import Client
from django.urls import reverse

from insurdesk.servicing.models import Kind, ServicingRequest

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_policy_page_offers_servicing_and_loads_its_panel(nb, in_force):
    policy = in_force()
    page = _client(nb.service).get(reverse("policies:detail", args=[policy.pk])).content.decode()
    assert reverse("servicing:new", args=[policy.pk]) in page
    assert reverse("servicing:policy_panel", args=[policy.pk]) in page
    panel = _client(nb.cs).get(reverse("servicing:policy_panel", args=[policy.pk]))
    assert panel.status_code == 200 and "尚无批单" in panel.content.decode()
    # A role that may not request sees no 保全 button.
    page = _client(nb.underwriter).get(reverse("policies:detail", args=[policy.pk])).content.decode()
    assert reverse("servicing:new", args=[policy.pk]) not in page


@pytest.mark.parametrize(
    "kind", [k.value for k in Kind if k not in ("members", "reinstatement", "loan_repay")]
)
def test_every_kind_of_an_in_force_policy_has_a_form(nb, in_force, kind):
    policy = in_force()
    r = _client(nb.service).get(reverse("servicing:new", args=[policy.pk]), {"kind": kind})
    assert r.status_code == 200
    assert f'name="kind" value="{kind}"' in r.content.decode()


def test_a_refused_form_keeps_the_input_and_names_the_rule(nb, in_force):
    policy = in_force()
    url = reverse("servicing:new", args=[policy.pk])
    r = _client(nb.service).post(
        url,
        {
            "kind": "beneficiary",
            "channel": "counter",
            "applicant": "policyholder",
            "effective_date": policy.issue_date.isoformat(),
            "b1_order": "1",
            "b1_name": "张小红",
            "b1_share": "100",
            "documents": ["保全申请书"],
        },
    )
    body = r.content.decode()
    assert r.status_code == 422
    assert "保险法第四十一条" in body and 'value="张小红"' in body


def test_request_approve_print_and_pdf(nb, in_force):
    policy = in_force()
    url = reverse("servicing:new", args=[policy.pk])
    r = _client(nb.service).post(
        url,
        {
            "kind": "contact",
            "channel": "phone",
            "applicant": "policyholder",
            "effective_date": policy.issue_date.isoformat(),
            "email": "new@example.cn",
            "documents": ["保全申请书", "投保人身份证件"],
        },
    )
    req = ServicingRequest.objects.get(policy=policy)
    assert r.status_code == 302 and r["Location"] == reverse("servicing:detail", args=[req.pk])
    detail = _client(nb.service).get(r["Location"]).content.decode()
    assert "approve-form" not in detail  # the requester may not approve
    manager = _client(nb.manager)
    assert "approve-form" in manager.get(r["Location"]).content.decode()
    done = manager.post(reverse("servicing:approve", args=[req.pk]), {"reason": "同意"}, follow=True)
    text = done.content.decode()
    assert "已批准并生效，批单号 PD" in text
    req.refresh_from_db()
    e = req.endorsement
    panel = manager.get(reverse("servicing:policy_panel", args=[policy.pk])).content.decode()
    assert e.endorsement_no in panel
    printed = manager.get(reverse("servicing:endorsement_print", args=[policy.pk, e.pk])).content.decode()
    assert e.endorsement_no in printed and "批单" in printed
    pdf = manager.get(reverse("servicing:endorsement_pdf", args=[policy.pk, e.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content[:4] == b"%PDF"


def test_the_queue_sorts_and_counts(nb, in_force):
    policy = in_force()
    c = _client(nb.service)
    for kind, changes in (("contact", {"email": "a@b.cn"}), ("surrender", {})):
        from insurdesk.servicing.services import servicing_request_create

        servicing_request_create(actor=nb.clerk, policy_id=policy.pk, kind=kind, changes=changes)
    r = c.get(reverse("servicing:queue"), {"queue": "approve", "sort": "-amount"})
    body = r.content.decode().split('id="queue-table"')[1]
    assert r.status_code == 200
    assert body.index("退保") < body.index("联系方式变更")
    r = c.get(reverse("servicing:queue"), {"queue": "approve", "sort": "amount"})
    body = r.content.decode().split('id="queue-table"')[1]
    assert body.index("联系方式变更") < body.index("退保")
    assert 'class="active" aria-current="page">待审核 <span class="count">2</span>' in r.content.decode()
