# ruff: noqa: E501 - tables of Chinese test data read best one row per line
"""`insurdesk import PATH [--dry-run] [--report REPORT]` on real files: what goes in, what is refused, why."""

from __future__ import annotations

import csv
import datetime
import io
import shutil
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.customers.keys import identity_hash
from insurdesk.customers.models import Customer
from insurdesk.exchange.models import ImportIssue, ImportRun
from insurdesk.exchange.tests.conftest import ARCHIVE_HEADERS, FILES, person_id, write_csv, write_openpyxl
from insurdesk.identity.resident_id import upgrade_15
from insurdesk.identity.testing import make_mobile, make_resident_id

pytestmark = pytest.mark.django_db


def run_import(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import", *[str(a) for a in args], stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


def customer(number: str, id_type: str = "resident_id") -> Customer:
    return Customer.objects.get(id_hash=identity_hash(id_type, number))


def read_report(path) -> list[dict]:
    if str(path).endswith(".csv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    import python_calamine

    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("问题清单").to_python()
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


ZHANG, LI = "110105198001011238", "310104198506152467"
WANG_18 = upgrade_15("440305750203331")


@pytest.mark.parametrize(
    "name", ["archive_gb18030.csv", "archive_utf8.csv", "archive_openpyxl.xlsx", "archive_libreoffice.xlsx"]
)
def test_the_archive_table_imports_its_customers_and_merges_repeated_ones(root_unit, name, tmp_path):
    code, out, err = run_import(FILES / name, "--report", tmp_path / "r.csv")

    assert code == 0, err
    assert Customer.objects.count() == 4
    zhang = customer(ZHANG)
    assert (zhang.name, zhang.mobile, zhang.residence_address) == ("张三", "13800000000", "北京市朝阳区")
    assert zhang.birth_date == datetime.date(1980, 1, 1) and zhang.gender == "M"
    li = customer(LI)  # typed in full-width digits, "李 四" with a stray space
    assert (li.name, li.mobile, li.residence_address) == ("李四", "13912345678", "上海市黄浦区中山东一路1号")
    wang = customer(WANG_18)  # a 15-digit legacy number, upgraded
    assert wang.landline == "021-62345678" and wang.mobile is None
    zhao = Customer.objects.get(name="赵六")
    assert zhao.id_number.endswith("X") and zhao.email == "zhao@example.com" and zhao.mobile == "13912345678"
    run = ImportRun.objects.get()
    assert (run.created, run.merged, run.refused, run.processed) == (4, 1, 0, 5)
    assert "新建 4" in out and "合并 1" in out
    # Each archive has its history row and audit entry, and the chain still verifies.
    assert all(c.history.count() == 1 for c in Customer.objects.all())
    assert AuditEntry.objects.filter(action="customer.create").count() == 4
    assert AuditEntry.objects.filter(action="exchange.import", target_id=str(run.pk)).count() == 1
    assert audit_verify().ok
    report = read_report(tmp_path / "r.csv")
    assert all(r["级别"] == "提示" for r in report)


def test_progress_shows_rows_per_second_on_stderr(root_unit):
    code, _, err = run_import(FILES / "archive_utf8.csv")
    assert code == 0 and "rows/s" in err and "5/5 rows" in err


def test_importing_the_same_file_twice_changes_nothing_the_second_time(root_unit):
    assert run_import(FILES / "archive_gb18030.csv")[0] == 0
    before = (
        Customer.objects.count(),
        Customer.history.count(),
        AuditEntry.objects.exclude(action="exchange.import").count(),
        list(Customer.objects.order_by("pk").values_list("pk", "version", "archive_no")),
    )

    code, out, _ = run_import(FILES / "archive_gb18030.csv")

    assert code == 0
    after = (
        Customer.objects.count(),
        Customer.history.count(),
        AuditEntry.objects.exclude(action="exchange.import").count(),
        list(Customer.objects.order_by("pk").values_list("pk", "version", "archive_no")),
    )
    assert after == before
    assert "新建 0，更新 0，未变化 4，合并 1，拒绝 0" in out


def test_the_same_customers_from_another_format_are_already_present(root_unit):
    assert run_import(FILES / "archive_gb18030.csv")[0] == 0
    code, out, _ = run_import(FILES / "archive_openpyxl.xlsx")
    assert code == 0 and "新建 0，更新 0，未变化 4" in out


def test_changed_values_update_the_archive_and_its_history(root_unit, tmp_path):
    assert run_import(FILES / "archive_utf8.csv")[0] == 0
    zhang = customer(ZHANG)
    with open(FILES / "archive_utf8.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for row in rows[1:3]:
        if row[1] == ZHANG:
            row[2], row[3] = "13811112222", "北京市东城区王府井大街1号"
    changed = tmp_path / "changed.csv"
    write_csv(changed, rows[0], rows[1:], "gb18030")

    code, out, _ = run_import(changed)

    assert code == 0 and "更新 1" in out
    zhang.refresh_from_db()
    assert (zhang.mobile, zhang.residence_address) == ("13811112222", "北京市东城区王府井大街1号")
    assert zhang.version == 2 and zhang.history.count() == 2
    change = AuditEntry.objects.get(action="customer.change")
    # The audit entry names the sensitive fields but never records their values.
    assert change.detail["fields"]["mobile"] == {"changed": True} and "13811112222" not in str(change.detail)
    # Blank cells never clear what is stored.
    rows[1][3] = rows[2][3] = ""
    write_csv(changed, rows[0], rows[1:], "utf-8")
    assert "未变化 4" in run_import(changed)[1]
    zhang.refresh_from_db()
    assert zhang.residence_address == "北京市东城区王府井大街1号"


EXPECTED_DAMAGE = {
    3: ("身份证号码", "id_damaged"), 4: ("身份证号码", "id_damaged"), 5: ("身份证号码", "id_damaged"),
    6: ("身份证号码", "masked"), 7: ("身份证号码", "checksum"), 8: ("身份证号码", "birth_date"),
    9: ("手机", "format"), 10: ("出生日期", "date"), 11: ("出生日期", "date"), 12: ("年收入", "amount"),
    13: ("年收入", "negative"), 14: ("性别", "choice"), 15: ("性别", "mismatch"), 16: ("出生日期", "mismatch"),
    17: ("电子邮箱", "format"), 18: ("所属机构代码", "not_found"), 19: ("客户姓名", "required"),
}  # fmt: skip


@pytest.mark.parametrize("report_name", ["report.csv", "report.xlsx"])
def test_every_kind_of_damaged_value_is_refused_with_row_column_masked_value_rule_and_message(
    root_unit, tmp_path, report_name
):
    code, out, err = run_import(FILES / "damaged_utf8.csv", "--report", tmp_path / report_name)

    assert code == 1
    assert Customer.objects.count() == 2  # the good row, and the one whose name is a formula
    formula = Customer.objects.exclude(name="好人").get()
    assert formula.name.startswith("=HYPERLINK")  # stored as typed; exports neutralise it
    report = read_report(tmp_path / report_name)
    refused = {(int(r["行号"]), r["列"], r["规则"]) for r in report if r["级别"] == "拒绝"}
    for row, (column, rule) in EXPECTED_DAMAGE.items():
        assert (row, column, rule) in refused, (row, column, rule, sorted(refused))
    assert {int(r["行号"]) for r in report if r["级别"] == "拒绝"} == set(EXPECTED_DAMAGE)
    unknown = [r for r in report if r["规则"] == "unknown_column"]
    assert unknown and unknown[0]["列"] == "星座" and unknown[0]["行号"] in ("1", 1)
    for r in report:
        assert r["说明"] and any("\u4e00" <= ch <= "\u9fff" for ch in r["说明"])  # a message in Chinese
    values = {int(r["行号"]): r["值（已脱敏）"] for r in report if r["级别"] == "拒绝"}
    assert values[3] == "1.*******17" and values[4] == "110105********1000"
    assert values[9] == "135" or "*" in values[9] or values[9] == "1350000"
    raw = (tmp_path / report_name).read_bytes() if report_name.endswith(".csv") else b""
    assert b"198002301234" not in raw  # identity numbers never appear unmasked
    run = ImportRun.objects.get()
    assert run.refused == len(EXPECTED_DAMAGE) and run.created == 2


@pytest.mark.parametrize("name", ["numeric_ids_openpyxl.xlsx", "archive_numbers_libreoffice.xlsx"])
def test_identity_numbers_stored_as_numbers_in_xlsx_are_refused_as_damaged(root_unit, tmp_path, name):
    code, _, _ = run_import(FILES / name, "--report", tmp_path / "r.csv")

    assert code == 1
    damaged = [r for r in read_report(tmp_path / "r.csv") if r["规则"] == "id_damaged"]
    assert damaged and all(r["列"] in ("身份证号", "身份证号码") for r in damaged)
    assert not Customer.objects.filter(name__in=["数字身份证", "张三"]).exists()


def test_dry_run_imports_nothing_and_reports_everything(root_unit, tmp_path):
    audit_before = AuditEntry.objects.count()

    code, out, _ = run_import(FILES / "damaged_utf8.csv", "--dry-run", "--report", tmp_path / "r.xlsx")

    assert code == 1 and "--dry-run" in out
    assert Customer.objects.count() == 0 and Customer.history.count() == 0
    assert AuditEntry.objects.count() == audit_before
    refused = {int(r["行号"]) for r in read_report(tmp_path / "r.xlsx") if r["级别"] == "拒绝"}
    assert refused == set(EXPECTED_DAMAGE)
    # The same file for real gives the same refusals.
    run_import(FILES / "damaged_utf8.csv", "--report", tmp_path / "real.xlsx")
    assert refused == {int(r["行号"]) for r in read_report(tmp_path / "real.xlsx") if r["级别"] == "拒绝"}


def test_dry_run_of_the_archive_table_counts_what_would_happen(root_unit):
    code, out, _ = run_import(FILES / "archive_utf8.csv", "--dry-run", "--batch-size", "1")
    assert code == 0 and "新建 4" in out and "合并 1" in out
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"PK\x03\x04broken", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1xls", "星座,血型\n白羊,A\n".encode()],
)
def test_an_unreadable_file_exits_with_2(root_unit, tmp_path, content):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    code, _, err = run_import(path)
    assert code == 2 and "无法读取" in err
    assert ImportRun.objects.get().status == "failed"


def test_missing_file_and_a_report_of_another_kind_exit_with_2(root_unit, tmp_path):
    assert run_import(tmp_path / "nope.csv")[0] == 2
    assert run_import(FILES / "archive_utf8.csv", "--report", tmp_path / "r.pdf")[0] == 2
    assert not Customer.objects.exists()


def test_a_file_without_an_identity_column_is_unreadable(root_unit, tmp_path):
    path = write_csv(tmp_path / "x.csv", ["姓名", "手机"], [["张三", "13800000000"]])
    code, _, err = run_import(path)
    assert code == 2 and "证件号码" in err


def test_rows_of_one_customer_merge_and_a_contradiction_is_refused(root_unit, tmp_path):
    number = person_id(1)
    rows = [
        ["张三", number, "13800000001", ""],
        ["张三", number, "", "zhang@example.com"],  # adds an e-mail: merged
        ["张三", number, "13900000009", ""],  # another mobile: which one is right? refused
    ]
    path = write_csv(tmp_path / "m.csv", ["姓名", "证件号码", "手机", "电子邮箱"], rows)

    code, _, _ = run_import(path, "--report", tmp_path / "r.csv", "--batch-size", "2")

    assert code == 1
    c = customer(number)
    assert (c.mobile, c.email) == ("13800000001", "zhang@example.com")
    report = [r for r in read_report(tmp_path / "r.csv") if r["级别"] == "拒绝"]
    assert [(r["行号"], r["列"], r["规则"]) for r in report] == [("4", "手机", "conflict")]
    assert "第 2 行" in report[0]["说明"]
    # A second run decides the same way and changes nothing.
    versions = c.version, c.history.count()
    assert run_import(path, "--batch-size", "2")[0] == 1
    c.refresh_from_db()
    assert (c.version, c.history.count(), c.mobile) == (*versions, "13800000001")


def test_corporate_customers_with_capital_in_wan(root_unit):
    code, out, err = run_import(FILES / "corporates_gb18030.csv")

    assert code == 0, err
    first, second = Customer.objects.order_by("pk")
    assert (
        first.kind == "corporate"
        and first.legal_rep_name == "李强"
        and first.registered_capital == Decimal("500")
    )
    assert first.contact_mobile == "13600001111" and first.is_general_taxpayer and first.nature == "private"
    assert second.registered_capital == Decimal("1000") and second.nature == "state"


def test_an_individual_list_with_other_headers_in_another_order(root_unit):
    code, _, err = run_import(FILES / "individuals_utf8_bom.csv")
    assert code == 0, err
    chen = Customer.objects.get(name="陈一")
    assert chen.annual_income == Decimal("120000.00") and chen.marital_status == "married"
    assert chen.education == "bachelor" and chen.occupation == "教师"
    assert Customer.objects.get(name="林二").birth_date == datetime.date(1992, 11, 5)
    assert Customer.objects.get(name="周三").mobile == "13700003333"


def test_a_user_imports_into_its_unit_and_cannot_touch_archives_outside_its_scope(make_user, units, tmp_path):
    clerk = make_user("clerk", "SZ")
    outsider = make_user("clerk", "GZ")
    number = person_id(7)
    path = write_csv(tmp_path / "a.csv", ["姓名", "证件号码", "手机"], [["张三", number, "13800000001"]])
    assert run_import(path, "--user", clerk.username)[0] == 0
    c = customer(number)
    assert c.unit_id == clerk.unit_id and c.created_by == clerk

    write_csv(path, ["姓名", "证件号码", "手机"], [["张三", number, "13800000002"]])
    code, _, _ = run_import(path, "--user", outsider.username, "--report", tmp_path / "r.csv")

    assert code == 1
    (refusal,) = [r for r in read_report(tmp_path / "r.csv") if r["级别"] == "拒绝"]
    assert refusal["规则"] == "duplicate_out_of_scope" and c.archive_no not in refusal["说明"]
    c.refresh_from_db()
    assert c.mobile == "13800000001"


def test_a_role_without_the_import_action_is_refused(make_user):
    agent = make_user("agent")
    code, _, err = run_import(FILES / "archive_utf8.csv", "--user", agent.username)
    assert code != 0 and not Customer.objects.exists()


def test_archive_number_column_must_match_the_archive(root_unit, tmp_path):
    number = person_id(9)
    path = write_csv(tmp_path / "a.csv", ["客户号", "姓名", "证件号码"], [["", "张三", number]])
    assert run_import(path)[0] == 0
    c = customer(number)
    write_csv(
        path,
        ["客户号", "姓名", "证件号码"],
        [[c.archive_no, "张三", number], ["KH0000099999", "张三", number]],
    )
    code, _, _ = run_import(path, "--report", tmp_path / "r.csv")
    assert code == 1
    assert [r["规则"] for r in read_report(tmp_path / "r.csv") if r["级别"] == "拒绝"] == [
        "archive_no_mismatch"
    ]


# --- generated rows -----------------------------------------------------------------------------

names = st.text(alphabet="张王李赵刘陈杨黄周吴伟芳娜敏静丽强磊洋艳勇军杰", min_size=2, max_size=4)
people = st.tuples(
    names,
    st.dates(datetime.date(1930, 1, 1), datetime.date(2005, 12, 31)),
    st.sampled_from("MF"),
    st.integers(0, 10**6),
)
date_forms = st.sampled_from(
    ["{:%Y-%m-%d}", "{d.year}/{d.month}/{d.day}", "{d.year}年{d.month}月{d.day}日", "{:%Y%m%d}"]
)
phone_forms = st.sampled_from(["{m}", "+86 {m}", "{a}-{b}-{c}", "{a} {b} {c}"])


def _render(form: str, day: datetime.date) -> str:
    return form.format(day, d=day)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(people, min_size=1, max_size=12, unique_by=lambda p: (p[1], p[2])), date_form=date_forms,
       phone_form=phone_forms, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
       xlsx=st.booleans())  # fmt: skip
def test_generated_rows_in_any_typed_form_import_exactly_and_reimport_unchanged(
    root_unit, tmp_path_factory, rows, date_form, phone_form, encoding, xlsx
):
    import random

    rng = random.Random(len(rows))
    tmp = tmp_path_factory.mktemp("gen")
    table, expected = [], {}
    for i, (name, birth, gender, seed) in enumerate(rows):
        number = make_resident_id(birth, gender, seq=(i * 2 + 101 + (gender == "F")) % 1000)
        if number.endswith("000"):
            continue
        mobile = make_mobile(random.Random(seed))
        typed_phone = phone_form.format(m=mobile, a=mobile[:3], b=mobile[3:7], c=mobile[7:])
        table.append([name, number, typed_phone, _render(date_form, birth), "男" if gender == "M" else "女"])
        expected[number] = (name, mobile, birth, gender)
    header = ["客户姓名", "身份证号码", "手机", "出生日期", "性别"]
    path = (
        write_openpyxl(tmp / "g.xlsx", header, table, text_columns=(1, 2))
        if xlsx
        else write_csv(tmp / "g.csv", header, table, encoding)
    )
    sid = transaction.savepoint()
    try:
        code, out, err = run_import(path)
        assert code == 0, err
        for number, (name, mobile, birth, gender) in expected.items():
            c = customer(number)
            assert (c.name, c.mobile, c.birth_date, c.gender) == (name, mobile, birth, gender)
        assert Customer.objects.count() == len(expected)
        code, out, _ = run_import(path)
        assert code == 0 and f"未变化 {len(expected)}" in out
        del rng
    finally:
        transaction.savepoint_rollback(sid)


def test_a_copy_of_the_file_under_another_name_is_the_same_file(root_unit, tmp_path):
    copy = tmp_path / "副本.csv"
    shutil.copy(FILES / "archive_gb18030.csv", copy)
    assert run_import(FILES / "archive_gb18030.csv")[0] == 0
    assert "未变化 4" in run_import(copy)[1]
    assert ImportRun.objects.filter(file_hash=ImportRun.objects.first().file_hash).count() == 2
    assert ImportIssue.objects.exists()


def test_policy_columns_are_checked_against_the_catalogue_and_an_unknown_product_refuses_its_row(
    root_unit, catalogue, tmp_path
):
    product = next(p for p in catalogue.values() if not p.is_rider and not p.is_group)
    mode = product.payment_modes[0] if product.payment_modes else "annual"
    modes = {
        "single": "趸缴",
        "annual": "年缴",
        "semiannual": "半年缴",
        "quarterly": "季缴",
        "monthly": "月缴",
    }
    rows = [
        [
            "张三",
            person_id(11),
            "13800000011",
            "北京市",
            "P001",
            product.name,
            "100万",
            "2023-01-01",
            "2043-01-01",
            modes[mode],
            "1000",
            "2023-01-01",
            "已缴费",
        ],
        [
            "李四",
            person_id(12),
            "13800000012",
            "北京市",
            "P002",
            "神仙险",
            "10万",
            "2023-01-01",
            "2022-01-01",
            "年缴",
            "100",
            "2023-01-01",
            "已缴费",
        ],
    ]
    path = write_csv(tmp_path / "p.csv", ARCHIVE_HEADERS[:13], rows)

    code, _, _ = run_import(path, "--report", tmp_path / "r.csv")

    # The first row goes in whole; the second, naming a product not in the catalogue, not at all.
    assert code == 1 and Customer.objects.count() == 1
    from insurdesk.policies.models import Policy
    from insurdesk.products.models import Product

    assert list(Policy.objects.values_list("policy_no", "product_id")) == [("P001", product.pk)]
    assert not Product.objects.filter(name="神仙险").exists()
    report = read_report(tmp_path / "r.csv")
    by_row = {(r["行号"], r["规则"], r["级别"]) for r in report}
    assert {("3", "unknown_product", "拒绝"), ("3", "date_order", "拒绝")} <= by_row
    assert not any(r["行号"] == "2" for r in report)
