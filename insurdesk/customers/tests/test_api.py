"""The customer endpoints of the REST API: create, validate, find, page, mask, change."""

import datetime
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from insurdesk.audit.models import AuditEntry
from insurdesk.customers.models import Customer
from insurdesk.customers.selectors import customer_history
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id
from insurdesk.org.services import token_issue

GOOD_ID = "110105199003071239"  # FACTS.md: valid, born 1990-03-07, male


class ApiClient:
    """JSON to /api/v1 as one user (the token is issued directly; no password hashing)."""

    def __init__(self, user):
        self.client = Client(headers={"Authorization": f"Bearer {token_issue(user=user)}"})

    def get(self, path: str, params: dict | None = None):
        return self.client.get("/api/v1" + path, params or {})

    def post(self, path: str, body=None, *, raw: str | None = None):
        data = raw if raw is not None else json.dumps(body, default=str)
        return self.client.post("/api/v1" + path, data, content_type="application/json")

    def patch(self, path: str, body: dict):
        return self.client.patch("/api/v1" + path, json.dumps(body), content_type="application/json")


as_user = ApiClient


def error_codes(response) -> set[tuple[str, str]]:
    """Return the (field, code) pairs of an error answer, checking its shape on the way."""
    body = response.json()
    assert set(body) <= {"errors", "existing"}, body
    for err in body["errors"]:
        assert set(err) == {"field", "code", "message"} and err["message"], err
    return {(e["field"], e["code"]) for e in body["errors"]}


def individual(**over) -> dict:
    body = {
        "kind": "individual",
        "name": "张伟",
        "id_type": "resident_id",
        "id_number": GOOD_ID,
        "mobile": "13812345678",
        "gender": "M",
        "birth_date": "1990-03-07",
    }
    body.update(over)
    return body


def corporate(**over) -> dict:
    body = {
        "kind": "corporate",
        "name": "北京海淀示例科技有限公司",
        "uscc": "91110108MA01ABCD5T",
        "legal_representative": {
            "name": "李强",
            "id_type": "resident_id",
            "id_number": "110108198707043011",
            "id_valid_to": "2035-01-01",
        },
    }
    body.update(over)
    return body


def seed(units, data: dict, *, kind: str = "individual", unit: str = "SZ", agent=None) -> Customer:
    """Create an archive through the service, placed in a unit and optionally with an owning agent."""
    extra = {"unit_id": units[unit].pk}
    if agent is not None:
        extra["agent_id"] = agent.pk
    customer, _ = customer_create(actor=None, kind=kind, data={**data, **extra})
    return customer


@pytest.fixture
def clerk(make_user):
    return make_user("clerk")


@pytest.fixture
def api(clerk):
    return as_user(clerk)


# ---------------------------------------------------------------- create


def test_create_individual_answers_201_with_the_record(api, clerk):
    r = api.post("/customers", individual(occupation="教师", annual_income="120000.50", postal_code="518000"))
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["archive_no"].startswith("KH") and body["kind"] == "individual"
    assert (body["name"], body["id_type"], body["id_number"]) == ("张伟", "resident_id", GOOD_ID)
    assert (body["gender"], body["birth_date"], body["mobile"]) == ("M", "1990-03-07", "13812345678")
    assert body["occupation"] == "教师" and body["annual_income"] == "120000.50"
    assert body["unit"] == {"id": clerk.unit.pk, "code": "SZ", "name": "深圳分公司"}
    assert body["agent"] is None and body["version"] == 1 and body["warnings"] == []
    assert 0 < body["completeness"] < 100
    stored = Customer.objects.get(pk=body["id"])
    assert stored.id_number == GOOD_ID and stored.created_by == clerk and stored.nationality == "CHN"


def test_gender_and_birth_date_are_derived_from_the_id_when_not_typed(api):
    r = api.post("/customers", {"kind": "individual", "name": "王芳", "id_number": "11010519491231002x"})
    assert r.status_code == 201, r.json()
    assert (r.json()["id_number"], r.json()["birth_date"], r.json()["gender"]) == (
        "11010519491231002X",
        "1949-12-31",
        "F",
    )


