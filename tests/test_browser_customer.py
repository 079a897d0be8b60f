"""A clerk enters a new individual customer in the browser, fixes a wrong check digit, and finds it again."""

import datetime

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from insurdesk.customers.models import Customer
from insurdesk.identity.resident_id import check_char
from insurdesk.identity.testing import make_resident_id

pytestmark = pytest.mark.browser


def test_a_clerk_corrects_a_wrong_check_digit_and_finds_the_customer_by_mobile(
    live_server, make_user, chromium_page, screenshot
):
    make_user("clerk", "SZ", username="clerk_wang")
    good = make_resident_id(datetime.date(1988, 8, 8), "F", region="440305", seq=124)
    wrong = good[:17] + ("1" if check_char(good[:17]) != "1" else "2")
    page = chromium_page

    # The clerk opens the system and is asked to sign in.
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("用户名").fill("clerk_wang")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    # She lands on her home page (工作台) and opens the archive from the menu.
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="客户档案").click()
    expect(page.get_by_role("heading", name="客户档案")).to_be_visible()

    # She opens 新建个人客户 and keys the paper form, with one digit wrong.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="新建个人客户").click()
    expect(page.get_by_role("heading", name="新建个人客户")).to_be_visible()
    page.get_by_label("姓名").fill("林晓燕")
    page.get_by_label("证件类型").select_option("resident_id")
    page.get_by_label("证件号码").fill(wrong)
    page.get_by_label("手机").fill("13512345678")
    page.get_by_label("职业", exact=True).fill("会计")
    page.get_by_role("button", name="保存").click()

    # The page says, in Chinese and next to the field, what is wrong; nothing was saved.
    error = page.locator("#id_id_number_error")
    expect(error).to_contain_text("校验码错误")
    expect(page.get_by_label("姓名")).to_have_value("林晓燕")
    screenshot(page, "customer_create_check_digit_error")
    assert not Customer.objects.exists()

    # She corrects the number and saves: the archive opens.
    page.get_by_label("证件号码").fill(good)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已建档，客户号")).to_be_visible()
    expect(page.get_by_role("heading", name="林晓燕")).to_be_visible()
    customer = Customer.objects.get()
    assert customer.birth_date == datetime.date(1988, 8, 8) and customer.gender == "F"
    screenshot(page, "customer_archive")

    # Back on the list, a search by mobile number finds her.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="客户档案").click()
    page.get_by_label("搜索", exact=True).fill("135 1234 5678")
    page.get_by_role("button", name="查询").click()
    row = page.locator("#results tbody tr").filter(has_text="林晓燕")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(customer.archive_no)
    expect(row).to_contain_text("13512345678")
    expect(page.locator("#results")).to_contain_text("共 1 条")
    screenshot(page, "customer_search_by_mobile")
