"""A medical claim end to end in the browser: customer service takes the report by the phone script,
the claims handler completes the documents, assesses, part-pays and closes it."""

import datetime

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from insurdesk.claims.models import Claim
from insurdesk.claims.testing import claim_policy
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id

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


def test_a_medical_claim_reported_by_phone_is_completed_part_paid_and_closed(
    live_server, units, make_user, chromium_page, screenshot
):
    base = live_server.url
    make_user("cs", "SZ", username="cs_zhou")
    make_user("claims", "SZ", username="claims_li")
    insured, _ = customer_create(actor=None, kind="individual", data={
        "name": "赵敏", "id_number": make_resident_id(datetime.date(1986, 9, 1), "F", seq=32),
        "mobile": "13700002222", "unit_id": units["SZ"].pk})  # fmt: skip
    policy = claim_policy(customer=insured, policy_no="BDH0000001", line="health", sum_insured="50000")
    page = chromium_page
    event = (datetime.date.today() - datetime.timedelta(days=4)).isoformat()

    # Customer service answers the call and follows the script: greeting, identity, event, documents.
    sign_in(page, base, "cs_zhou")
    page.goto(base + "/claims/")
    page.get_by_role("link", name="电话报案").click()
    expect(page.locator("#step-greeting")).to_contain_text("感谢您拨打我们的客服热线")
    page.get_by_label("保单号 / 证件号码 / 手机号 / 姓名").fill("赵敏")
    page.get_by_role("button", name="查找保单").click()
    row = page.locator("#found-policies tr", has_text="BDH0000001")
    row.get_by_role("link", name="选择此保单").click()
    expect(page.locator("#chosen-policy")).to_contain_text("BDH0000001")
    page.get_by_label("报案人姓名").fill("赵敏")
    page.get_by_label("与被保险人关系").select_option("本人")
    page.get_by_label("联系电话").fill("137 0000 2222")
    page.get_by_label("出险类型").select_option("medical")
    page.get_by_label("出险日期").fill(event)
    page.get_by_label("出险地点").fill("深圳市南山区人民医院")
    page.get_by_label("出险经过").fill("急性胃肠炎住院三天")
    page.get_by_label("预估索赔金额（元）").fill("6000")
    expect(page.locator("#checklists")).to_contain_text("医疗费用发票")
    page.get_by_role("button", name="受理报案").click()
    expect(page.locator(".msg-success")).to_contain_text("已受理报案，赔案号 LP")
    expect(page.locator("#claim-state")).to_have_text("已报案")
    claim = Claim.objects.get(policy=policy)
    screenshot(page, "claim-reported")

    # The handler sees it in the queue, registers every document: the 30-day clock starts.
    sign_in(page, base, "claims_li")
    page.goto(base + "/claims/")
    page.locator("#claim-queue").get_by_role("link", name=claim.claim_no).click()
    for label in (
        "理赔申请书",
        "被保险人身份证明",
        "诊断证明",
        "医疗费用发票",
        "费用清单",
        "出院小结",
        "领款账户信息",
    ):
        page.get_by_label(label, exact=True).check()
    page.get_by_role("button", name="登记资料").click()
    expect(page.locator(".msg-success")).to_contain_text("资料已齐全")
    expect(page.locator("#claim-state")).to_have_text("审核中")
    due = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    expect(page.locator("#next-deadline")).to_contain_text(due)

    # Assessment: (6,000 − 100) × 80 % = 4,720; then a part payment of 4,000 with the reason.
    page.get_by_label("责任范围内金额（元）").fill("6000")
    page.get_by_label("核赔意见").fill("住院费用合理，自费部分不赔")
    page.get_by_role("button", name="保存核赔").click()
    expect(page.locator("#payable")).to_contain_text("4720.00")
    expect(page.locator("#payable")).to_contain_text("人民币肆仟柒佰贰拾元整")
    page.get_by_label("部分给付", exact=True).check()
    page.get_by_label("部分给付金额（元）").fill("4000")
    page.get_by_label("理由").fill("部分药品为自费药")
    page.get_by_role("button", name="作出结论").click()
    expect(page.locator("#claim-state")).to_have_text("审核通过")
    expect(page.locator("#decision-value")).to_contain_text("部分给付 4000.00")

    # Payment to the insured, then close.
    expect(page.locator("#pay-form")).to_contain_text("人民币肆仟元整")
    page.get_by_role("button", name="确认支付").click()
    expect(page.locator("#claim-state")).to_have_text("已赔付")
    expect(page.locator("#payment-rows")).to_contain_text("赵敏")
    expect(page.locator("#remaining")).to_have_text("46000.00")
    page.get_by_role("button", name="结案", exact=True).click()
    expect(page.locator("#claim-state")).to_have_text("已结案")
    expect(page.locator("#claim-timeline")).to_contain_text("支付赔款")
    screenshot(page, "claim-closed")

    # The customer's archive page lists the claim in its history.
    page.goto(base + f"/claims/customer/{insured.pk}/")
    expect(page.locator("#customer-claims-table")).to_contain_text(claim.claim_no)
