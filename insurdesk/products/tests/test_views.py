from django.urls import reverse

from insurdesk.products.models import Product


def test_everyone_browses_the_catalogue(client, make_user, catalogue):
    client.force_login(make_user("cs"))
    page = client.get(reverse("products:list")).content.decode()
    assert "团体意外伤害保险" in page and "团险" in page and "新增险种" not in page
    page = client.get(reverse("products:detail", args=["G802"])).content.decode()
    assert "等级明细" in page and "高端计划" in page
    assert client.get(reverse("products:detail", args=["NOPE"])).status_code == 404


def test_admin_adds_and_edits_a_product(client, make_user, catalogue):
    client.force_login(make_user("admin"))
    data = {
        "code": "G803",
        "name": "团体定期寿险",
        "line": "group",
        "coverage_terms": "1y",
        "payment_modes": ["single", "annual"],
        "payment_terms": "single, 1y",
        "min_age": "16",
        "max_age": "65",
        "cooling_off_days": "0",
        "grace_days": "60",
        "required_documents": "投保单\n被保险人清单",
        "death_cover": "on",
        "active": "on",
        "plan_levels": "A, 全员, 100000, 80.00, 统一保障",
    }
    r = client.post(reverse("products:create"), data)
    assert r.status_code == 302
    p = Product.objects.get(code="G803")
    assert (
        p.is_group
        and p.required_documents == ["投保单", "被保险人清单"]
        and p.plan_levels.get().name == "全员"
    )
    r = client.post(
        reverse("products:edit", args=["G803"]),
        {**data, "grace_days": "30", "version": "1", "coverage_terms": "forever"},
    )
    assert r.status_code == 200 and "保险期间“forever”无效" in r.content.decode()
    r = client.post(reverse("products:edit", args=["G803"]), {**data, "grace_days": "30", "version": "1"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.grace_days == 30 and p.version == 2