@pytest.mark.parametrize(
    "number, birth, gender",
    [
        ("11010519491231002X", "1949-12-31", "F"),  # the standard's own example
        ("110105199003071239", "1990-03-07", "M"),
        ("440305200002294417", "2000-02-29", "M"),  # leap day
        ("510107201210010022", "2012-10-01", "F"),
        ("32010219920214105X", "1992-02-14", "M"),
        ("110108198707043011", "1987-07-04", "M"),
    ],
)
def test_the_valid_examples_of_facts_md_are_accepted(api, number, birth, gender):
    r = api.post("/customers", individual(id_number=number, birth_date=birth, gender=gender))
    assert r.status_code == 201, r.json()
    assert (r.json()["id_number"], r.json()["birth_date"], r.json()["gender"]) == (number, birth, gender)


def test_full_width_characters_and_spaces_are_normalised(api):
    r = api.post(
        "/customers",
        individual(id_number="１１０１０５ １９９００３０７ １２３９", mobile="+86 138 1234 5678"),
    )
    assert r.status_code == 201, r.json()
    assert (r.json()["id_number"], r.json()["mobile"]) == (GOOD_ID, "13812345678")


def test_wrong_check_digit_is_422_on_id_number_with_code_checksum(api):
    r = api.post("/customers", individual(id_number="110105199003071238"))
    assert r.status_code == 422
    assert error_codes(r) == {("id_number", "checksum")}
    assert "校验码" in r.json()["errors"][0]["message"]
    assert not Customer.objects.exists()


def test_impossible_birth_date_in_the_id_is_422_birth_date(api):
    r = api.post("/customers", individual(id_number="110105199002301234", birth_date=None, gender=None))
    assert r.status_code == 422
    assert error_codes(r) == {("id_number", "birth_date")}


def test_typed_birth_date_and_gender_disagreeing_with_the_id_are_422_mismatch(api):
    r = api.post("/customers", individual(birth_date="1990-03-08", gender="F"))
    assert r.status_code == 422
    assert error_codes(r) == {("birth_date", "mismatch"), ("gender", "mismatch")}


def test_every_bad_field_is_named_at_once(api):
    r = api.post("/customers", individual(id_number="110105199003071238", mobile="12345", postal_code="5180"))
    assert r.status_code == 422
    assert error_codes(r) == {("id_number", "checksum"), ("mobile", "format"), ("postal_code", "format")}


def test_legacy_15_digit_id_is_stored_as_18(api):
    r = api.post("/customers", {"kind": "individual", "name": "老张", "id_number": "110105491231002"})
    assert r.status_code == 201, r.json()
    assert r.json()["id_number"] == "11010519491231002X"
    assert Customer.objects.get(pk=r.json()["id"]).id_number == "11010519491231002X"


def test_duplicate_identity_is_409_pointing_to_the_existing_archive(api):
    first = api.post("/customers", individual()).json()
    r = api.post("/customers", individual(name="别名", id_number="110105199003071239 "))
    assert r.status_code == 409
    assert error_codes(r) == {("id_number", "duplicate")}
    assert r.json()["existing"] == {"id": first["id"], "archive_no": first["archive_no"]}
    assert Customer.objects.count() == 1


def test_duplicate_of_an_archive_outside_the_scope_does_not_reveal_it(api, units):
    hidden = seed(units, {"name": "广州客户", "id_number": GOOD_ID}, unit="GZ")
    r = api.post("/customers", individual())
    assert r.status_code == 409
    assert error_codes(r) == {("id_number", "duplicate")}
    assert "existing" not in r.json()
    assert hidden.archive_no not in r.json()["errors"][0]["message"]


def test_a_15_digit_id_duplicates_its_18_digit_form(api):
    api.post("/customers", {"kind": "individual", "name": "老张", "id_number": "11010519491231002X"})
    r = api.post("/customers", {"kind": "individual", "name": "老张", "id_number": "110105491231002"})
    assert r.status_code == 409 and error_codes(r) == {("id_number", "duplicate")}


def test_request_validation_errors_use_the_same_body(api):
    r = api.post(
        "/customers",
        {
            "kind": "individual",
            "id_number": 110105199003071239,
            "gender": "X",
            "birth_date": "1990-02-30",
            "nickname": "小张",
        },
    )
    assert r.status_code == 422
    assert error_codes(r) == {
        ("name", "required"),
        ("id_number", "type"),
        ("gender", "choice"),
        ("birth_date", "format"),
        ("nickname", "unknown_field"),
    }


def test_missing_or_unknown_kind_is_named(api):
    assert error_codes(api.post("/customers", {"name": "张伟"})) == {("kind", "required")}
    assert error_codes(api.post("/customers", {"kind": "person", "name": "张伟"})) == {("kind", "choice")}


