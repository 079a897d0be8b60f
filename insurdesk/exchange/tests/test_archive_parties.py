# ruff: noqa: E501 - tables of Chinese test data read best one row per line
"""The archive table's policyholder and insured columns, and the method of past payments."""

from __future__ import annotations

import datetime

import pytest

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.customers.models import Customer
from insurdesk.exchange.tests.conftest import ARCHIVE_HEADERS, person_id, write_csv
from insurdesk.exchange.tests.test_archive_parts import counts
from insurdesk.exchange.tests.test_import import customer, read_report, run_import
from insurdesk.policies.legacy import LEGACY_PAYMENT_NOTE
from insurdesk.policies.models import Payment, PaymentMethod, Policy

pytestmark = pytest.mark.django_db

PARTY_HEADERS = ["投保人姓名", "投保人证件号码", "被保险人姓名", "被保险人证件号码", "被保险人是投保人的"]
HEADERS = ARCHIVE_HEADERS[:13] + PARTY_HEADERS
FATHER, CHILD, MOTHER, SON, WIFE = (
    person_id(51), person_id(52, year=2010), person_id(53, "F"), person_id(54, year=2012), person_id(55, "F"),
)  # fmt: skip


def row(name, number, policy_no, *parties, product="人寿险"):
    """A row of the archive table: customer, policy, a paid premium, then the party columns."""
    cells = [
        name,
        number,
        "13800000051",
        "北京市",
        policy_no,
        product,
        "10万",
        "2023-01-01",
        "2024-01-01",
        "年缴",
        "100",
        "2023-01-01",
        "已缴费",
    ]
    return cells + list(parties) + [""] * (len(PARTY_HEADERS) - len(parties))


@pytest.fixture
def father(root_unit, tmp_path):
    """The father archived by an earlier import of his own policy."""
    assert run_import(write_csv(tmp_path / "father.csv", HEADERS, [row("李父", FATHER, "P5100")]))[0] == 0
    return customer(FATHER)


def family_rows():
    return [
        # The child is the row's customer and the insured; the father, archived, pays.
        row("李子", CHILD, "P5201", "李父", FATHER, "", "", "子女"),
        # A son whose mother has no archive yet: one is made from her name and number.
        row("李小", SON, "P5401", "王母", MOTHER, "", "", "子女"),
        # The father insures his wife, who has no archive either.
        row("李父", FATHER, "P5501", "", "", "王妻", WIFE, "配偶"),
    ]


def test_a_row_names_its_policyholder_and_insured_and_archives_the_missing_ones(father, tmp_path):
    audits = AuditEntry.objects.filter(action="customer.create").count()

    code, out, err = run_import(
        write_csv(tmp_path / "f.csv", HEADERS, family_rows()), "--report", tmp_path / "r.csv"
    )

    assert code == 0, err
    child, son, mother, wife = customer(CHILD), customer(SON), customer(MOTHER), customer(WIFE)
    p = Policy.objects.get(policy_no="P5201")
    assert (p.policyholder, p.insured, p.relationship) == (father, child, "child")
    p = Policy.objects.get(policy_no="P5401")
    assert (p.policyholder, p.insured, p.relationship) == (mother, son, "child")
    p = Policy.objects.get(policy_no="P5501")
    assert (p.policyholder, p.insured, p.relationship) == (father, wife, "spouse")
    assert p.unit == father.unit
    # The archives made for the mother and the wife went the way of every archive: encrypted number,
    # birth date and gender from it, history, an audit entry each.
    assert (mother.name, mother.id_number, mother.gender, mother.birth_date) == (
        "王母",
        MOTHER,
        "F",
        datetime.date(1980, 1, 1),
    )
    assert wife.name == "王妻" and mother.history.count() == wife.history.count() == 1
    assert (
        AuditEntry.objects.filter(action="customer.create").count() == audits + 4
    )  # child, son, mother, wife
    assert "投保人/被保险人档案 新建 2" in out and "保单 新建 3" in out
    assert not [r for r in read_report(tmp_path / "r.csv") if r["级别"] == "拒绝"]
    assert audit_verify().ok


def test_importing_the_parties_again_changes_nothing(father, tmp_path):
    path = write_csv(tmp_path / "f.csv", HEADERS, family_rows())
    assert run_import(path)[0] == 0
    before = counts() | {
        "policies_seen": list(
            Policy.objects.order_by("pk").values_list(
                "pk", "policyholder_id", "insured_id", "relationship", "updated_at"
            )
        )
    }

    code, out, _ = run_import(path)

    after = counts() | {
        "policies_seen": list(
            Policy.objects.order_by("pk").values_list(
                "pk", "policyholder_id", "insured_id", "relationship", "updated_at"
            )
        )
    }
    assert code == 0 and after == before
    assert "保单 新建 0，更新 0，未变化 3" in out and "投保人/被保险人档案" not in out


