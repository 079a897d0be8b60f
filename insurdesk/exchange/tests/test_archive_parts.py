# ruff: noqa: E501 - tables of Chinese test data read best one row per line
"""The archive table's other parts: a row's policy, payment, claim and contact go in with its customer."""

from __future__ import annotations

import csv
import datetime
from decimal import Decimal

import pytest

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.care.models import ContactLog
from insurdesk.claims.models import Claim
from insurdesk.customers.models import Customer
from insurdesk.exchange.tests.conftest import ARCHIVE_HEADERS, FILES, person_id, write_csv
from insurdesk.exchange.tests.test_import import ZHANG, customer, read_report, run_import
from insurdesk.policies.models import Payment, Policy

pytestmark = pytest.mark.django_db


def counts() -> dict:
    return {
        "customers": Customer.objects.count(),
        "customer_history": Customer.history.count(),
        "policies": Policy.objects.count(),
        "payments": Payment.objects.count(),
        "claims": Claim.objects.count(),
        "claim_history": Claim.history.count(),
        "contacts": ContactLog.objects.count(),
        "contact_history": ContactLog.history.count(),
        "audit": AuditEntry.objects.exclude(action="exchange.import").count(),
    }


def rows_of(name: str) -> list[list[str]]:
    with open(FILES / name, encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("name", ["archive_utf8.csv", "archive_openpyxl.xlsx"])
def test_an_archive_table_imports_customers_policies_payments_claims_and_contacts(root_unit, name, tmp_path):
    code, out, err = run_import(FILES / name, "--report", tmp_path / "r.csv")

    assert code == 0, err
    assert counts() | {"audit": 0} == {
        "customers": 4, "customer_history": 4, "policies": 5, "payments": 4, "claims": 1, "claim_history": 1,
        "contacts": 2, "contact_history": 2, "audit": 0,
    }  # fmt: skip
    zhang = customer(ZHANG)
    life = Policy.objects.get(policy_no="0011223344")
    assert (life.product.name, life.policyholder, life.insured, life.application) == (
        "人寿险",
        zhang,
        zhang,
        None,
    )
    assert (life.sum_insured, life.effective_date, life.expiry_date) == (
        Decimal("1000000.00"), datetime.date(2023, 1, 1), datetime.date(2024, 1, 1),
    )  # fmt: skip
    assert (life.payment_mode, life.premium, life.coverage_term, life.state) == (
        "annual",
        Decimal("10000.00"),
        "1y",
        "matured",
    )
    assert life.unit == zhang.unit and life.relationship == "self"
    # The repeated customer's second row adds its own policy; the unpaid row adds a policy, no payment.
    assert set(zhang.policies_as_policyholder.values_list("policy_no", flat=True)) == {
        "0011223344",
        "0011223345",
    }
    assert not Payment.objects.filter(policy__policy_no="0011223348").exists()
    payment = Payment.objects.get(policy=life)
    assert (payment.amount, payment.paid_on, payment.instalment) == (
        Decimal("10000.00"),
        datetime.date(2023, 1, 1),
        None,
    )
    claim = Claim.objects.get()
    assert (claim.policy, claim.claimant, claim.reported_on, claim.amount_claimed, claim.state) == (
        life, zhang, datetime.date(2023, 6, 1), Decimal("50000.00"), "reviewing",
    )  # fmt: skip
    contact = ContactLog.objects.get(customer=zhang)
    assert (contact.channel, contact.content, contact.follow_up, contact.contacted_on) == (
        "phone", "询问理赔进度", True, datetime.date(2023, 5, 1),
    )  # fmt: skip
    # Stored encrypted; found again by its keyed hash.
    raw = ContactLog.objects.filter(pk=contact.pk).values_list("content", flat=True)
    assert "询问理赔进度".encode() not in bytes(
        ContactLog._meta.get_field("content").get_prep_value(contact.content)
    )
    assert raw.exists()
    assert "保单 新建 5，更新 0，未变化 0" in out and "理赔 新建 1" in out and "沟通记录 新建 2" in out
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"policy.import_legacy", "payment.import_legacy", "claim.create", "contact.create"} <= actions
    assert audit_verify().ok
    report = read_report(tmp_path / "r.csv")
    assert all(r["级别"] == "提示" for r in report)


