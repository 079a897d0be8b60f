"""Servicing (保全) in the browser: a beneficiary change taken by one person and approved by another,
shown on the policy and in its endorsement (批单) PDF; a lapse and a reinstatement through the daily job."""

import datetime
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from conftest import PASSWORD
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id
from insurdesk.policies.models import Policy
from insurdesk.policies.services import payment_record, policy_issue
from insurdesk.servicing.models import Endorsement, ServicingRequest
from insurdesk.underwriting.services import underwriting_open
from insurdesk.underwriting.testing import individual_input, submit_application

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".user-name")).to_be_visible()


def _policy(units, make_user, **overrides) -> Policy:
    """The husband's policy on his wife, issued and its first premium paid."""
    clerk = make_user("clerk", "SZ", username="clerk_lin")
    clerk2 = make_user("clerk", "SZ", username="clerk_zheng")
    agent = make_user("agent", "SZ", username="agent_chen")
    husband, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "张伟",
            "id_number": make_resident_id(datetime.date(1980, 5, 6), "M", seq=11),
            "unit_id": units["SZ"].pk,
            "agent_id": agent.pk,
            "occupation_class": 1,
            "id_valid_to": datetime.date(2036, 1, 1),
        },
    )
    wife, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "李芳",
            "id_number": make_resident_id(datetime.date(1982, 7, 8), "F", seq=12),
            "unit_id": units["SZ"].pk,
            "occupation_class": 1,
            "id_valid_to": datetime.date(2036, 1, 1),
        },
    )
    data = individual_input(policyholder=husband, insured=wife, agent=agent, **overrides)
    app = submit_application(clerk=clerk, clerk2=clerk2, data=data)
    underwriting_open(actor=None, application_id=app.pk)
    # Automatic underwriting issues an accepted application once its transaction commits.
    policy = Policy.objects.filter(application=app).first() or policy_issue(
        actor=clerk, application_id=app.pk
    )
    first = policy.instalments.get(seq=1)
    payment_record(
        actor=clerk, policy_id=policy.pk, amount=first.amount, method="transfer", paid_on=policy.issue_date
    )
    return Policy.objects.get(pk=policy.pk)


def _pdf_titles(pdf: bytes) -> set[str]:
    """Return the titles a PDF carries: its document title (the page's <title>) and its bookmarks' titles."""
    import zlib

    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            pdf += zlib.decompress(stream.group(1))
        except zlib.error:
            continue
    titles = set()
    for m in re.finditer(rb"/Title\s*<([0-9A-Fa-f]+)>", pdf):
        raw = bytes.fromhex(m.group(1).decode())
        titles.add(raw.decode("utf-16") if raw[:2] in (b"\xfe\xff", b"\xff\xfe") else raw.decode("latin-1"))
    return titles


