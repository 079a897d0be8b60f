"""The underwriting and policy pages as each of the 10 roles sees them; forms, errors, print and PDF."""

import datetime
import io

import pytest
import xlsxwriter
from django.urls import reverse
from django.utils import timezone

from insurdesk.org.models import Role
from insurdesk.org.policy import POLICY, page_access
from insurdesk.policies.models import GroupMember, Instalment, Payment, PolicyState
from insurdesk.policies.services import policy_issue
from insurdesk.underwriting.models import CaseState, UnderwritingCase
from insurdesk.underwriting.services import underwriting_open
from insurdesk.underwriting.testing import group_input, submit_application

ROLES = list(Role.values)
TODAY = timezone.localdate()
HEALTH = {"health_disclosure": True, "health_details": "高血压"}


@pytest.fixture
def world(nb, submitted, issued):
    referred = submitted(**HEALTH)
    underwriting_open(actor=None, application_id=referred.pk)
    accepted = submitted()
    underwriting_open(actor=None, application_id=accepted.pk)
    policy = issued()
    return {"referred": referred, "accepted": accepted, "policy": policy}


def _pages(world, nb):
    a, p = world["referred"], world["policy"]
    return {
        "underwriting:queue": reverse("underwriting:queue"),
        "underwriting:case": reverse("underwriting:case", args=[a.pk]),
        "policies:list": reverse("policies:list"),
        "policies:to_issue": reverse("policies:to_issue"),
        "policies:due": reverse("policies:due"),
        "policies:payment_new": reverse("policies:payment_new") + f"?policy={p.pk}",
        "policies:detail": reverse("policies:detail", args=[p.pk]),
        "policies:print": reverse("policies:print", args=[p.pk]),
        "policies:customer_policies": reverse("policies:customer_policies", args=[nb.husband.pk]),
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_by_the_declared_policy(client, nb, world, role):
    client.force_login(nb.users.get(role, nb.agent))
    for name, url in _pages(world, nb).items():
        action = page_access(name).action
        expected = 200 if role in POLICY[action] else 403
        assert client.get(url).status_code == expected, (name, role)


@pytest.mark.parametrize("role", ROLES)
def test_every_action_answers_each_role_by_the_declared_policy(client, nb, world, role):
    client.force_login(nb.users.get(role, nb.agent))
    a, accepted, p = world["referred"], world["accepted"], world["policy"]
    posts = {
        "underwriting:decide": (
            reverse("underwriting:decide", args=[a.pk]),
            {"decision": "postpone", "reasons": "术后半年再投保"},
        ),
        "underwriting:take": (reverse("underwriting:take", args=[a.pk]), {}),
        "policies:issue": (reverse("policies:issue", args=[accepted.pk]), {}),
        "policies:receipt": (reverse("policies:receipt", args=[p.pk]), {"receipt_date": TODAY.isoformat()}),
        "policies:payment_new": (
            reverse("policies:payment_new"),
            {"policy_no": p.policy_no, "amount": "15000", "method": "transfer", "paid_on": TODAY.isoformat()},
        ),
        "policies:cancel": (reverse("policies:cancel", args=[p.pk]), {"reason": "犹豫期撤单"}),
    }
    for name, (url, data) in posts.items():
        action = page_access(name).action
        response = client.post(url, data)
        assert (response.status_code == 403) == (role not in POLICY[action]), (
            name,
            role,
            response.status_code,
        )
        assert response.status_code in (302, 403), (name, response.status_code)


def test_anonymous_is_sent_to_login(client, nb, world):
    for url in _pages(world, nb).values():
        assert client.get(url).status_code == 302


def test_a_user_of_another_unit_gets_404(client, nb, world, make_user):
    client.force_login(make_user("underwriter", "GZ"))
    assert client.get(reverse("underwriting:case", args=[world["referred"].pk])).status_code == 404
    assert client.get(reverse("policies:detail", args=[world["policy"].pk])).status_code == 404
    assert client.get(reverse("policies:customer_policies", args=[nb.wife.pk])).status_code == 404


def test_the_case_page_shows_rules_and_a_decision_records_a_rating(client, nb, world):
    client.force_login(nb.underwriter)
    url = reverse("underwriting:case", args=[world["referred"].pk])
    page = client.get(url).content.decode()
    assert "健康告知" in page and "转人工" in page and "提交核保结论" in page and "高血压" in page
    r = client.post(reverse("underwriting:decide", args=[world["referred"].pk]), {"decision": "rated"})
    assert r.status_code == 422 and "加费承保须填写大于 0 的加费金额" in r.content.decode()
    r = client.post(
        reverse("underwriting:decide", args=[world["referred"].pk]),
        {"decision": "rated", "extra_premium": "1200", "reasons": "高血压加费"},
    )
    assert r.status_code == 302
    case = UnderwritingCase.objects.get(application=world["referred"])
    assert case.state == CaseState.ACCEPTED and case.extra_premium == 1200
    assert "加费承保" in client.get(url).content.decode()


def test_a_manager_reads_the_case_with_health_details_masked(client, nb, world):
    client.force_login(nb.manager)
    page = client.get(reverse("underwriting:case", args=[world["referred"].pk])).content.decode()
    assert "高血压" not in page and "提交核保结论" not in page


def test_issuing_paying_and_the_due_list_in_pages(client, nb, world):
    client.force_login(nb.clerk)
    r = client.post(reverse("policies:issue", args=[world["accepted"].pk]))
    assert r.status_code == 302
    policy = world["accepted"].policy
    r = client.post(
        reverse("policies:payment_new"),
        {"policy_no": policy.policy_no, "amount": "99999", "method": "cash", "paid_on": TODAY.isoformat()},
    )
    assert r.status_code == 422 and "超过第 1 期未缴金额" in r.content.decode()
    r = client.post(
        reverse("policies:payment_new"),
        {"policy_no": policy.policy_no, "amount": "15000", "method": "cash", "paid_on": TODAY.isoformat()},
    )
    assert r.status_code == 302 and Payment.objects.filter(policy=policy).count() == 1
    policy.refresh_from_db()
    assert policy.state == PolicyState.IN_FORCE
    due = client.get(reverse("policies:due"), {"agent": nb.agent.pk}).content.decode()
    assert policy.policy_no in due and "未缴" in due
    detail = client.get(reverse("policies:detail", args=[policy.pk])).content.decode()
    assert "已缴" in detail and "缴费计划" in detail


def test_the_due_list_and_the_policy_show_a_premium_past_due_as_overdue(client, nb, world):
    policy = world["policy"]
    client.force_login(nb.clerk)
    client.post(
        reverse("policies:payment_new"),
        {"policy_no": policy.policy_no, "amount": "15000", "method": "cash", "paid_on": TODAY.isoformat()},
    )
    # The second premium fell due ten days ago and the daily lapse check has not run since.
    past = TODAY - datetime.timedelta(days=10)
    Instalment.objects.filter(policy=policy, seq=2).update(due_date=past, open_due=past)
    overdue = client.get(reverse("policies:due"), {"status": "overdue"}).content.decode()
    assert policy.policy_no in overdue and ">逾期<" in overdue and "逾期 10 天" in overdue
    unpaid = client.get(reverse("policies:due"), {"status": "unpaid"}).content.decode()
    assert policy.policy_no not in unpaid
    detail = client.get(reverse("policies:detail", args=[policy.pk])).content.decode()
    assert ">逾期<" in detail and ">已缴<" in detail


def test_a_cooling_off_cancellation_on_the_page_refunds_the_premium_paid(client, nb, world):
    policy = world["policy"]
    client.force_login(nb.clerk)
    client.post(
        reverse("policies:payment_new"),
        {"policy_no": policy.policy_no, "amount": "15000", "method": "card", "paid_on": TODAY.isoformat()},
    )
    client.force_login(nb.service)
    page = client.get(reverse("policies:detail", args=[policy.pk])).content.decode()
    assert "犹豫期至" in page and "犹豫期撤单" in page
    r = client.post(
        reverse("policies:cancel", args=[policy.pk]), {"reason": "客户犹豫期内申请撤单"}, follow=True
    )
    page = r.content.decode()
    assert "已撤单，退还保费 15,000.00 元（人民币壹万伍仟元整）" in page
    assert "犹豫期撤单" in page and "退费" in page
    assert Payment.objects.get(policy=policy, kind="refund").method == "card"


def test_the_customer_fragment_lists_policies_in_every_role(client, nb, world):
    client.force_login(nb.cs)
    husband = client.get(reverse("policies:customer_policies", args=[nb.husband.pk])).content.decode()
    wife = client.get(reverse("policies:customer_policies", args=[nb.wife.pk])).content.decode()
    assert world["policy"].policy_no in husband and "投保人" in husband
    assert world["policy"].policy_no in wife and "被保险人" in wife
    archive = client.get(reverse("customers:detail", args=[nb.wife.pk])).content.decode()
    assert reverse("policies:customer_policies", args=[nb.wife.pk]) in archive


def embedded_fonts(pdf: bytes) -> set[str]:
    """Return the names of the fonts a PDF embeds (its object streams are deflated first)."""
    import re
    import zlib

    text = pdf
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            text += zlib.decompress(m.group(1))
        except zlib.error:
            continue
    return {name.decode().split("+", 1)[-1] for name in re.findall(rb"/BaseFont\s*/([A-Za-z0-9+\-_]+)", text)}


def test_the_print_view_and_the_pdf(client, nb, world):
    client.force_login(nb.clerk)
    policy = world["policy"]
    page = client.get(reverse("policies:print", args=[policy.pk])).content.decode()
    assert "保险单" in page and policy.policy_no in page and "犹豫期" in page and "style=" not in page
    r = client.get(reverse("policies:pdf", args=[policy.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert {"Noto-Serif-CJK-SC", "Noto-Sans-CJK-SC"} & embedded_fonts(r.content)  # Chinese is set in Noto CJK


def test_a_member_list_import_with_errors_is_shown_row_by_row(client, nb):
    app = submit_application(
        clerk=nb.clerk,
        clerk2=nb.clerk2,
        data=group_input(
            company=nb.company, agent=nb.agent, application_date=TODAY - datetime.timedelta(days=1)
        ),
    )
    underwriting_open(actor=None, application_id=app.pk)
    policy = policy_issue(actor=nb.clerk, application_id=app.pk)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(
        [["姓名", "证件号码", "等级"], ["王强", "11010519850304001X", "A"], ["", "123", "Z"]]
    ):
        sheet.write_row(r, 0, row)
    book.close()
    client.force_login(nb.clerk)
    upload = io.BytesIO(out.getvalue())
    upload.name = "清单.xlsx"
    r = client.post(reverse("policies:members_import", args=[policy.pk]), {"file": upload})
    assert r.status_code == 422
    page = r.content.decode()
    assert "整份清单未导入" in page and "姓名不能为空" in page and not GroupMember.objects.exists()