def test_importing_the_archive_table_again_changes_nothing(root_unit):
    assert run_import(FILES / "archive_utf8.csv")[0] == 0
    before = counts()

    code, out, _ = run_import(FILES / "archive_utf8.csv")

    assert code == 0 and counts() == before
    assert "保单 新建 0，更新 0，未变化 5" in out
    assert "缴费 新建 0，更新 0，未变化 4" in out and "理赔 新建 0，更新 0，未变化 1" in out
    assert "沟通记录 新建 0，更新 0，未变化 2" in out


def test_changed_values_update_the_policy_and_claim_with_their_history(root_unit, tmp_path):
    assert run_import(FILES / "archive_utf8.csv")[0] == 0
    rows = rows_of("archive_utf8.csv")
    rows[1][6] = "120万"  # 保险金额 of 0011223344
    rows[1][15] = "已赔付"  # 理赔状态: 审核中 → 已赔付, over the step the file did not record
    path = write_csv(tmp_path / "changed.csv", rows[0], rows[1:])

    code, out, err = run_import(path)

    assert code == 0, err
    life = Policy.objects.get(policy_no="0011223344")
    assert life.sum_insured == Decimal("1200000.00")
    change = AuditEntry.objects.get(action="policy.import_update")
    assert change.detail["changes"]["sum_insured"] == {"before": "1000000.00", "after": "1200000.00"}
    claim = Claim.objects.get()
    assert claim.state == "paid"
    assert list(claim.history.order_by("history_id").values_list("state", flat=True)) == ["reviewing", "paid"]
    assert AuditEntry.objects.filter(action="claim.change").count() == 1
    assert "保单 新建 0，更新 1，未变化 4" in out and "理赔 新建 0，更新 1" in out
    assert audit_verify().ok


def test_a_claim_cannot_go_back_from_a_final_state(root_unit, tmp_path):
    rows = rows_of("archive_utf8.csv")
    rows[1][15] = "已赔付"
    assert run_import(write_csv(tmp_path / "paid.csv", rows[0], rows[1:2]))[0] == 0
    rows[1][15] = "审核中"
    code, _, _ = run_import(
        write_csv(tmp_path / "back.csv", rows[0], rows[1:2]), "--report", tmp_path / "r.csv"
    )
    assert code == 1 and Claim.objects.get().state == "paid"
    assert [r["规则"] for r in read_report(tmp_path / "r.csv")] == ["illegal_transition"]