def test_malformed_json_is_400_with_the_same_body(api):
    r = api.post("/customers", raw='{"kind": "individual",')
    assert r.status_code == 400
    assert error_codes(r) == {("", "malformed")}


def test_a_body_that_is_not_an_object_is_422(api):
    r = api.post("/customers", raw="[1, 2]")
    assert r.status_code == 422
    assert {code for _, code in error_codes(r)} <= {"type", "required"}


# ---------------------------------------------------------------- corporate


def test_create_corporate_with_nested_legal_representative_and_lists(api):
    body = corporate(
        nature="private",
        registered_capital="1000.00",
        licence_valid_to="2040-12-31",
        contact_person={"name": "王经办", "id_number": "32010219920214105X", "mobile": "13912345678"},
        taxpayer={
            "is_general": True,
            "tax_number": "91110108MA01ABCD5T",
            "bank": "工商银行",
            "account": "6222020200112233445",
            "address_phone": "北京市海淀区 010-12345678",
        },
        beneficial_owners=[
            {
                "name": "李强",
                "id_number": "110108198707043011",
                "ownership_kind": "equity",
                "percentage": "60",
                "address": "北京市海淀区中关村大街1号",
            }
        ],
        other_policies=[{"insurer": "某人寿", "policy_no": "P001", "line": "团体意外险", "premium": "50000"}],
    )
    r = api.post("/customers", body)
    assert r.status_code == 201, r.json()
    rec = r.json()
    assert rec["kind"] == "corporate" and rec["uscc"] == "91110108MA01ABCD5T"
    assert "id_number" not in rec and "gender" not in rec
    assert rec["legal_representative"] == {
        "name": "李强",
        "id_type": "resident_id",
        "id_number": "110108198707043011",
        "id_valid_to": "2035-01-01",
    }
    assert rec["contact_person"] == {
        "name": "王经办",
        "id_type": "resident_id",
        "id_number": "32010219920214105X",
        "mobile": "13912345678",
    }
    assert rec["taxpayer"]["is_general"] is True and rec["taxpayer"]["account"] == "6222020200112233445"
    assert rec["beneficial_owners"][0]["birth_date"] == "1987-07-04"
    assert rec["beneficial_owners"][0]["percentage"] == "60.00"
    assert rec["other_policies"][0]["insurer"] == "某人寿"
    stored = Customer.objects.get(pk=rec["id"])
    assert (stored.id_type, stored.id_number, stored.legal_rep_name) == ("uscc", "91110108MA01ABCD5T", "李强")
    assert (stored.contact_name, stored.tax_bank, stored.is_general_taxpayer) == ("王经办", "工商银行", True)


@pytest.mark.parametrize(
    "uscc",
    [
        "91110108MA01ABCD5T",
        "91310115MA1H7K2Q2P",
        "91440300MA5F0LRN72",
        "52330106MJ9875TY8N",
        "12100000400001125B",
        "91320106MA000004XW",
        "91330106MA10000170",
    ],
)
def test_the_valid_usccs_of_facts_md_are_accepted(api, uscc):
    r = api.post("/customers", corporate(uscc=uscc))
    assert r.status_code == 201, r.json()
    assert r.json()["uscc"] == uscc


def test_corporate_with_bad_uscc_is_422_on_uscc(api):
    r = api.post("/customers", corporate(uscc="91110108MA01ABCD5X"))
    assert r.status_code == 422
    assert error_codes(r) == {("uscc", "checksum")}


def test_duplicate_uscc_is_409_on_uscc(api):
    first = api.post("/customers", corporate()).json()
    r = api.post("/customers", corporate(name="另一个名称", uscc="91110108ma01abcd5t"))
    assert r.status_code == 409 and error_codes(r) == {("uscc", "duplicate")}
    assert r.json()["existing"]["id"] == first["id"]


def test_corporate_errors_are_named_by_the_api_field(api):
    r = api.post(
        "/customers",
        corporate(
            legal_representative={"name": "李强", "id_number": "110108198707043012"},
            contact_person={"name": "王经办", "id_number": "110105199003071238", "mobile": "123"},
        ),
    )
    assert r.status_code == 422
    assert error_codes(r) == {
        ("legal_representative.id_number", "checksum"),
        ("contact_person.id_number", "checksum"),
        ("contact_person.mobile", "format"),
    }


