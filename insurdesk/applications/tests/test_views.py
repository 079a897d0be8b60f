"""The new-business pages as clerks and reviewers use them: first entry, blind second entry, resolution."""

import pytest
from django.urls import reverse

from insurdesk.applications.models import Application, State
from insurdesk.applications.services import application_create, application_second_entry
from insurdesk.applications.testing import second_entry_of
from insurdesk.customers.models import Customer


def formsets(prefix: str, rows) -> dict:
    out = {
        f"{prefix}-TOTAL_FORMS": str(max(len(rows), 1)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        out.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return out


LINES = [
    {"product_code": "L101", "coverage_term": "life", "sum_insured": "500000", "premium": "12000"},
    {"product_code": "R201", "coverage_term": "20y", "sum_insured": "200000", "premium": "3000"},
]
BENS = [{"order": "1", "name": "张小明", "share": "100", "id_type": "resident_id"}]


def entry_post(people, **fields) -> dict:
    data = {
        "application_date": "2026-11-01",
        "business_source": "direct",
        "agent": str(people["agent"].pk),
        "ph_lookup": people["husband"].archive_no,
        "relationship": "spouse",
        "ins_lookup": people["wife"].id_number,
        "insured_consent": "on",
        "total_premium": "15000",
        "payment_mode": "annual",
        "payment_term": "20y",
        "health_details": "无",
    }
    data.update(fields)
    return {**data, **formsets("line", LINES), **formsets("ben", BENS)}


def test_first_entry_page_finds_archives_by_number_or_identity(client, people):
    client.force_login(people["clerk"])
    r = client.get(reverse("applications:create"))
    assert r.status_code == 200 and "新单初录" in r.content.decode() and "健康告知说明" in r.content.decode()
    r = client.post(reverse("applications:create"), entry_post(people))
    app = Application.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("applications:detail", args=[app.pk])
    assert app.policyholder == people["husband"] and app.insured == people["wife"]
    assert app.lines.count() == 2 and app.beneficiaries.get().name == "张小明"


def test_a_new_insured_is_keyed_inline(client, people):
    client.force_login(people["clerk"])
    import datetime

    from insurdesk.identity.testing import make_resident_id

    number = make_resident_id(datetime.date(2015, 6, 1), "F", seq=2)
    data = entry_post(
        people,
        ins_lookup="",
        ins_name="张小红",
        ins_id_number=number,
        relationship="child",
        insured_consent="",
    )
    data.pop("insured_consent")
    r = client.post(reverse("applications:create"), data)
    assert r.status_code == 302, r.content.decode()[:2000]
    app = Application.objects.get()
    assert app.insured_created and Customer.objects.get(pk=app.insured_id).name == "张小红"


def test_errors_land_on_their_fields_and_rows(client, people):
    client.force_login(people["clerk"])
    bad_lines = [dict(LINES[0], premium="11000"), LINES[1]]
    data = {**entry_post(people, total_premium="15000", health_details=""), **formsets("line", bad_lines)}
    r = client.post(reverse("applications:create"), data)
    page = r.content.decode()
    assert r.status_code == 200 and not Application.objects.exists()
    assert "健康告知说明" in page and "请更正下面标红的项目" in page
    data = {**entry_post(people), **formsets("line", bad_lines)}
    r = client.post(reverse("applications:create"), data)
    assert "与各险种保费之和" in r.content.decode()
    r = client.post(reverse("applications:create"), entry_post(people, ph_lookup="KH9999999999"))
    assert "没有找到该客户档案" in r.content.decode()
    r = client.post(
        reverse("applications:create"),
        entry_post(people, ins_lookup="", ins_name="新人", ins_id_number="110105199003071238"),
    )
    assert 'class="field has-error"' in r.content.decode() and "校验码" in r.content.decode()


def test_the_lookup_shows_the_archive(client, people):
    client.force_login(people["clerk"])
    r = client.get(reverse("applications:lookup"), {"ph_lookup": people["husband"].archive_no})
    assert people["husband"].name in r.content.decode()


def test_second_entry_page_never_shows_first_values(client, people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    client.force_login(people["clerk2"])
    for name in ("applications:second_entry", "applications:detail"):
        page = client.get(reverse(name, args=[app.pk])).content.decode()
        for secret in ("张伟", "李芳", "王小明", "12000", "500000", people["wife"].id_number):
            assert secret not in page, (name, secret)
    values = second_entry_of(app)
    data = {
        "ph_name": "张伟",
        "ph_id_number": values["policyholder"]["id_number"],
        "ins_name": "李芳",
        "ins_id_number": values["insured"]["id_number"],
        "total_premium": "15000",
        "payment_mode": "annual",
        "payment_term": "20y",
        **formsets(
            "line",
            [
                {"product_code": "L101", "sum_insured": "500000", "premium": "12000"},
                {"product_code": "R201", "sum_insured": "200000", "premium": "300"},
            ],
        ),
        **formsets("ben", [{"name": "王小明", "share": "100"}]),
    }
    r = client.post(reverse("applications:second_entry", args=[app.pk]), data)
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.state == State.PROBLEMS and app.problems.get().field == "lines[1].premium"


def test_the_first_clerk_is_sent_away_from_second_entry(client, people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    client.force_login(people["clerk"])
    r = client.get(reverse("applications:second_entry", args=[app.pk]), follow=True)
    assert "初录人以外" in r.content.decode()


def test_the_reviewer_resolves_on_the_page_and_the_application_moves_on(client, people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    second = second_entry_of(app)
    second["lines"][0]["premium"] = "1200"
    app, (item,) = application_second_entry(actor=people["clerk2"], application_id=app.pk, data=second)
    client.force_login(people["reviewer"])
    page = client.get(reverse("applications:problem_resolve", args=[app.pk, item.pk])).content.decode()
    assert "12000.00" in page and "1200.00" in page and "第1险种保费" in page
    r = client.post(
        reverse("applications:problem_resolve", args=[app.pk, item.pk]),
        {"choice": "corrected", "value": "", "note": "x", "method": "image"},
    )
    assert "请填写更正后的值" in r.content.decode()
    r = client.post(
        reverse("applications:problem_resolve", args=[app.pk, item.pk]),
        {"choice": "first", "note": "影像为 12000", "method": "image"},
        follow=True,
    )
    assert "录入问题件已全部解决" in r.content.decode()
    app.refresh_from_db()
    assert app.state == State.ENTERED
    client.force_login(people["clerk"])
    r = client.post(reverse("applications:submit", args=[app.pk]), follow=True)
    assert "已提交核保" in r.content.decode()


def test_editing_after_second_entry_keeps_key_fields(client, people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    app, _ = application_second_entry(
        actor=people["clerk2"], application_id=app.pk, data=second_entry_of(app)
    )
    client.force_login(people["clerk2"])
    r = client.get(reverse("applications:edit", args=[app.pk]))
    assert r.status_code == 200
    data = entry_post(
        people,
        notes="客户改约定生效日",
        application_date=app.application_date.isoformat(),
        ins_lookup=people["wife"].archive_no,
        version=str(app.version),
        application_no=app.application_no,
        total_premium="15000.00",
    )
    data.update(
        formsets(
            "ben",
            [
                {
                    "order": "1",
                    "name": "王小明",
                    "share": "100",
                    "id_type": "resident_id",
                    "relationship": "child",
                }
            ],
        )
    )
    data["line-1-rider_of"] = "L101"
    r = client.post(reverse("applications:edit", args=[app.pk]), data)
    assert r.status_code == 302, r.content.decode()[:3000]
    app.refresh_from_db()
    assert app.notes == "客户改约定生效日"


def test_queues_show_age_and_owner(client, people, app_input):
    application_create(actor=people["clerk"], data=app_input())
    client.force_login(people["reviewer"])
    page = client.get(reverse("applications:queues")).content.decode()
    assert "待二次录入" in page and "TB0000000001" in page and "分钟" in page
    client.force_login(people["clerk"])
    page = client.get(reverse("applications:queues")).content.decode()
    assert "TB0000000001" not in page.split('id="problems"')[0].split('id="second_entry"')[1]


@pytest.mark.parametrize("name", ["applications:list", "applications:problems", "applications:entry_errors"])
def test_lists_render(client, people, app_input, name):
    application_create(actor=people["clerk"], data=app_input())
    client.force_login(people["admin"])
    assert client.get(reverse(name)).status_code == 200


def test_a_problem_item_is_sent_and_its_reply_recorded_on_the_detail_page(client, people, app_input):
    from insurdesk.applications.services import problem_raise

    app, _ = application_create(actor=people["clerk"], data=app_input())
    application_second_entry(actor=people["clerk2"], application_id=app.pk, data=second_entry_of(app))
    item = problem_raise(
        actor=people["reviewer"], application_id=app.pk, text="受益人未签名", route="customer"
    )
    client.force_login(people["clerk2"])
    detail = reverse("applications:detail", args=[app.pk])
    assert reverse("applications:problem_send", args=[app.pk, item.pk]) in client.get(detail).content.decode()
    r = client.post(reverse("applications:problem_send", args=[app.pk, item.pk]))
    assert r.status_code == 302
    page = client.get(detail).content.decode()
    assert reverse("applications:problem_reply", args=[app.pk, item.pk]) in page and "下发" in page
    r = client.post(
        reverse("applications:problem_reply", args=[app.pk, item.pk]),
        {"method": "phone", "reply": "客户电话确认"},
    )
    assert r.status_code == 302
    item.refresh_from_db()
    assert (item.state, item.replied_by, item.reply_method) == ("replied", people["clerk2"], "phone")
    page = client.get(detail).content.decode()
    assert "电话核实" in page and "客户电话确认" in page and str(people["clerk2"]) in page
    client.force_login(people["reviewer"])
    page = client.get(reverse("applications:problem_resolve", args=[app.pk, item.pk])).content.decode()
    assert "下发时间" in page and "电话核实" in page and "计入差错" in page and "当前处理人" in page
    assert str(people["clerk2"]) in page


def test_queues_name_the_owner_of_each_application(client, people, app_input, make_user):
    from insurdesk.applications.services import application_assign

    app, _ = application_create(actor=people["clerk"], data=app_input())
    application_assign(actor=people["reviewer"], application_id=app.pk, assignee_id=people["clerk2"].pk)
    client.force_login(people["reviewer"])
    page = client.get(reverse("applications:queues")).content.decode()
    section = page.split('id="second_entry"')[1].split("</section>")[0]
    assert "TB0000000001" in section and str(people["clerk2"]) in section and "分钟" in section
    assert 'id="underwriting"' not in page  # a reviewer does not work the underwriting queue
    client.force_login(make_user("underwriter"))
    page = client.get(reverse("applications:queues")).content.decode()
    assert 'id="underwriting"' in page and 'id="second_entry"' not in page


def test_required_fields_are_starred_and_wu_is_kept(client, people):
    client.force_login(people["clerk"])
    page = client.get(reverse("applications:create")).content.decode()
    assert "带 * 的为必填项" in page and '<span class="req" aria-hidden="true">*</span>' in page
    r = client.post(reverse("applications:create"), entry_post(people, health_details="无"))
    assert r.status_code == 302 and Application.objects.get().health_details == "无"