def test_an_unknown_product_refuses_the_whole_row_and_creates_no_product(root_unit, tmp_path):
    from insurdesk.products.models import Product

    rows = [
        ["王小明", person_id(21), "13800000021", "北京市", "P0021", "神仙险", "10万", "2023-01-01", "2024-01-01", "年缴", "100", "2023-01-01", "已缴费", "2023-06-01", "500", "待审核", "2023-05-01", "电话", "咨询", "否"],
        ["王小红", person_id(22), "13800000022", "北京市", "P0022", "人寿险", "10万", "2023-01-01", "2024-01-01", "年缴", "100", "2023-01-01", "已缴费", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    path = write_csv(tmp_path / "u.csv", ARCHIVE_HEADERS, rows)
    products = Product.objects.count()

    code, out, _ = run_import(path, "--report", tmp_path / "r.csv")

    assert code == 1 and "拒绝 1" in out
    assert Product.objects.count() == products
    assert list(Customer.objects.values_list("name", flat=True)) == ["王小红"]  # no half row of 王小明
    assert list(Policy.objects.values_list("policy_no", flat=True)) == ["P0022"]
    assert not Claim.objects.exists() and not ContactLog.objects.exists()
    (problem,) = read_report(tmp_path / "r.csv")
    assert (problem["行号"], problem["列"], problem["值（已脱敏）"], problem["规则"], problem["级别"]) == (
        "2", "保险产品名称", "神仙险", "unknown_product", "拒绝",
    )  # fmt: skip


def test_a_policy_number_of_another_customer_is_refused(root_unit, tmp_path):
    rows = [
        ["甲", person_id(31), "13800000031", "北京市", "P0031", "人寿险", "10万", "2023-01-01", "2024-01-01", "年缴", "100", "2023-01-01", "已缴费"],
        ["乙", person_id(32), "13800000032", "北京市", "P0031", "人寿险", "10万", "2023-01-01", "2024-01-01", "年缴", "100", "2023-01-01", "已缴费"],
    ]  # fmt: skip
    code, _, _ = run_import(
        write_csv(tmp_path / "o.csv", ARCHIVE_HEADERS[:13], rows), "--report", tmp_path / "r.csv"
    )
    assert code == 1 and Customer.objects.count() == 1 and Policy.objects.count() == 1
    assert [(r["行号"], r["规则"]) for r in read_report(tmp_path / "r.csv")] == [("3", "conflict")]


def test_a_dry_run_of_the_archive_table_writes_none_of_its_parts(root_unit):
    code, out, _ = run_import(FILES / "archive_utf8.csv", "--dry-run")
    assert code == 0 and "保单 新建 5" in out
    assert counts()["policies"] == counts()["claims"] == counts()["contacts"] == counts()["payments"] == 0


def test_claims_and_contacts_export_masked_for_the_role_and_recorded(archive_products, make_user):
    import io

    from insurdesk.exchange.exporters import export_list

    assert run_import(FILES / "archive_utf8.csv")[0] == 0
    service, cs = make_user("service", unit="HQ"), make_user("cs", unit="HQ")

    out = io.StringIO()
    assert export_list(viewer=service, name="claims", params={}, fmt="csv", target=out) == 1
    assert ZHANG in out.getvalue() and "审核中" in out.getvalue()
    masked = io.StringIO()
    with pytest.raises(Exception):  # noqa: B017 - customer service may not export (exchange.export)
        export_list(viewer=cs, name="claims", params={}, fmt="csv", target=masked)
    manager = make_user("manager", unit="HQ")
    export_list(viewer=manager, name="claims", params={"state": "reviewing"}, fmt="csv", target=masked)
    assert ZHANG not in masked.getvalue() and ZHANG[:4] in masked.getvalue()
    contacts = io.StringIO()
    assert (
        export_list(viewer=service, name="contacts", params={"follow_up": "1"}, fmt="csv", target=contacts)
        == 1
    )
    assert "询问理赔进度" in contacts.getvalue()
    recorded = AuditEntry.objects.filter(action="exchange.export").order_by("seq")
    assert [(e.detail["list"], e.detail["rows"]) for e in recorded] == [
        ("claims", 1),
        ("claims", 1),
        ("contacts", 1),
    ]
    assert recorded[1].detail["filter"] == {"state": "reviewing"}


def test_a_claim_dated_before_its_policy_took_effect_is_refused_with_the_reason(root_unit, tmp_path):
    from insurdesk.exchange.models import ImportRun
    from insurdesk.exchange.report import summary

    rows = rows_of("archive_utf8.csv")
    rows[1][13] = "2022-12-01"  # the policy starts 2023-01-01
    code, out, _ = run_import(write_csv(tmp_path / "early.csv", rows[0], rows[1:2]), "--report", tmp_path / "r.csv")
    # The row's customer and policy go in; its claim is refused (a part's refusal, as for payments).
    assert code == 0 and not Claim.objects.exists() and "理赔 新建 0，更新 0，未变化 0，拒绝 1" in out
    refused = [r for r in read_report(tmp_path / "r.csv") if r["规则"] == "before_effective"]
    assert refused and "理赔申请日期 2022-12-01 早于保单生效日期 2023-01-01" in refused[0]["说明"]
    run = ImportRun.objects.latest("id")
    assert run.parts.get("claim.refused") == 1
    assert ("理赔", "新建 0，更新 0，未变化 0，拒绝 1") in summary(run)