def test_corporate_needs_uscc_and_legal_representative(api):
    r = api.post("/customers", {"kind": "corporate", "name": "某公司"})
    assert r.status_code == 422
    assert error_codes(r) == {("uscc", "required"), ("legal_representative", "required")}
    r = api.post("/customers", corporate(legal_representative={"id_number": "110108198707043011"}))
    assert error_codes(r) == {("legal_representative.name", "required")}


def test_beneficial_owner_errors_name_the_row(api):
    r = api.post(
        "/customers",
        corporate(
            beneficial_owners=[
                {"name": "甲", "ownership_kind": "equity", "percentage": "30"},
                {"name": "乙", "ownership_kind": "equity", "percentage": "10"},
            ]
        ),
    )
    assert r.status_code == 422
    assert error_codes(r) == {("beneficial_owners[1].percentage", "threshold")}


def test_individual_fields_are_refused_on_a_corporate(api):
    r = api.post("/customers", corporate(gender="M"))
    assert r.status_code == 422 and error_codes(r) == {("gender", "unknown_field")}


ISSUED_BUT_FAILING = "91350211M0000XUF46"  # FACTS.md: really issued in Xiamen, fails the check


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_uscc_override_is_accepted_for_an_allowed_role_with_a_reason(make_user, role):
    r = as_user(make_user(role)).post(
        "/customers", corporate(uscc=ISSUED_BUT_FAILING, id_override_reason="营业执照原件核实")
    )
    assert r.status_code == 201, r.json()
    assert r.json()["uscc"] == ISSUED_BUT_FAILING
    assert r.json()["id_override_reason"] == "营业执照原件核实"
    assert any("例外" in w for w in r.json()["warnings"])
    entry = AuditEntry.objects.get(action="customer.create", target_id=str(r.json()["id"]))
    assert "营业执照原件核实" in str(entry.detail)


def test_uscc_override_by_compliance_on_change(make_user, units):
    company = seed(
        units,
        {"name": "厦门某公司", "uscc": "91110108MA01ABCD5T", "legal_rep_name": "李强"},
        kind="corporate",
    )
    api = as_user(make_user("compliance"))
    r = api.patch(
        f"/customers/{company.pk}", {"uscc": ISSUED_BUT_FAILING, "id_override_reason": "登记机关确认"}
    )
    assert r.status_code == 200, r.json()
    assert r.json()["uscc"] == ISSUED_BUT_FAILING


def test_uscc_override_is_refused_without_a_reason_or_for_other_roles(make_user):
    r = as_user(make_user("reviewer")).post("/customers", corporate(uscc=ISSUED_BUT_FAILING))
    assert r.status_code == 422 and error_codes(r) == {("uscc", "checksum")}
    r = as_user(make_user("clerk")).post(
        "/customers", corporate(uscc=ISSUED_BUT_FAILING, id_override_reason="营业执照原件核实")
    )
    assert r.status_code == 422 and error_codes(r) == {("uscc", "override_not_allowed")}
    assert not Customer.objects.exists()


# ---------------------------------------------------------------- find and page


@pytest.fixture
def three(units):
    zhang = seed(units, {"name": "张伟", "id_number": GOOD_ID, "mobile": "13812345678"})
    zhangsan = seed(units, {"name": "张三丰", "id_number": "440305200002294417", "mobile": "13900001111"})
    li = seed(units, {"name": "李娜", "id_number": "11010519491231002X", "mobile": "13700002222"})
    return zhang, zhangsan, li


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["items"]]


def test_search_by_name_prefix(api, three):
    zhang, zhangsan, li = three
    assert ids(api.get("/customers", {"q": "张"})) == [zhangsan.pk, zhang.pk]  # by name
    assert ids(api.get("/customers", {"q": "张三"})) == [zhangsan.pk]
    assert ids(api.get("/customers", {"q": "三丰"})) == []


def test_search_by_archive_number(api, three):
    zhang, _, _ = three
    assert ids(api.get("/customers", {"q": zhang.archive_no})) == [zhang.pk]
    assert ids(api.get("/customers", {"q": zhang.archive_no.lower()})) == [zhang.pk]


def test_search_by_identity_number(api, three):
    zhang, _, li = three
    assert ids(api.get("/customers", {"q": GOOD_ID})) == [zhang.pk]
    assert ids(api.get("/customers", {"q": "11010519491231002x"})) == [li.pk]
    assert ids(api.get("/customers", {"q": "110105491231002"})) == [li.pk]  # the legacy 15-digit form