def test_a_table_without_the_party_columns_leaves_the_parties_as_they_are(father, tmp_path):
    assert run_import(write_csv(tmp_path / "f.csv", HEADERS, family_rows()))[0] == 0
    plain = [r[:13] for r in family_rows()]

    code, out, _ = run_import(write_csv(tmp_path / "plain.csv", ARCHIVE_HEADERS[:13], plain))

    assert code == 0 and "保单 新建 0，更新 0，未变化 3" in out
    assert Policy.objects.get(policy_no="P5201").policyholder == father


def test_another_policyholder_on_a_second_import_is_a_change_with_its_audit_entry(father, tmp_path):
    rows = family_rows()
    assert run_import(write_csv(tmp_path / "f.csv", HEADERS, rows))[0] == 0
    rows[0][13:15] = ["王母", MOTHER]  # the mother, not the father, pays for the child

    code, out, _ = run_import(write_csv(tmp_path / "g.csv", HEADERS, rows))

    assert code == 0 and "保单 新建 0，更新 1，未变化 2" in out
    policy = Policy.objects.get(policy_no="P5201")
    assert policy.policyholder == customer(MOTHER) and policy.relationship == "child"
    change = AuditEntry.objects.get(action="policy.import_update")
    assert change.detail["changes"]["policyholder_id"] == {"before": father.pk, "after": customer(MOTHER).pk}
    assert audit_verify().ok


@pytest.mark.parametrize(
    "parties, column, code",
    [
        (
            ["李父", FATHER[:-1] + ("0" if FATHER[-1] != "0" else "1")],
            "投保人证件号码",
            "checksum",
        ),  # a wrong check digit
        (["李父", "12345"], "投保人证件号码", "format"),
        (["", "", "王妻", "110105"], "被保险人证件号码", "format"),
        (["张冒名", FATHER], "投保人姓名", "mismatch"),  # the archive of that number is 李父
        (["别人"], "投保人姓名", "required"),  # a name alone tells nobody
        (["", MOTHER], "投保人证件号码", "not_found"),  # no archive and no name to make one
        (["王母", MOTHER, "王妻", WIFE], "投保人证件号码", "other_customer"),  # the row's customer is neither
        (["", "", "", "", "配偶"], "被保险人是投保人的", "relationship"),  # one person is 本人
    ],
)
def test_a_bad_party_refuses_the_whole_row_naming_its_column(father, tmp_path, parties, column, code):
    customers = Customer.objects.count()
    rows = [row("李子", CHILD, "P5201", *parties), row("李小", SON, "P5401")]

    status, _, _ = run_import(write_csv(tmp_path / "bad.csv", HEADERS, rows), "--report", tmp_path / "r.csv")

    assert status == 1
    problems = [r for r in read_report(tmp_path / "r.csv") if r["级别"] == "拒绝"]
    assert [(p["行号"], p["列"], p["规则"]) for p in problems] == [("2", column, code)], problems
    # All or nothing: neither the child, nor the policy, nor an archive of the person named went in.
    assert Customer.objects.count() == customers + 1 and not Customer.objects.filter(name="李子").exists()
    assert not Policy.objects.filter(policy_no="P5201").exists()
    assert Policy.objects.filter(policy_no="P5401").exists()


def test_a_number_is_masked_in_the_report(father, tmp_path):
    bad = FATHER[:-1] + ("0" if FATHER[-1] != "0" else "1")
    run_import(
        write_csv(tmp_path / "bad.csv", HEADERS, [row("李子", CHILD, "P5201", "李父", bad)]),
        "--report",
        tmp_path / "r.csv",
    )
    (problem,) = read_report(tmp_path / "r.csv")
    assert bad not in problem["值（已脱敏）"] and problem["值（已脱敏）"].startswith(bad[:4])


def test_the_customers_own_name_or_number_means_the_customer(root_unit, tmp_path):
    rows = [
        row("赵一", person_id(61), "P6101", "赵一"),  # the name of the row's customer, without a number
        row("赵二", person_id(62), "P6201", "赵二", person_id(62), "", "", "本人"),
    ]
    code, _, err = run_import(write_csv(tmp_path / "own.csv", HEADERS, rows))
    assert code == 0, err
    for number, policy_no in ((person_id(61), "P6101"), (person_id(62), "P6201")):
        policy = Policy.objects.get(policy_no=policy_no)
        assert policy.policyholder == policy.insured == customer(number) and policy.relationship == "self"


