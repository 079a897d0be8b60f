"""The compliance pages as a compliance officer and a clerk use them, in Chinese."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from insurdesk.compliance.models import (
    AmlReview,
    Consent,
    Finding,
    FlagState,
    PersonalInfoRequest,
    RectificationTask,
    TaskState,
    TransactionFlag,
)
from insurdesk.compliance.services import compliance_check_run, transaction_flag_raise

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client, officer):
    client.force_login(officer)
    return client


def text(response) -> str:
    return response.content.decode()


def test_the_desk_counts_and_links_every_list(desk, person):
    person(id_valid_to=timezone.localdate() - timedelta(days=1))
    html = text(desk.get(reverse("compliance:home")))
    for words in (
        "合规工作台",
        "证件过期客户",
        "待审核交易标记",
        "逾期整改任务",
        "档案使用记录链",
        "尚未校验",
    ):
        assert words in html
    assert reverse("compliance:queue", args=["expired_ids"]) in html


def test_the_desk_lists_every_declared_rating_rule_with_its_threshold(desk, settings):
    from insurdesk.compliance.rules import RULES

    settings.INSURDESK_AML_CASH_THRESHOLD = 50000
    html = text(desk.get(reverse("compliance:home")))
    table = html[html.index('id="aml-rules"') :]
    for rule in RULES:
        assert rule.label in table
    for words in ("珠宝", "PRK", "政治公众人物", "50,000.00 元", "退保", "变更受益人不少于 3 次"):
        assert words in table


def test_the_navigation_shows_compliance_only_to_those_who_may_use_it(client, officer, make_user):
    client.force_login(officer)
    assert reverse("compliance:home") in text(client.get(reverse("customers:list")))
    client.force_login(make_user("clerk"))
    assert reverse("compliance:home") not in text(client.get(reverse("customers:list")))


def test_a_queue_page_lists_its_customers(desk, person):
    expired = person(id_valid_to=timezone.localdate() - timedelta(days=3))
    html = text(desk.get(reverse("compliance:queue", args=["expired_ids"])))
    assert expired.archive_no in html and "共 1 位客户" in html
    assert desk.get(reverse("compliance:queue", args=["nonsense"])).status_code == 404
    html = text(desk.get(reverse("compliance:queue", args=["reviews_due"]), {"window": "abc"}))
    assert "到期天数" in html


def test_rating_and_reviewing_from_the_customer_s_aml_page(desk, person):
    c = person(occupation="珠宝店主")
    response = desk.post(reverse("compliance:customer_rate", args=[c.pk]), follow=True)
    html = text(response)
    assert "评级结果：中风险" in html and "高风险职业或行业" in html and "贵金属珠宝" in html
    response = desk.post(
        reverse("compliance:customer_review", args=[c.pk]),
        {"conclusion": "raise", "level": "high", "note": "大额现金往来"},
        follow=True,
    )
    assert "审核已记录" in text(response)
    assert AmlReview.objects.get(customer=c).level_after == "high"
    response = desk.post(
        reverse("compliance:customer_review", args=[c.pk]),
        {"conclusion": "lower", "level": "low", "note": "x"},
        follow=True,
    )
    assert "按评级规则至少为中风险" in text(response)


def test_an_expired_document_shows_the_block_on_the_aml_page(desk, person):
    c = person(id_valid_to=timezone.localdate() - timedelta(days=1))
    html = text(desk.get(reverse("compliance:customer_aml", args=[c.pk])))
    assert "暂停新业务" in html and "不能办理新业务" in html


def test_raising_and_reviewing_a_flag(desk, person):
    c = person()
    response = desk.post(
        reverse("compliance:flag_raise", args=[c.pk]),
        {"kind": "large_cash", "amount": "30000", "reason": "柜面现金", "reference": "R1"},
        follow=True,
    )
    assert "已标记，待审核" in text(response)
    flag = TransactionFlag.objects.get()
    html = text(desk.get(reverse("compliance:flags")))
    assert "柜面现金" in html and "上报可疑交易" in html
    response = desk.post(
        reverse("compliance:flag_review", args=[flag.pk]), {"decision": "dismiss"}, follow=True
    )
    assert "请填写审核意见" in text(response)
    desk.post(
        reverse("compliance:flag_review", args=[flag.pk]), {"decision": "dismiss", "note": "已核实资金来源"}
    )
    flag.refresh_from_db()
    assert flag.state == FlagState.DISMISSED and flag.note == "已核实资金来源"


def test_running_checks_and_working_a_task_to_verification(desk, person, make_user):
    c = person(pep=True)
    response = desk.post(reverse("compliance:checks_run"), {"check": ["pep_not_high"]}, follow=True)
    html = text(response)
    assert "合规检查已完成" in html and "新发现 1 项" in html and "政治公众人物未评为高风险" in html
    task = RectificationTask.objects.get()
    url = reverse("compliance:task_action", args=[task.pk])
    desk.post(url, {"op": "transition", "transition": "start", "version": task.version})
    desk.post(
        url,
        {
            "op": "assign",
            "owner": make_user("clerk", "HQ", username="li").pk,
            "due_on": (timezone.localdate() + timedelta(days=7)).isoformat(),
        },
    )
    desk.post(url, {"op": "note", "text": "已通知业务员"})
    desk.post(url, {"op": "transition", "transition": "complete", "note": "已调整"})
    response = desk.post(url, {"op": "transition", "transition": "verify"}, follow=True)
    assert "问题仍然存在" in text(response)
    from insurdesk.customers.services import customer_update

    customer_update(actor=None, customer_id=c.pk, data={"aml_risk": "high"})
    response = desk.post(url, {"op": "transition", "transition": "verify"}, follow=True)
    html = text(response)
    assert "已验证并关闭" in html or "验证通过并关闭" in html
    task.refresh_from_db()
    assert task.state == TaskState.VERIFIED and task.owner.username == "li"
    assert "已通知业务员" in html
    assert desk.post(url, {"op": "fly"}).status_code == 400


def test_the_task_list_by_owner_and_overdue(desk, person, make_user):
    agent = make_user("agent", "SZ", username="wang")
    person(pep=True, agent_id=agent.pk)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    RectificationTask.objects.update(due_on=timezone.localdate() - timedelta(days=2))
    html = text(desk.get(reverse("compliance:tasks")))
    assert "按责任人" in html and "overdue" in html
    html = text(
        desk.get(reverse("compliance:tasks"), {"state": "open_all", "overdue": "on", "owner": agent.pk})
    )
    assert "共 1 项" in html
    assert Finding.objects.count() == 1


def test_the_archive_page_loads_consents_for_a_clerk(client, person, make_user):
    c = person("SZ")
    clerk = make_user("clerk", "SZ")
    client.force_login(clerk)
    detail = text(client.get(reverse("customers:detail", args=[c.pk])))
    panel_url = reverse("compliance:customer_panel", args=[c.pk])
    assert f'hx-get="{panel_url}"' in detail and "同意与合规" in detail
    panel = text(client.get(panel_url))
    assert "单独同意" in panel and "尚无同意记录" in panel and "反洗钱风险评级" not in panel
    response = client.post(
        reverse("compliance:consent_add", args=[c.pk]),
        {
            "purpose": "marketing",
            "channel": "paper",
            "evidence": "TB-1",
            "next": reverse("customers:detail", args=[c.pk]) + "#compliance",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#compliance")
    consent = Consent.objects.get()
    assert consent.recorded_by == clerk
    client.post(reverse("compliance:consent_withdraw", args=[consent.pk]), {"channel": "phone"})
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    panel = text(client.get(panel_url))
    assert "营销推荐" in panel and "电话" in panel


def test_the_panel_shows_rating_reasons_to_compliance(desk, person):
    from insurdesk.compliance.services import aml_rate

    c = person(pep=True)
    aml_rate(actor=None, customer_id=c.pk)
    panel = text(desk.get(reverse("compliance:customer_panel", args=[c.pk])))
    assert "反洗钱风险评级" in panel and "政治公众人物" in panel and "高风险" in panel


def test_an_agent_sees_no_panel(client, person, make_user):
    agent = make_user("agent", "SZ")
    c = person("SZ", agent_id=agent.pk)
    client.force_login(agent)
    detail = text(client.get(reverse("customers:detail", args=[c.pk])))
    assert "customer_panel" not in detail and reverse("compliance:customer_panel", args=[c.pk]) not in detail


def test_a_consent_withdrawal_redirect_stays_on_this_site(client, person, make_user):
    c = person("SZ")
    client.force_login(make_user("cs", "SZ"))
    client.post(reverse("compliance:consent_add", args=[c.pk]), {"purpose": "third_party", "channel": "web"})
    consent = Consent.objects.get()
    response = client.post(
        reverse("compliance:consent_withdraw", args=[consent.pk]),
        {"channel": "web", "next": "https://evil.example/"},
    )
    assert response["Location"].startswith(reverse("customers:detail", args=[c.pk]))


def test_a_deletion_request_from_receipt_to_the_retained_answer(desk, person):
    c = person()
    response = desk.get(reverse("compliance:pi_request_create"), {"archive_no": c.archive_no})
    assert c.archive_no in text(response)
    response = desk.post(
        reverse("compliance:pi_request_create"),
        {"archive_no": "KH9999999999", "kind": "deletion", "channel": "phone"},
    )
    assert "客户号不存在" in text(response)
    response = desk.post(
        reverse("compliance:pi_request_create"),
        {
            "archive_no": c.archive_no,
            "kind": "deletion",
            "channel": "phone",
            "description": "要求删除全部资料",
        },
        follow=True,
    )
    html = text(response)
    assert "已受理，答复期限" in html and "法定保存期内" in html
    req = PersonalInfoRequest.objects.get()
    url = reverse("compliance:pi_request_action", args=[req.pk])
    html = text(desk.post(url, {"op": "close", "outcome": "fulfilled", "note": "已删除"}, follow=True))
    assert "法定保存期内不能删除" in html
    html = text(desk.post(url, {"op": "close", "outcome": "retained"}, follow=True))
    assert "已答复" in html and "仅存储" in html
    html = text(desk.get(reverse("compliance:pi_requests"), {"state": "closed"}))
    assert c.archive_no in html


def test_lists_of_other_units_are_empty_for_a_branch_officer(client, person, make_user):
    c = person("GZ", pep=True)
    transaction_flag_raise(actor=None, customer_id=c.pk, kind="other", reason="x")
    compliance_check_run(actor=None, codes=["pep_not_high"])
    client.force_login(make_user("compliance", "SZ"))
    assert c.archive_no not in text(client.get(reverse("compliance:flags"), {"state": ""}))
    assert c.archive_no not in text(client.get(reverse("compliance:tasks")))
    assert c.archive_no not in text(client.get(reverse("compliance:checks")))
    task = RectificationTask.objects.get()
    assert client.get(reverse("compliance:task_detail", args=[task.pk])).status_code == 404