@pytest.mark.parametrize(
    "typed", ["13812345678", "+86 138 1234 5678", "138 1234 5678", "+8613812345678", "138-1234-5678"]
)
def test_search_by_mobile(api, three, typed):
    assert ids(api.get("/customers", {"q": typed})) == [three[0].pk]


def test_filters(api, units, make_user, corporate_data):
    agent = make_user("agent", "NS")  # an agent serves customers of its unit's subtree only
    person = seed(units, {"name": "王五", "id_number": GOOD_ID, "aml_risk": "high"}, unit="NS", agent=agent)
    company = seed(units, corporate_data(), kind="corporate")
    assert ids(api.get("/customers", {"kind": "corporate"})) == [company.pk]
    assert ids(api.get("/customers", {"aml_risk": "high"})) == [person.pk]
    assert ids(api.get("/customers", {"unit_id": units["NS"].pk})) == [person.pk]
    assert set(ids(api.get("/customers", {"unit_id": units["SZ"].pk}))) == {person.pk, company.pk}
    assert ids(api.get("/customers", {"agent_id": agent.pk})) == [person.pk]
    assert set(ids(api.get("/customers", {"kind": "", "aml_risk": "", "q": ""}))) == {person.pk, company.pk}


def test_pagination_shape(api, units, individual_data):
    made = [seed(units, individual_data()) for _ in range(25)]
    newest_first = [c.pk for c in reversed(made)]
    r = api.get("/customers")
    assert set(r.json()) == {"items", "count"}
    assert r.json()["count"] == 25 and ids(r) == newest_first[:20]
    assert ids(api.get("/customers", {"page_size": 10, "page": 3})) == newest_first[20:]
    r = api.get("/customers", {"page_size": 10, "page": 4})
    assert r.json() == {"items": [], "count": 25}
    assert api.get("/customers", {"page": 10**30}).json() == {"items": [], "count": 25}
    assert len(ids(api.get("/customers", {"page_size": 200}))) == 25


@pytest.mark.parametrize(
    "params, field",
    [
        ({"page": 0}, "page"),
        ({"page_size": 201}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page": "x"}, "page"),
        ({"kind": "person"}, "kind"),
        ({"aml_risk": "extreme"}, "aml_risk"),
    ],
)
def test_bad_list_parameters_are_422(api, params, field):
    r = api.get("/customers", params)
    assert r.status_code == 422
    assert [f for f, _ in error_codes(r)] == [field]


def test_list_query_count_does_not_grow_with_rows(api, units, individual_data, corporate_data):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/customers", {"page_size": 200}).status_code == 200
        return len(ctx.captured_queries)

    seed(units, individual_data())
    seed(units, corporate_data(), kind="corporate")
    few = count_queries()
    for _ in range(10):
        seed(units, individual_data())
        company = corporate_data()
        seed(
            units,
            {
                **company,
                "beneficial_owners": [{"name": "甲", "ownership_kind": "control"}],
                "other_policies": [{"insurer": "某保险"}],
            },
            kind="corporate",
        )
    assert count_queries() == few
    assert few <= 6  # token, scope, count, page, owners, other policies


def test_list_query_count_is_bounded(api, units, individual_data, django_assert_max_num_queries):
    for _ in range(30):
        seed(units, individual_data())
    with django_assert_max_num_queries(6):
        api.get("/customers", {"q": "张"})


# ---------------------------------------------------------------- read, mask


def test_get_one_answers_the_record_and_records_the_view(api, units):
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID})
    r = api.get(f"/customers/{c.pk}")
    assert r.status_code == 200
    assert r.json()["archive_no"] == c.archive_no and "warnings" not in r.json()
    view = AuditEntry.objects.get(action="customer.view", target_id=str(c.pk))
    assert view.detail == {"channel": "api"} and view.ip == "127.0.0.1"


def test_missing_archive_is_404(api):
    for pk in (999, 0, 2**64):
        r = api.get(f"/customers/{pk}")
        assert r.status_code == 404
        assert error_codes(r) == {("", "not_found")}


