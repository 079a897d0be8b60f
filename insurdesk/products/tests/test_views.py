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


def test_every_catalogue_field_is_kept_from_the_admin_form(client, make_user, catalogue):
    client.force_login(make_user("admin"))
    data = {
        "code": "R203",
        "name": "附加意外医疗保险",
        "line": "accident",
        "is_rider": "on",
        "attaches_to": "L101, L102",
        "coverage_terms": "1y, 20y",
        "payment_modes": ["single", "annual", "semiannual", "quarterly", "monthly"],
        "payment_terms": "single, 10y, to60",
        "min_age": "18",
        "max_age": "55",
        "min_sum_insured": "10000",
        "max_sum_insured": "200000",
        "cooling_off_days": "20",
        "grace_days": "30",
        "occupation_classes": ["1", "2", "3"],
        "required_documents": "投保单\n身份证复印件",
        "active": "on",
    }
    assert client.post(reverse("products:create"), data).status_code == 302
    p = Product.objects.get(code="R203")
    assert (p.name, p.line, p.is_rider, p.kind_label) == ("附加意外医疗保险", "accident", True, "附加险")
    assert {m.code for m in p.attaches_to.all()} == {"L101", "L102"}
    assert p.coverage_terms == ["1y", "20y"] and p.payment_terms == ["single", "10y", "to60"]
    assert p.payment_modes == ["single", "annual", "semiannual", "quarterly", "monthly"]
    assert (p.min_age, p.max_age, str(p.min_sum_insured), str(p.max_sum_insured)) == (
        18,
        55,
        "10000.00",
        "200000.00",
    )
    assert (p.cooling_off_days, p.grace_days) == (20, 30)
    assert p.occupation_classes == [1, 2, 3] and p.required_documents == ["投保单", "身份证复印件"]
    page = client.get(reverse("products:detail", args=["R203"])).content.decode()
    for shown in (
        "意外险",
        "附加险",
        "趸交",
        "年交",
        "半年交",
        "季交",
        "月交",
        "1类、2类、3类",
        "身份证复印件",
    ):
        assert shown in page, shown


def test_only_admins_reach_the_product_forms(client, make_user, catalogue):
    for role in ("clerk", "reviewer", "underwriter", "manager", "compliance", "agent"):
        client.force_login(make_user(role))
        assert client.get(reverse("products:create")).status_code == 403
        assert client.post(reverse("products:edit", args=["L101"]), {"name": "x"}).status_code == 403
        assert "编辑" not in client.get(reverse("products:detail", args=["L101"])).content.decode()
    assert Product.objects.get(code="L101").name == "安享终身寿险"
