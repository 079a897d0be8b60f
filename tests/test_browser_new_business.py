"""New business end to end in the browser: entry, blind re-entry with a typo, the problem item, a rated
acceptance, the issued policy, its first premium, and the policy on both customers' archives."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conftest import PASSWORD
from insurdesk.applications.models import Application, ProblemItem
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id
from insurdesk.policies.models import Policy, PolicyState

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


def test_an_application_goes_from_entry_to_a_paid_policy_on_both_archives(
    live_server, units, make_user, catalogue, chromium_page, screenshot
):
    base = live_server.url
    make_user("clerk", "SZ", username="clerk_lin")
    make_user("clerk", "SZ", username="clerk_zheng")
    make_user("reviewer", "SZ", username="reviewer_huang")
    make_user("underwriter", "SZ", username="uw_wu")
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
        },
    )
    page = chromium_page
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()

    # Clerk A keys the paper application (初录): the husband insures his wife, with a health disclosure.
    sign_in(page, base, "clerk_lin")
    page.goto(base + "/applications/new/")
    expect(page.get_by_role("heading", name="新单初录")).to_be_visible()
    page.locator("#id_application_date").fill(yesterday)
    page.locator("#id_business_source").select_option("direct")
    page.locator("#id_agent").select_option(str(agent.pk))
    page.locator("#id_ph_lookup").fill(husband.archive_no)
    page.locator("#id_relationship").select_option("spouse")
    page.locator("#id_ins_lookup").fill(wife.archive_no)
    page.locator("#id_insured_consent").check()
    page.locator("#id_total_premium").fill("15000.00")
    page.locator("#id_payment_mode").select_option("annual")
    page.locator("#id_payment_term").select_option("20y")
    page.locator("#id_health_disclosure").check()
    page.locator("#id_health_details").fill("高血压三年，服药控制平稳")
    page.locator("#id_line-0-product_code").select_option("L101")
    page.locator("#id_line-0-coverage_term").select_option("life")
    page.locator("#id_line-0-sum_insured").fill("500000")
    page.locator("#id_line-0-premium").fill("12000.00")
    page.locator("#id_line-1-product_code").select_option("R201")
    page.locator("#id_line-1-coverage_term").select_option("20y")
    page.locator("#id_line-1-sum_insured").fill("200000")
    page.locator("#id_line-1-premium").fill("3000.00")
    page.locator("#id_line-1-rider_of").fill("L101")
    page.locator("#id_ben-0-name").fill("王小明")
    page.locator("#id_ben-0-relationship").select_option("child")
    page.locator("#id_ben-0-share").fill("100")
    page.get_by_role("button", name="完成初录").click()
    expect(page.locator(".msg-success")).to_be_visible()
    app = Application.objects.get()
    assert app.state == "second_entry"

    # Clerk B re-keys the key fields blind (二次录入) and types 50000 for the 500,000 sum insured.
    sign_in(page, base, "clerk_zheng")
    page.goto(f"{base}/applications/{app.pk}/second-entry/")
    expect(page.get_by_role("heading", name="二次录入")).to_be_visible()
    # Blind: nothing the first clerk keyed is on the page, neither as text nor in a field.
    form = page.locator("form").filter(has=page.get_by_role("button", name="提交二次录入"))
    keyed = form.evaluate(
        "f => [...f.querySelectorAll('input:not([type=hidden]):not([type=checkbox]), textarea')]"
        ".filter(e => e.value !== '').map(e => e.name + '=' + e.value)"
    )
    assert keyed == [], keyed
    selected = form.evaluate(
        "f => [...f.querySelectorAll('select')].filter(e => e.value !== '').map(e => e.name)"
    )
    assert selected == [], selected
    shown = page.locator("main").inner_text()
    for first_value in (
        "张伟",
        "李芳",
        husband.id_number,
        wife.id_number,
        "500000",
        "12000",
        "15000",
        "王小明",
    ):
        assert first_value not in shown, f"the blind second entry shows the first entry's {first_value!r}"
    page.locator("#id_ph_name").fill("张伟")
    page.locator("#id_ph_id_number").fill(husband.id_number)
    page.locator("#id_ins_name").fill("李芳")
    page.locator("#id_ins_id_number").fill(wife.id_number)
    page.locator("#id_line-0-product_code").fill("L101")
    page.locator("#id_line-0-sum_insured").fill("50000")
    page.locator("#id_line-0-premium").fill("12000.00")
    page.locator("#id_line-1-product_code").fill("R201")
    page.locator("#id_line-1-sum_insured").fill("200000")
    page.locator("#id_line-1-premium").fill("3000.00")
    page.locator("#id_total_premium").fill("15000.00")
    page.locator("#id_payment_mode").select_option("annual")
    page.locator("#id_payment_term").select_option("20y")
    page.locator("#id_ben-0-name").fill("王小明")
    page.locator("#id_ben-0-share").fill("100")
    page.get_by_role("button", name="提交二次录入").click()
    # The problem item shows both values exactly: the first entry's 500,000 and the typed 50,000.
    problem = page.locator("#problems tbody tr").filter(has_text="保额")
    expect(problem).to_have_count(1)
    expect(problem.locator("td").nth(2)).to_have_text("500000.00")
    expect(problem.locator("td").nth(3)).to_have_text("50000.00")
    item = ProblemItem.objects.get(application=app)
    assert item.first_value and item.second_value and "sum_insured" in item.field

    # The reviewer checks the scanned form, keeps the first entry, and sends the application to underwriting.
    sign_in(page, base, "reviewer_huang")
    page.goto(f"{base}/applications/{app.pk}/problems/{item.pk}/")
    page.get_by_label("以初录为准").check()
    page.get_by_label("处理说明").fill("核对投保单影像，保额为 500000 元")
    page.get_by_role("button", name="确认处理").click()
    expect(page.locator(".msg-success")).to_be_visible()
    page.get_by_role("button", name="提交核保").click()
    expect(page.locator(".messages")).to_contain_text("已提交核保，已转人工核保")
    screenshot(page, "new_business_submitted")

    # The underwriter finds it in the manual queue (the health rule referred it) and accepts with a rating.
    sign_in(page, base, "uw_wu")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="核保").click()
    row = page.locator("#results tbody tr").filter(has_text=app.application_no)
    expect(row).to_contain_text("转人工")
    row.get_by_role("link", name="核保").click()
    expect(page.locator("#rule-results")).to_contain_text("健康告知")
    page.get_by_label("加费承保").check()
    page.get_by_label("加费（每期，元）").fill("1200")
    page.get_by_label("核保意见").fill("高血压，按标准保费加收 1200 元承保")
    screenshot(page, "underwriting_case")
    page.get_by_role("button", name="提交核保结论").click()
    expect(page.locator("#case-state")).to_have_text("核保通过")

    # Acceptance issued the policy (承保出单) with the rating on its premium.
    policy = Policy.objects.get(application=app)
    assert policy.premium == 16200 and policy.state == PolicyState.PENDING
    page.get_by_role("link", name="查看保单").click()
    page.locator("#results").get_by_role("link", name=policy.policy_no).click()
    expect(page.get_by_role("heading", name=f"保单 {policy.policy_no}")).to_be_visible()
    expect(page.locator("#lines")).to_contain_text("1,200.00")

    # Clerk A records the first premium from the due list; the policy comes into force.
    sign_in(page, base, "clerk_lin")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="应收清单").click()
    due = page.locator("#results tbody tr").filter(has_text=policy.policy_no)
    expect(due).to_contain_text("16,200.00")
    due.get_by_role("link", name="缴费").click()
    expect(page.get_by_label("保单号 *")).to_have_value(policy.policy_no)
    page.get_by_label("缴费方式 *").select_option("transfer")
    page.get_by_label("凭证号").fill("ZZ20261121001")
    page.get_by_role("button", name="保存缴费").click()
    expect(page.locator(".msg-success")).to_contain_text("已缴")
    expect(page.locator(".archive-meta")).to_contain_text("有效")
    screenshot(page, "policy_in_force")
    policy.refresh_from_db()
    assert policy.state == PolicyState.IN_FORCE

    # The policy is on the husband's archive as 投保人 and on the wife's as 被保险人.
    for customer, role in ((husband, "投保人"), (wife, "被保险人")):
        page.goto(f"{base}/customers/{customer.pk}/")
        listing = page.locator("#customer-policies")
        expect(listing).to_contain_text(policy.policy_no)
        expect(listing.locator("tr").filter(has_text=policy.policy_no)).to_contain_text(role)
    screenshot(page, "customer_archive_policies")