@pytest.mark.parametrize("role", ["cs", "agent"])
def test_cs_and_agents_see_masks(make_user, units, role):
    user = make_user(role)
    c = seed(
        units,
        {
            "name": "张伟",
            "id_number": GOOD_ID,
            "mobile": "13812345678",
            "email": "zhang@example.com",
            "residence_address": "广东省深圳市南山区科技园路1号",
            "health_notes": "高血压",
        },
        agent=user if role == "agent" else None,
    )
    api = as_user(user)
    for rec in (api.get(f"/customers/{c.pk}").json(), api.get("/customers").json()["items"][0]):
        assert rec["id_number"] == "110105********1239"
        assert rec["mobile"] == "138****5678"
        assert rec["email"] == "z***@example.com"
        assert rec["residence_address"] == "广东省深圳市****"
        assert rec["health_notes"] == "******"
        assert rec["name"] == "张伟" and rec["birth_date"] == "1990"  # the year only (issue 15)


def test_masks_on_a_corporate(make_user, units):
    company = seed(
        units,
        {
            "name": "某公司",
            "uscc": "91110108MA01ABCD5T",
            "legal_rep_name": "李强",
            "legal_rep_id_type": "resident_id",
            "legal_rep_id_number": "110108198707043011",
            "contact_mobile": "13912345678",
            "tax_account": "6222020200112233445",
        },
        kind="corporate",
    )
    rec = as_user(make_user("cs")).get(f"/customers/{company.pk}").json()
    assert rec["uscc"] == "91110108MA01ABCD5T"  # public registration code
    assert rec["legal_representative"]["id_number"] == "110108********3011"
    assert rec["contact_person"]["mobile"] == "139****5678"
    assert rec["taxpayer"]["account"] == "**** **** 3445"


def test_clerks_see_values_unmasked(api, units):
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID, "mobile": "13812345678"})
    rec = api.get(f"/customers/{c.pk}").json()
    assert (rec["id_number"], rec["mobile"]) == (GOOD_ID, "13812345678")


# ---------------------------------------------------------------- change


def test_patch_changes_only_the_fields_sent_and_keeps_history(api, clerk, units):
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID, "mobile": "13812345678"})
    r = api.patch(f"/customers/{c.pk}", {"occupation": "教师", "mobile": "139 0000 1111"})
    assert r.status_code == 200, r.json()
    rec = r.json()
    assert (rec["occupation"], rec["mobile"], rec["id_number"]) == ("教师", "13900001111", GOOD_ID)
    assert rec["version"] == 2 and rec["warnings"] == []
    latest = customer_history(customer=Customer.objects.get(pk=c.pk))[0]
    assert latest["who"] == clerk
    changed = {ch["field"]: (ch["before"], ch["after"]) for ch in latest["changes"]}
    assert changed["occupation"] == ("", "教师")
    assert "mobile" in changed
    entry = AuditEntry.objects.filter(action="customer.change", target_id=str(c.pk)).get()
    assert set(entry.detail["fields"]) == {"occupation", "mobile"}


def test_patch_with_a_stale_version_is_409_conflict(api, units):
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID})
    assert api.patch(f"/customers/{c.pk}", {"occupation": "教师", "version": 1}).status_code == 200
    r = api.patch(f"/customers/{c.pk}", {"occupation": "医生", "version": 1})
    assert r.status_code == 409
    assert error_codes(r) == {("version", "conflict")}
    assert Customer.objects.get(pk=c.pk).occupation == "教师"
    assert api.patch(f"/customers/{c.pk}", {"occupation": "医生", "version": 2}).json()["version"] == 3


def test_patch_checks_like_create(api, units):
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID})
    r = api.patch(f"/customers/{c.pk}", {"id_number": "11010519491231002X"})
    assert r.status_code == 422 and error_codes(r) == {("birth_date", "mismatch"), ("gender", "mismatch")}
    r = api.patch(f"/customers/{c.pk}", {"id_number": "110105199003071238"})
    assert r.status_code == 422 and error_codes(r) == {("id_number", "checksum")}
    r = api.patch(f"/customers/{c.pk}", {"name": None})
    assert r.status_code == 422 and error_codes(r) == {("name", "type")}


def test_patch_of_birth_date_alone_is_checked_against_the_stored_id(api, units):
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID})
    r = api.patch(f"/customers/{c.pk}", {"birth_date": "1990-03-08"})
    assert r.status_code == 422 and error_codes(r) == {("birth_date", "mismatch")}


