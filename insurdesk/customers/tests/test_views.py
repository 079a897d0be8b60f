"""The archive pages as each role sees them: access, scope, errors in Chinese, masks, history."""

import datetime
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from insurdesk.audit.models import AuditEntry
from insurdesk.common.masking import mask_id_number
from insurdesk.customers.models import Customer, CustomerRelation
from insurdesk.customers.services import customer_create, customer_update
from insurdesk.identity.resident_id import check_char
from insurdesk.identity.testing import make_resident_id, make_uscc
from insurdesk.org.models import Role
from insurdesk.org.policy import OWN_CUSTOMERS_ONLY, POLICY

ROLES = Role.values


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def allowed(role: str, action: str) -> bool:
    return role in POLICY[action]


def wrong_check_digit(number: str) -> str:
    right = check_char(number[:17])
    return number[:17] + ("1" if right != "1" else "2")


def form_data(**fields) -> dict:
    """Return POST data as a browser sends it: dates as ISO text, None as empty."""
    out = {}
    for key, value in fields.items():
        if isinstance(value, datetime.date):
            value = value.isoformat()
        out[key] = "" if value is None else value
    return out


def individual_post(data: dict, **extra) -> dict:
    return form_data(**{"nationality": "CHN", **data, **extra})


def corporate_post(data: dict, owners=(), others=(), **extra) -> dict:
    post = form_data(**data, **extra)
    for prefix, rows in (("bo", owners), ("op", others)):
        post.update(
            {
                f"{prefix}-TOTAL_FORMS": str(len(rows)),
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for i, row in enumerate(rows):
            post.update({f"{prefix}-{i}-{k}": v for k, v in form_data(**row).items()})
    return post


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def world(units, make_user, individual_data):
    """An agent-owned customer in SZ and an unowned one in GZ."""
    owner = make_user("agent", "SZ", username="owner")
    sz, _ = customer_create(
        actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk, agent_id=owner.pk)
    )
    gz, _ = customer_create(actor=None, kind="individual", data=individual_data(unit_id=units["GZ"].pk))
    return SimpleNamespace(owner=owner, sz=sz, gz=gz, units=units)


PAGES = ("list", "detail", "detail_other_unit", "create_individual", "create_corporate", "edit")


def page_url(page: str, world) -> str:
    return {
        "list": reverse("customers:list"),
        "detail": reverse("customers:detail", args=[world.sz.pk]),
        "detail_other_unit": reverse("customers:detail", args=[world.gz.pk]),
        "create_individual": reverse("customers:create_individual"),
        "create_corporate": reverse("customers:create_corporate"),
        "edit": reverse("customers:edit", args=[world.sz.pk]),
    }[page]


def expected_status(role: str, page: str) -> int:
    """A user in SZ who does not own world.sz (agents see only their own customers)."""
    own_only = role in OWN_CUSTOMERS_ONLY
    if page == "list":
        return 200
    if page == "detail_other_unit":
        return 404
    if page == "detail":
        return 404 if own_only else 200
    if page.startswith("create_"):
        return 200 if allowed(role, "customer.create") else 403
    assert page == "edit"
    if not allowed(role, "customer.change"):
        return 403
    return 404 if own_only else 200


# --- access, by role and scope ---


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_is_sent_to_login(client, world, page):
    url = page_url(page, world)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_answers_each_role_by_policy_and_scope(client, world, make_user, role, page):
    login(client, make_user(role, "SZ"))
    assert client.get(page_url(page, world)).status_code == expected_status(role, page)


@pytest.mark.parametrize("role", ROLES)
def test_posting_a_new_customer_is_refused_to_roles_without_create(
    client, world, make_user, individual_data, role
):
    login(client, make_user(role, "SZ"))
    response = client.post(reverse("customers:create_individual"), individual_post(individual_data()))
    if allowed(role, "customer.create"):
        assert response.status_code == 302
    else:
        assert response.status_code == 403
        assert Customer.objects.count() == 2


@pytest.mark.parametrize("role", ROLES)
def test_adding_a_relation_is_refused_to_roles_without_change(client, world, make_user, role):
    login(client, make_user(role, "SZ"))
    response = client.post(
        reverse("customers:relation_add", args=[world.sz.pk]),
        {"archive_no": world.gz.archive_no, "relation": "spouse"},
    )
    if not allowed(role, "customer.change"):
        assert response.status_code == 403
    else:
        assert response.status_code == (404 if role in OWN_CUSTOMERS_ONLY else 302)
    assert not CustomerRelation.objects.exists()


@pytest.mark.parametrize("page", ["detail", "edit", "list"])
def test_anonymous_post_is_sent_to_login(client, world, page):
    assert client.post(page_url(page, world)).status_code in (302, 405)
    response = client.post(reverse("customers:relation_add", args=[world.sz.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_agent_sees_only_its_own_customers(client, world):
    login(client, world.owner)
    assert client.get(page_url("detail", world)).status_code == 200
    assert client.get(page_url("edit", world)).status_code == 200
    html = client.get(reverse("customers:list")).content.decode()
    assert world.sz.archive_no in html
    assert world.gz.archive_no not in html


def test_a_branch_user_sees_its_subtree_only(client, world, make_user):
    login(client, make_user("clerk", "SZ"))
    html = client.get(reverse("customers:list")).content.decode()
    assert world.sz.archive_no in html
    assert world.gz.archive_no not in html
    assert client.get(page_url("detail_other_unit", world)).status_code == 404


def test_a_sub_branch_user_does_not_see_its_parent_branch(client, world, make_user):
    login(client, make_user("clerk", "NS"))
    assert client.get(page_url("detail", world)).status_code == 404
    assert world.sz.archive_no not in client.get(reverse("customers:list")).content.decode()


def test_a_head_office_user_sees_every_unit(client, world, make_user):
    login(client, make_user("compliance", "HQ"))
    html = client.get(reverse("customers:list")).content.decode()
    assert world.sz.archive_no in html and world.gz.archive_no in html
    assert client.get(page_url("detail_other_unit", world)).status_code == 200


def test_a_forbidden_page_says_so_in_chinese(client, world, make_user):
    login(client, make_user("underwriter", "SZ"))
    response = client.get(reverse("customers:create_individual"))
    assert response.status_code == 403
    assert "无权" in response.content.decode()


def test_an_archive_outside_scope_is_a_chinese_404(client, world, make_user):
    login(client, make_user("clerk", "SZ"))
    response = client.get(page_url("detail_other_unit", world))
    assert "页面不存在" in response.content.decode()


def test_navigation_offers_creation_only_to_roles_that_may_create(client, world, make_user):
    login(client, make_user("underwriter", "SZ"))
    html = client.get(reverse("customers:list")).content.decode()
    assert "客户档案" in html and "新建个人客户" not in html
    login(client, make_user("clerk", "SZ"))
    html = client.get(reverse("customers:list")).content.decode()
    assert "新建个人客户" in html and "新建单位客户" in html and "录入员" in html


# --- create ---


def test_a_wrong_check_digit_is_shown_in_chinese_on_the_id_field_and_nothing_is_saved(
    client, units, make_user, individual_data
):
    login(client, make_user("clerk"))
    data = individual_data(name="王小明", mobile="13812345678")
    data["id_number"] = wrong_check_digit(data["id_number"])
    response = client.post(reverse("customers:create_individual"), individual_post(data))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "校验码错误" in " ".join(errors["id_number"])
    html = response.content.decode()
    assert re.search(r'<ul class="errorlist" id="id_id_number_error"><li>[^<]*校验码错误', html)
    assert 'value="王小明"' in html and 'value="13812345678"' in html  # the typed input is kept
    assert not Customer.objects.exists()


def test_a_valid_individual_is_saved_and_opens_its_archive(client, units, make_user, individual_data):
    clerk = make_user("clerk")
    agent = make_user("agent", "SZ", username="agent_li")
    login(client, clerk)
    data = individual_data(
        mobile="13812345678", occupation="教师", occupation_class="1", marital_status="married"
    )
    response = client.post(reverse("customers:create_individual"), individual_post(data, agent=agent.pk))
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert customer.unit == units["SZ"] and customer.agent == agent and customer.created_by == clerk
    assert customer.mobile == "13812345678" and customer.occupation_class == 1
    html = client.get(response["Location"]).content.decode()
    assert f"已建档，客户号 {customer.archive_no}" in html


def test_service_warnings_are_shown_after_save(client, units, make_user, individual_data):
    login(client, make_user("clerk"))
    data = individual_data()
    data["id_number"] = make_resident_id(data["birth_date"], data["gender"], region="123456")
    response = client.post(reverse("customers:create_individual"), individual_post(data), follow=True)
    assert Customer.objects.count() == 1
    assert "地址码未知" in response.content.decode()


def test_a_duplicate_identity_points_to_the_existing_archive(client, units, make_user, individual_data):
    login(client, make_user("clerk"))
    data = individual_data()
    existing, _ = customer_create(actor=None, kind="individual", data={**data, "unit_id": units["SZ"].pk})
    response = client.post(
        reverse("customers:create_individual"), individual_post({**data, "name": "另一人"})
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "一人一档" in html
    assert f'href="{reverse("customers:detail", args=[existing.pk])}"' in html
    assert existing.archive_no in html
    assert Customer.objects.count() == 1


def test_a_duplicate_outside_scope_is_named_but_not_linked(client, units, make_user, individual_data):
    login(client, make_user("clerk"))
    data = individual_data()
    existing, _ = customer_create(actor=None, kind="individual", data={**data, "unit_id": units["GZ"].pk})
    html = client.post(reverse("customers:create_individual"), individual_post(data)).content.decode()
    assert "不在您的管辖范围内" in html
    assert reverse("customers:detail", args=[existing.pk]) not in html
    assert existing.archive_no not in html


def test_a_corporate_customer_with_owners_and_other_insurers_is_saved(
    client, units, make_user, corporate_data
):
    login(client, make_user("clerk"))
    owner_id = make_resident_id(datetime.date(1970, 3, 4), "F")
    response = client.post(
        reverse("customers:create_corporate"),
        corporate_post(
            corporate_data(headcount="120", insured_headcount="100"),
            owners=[
                {
                    "name": "陈芳",
                    "id_type": "resident_id",
                    "id_number": owner_id,
                    "ownership_kind": "equity",
                    "percentage": "40",
                    "nationality": "CHN",
                }
            ],
            others=[{"insurer": "某某人寿", "policy_no": "P123", "line": "团体意外险", "premium": "5000"}],
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    customer = Customer.objects.get()
    assert customer.kind == "corporate" and customer.headcount == 120
    bo = customer.beneficial_owners.get()
    assert bo.name == "陈芳" and bo.id_number == owner_id and bo.birth_date == datetime.date(1970, 3, 4)
    assert customer.other_policies.get().insurer == "某某人寿"
    html = client.get(response["Location"]).content.decode()
    assert "陈芳" in html and "某某人寿" in html and "单位信息" in html


def test_corporate_errors_land_on_the_uscc_and_legal_representative_fields(
    client, units, make_user, corporate_data
):
    login(client, make_user("clerk"))
    good = make_uscc()
    data = corporate_data(uscc=good[:17] + ("0" if good[17] != "0" else "1"))
    data["legal_rep_id_number"] = wrong_check_digit(data["legal_rep_id_number"])
    response = client.post(reverse("customers:create_corporate"), corporate_post(data))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "统一社会信用代码" in " ".join(errors["uscc"])
    assert "法定代表人" in " ".join(errors["legal_rep_id_number"])
    assert not Customer.objects.exists()


def test_a_beneficial_owner_error_lands_on_its_row(client, units, make_user, corporate_data):
    login(client, make_user("clerk"))
    response = client.post(
        reverse("customers:create_corporate"),
        corporate_post(
            corporate_data(), owners=[{"name": "陈芳", "ownership_kind": "equity", "percentage": "10"}]
        ),
    )
    assert response.status_code == 200
    row = response.context["formsets"]["beneficial_owners"].forms[0]
    assert "25%" in " ".join(row.errors["percentage"])


def test_the_uscc_override_reason_is_offered_only_to_roles_that_may_override(client, units, make_user):
    login(client, make_user("clerk"))
    assert "id_override_reason" not in client.get(reverse("customers:create_corporate")).content.decode()
    login(client, make_user("reviewer"))
    assert "id_override_reason" in client.get(reverse("customers:create_corporate")).content.decode()


# --- list ---


def test_the_list_searches_by_mobile_and_shows_completeness(client, units, make_user, individual_data):
    clerk = make_user("clerk")
    login(client, clerk)
    target, _ = customer_create(actor=clerk, kind="individual", data=individual_data(mobile="13912340001"))
    other, _ = customer_create(actor=clerk, kind="individual", data=individual_data(mobile="13912340002"))
    html = client.get(reverse("customers:list"), {"q": "139 1234 0001"}).content.decode()
    assert target.archive_no in html and other.archive_no not in html
    assert f"{target.completeness}%" in html and "档案完整率" in html


def test_the_list_filters_by_kind_and_pages_by_twenty(
    client, units, make_user, individual_data, corporate_data
):
    clerk = make_user("clerk")
    login(client, clerk)
    for _ in range(21):
        customer_create(actor=clerk, kind="individual", data=individual_data())
    company, _ = customer_create(actor=clerk, kind="corporate", data=corporate_data())
    response = client.get(reverse("customers:list"), {"kind": "individual"})
    assert len(response.context["rows"]) == 20 and response.context["page"].paginator.count == 21
    assert company.archive_no not in response.content.decode()
    second = client.get(reverse("customers:list"), {"kind": "individual", "page": "2"})
    assert len(second.context["rows"]) == 1
    html = client.get(reverse("customers:list"), {"kind": "corporate"}).content.decode()
    assert company.archive_no in html


def test_the_list_filters_by_agent_and_ignores_bad_filter_values(client, world, make_user):
    login(client, make_user("manager", "GD"))
    html = client.get(reverse("customers:list"), {"agent": world.owner.pk}).content.decode()
    assert world.sz.archive_no in html and world.gz.archive_no not in html
    response = client.get(reverse("customers:list"), {"unit": "999999", "aml_risk": "nonsense"})
    assert response.status_code == 200 and response.context["page"].paginator.count == 2


def test_an_htmx_search_answers_only_the_results_table(client, world, make_user):
    login(client, make_user("clerk", "SZ"))
    response = client.get(reverse("customers:list"), {"q": world.sz.archive_no}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="results"') and "<html" not in html
    assert world.sz.archive_no in html


# --- masks ---


@pytest.fixture
def known_customer(units, make_user, individual_data):
    agent = make_user("agent", "SZ", username="masked_agent")
    data = individual_data(mobile="13812345678", residence_address="广东省深圳市南山区科技园路1号")
    data["id_number"] = make_resident_id(data["birth_date"], data["gender"], region="110105")
    customer, _ = customer_create(
        actor=None, kind="individual", data={**data, "unit_id": units["SZ"].pk, "agent_id": agent.pk}
    )
    return SimpleNamespace(customer=customer, agent=agent, id_number=data["id_number"])


def _user_for(role, known, make_user):
    return known.agent if role == "agent" else make_user(role, "SZ")


@pytest.mark.parametrize("role", ["cs", "agent"])
def test_customer_service_and_agents_see_masked_numbers(client, known_customer, make_user, role):
    login(client, _user_for(role, known_customer, make_user))
    masked = mask_id_number(known_customer.id_number)
    assert re.fullmatch(r"110105\*{8}[0-9X]{4}", masked)
    for url in (reverse("customers:list"), reverse("customers:detail", args=[known_customer.customer.pk])):
        html = client.get(url).content.decode()
        assert masked in html and "138****5678" in html
        assert known_customer.id_number not in html and "13812345678" not in html
        assert "科技园路1号" not in html


def test_a_company_uscc_is_public_but_its_representatives_number_is_masked(
    client, units, make_user, corporate_data
):
    data = corporate_data()
    company, _ = customer_create(actor=None, kind="corporate", data={**data, "unit_id": units["SZ"].pk})
    login(client, make_user("cs", "SZ"))
    for url in (reverse("customers:list"), reverse("customers:detail", args=[company.pk])):
        html = client.get(url).content.decode()
        assert company.id_number in html  # as the API shows it
    html = client.get(reverse("customers:detail", args=[company.pk])).content.decode()
    assert company.legal_rep_id_number not in html
    assert mask_id_number(company.legal_rep_id_number) in html


def test_a_clerk_sees_full_numbers(client, known_customer, make_user):
    login(client, make_user("clerk", "SZ"))
    html = client.get(reverse("customers:detail", args=[known_customer.customer.pk])).content.decode()
    assert known_customer.id_number in html and "13812345678" in html


def test_an_agent_edits_without_ever_receiving_the_hidden_values(client, known_customer):
    login(client, known_customer.agent)
    url = reverse("customers:edit", args=[known_customer.customer.pk])
    html = client.get(url).content.decode()
    assert known_customer.id_number not in html and "13812345678" not in html
    assert 'placeholder="138****5678"' in html
    c = known_customer.customer
    response = client.post(
        url,
        individual_post(
            {
                "name": c.name,
                "id_type": c.id_type,
                "gender": c.gender,
                "birth_date": c.birth_date,
                "occupation": "医生",
                "version": c.version,
            }
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    c.refresh_from_db()
    assert c.occupation == "医生" and c.mobile == "13812345678" and c.id_number == known_customer.id_number


# --- archive page ---


def test_every_view_of_an_archive_is_recorded(client, world, make_user):
    clerk = make_user("clerk", "SZ")
    login(client, clerk)
    client.get(reverse("customers:detail", args=[world.sz.pk]), REMOTE_ADDR="10.1.2.3")
    entry = AuditEntry.objects.filter(action="customer.view").get()
    assert entry.actor_id == clerk.pk and entry.target_id == str(world.sz.pk)
    assert entry.detail == {"channel": "web"} and entry.ip == "10.1.2.3"


def test_the_archive_shows_completeness_with_the_missing_fields(client, units, make_user, individual_data):
    clerk = make_user("clerk")
    login(client, clerk)
    customer, _ = customer_create(actor=clerk, kind="individual", data=individual_data())
    html = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "档案完整率" in html and f"{customer.completeness}%" in html
    assert "待补充" in html and "职业" in html and "婚姻状况" in html


def test_the_archive_shows_age_among_the_profile_factors(client, units, make_user, individual_data):
    clerk = make_user("clerk")
    login(client, clerk)
    customer, _ = customer_create(
        actor=clerk,
        kind="individual",
        data=individual_data(
            birth_date=datetime.date(1980, 1, 1),
            gender="M",
            id_number=make_resident_id(datetime.date(1980, 1, 1), "M"),
        ),
    )
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    profile = dict(next(rows for key, _, rows in response.context["sections"] if key == "profile"))
    assert profile["年龄"] >= 45


@pytest.mark.parametrize("role", ROLES)
def test_history_lists_a_changed_mobile_masked_unless_the_role_sees_sensitive_data(
    client, units, make_user, individual_data, role
):
    clerk = make_user("clerk", "SZ")
    customer, _ = customer_create(
        actor=clerk, kind="individual", data=individual_data(mobile="13812345678", agent_id=None)
    )
    customer_update(actor=clerk, customer_id=customer.pk, data={"mobile": "13987654321"})
    viewer = make_user(role, "SZ")
    if role in OWN_CUSTOMERS_ONLY:
        customer_update(actor=None, customer_id=customer.pk, data={"agent_id": viewer.pk})
    login(client, viewer)
    html = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    if not allowed(role, "customer.history"):
        assert 'id="history"' not in html
        return
    history = html.split('id="history"')[1]
    assert "手机" in history and str(clerk) in history
    if allowed(role, "customer.see_sensitive"):
        assert "13812345678" in history and "13987654321" in history
    else:
        assert "138****5678" in history and "139****4321" in history
        assert "13812345678" not in html and "13987654321" not in html


def test_relations_are_added_by_archive_number_and_shown_on_both_archives(
    client, units, make_user, individual_data
):
    clerk = make_user("clerk")
    login(client, clerk)
    husband, _ = customer_create(actor=clerk, kind="individual", data=individual_data())
    wife, _ = customer_create(actor=clerk, kind="individual", data=individual_data())
    response = client.post(
        reverse("customers:relation_add", args=[husband.pk]),
        {"archive_no": wife.archive_no.lower(), "relation": "spouse"},
        follow=True,
    )
    html = response.content.decode()
    assert "已关联" in html and f'href="{reverse("customers:detail", args=[wife.pk])}"' in html
    html = client.get(reverse("customers:detail", args=[wife.pk])).content.decode()
    assert husband.name in html and "配偶" in html
    client.post(reverse("customers:relation_remove", args=[husband.pk, wife.pk]))
    assert not CustomerRelation.objects.exists()


def test_a_relation_to_an_archive_outside_scope_is_refused(client, world, make_user):
    login(client, make_user("clerk", "SZ"))
    response = client.post(
        reverse("customers:relation_add", args=[world.sz.pk]),
        {"archive_no": world.gz.archive_no, "relation": "spouse"},
        follow=True,
    )
    assert "不存在或不在您的管辖范围内" in response.content.decode()
    assert not CustomerRelation.objects.exists()


# --- edit ---


def _edit_post(customer, **changes) -> dict:
    base = {
        name: getattr(customer, name)
        for name in (
            "name",
            "id_type",
            "id_number",
            "gender",
            "birth_date",
            "nationality",
            "mobile",
            "occupation",
        )
    }
    return individual_post({**base, "version": customer.version, **changes})


def test_an_edit_saves_and_the_history_shows_it(client, world, make_user):
    clerk = make_user("clerk", "SZ")
    login(client, clerk)
    url = reverse("customers:edit", args=[world.sz.pk])
    assert f'value="{world.sz.id_number}"' in client.get(url).content.decode()  # prefilled
    response = client.post(url, _edit_post(world.sz, occupation="律师"))
    assert response.status_code == 302
    world.sz.refresh_from_db()
    assert world.sz.occupation == "律师" and world.sz.version == 2
    html = client.get(response["Location"]).content.decode()
    assert "律师" in html.split('id="history"')[1]


def test_a_stale_version_is_refused_as_a_form_error(client, world, make_user):
    login(client, make_user("clerk", "SZ"))
    stale = _edit_post(world.sz, occupation="律师")
    customer_update(actor=None, customer_id=world.sz.pk, data={"occupation": "教师"})
    response = client.post(reverse("customers:edit", args=[world.sz.pk]), stale)
    assert response.status_code == 200
    assert "已被他人修改" in " ".join(response.context["form"].non_field_errors())
    world.sz.refresh_from_db()
    assert world.sz.occupation == "教师"


def test_aml_fields_are_editable_only_with_change_aml(client, world, make_user):
    url = reverse("customers:edit", args=[world.sz.pk])
    login(client, make_user("clerk", "SZ"))
    assert 'name="aml_risk"' not in client.get(url).content.decode()
    client.post(url, _edit_post(world.sz, aml_risk="high"))
    world.sz.refresh_from_db()
    assert world.sz.aml_risk == "low"
    login(client, make_user("compliance", "SZ"))
    assert 'name="aml_risk"' in client.get(url).content.decode()
    response = client.post(url, _edit_post(world.sz, aml_risk="high", pep="on", source_of_funds="工资"))
    assert response.status_code == 302
    world.sz.refresh_from_db()
    assert world.sz.aml_risk == "high" and world.sz.pep and world.sz.source_of_funds == "工资"
    assert "risk-high" in client.get(reverse("customers:detail", args=[world.sz.pk])).content.decode()


def test_a_corporate_edit_keeps_its_owners(client, units, make_user, corporate_data):
    clerk = make_user("clerk")
    login(client, clerk)
    owner_id = make_resident_id(datetime.date(1970, 3, 4), "F")
    company, _ = customer_create(
        actor=clerk,
        kind="corporate",
        data=corporate_data(
            beneficial_owners=[{"name": "陈芳", "id_number": owner_id, "ownership_kind": "control"}]
        ),
    )
    url = reverse("customers:edit", args=[company.pk])
    response = client.get(url)
    fs = response.context["formsets"]["beneficial_owners"]
    assert fs.initial_form_count() == 1
    post = corporate_post(
        {
            "name": company.name,
            "uscc": company.id_number,
            "legal_rep_name": "李强",
            "legal_rep_id_type": "resident_id",
            "legal_rep_id_number": company.legal_rep_id_number,
            "industry": "软件业",
            "version": company.version,
        }
    )
    post.update(
        {
            "bo-TOTAL_FORMS": "1",
            "bo-INITIAL_FORMS": "1",
            "bo-0-name": "陈芳",
            "bo-0-id_type": "resident_id",
            "bo-0-id_number": owner_id,
            "bo-0-ownership_kind": "control",
            "bo-0-nationality": "CHN",
        }
    )
    response = client.post(url, post)
    assert response.status_code == 302, response.context["form"].errors
    company.refresh_from_db()
    assert company.industry == "软件业" and company.beneficial_owners.get().name == "陈芳"


def test_the_list_costs_the_same_queries_for_five_or_twenty_rows(
    client, units, make_user, individual_data, django_assert_max_num_queries
):
    clerk = make_user("clerk")
    agent = make_user("agent", "SZ")
    login(client, clerk)
    for _ in range(5):
        customer_create(actor=clerk, kind="individual", data=individual_data(agent_id=agent.pk))
    with django_assert_max_num_queries(12) as five:
        client.get(reverse("customers:list"))
    for _ in range(15):
        customer_create(actor=clerk, kind="individual", data=individual_data(agent_id=agent.pk))
    with django_assert_max_num_queries(len(five.captured_queries)):
        response = client.get(reverse("customers:list"))
    assert len(response.context["rows"]) == 20