def test_the_policyholders_relationship_column_reads_the_other_way_round(father, tmp_path):
    headers = ARCHIVE_HEADERS[:13] + ["投保人姓名", "投保人身份证号", "与被保险人关系"]
    rows = [row("李子", CHILD, "P5201", "李父", FATHER, "父母")]

    code, _, err = run_import(write_csv(tmp_path / "rel.csv", headers, rows))

    assert code == 0, err
    policy = Policy.objects.get(policy_no="P5201")
    assert (policy.policyholder, policy.insured, policy.relationship) == (father, customer(CHILD), "child")


def test_a_person_named_by_two_rows_of_a_batch_is_archived_once(root_unit, tmp_path):
    rows = [
        row("李子", CHILD, "P5201", "王母", MOTHER, "", "", "子女"),
        row("李小", SON, "P5401", "", MOTHER),  # the same mother, her name given by the row above
        row("王母", MOTHER, "P5301"),  # and her own row, later in the same batch
    ]
    code, out, err = run_import(write_csv(tmp_path / "m.csv", HEADERS, rows))
    assert code == 0, err
    mother = customer(MOTHER)
    assert Customer.objects.filter(name="王母").count() == 1
    assert set(mother.policies_as_policyholder.values_list("policy_no", flat=True)) == {
        "P5201",
        "P5401",
        "P5301",
    }


def test_a_table_of_insured_persons_still_imports_them_as_its_customers(root_unit, tmp_path):
    headers = ["被保险人姓名", "被保险人身份证号"] + ARCHIVE_HEADERS[2:13]
    code, _, err = run_import(write_csv(tmp_path / "i.csv", headers, [row("钱七", person_id(71), "P7101")]))
    assert code == 0, err
    policy = Policy.objects.get(policy_no="P7101")
    assert policy.policyholder == policy.insured == customer(person_id(71))
    assert customer(person_id(71)).name == "钱七"


def test_the_archive_template_offers_the_party_and_payment_method_columns(tmp_path):
    import python_calamine

    from insurdesk.exchange.blanks import write_template
    from insurdesk.exchange.headers import ARCHIVE, map_headers

    path = str(tmp_path / "t.xlsx")
    write_template(ARCHIVE, path)
    book = python_calamine.CalamineWorkbook.from_path(path)
    header = book.get_sheet_by_name("填写").to_python()[0]
    for label in (
        "投保人姓名",
        "投保人证件号码",
        "被保险人姓名",
        "被保险人证件号码",
        "投保人证件类型",
        "被保险人证件类型",
        "被保险人是投保人的",
        "缴费途径",
    ):
        assert label in header
    assert header.index("客户姓名*") < header.index("投保人姓名") and "与被保险人关系" not in header
    rules = {r[0]: r for r in book.get_sheet_by_name("填写说明").to_python()}
    assert "投保人证件号码" in rules and "新建档案" in rules["投保人证件号码"][2]
    assert "不填为居民身份证" in rules["被保险人证件类型"][2]
    assert "被保险人身份证号" in rules["被保险人证件号码"][4]  # the alias, also written as
    assert "被保险人姓名" not in rules["客户姓名"][4]
    assert map_headers(header).unknown == []


def test_past_payments_are_of_unknown_method_unless_the_table_says(root_unit, tmp_path):
    headers = ARCHIVE_HEADERS[:13] + ["缴费途径"]
    rows = [row("孙一", person_id(81), "P8101")[:13] + [""], row("孙二", person_id(82), "P8201")[:13] + ["现金"],
            row("孙三", person_id(83), "P8301")[:13] + ["银行代扣"]]  # fmt: skip

    code, _, err = run_import(write_csv(tmp_path / "pay.csv", headers, rows))

    assert code == 0, err
    methods = dict(Payment.objects.values_list("policy__policy_no", "method"))
    assert methods == {"P8101": PaymentMethod.UNKNOWN, "P8201": "cash", "P8301": "withholding"}
    assert Payment.objects.get(policy__policy_no="P8101").get_method_display() == "未载明"
    assert Payment.objects.get(policy__policy_no="P8101").note == LEGACY_PAYMENT_NOTE
    assert Payment.objects.get(policy__policy_no="P8201").note == "存量数据导入"


