from decimal import Decimal

import pytest

from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import Conflict, Duplicate, NotAllowed, NotFound, ValidationFailed
from insurdesk.products.catalogue import STARTER_PRODUCTS, load_starter_catalogue
from insurdesk.products.models import Line, Product
from insurdesk.products.selectors import product_get, product_list
from insurdesk.products.services import product_create, product_update


def codes(exc):
    return {(e.field, e.code) for e in exc.value.errors}


def spec(**overrides):
    data = {
        "code": "T100",
        "name": "测试终身寿险",
        "line": "life",
        "coverage_terms": ["life"],
        "payment_modes": ["annual"],
        "payment_terms": ["10y", "20y"],
        "min_age": 0,
        "max_age": 60,
        "min_sum_insured": "10000",
        "max_sum_insured": "1000000",
        "death_cover": True,
    }
    data.update(overrides)
    return data


def test_the_starter_catalogue_covers_every_line_with_group_plan_levels(db):
    products = {p.code: p for p in load_starter_catalogue()}
    assert {p.line for p in products.values()} == set(Line.values)
    group = [p for p in products.values() if p.is_group]
    assert {"G801", "G802"} <= {p.code for p in group}
    assert all(p.plan_levels.count() >= 2 for p in group)
    assert products["R201"].is_rider and {m.code for m in products["R201"].attaches_to.all()} == {
        "L101",
        "L102",
    }
    assert products["L101"].grace_days == 60
    assert len(load_starter_catalogue()) == len(STARTER_PRODUCTS)  # a second load changes nothing


def test_admin_creates_a_product_and_the_audit_names_it(make_user):
    admin = make_user("admin")
    p = product_create(
        actor=admin,
        data=spec(required_documents=["投保单", " 身份证 ", "投保单"], occupation_classes=[3, 1, 1]),
    )
    assert p.code == "T100" and p.grace_days == 60 and p.cooling_off_days == 15
    assert p.required_documents == ["投保单", "身份证"] and p.occupation_classes == [1, 3]
    assert AuditEntry.objects.filter(action="product.create", target_id=str(p.pk)).exists()


@pytest.mark.parametrize(
    "role", ["clerk", "reviewer", "agent", "underwriter", "service", "claims", "cs", "compliance", "manager"]
)
def test_only_admins_maintain_products(make_user, role):
    with pytest.raises(NotAllowed):
        product_create(actor=make_user(role), data=spec())
    assert not Product.objects.exists()


def test_every_bad_field_is_named(make_user):
    with pytest.raises(ValidationFailed) as exc:
        product_create(
            actor=make_user("admin"),
            data=spec(
                code="bad code",
                name=" ",
                line="marine",
                coverage_terms=["20", "life"],
                payment_modes=["weekly"],
                payment_terms=[],
                min_age=50,
                max_age=40,
                min_sum_insured="100",
                max_sum_insured="10",
                grace_days=-1,
                occupation_classes=[7],
            ),
        )
    assert codes(exc) >= {
        ("code", "format"),
        ("name", "required"),
        ("line", "choice"),
        ("coverage_terms", "format"),
        ("payment_modes", "choice"),
        ("payment_terms", "required"),
        ("max_age", "range"),
        ("max_sum_insured", "range"),
        ("grace_days", "range"),
        ("occupation_classes", "range"),
    }


def test_single_premium_goes_with_the_single_term(make_user):
    with pytest.raises(ValidationFailed) as exc:
        product_create(actor=make_user("admin"), data=spec(payment_modes=["single"], payment_terms=["10y"]))
    assert ("payment_terms", "single") in codes(exc)


def test_riders_name_existing_main_products(make_user, catalogue):
    admin = make_user("admin")
    with pytest.raises(ValidationFailed) as exc:
        product_create(actor=admin, data=spec(code="R900", is_rider=True))
    assert ("attaches_to", "required") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        product_create(actor=admin, data=spec(code="R900", is_rider=True, attaches_to=["NOPE"]))
    assert ("attaches_to", "not_found") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        product_create(actor=admin, data=spec(code="R900", is_rider=True, attaches_to=["R201"]))
    assert ("attaches_to", "not_main") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        product_create(actor=admin, data=spec(code="T900", attaches_to=["L101"]))
    assert ("attaches_to", "not_rider") in codes(exc)
    rider = product_create(actor=admin, data=spec(code="R900", is_rider=True, attaches_to=["l101", "L102"]))
    assert {m.code for m in rider.attaches_to.all()} == {"L101", "L102"}


def test_plan_levels_belong_to_group_products(make_user):
    admin = make_user("admin")
    levels = [
        {"code": "a", "name": "管理层", "sum_insured": "100000", "premium_per_member": "88.50"},
        {"code": "A", "name": "重复", "sum_insured": "1", "premium_per_member": "1"},
    ]
    with pytest.raises(ValidationFailed) as exc:
        product_create(actor=admin, data=spec(plan_levels=levels[:1]))
    assert ("plan_levels", "not_group") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        product_create(actor=admin, data=spec(line="group", plan_levels=levels))
    assert ("plan_levels[1].code", "duplicate") in codes(exc)
    p = product_create(actor=admin, data=spec(line="group", plan_levels=levels[:1]))
    assert p.is_group and p.plan_levels.get().premium_per_member == Decimal("88.50")


def test_a_code_is_used_once(make_user):
    admin = make_user("admin")
    product_create(actor=admin, data=spec())
    with pytest.raises(Duplicate):
        product_create(actor=admin, data=spec(code="t100"))


def test_update_changes_only_what_is_sent_and_keeps_the_code(make_user, catalogue):
    admin = make_user("admin")
    p = product_update(actor=admin, code="L101", data={"grace_days": 30, "max_age": 65}, expected_version=1)
    assert p.grace_days == 30 and p.max_age == 65 and p.version == 2 and p.coverage_terms == ["life"]
    entry = AuditEntry.objects.filter(action="product.update").latest("seq")
    assert entry.detail["changes"]["grace_days"] == {"before": 60, "after": 30}
    with pytest.raises(Conflict):
        product_update(actor=admin, code="L101", data={"grace_days": 40}, expected_version=1)
    with pytest.raises(ValidationFailed) as exc:
        product_update(actor=admin, code="L101", data={"code": "L999"})
    assert ("code", "immutable") in codes(exc)
    with pytest.raises(NotFound):
        product_update(actor=admin, code="NOPE", data={"grace_days": 1})
    g = product_update(
        actor=admin,
        code="G801",
        data={
            "plan_levels": [{"code": "X", "name": "全员", "sum_insured": "1000", "premium_per_member": "10"}]
        },
    )
    assert [pl.code for pl in g.plan_levels.all()] == ["X"]


def test_selectors_find_by_code_name_and_line(catalogue):
    assert [p.code for p in product_list(line="group")] == ["G801", "G802"]
    assert [p.code for p in product_list(query="l10")] == ["L101", "L102"]
    assert [p.code for p in product_list(query="医疗")] == ["G802", "H301"]
    assert product_get(code="r201").code == "R201"
    with pytest.raises(NotFound):
        product_get(code="NOPE")