def test_patch_to_an_identity_that_has_an_archive_is_409(api, units):
    seed(units, {"name": "李娜", "id_number": "11010519491231002X"})
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID})
    r = api.patch(
        f"/customers/{c.pk}", {"id_number": "11010519491231002X", "birth_date": "1949-12-31", "gender": "F"}
    )
    assert r.status_code == 409 and error_codes(r) == {("id_number", "duplicate")}


def test_patch_refuses_fields_of_the_other_kind_and_a_kind_change(api, units):
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID})
    r = api.patch(
        f"/customers/{c.pk}", {"uscc": "91110108MA01ABCD5T", "legal_representative": {"name": "李强"}}
    )
    assert r.status_code == 422
    assert error_codes(r) == {("uscc", "unknown_field"), ("legal_representative", "unknown_field")}
    r = api.patch(f"/customers/{c.pk}", {"kind": "corporate"})
    assert r.status_code == 422 and error_codes(r) == {("kind", "immutable")}


def test_patch_null_clears_a_value(api, units):
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID, "mobile": "13812345678", "occupation": "教师"})
    r = api.patch(f"/customers/{c.pk}", {"mobile": None, "occupation": None})
    assert r.status_code == 200, r.json()
    assert (r.json()["mobile"], r.json()["occupation"]) == (None, "")
    stored = Customer.objects.get(pk=c.pk)
    assert (stored.mobile, stored.mobile_hash, stored.occupation) == (None, None, "")


def test_patch_of_a_corporate_nested_field_keeps_the_rest(api, units, corporate_data):
    company = seed(
        units,
        {
            **corporate_data(),
            "contact_name": "王经办",
            "contact_id_type": "resident_id",
            "contact_id_number": "32010219920214105X",
        },
        kind="corporate",
    )
    legal_id = company.legal_rep_id_number
    r = api.patch(
        f"/customers/{company.pk}",
        {"legal_representative": {"name": "李刚"}, "contact_person": {"mobile": "13912345678"}},
    )
    assert r.status_code == 200, r.json()
    rec = r.json()
    assert rec["legal_representative"]["name"] == "李刚"
    assert rec["legal_representative"]["id_number"] == legal_id
    assert rec["contact_person"] == {
        "name": "王经办",
        "id_type": "resident_id",
        "id_number": "32010219920214105X",
        "mobile": "13912345678",
    }


def test_patch_of_a_corporate_replaces_beneficial_owners(api, units, corporate_data):
    company = seed(
        units,
        {**corporate_data(), "beneficial_owners": [{"name": "甲", "ownership_kind": "control"}]},
        kind="corporate",
    )
    r = api.patch(
        f"/customers/{company.pk}",
        {"beneficial_owners": [{"name": "乙", "ownership_kind": "equity", "percentage": 40}]},
    )
    assert r.status_code == 200, r.json()
    assert [bo["name"] for bo in r.json()["beneficial_owners"]] == ["乙"]


def test_aml_data_is_changed_only_by_compliance(api, make_user, units):
    c = seed(units, {"name": "张伟", "id_number": GOOD_ID})
    r = api.patch(f"/customers/{c.pk}", {"aml_risk": "high"})
    assert r.status_code == 403 and error_codes(r) == {("", "forbidden")}
    r = as_user(make_user("compliance")).patch(f"/customers/{c.pk}", {"aml_risk": "high", "pep": True})
    assert r.status_code == 200, r.json()
    assert (r.json()["aml_risk"], r.json()["pep"]) == ("high", True)


def test_an_agent_creating_a_customer_owns_it(make_user):
    agent = make_user("agent")
    r = as_user(agent).post(
        "/customers",
        individual(id_number=make_resident_id(datetime.date(1985, 1, 2), "M"), birth_date=None, gender=None),
    )
    assert r.status_code == 201, r.json()
    assert r.json()["agent"] == {"id": agent.pk, "username": agent.username, "name": agent.username}
    assert r.json()["id_number"].count("*") == 8  # an agent sees its own customers masked too


def test_text_no_database_can_store_is_422(api):
    r = api.post("/customers", individual(name="张\x00伟"))
    assert r.status_code == 422 and error_codes(r) == {("name", "format")}
    r = api.post(
        "/customers", raw='{"kind": "individual", "name": "\\ud800", "id_number": "110105199003071239"}'
    )
    assert r.status_code == 422 and error_codes(r) == {("name", "format")}
    r = api.get("/customers", {"q": "张\x00"})
    assert r.status_code == 422 and error_codes(r) == {("q", "format")}