def test_an_unknown_payment_method_refuses_the_row(root_unit, tmp_path):
    headers = ARCHIVE_HEADERS[:13] + ["支付方式"]
    rows = [row("孙四", person_id(84), "P8401")[:13] + ["以物易物"]]
    code, _, _ = run_import(write_csv(tmp_path / "pay.csv", headers, rows), "--report", tmp_path / "r.csv")
    assert code == 1 and not Policy.objects.exists()
    assert [(r["列"], r["规则"]) for r in read_report(tmp_path / "r.csv")] == [("支付方式", "choice")]


def test_a_dry_run_counts_a_person_named_in_several_batches_once_as_the_import_does(root_unit, tmp_path):
    from insurdesk.exchange.pipeline import import_file

    rows = [
        row("王母", MOTHER, "P5301"),  # archived as a row's customer …
        row("李子", CHILD, "P5201", "王母", MOTHER, "", "", "子女"),  # … then named by a later batch
        row("李小", SON, "P5401", "李父", FATHER, "", "", "子女"),  # archived as a policyholder …
        row("李大", person_id(56), "P5601", "李父", FATHER, "", "", "子女"),  # … and named again
    ]
    path = write_csv(tmp_path / "batches.csv", HEADERS, rows)

    dry = import_file(actor=None, path=path, dry_run=True, batch_size=1)
    assert Customer.objects.count() == 0
    real = import_file(actor=None, path=path, batch_size=1)

    assert real.parts.get("party.created") == 1 and Customer.objects.count() == 5
    assert dry.parts.get("party.created") == real.parts.get("party.created")
    assert (dry.created, dry.refused) == (real.created, real.refused)


def test_a_party_of_another_document_type_is_found_or_archived_under_that_type(father, tmp_path):
    headers = HEADERS + ["投保人证件类型", "被保险人证件类型"]
    passport_holder = customer_create_passport("史密斯", "E12345678")
    rows = [
        # The father insures a foreign friend by her passport: no archive yet, one is made as a passport.
        row("李父", FATHER, "P5601", "", "", "玛丽", "g98765432", "其他") + ["", "护照"],
        # A policy paid by an archived passport holder: found by his passport, not read as a resident ID.
        row("李父", FATHER, "P5602", "史密斯", "E12345678", "", "", "其他") + ["护照", ""],
    ]
    code, out, err = run_import(write_csv(tmp_path / "d.csv", headers, rows), "--report", tmp_path / "r.csv")

    assert code == 0, err
    mary = Customer.objects.get(name="玛丽")
    assert (mary.id_type, mary.id_number, mary.birth_date) == ("passport", "G98765432", None)
    assert Policy.objects.get(policy_no="P5601").insured == mary
    assert Policy.objects.get(policy_no="P5602").policyholder == passport_holder
    assert "投保人/被保险人档案 新建 1" in out
    assert audit_verify().ok


def test_a_party_number_that_breaks_its_types_rule_refuses_the_row(father, tmp_path):
    headers = HEADERS + ["被保险人证件类型"]
    rows = [row("李父", FATHER, "P5701", "", "", "陈某", "X1", "其他") + ["港澳居民来往内地通行证"]]
    code, _, err = run_import(write_csv(tmp_path / "b.csv", headers, rows), "--report", tmp_path / "r.csv")

    assert code == 1
    (refusal,) = [r for r in read_report(tmp_path / "r.csv") if r["级别"] == "拒绝"]
    assert refusal["列"] == "被保险人证件号码" and "港澳居民来往内地通行证" in refusal["说明"]
    assert not Policy.objects.filter(policy_no="P5701").exists()


def test_a_table_of_insured_persons_takes_their_document_type_as_its_customers(root_unit, tmp_path):
    headers = ["被保险人姓名", "被保险人证件类型", "被保险人证件号码"] + ARCHIVE_HEADERS[2:13]
    cells = row("钱八", "", "P7201")
    code, _, err = run_import(write_csv(tmp_path / "i.csv", headers, [[cells[0], "护照", "E7654321"] + cells[2:]]))
    assert code == 0, err
    assert Customer.objects.get(name="钱八").id_type == "passport"


def customer_create_passport(name: str, number: str) -> Customer:
    from insurdesk.customers.services import customer_create

    created, _ = customer_create(
        actor=None, kind="individual", data={"name": name, "id_type": "passport", "id_number": number,
                                             "gender": "M", "birth_date": datetime.date(1970, 1, 1)},
    )
    return created