def test_a_beneficiary_change_is_approved_by_a_second_person_and_endorsed(
    live_server, units, make_user, catalogue, chromium_page, screenshot
):
    base = live_server.url
    make_user("service", "SZ", username="service_wang")
    make_user("manager", "SZ", username="manager_li")
    policy = _policy(units, make_user)
    page = chromium_page

    # The counter clerk takes the policyholder's written request, with the insured's consent (保险法 §41).
    sign_in(page, base, "service_wang")
    page.goto(f"{base}/policies/{policy.pk}/")
    page.get_by_role("link", name="申请保全").click()
    page.get_by_role("link", name="受益人变更").click()
    expect(page.get_by_role("heading", name="保全申请：受益人变更")).to_be_visible()
    page.locator("#id_b1_name").fill("张小红")
    page.locator("#id_b1_relationship").select_option("child")
    page.locator("#id_b1_share").fill("60")
    page.locator("#id_b2_order").fill("1")
    page.locator("#id_b2_name").fill("张小刚")
    page.locator("#id_b2_relationship").select_option("child")
    page.locator("#id_b2_share").fill("40")
    page.get_by_role("button", name="受理申请").click()
    # Without the insured's consent the request is refused, the rule named, nothing typed lost.
    expect(page.locator("#error-summary")).to_contain_text("保险法第四十一条")
    expect(page.locator("#id_b2_name")).to_have_value("张小刚")
    page.locator("#id_insured_consent").check()
    page.get_by_role("button", name="受理申请").click()
    expect(page.locator(".msg-success")).to_contain_text("已受理保全申请 BQ")
    expect(page.locator("#diff")).to_contain_text("张小红")
    expect(page.locator("#approve-form")).to_have_count(0)  # the one who took it may not approve it
    req = ServicingRequest.objects.get(policy=policy)

    # A second person approves it from the queue; it takes effect at once and writes the endorsement.
    sign_in(page, base, "manager_li")
    page.goto(base + "/servicing/")
    page.get_by_role("link", name=req.request_no).click()
    page.locator("#approve-reason").fill("资料齐全，被保险人已签字同意")
    page.get_by_role("button", name="审批同意").click()
    expect(page.locator(".msg-success")).to_contain_text("已批准并生效，批单号 PD")
    endorsement = Endorsement.objects.get(request=req)

    # The policy shows the new beneficiaries and lists the endorsement with before and after.
    page.goto(f"{base}/policies/{policy.pk}/")
    expect(page.locator("#beneficiaries")).to_contain_text("张小红")
    expect(page.locator("#beneficiaries")).not_to_contain_text("王小明")
    row = page.locator("#endorsements tr", has_text=endorsement.endorsement_no)
    expect(row).to_contain_text("王小明")
    expect(row).to_contain_text("张小红")
    screenshot(page, "servicing-policy-endorsements")
    row.get_by_role("link", name="打印").click()
    expect(page.get_by_role("heading", name="批单")).to_be_visible()
    expect(page.locator("body")).to_contain_text("张小刚")
    pdf = page.request.get(f"{base}/servicing/policy/{policy.pk}/endorsements/{endorsement.pk}.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert f"批单 {endorsement.endorsement_no}" in _pdf_titles(pdf.body())


def test_a_lapsed_policy_is_reinstated_through_the_daily_job(
    live_server, units, make_user, catalogue, chromium_page, screenshot
):
    base = live_server.url
    make_user("service", "SZ", username="service_wang")
    make_user("underwriter", "SZ", username="uw_wu")
    make_user("manager", "SZ", username="manager_li")
    make_user("manager", "SZ", username="manager_zhao")
    policy = _policy(
        units,
        make_user,
        lines=[
            {"product_code": "L102", "coverage_term": "20y", "sum_insured": "300000", "premium": "150.00"}
        ],
        total_premium="150.00",
        payment_mode="monthly",
        payment_term="20y",
    )
    page = chromium_page

    # The second monthly premium goes unpaid past its 60-day grace: the daily job suspends the policy.
    lapse_day = policy.effective_date + datetime.timedelta(days=31 + 61)
    call_command("daily", date=lapse_day)
    sign_in(page, base, "service_wang")
    page.goto(f"{base}/policies/{policy.pk}/")
    expect(page.locator(".archive-meta")).to_contain_text("失效")

    # The policyholder asks to reinstate it on a day of his choosing; arrears and interest are worked out.
    day = lapse_day + datetime.timedelta(days=5)
    page.get_by_role("link", name="申请保全").click()
    page.get_by_role("link", name="复效").click()
    page.locator("#id_effective_date").fill(day.isoformat())
    page.locator("#id_reason").fill("补交欠费，申请恢复效力")
    page.get_by_role("button", name="受理申请").click()
    expect(page.locator(".msg-success")).to_contain_text("转核保")
    expect(page.locator("#diff")).to_contain_text("补交保费")
    req = ServicingRequest.objects.get(policy=policy)

    # L102 asks for a health re-declaration: the underwriter accepts it.
    sign_in(page, base, "uw_wu")
    page.goto(f"{base}/servicing/{req.pk}/")
    page.locator("#id_accept").select_option("1")
    page.locator("#id_note").fill("健康告知无异常")
    page.get_by_role("button", name="提交核保结论").click()
    expect(page.locator(".msg-success")).to_contain_text("核保同意")

    # Money moves: two approvers, neither of them the requester.
    sign_in(page, base, "manager_li")
    page.goto(f"{base}/servicing/{req.pk}/")
    page.get_by_role("button", name="审批同意").click()
    expect(page.locator(".msg-success")).to_contain_text("待另一位审批人复核")
    expect(page.locator("#approve-form")).to_have_count(0)
    sign_in(page, base, "manager_zhao")
    page.goto(f"{base}/servicing/{req.pk}/")
    page.get_by_role("button", name="复核同意").click()
    expect(page.locator(".msg-success")).to_contain_text(f"将于 {day.isoformat()} 生效")

    # The daily job of the effective date applies it: premiums paid up, the policy back in force.
    assert day > timezone.localdate()
    call_command("daily", date=day)
    page.goto(f"{base}/servicing/{req.pk}/")
    expect(page.locator(".archive-meta")).to_contain_text("已生效")
    expect(page.locator("#endorsement-no")).to_contain_text("PD")
    page.goto(f"{base}/policies/{policy.pk}/")
    expect(page.locator(".archive-meta")).to_contain_text("复效")
    expect(page.locator("#endorsements")).to_contain_text("复效")
    expect(page.locator("#payouts")).to_contain_text("复效利息")
    screenshot(page, "servicing-reinstated")
