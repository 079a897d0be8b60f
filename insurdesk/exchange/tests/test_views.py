# ruff: noqa: E501 - tables of Chinese test data read best one row per line
"""The import page (upload, background job, progress, report) and the export downloads, as users see them."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from insurdesk.audit.models import AuditEntry
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_create
from insurdesk.exchange.models import ImportRun
from insurdesk.exchange.tests.conftest import FILES, person_id

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client, name: str, content: bytes | None = None, **extra):
    content = (FILES / name).read_bytes() if content is None else content
    return client.post("/exchange/upload/", {"file": SimpleUploadedFile(name, content), **extra})


def read_xlsx(content: bytes, sheet: int | str = 0) -> list[list]:
    import python_calamine

    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    sh = wb.get_sheet_by_name(sheet) if isinstance(sheet, str) else wb.get_sheet_by_index(sheet)
    return sh.to_python()


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_an_upload_runs_in_the_background_shows_progress_and_offers_the_report(
    make_user, archive_products, run_tasks
):
    clerk = make_user("clerk")
    client = login(clerk)

    response = upload(client, "archive_gb18030.csv")

    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exchange/runs/{run.pk}/"
    assert run.status == "queued" and run.created_by == clerk and run.file_name == "archive_gb18030.csv"
    page = client.get(f"/exchange/runs/{run.pk}/").content.decode()
    assert "排队中" in page and 'hx-trigger="every 1s"' in page
    assert not Customer.objects.exists()  # the request only queued the job

    assert run_tasks() == 1  # what `insurdesk db_worker` does

    run.refresh_from_db()
    assert run.status == "done" and run.created == 4 and run.merged == 1
    assert Customer.objects.filter(unit=clerk.unit, created_by=clerk).count() == 4
    progress = client.get(f"/exchange/runs/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert progress.status_code == 200 and progress["HX-Refresh"] == "true"
    assert "已完成" in progress.content.decode() and "every 1s" not in progress.content.decode()
    report = client.get(f"/exchange/runs/{run.pk}/report/?format=csv")
    assert report.status_code == 200 and "filename*=UTF-8''" in report["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body(report).decode("utf-8-sig"))))
    assert rows[0] == ["行号", "列", "值（已脱敏）", "规则", "说明", "级别"]
    xlsx = client.get(f"/exchange/runs/{run.pk}/report/?format=xlsx")
    assert read_xlsx(body(xlsx))[0][0] == "行号"
    assert AuditEntry.objects.filter(action="exchange.upload", actor_id=clerk.pk).exists()


def test_refused_rows_are_listed_on_the_run_page_masked(make_user, run_tasks):
    client = login(make_user("clerk"))
    upload(client, "damaged_utf8.csv")
    run_tasks()
    run = ImportRun.objects.get()
    page = client.get(f"/exchange/runs/{run.pk}/").content.decode()
    assert "id_damaged" in page and "110105********1000" in page and "198001011000" not in page


def test_a_dry_run_upload_imports_nothing(make_user, archive_products, run_tasks):
    client = login(make_user("clerk"))
    upload(client, "archive_utf8.csv", dry_run="1")
    run_tasks()
    run = ImportRun.objects.get()
    assert run.dry_run and run.status == "done" and run.created == 4
    assert not Customer.objects.exists()


@pytest.mark.parametrize("name,content,message", [
    ("客户.exe", b"MZ\x90\x00", "不接受"),
    ("客户.xlsx", "客户姓名,身份证号码\n张三,1\n".encode(), "不符"),
    ("客户.csv", b"PK\x03\x04" + b"\0" * 50, "不是允许的类型"),
    ("客户.pdf.csv", b"a,b\n", "双重扩展名"),
    ("客户.txt", "客户姓名,身份证号码\n".encode(), "不接受"),
    ("空.csv", b"", "空"),
])  # fmt: skip
def test_uploads_are_checked_by_name_extension_and_content(make_user, name, content, message):
    client = login(make_user("clerk"))
    response = upload(client, name, content)
    assert response.status_code == 302 and response["Location"] == "/exchange/"
    shown = client.get("/exchange/").content.decode()
    assert message in shown
    assert not ImportRun.objects.exists()


def test_an_upload_over_the_size_limit_is_refused(make_user, settings):
    settings.INSURDESK_IMPORT_MAX_BYTES = 100
    client = login(make_user("clerk"))
    upload(client, "archive_utf8.csv")
    assert "文件过大" in client.get("/exchange/").content.decode() and not ImportRun.objects.exists()


def test_the_stored_upload_is_named_by_its_digest_never_by_the_client(make_user):
    client = login(make_user("clerk"))
    upload(client, "../../etc/archive.csv", (FILES / "archive_utf8.csv").read_bytes())
    run = ImportRun.objects.get()
    assert run.file_path.endswith(f"/imports/{run.file_hash}.csv.enc") and run.file_name == "archive.csv"


def test_a_run_whose_worker_died_can_be_resumed(make_user, archive_products, run_tasks):
    from django.utils import timezone

    client = login(make_user("clerk"))
    upload(client, "archive_utf8.csv")
    run = ImportRun.objects.get()
    # A worker claimed it and died: a pid that cannot exist on this host.
    import socket

    ImportRun.objects.filter(pk=run.pk).update(
        status="running", worker=f"{socket.gethostname()}:999999999", heartbeat_at=timezone.now()
    )
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    assert "从中断处继续" in client.get(f"/exchange/runs/{run.pk}/").content.decode()

    response = client.post(f"/exchange/runs/{run.pk}/resume/")

    assert response.status_code == 302 and run_tasks() == 1
    run.refresh_from_db()
    assert run.status == "done" and Customer.objects.count() == 4


def test_users_see_their_own_runs_and_an_admin_sees_all(make_user):
    clerk, other = make_user("clerk"), make_user("clerk")
    upload(login(clerk), "archive_utf8.csv")
    run = ImportRun.objects.get()
    assert login(other).get(f"/exchange/runs/{run.pk}/").status_code == 404
    assert login(make_user("admin")).get(f"/exchange/runs/{run.pk}/").status_code == 200
    assert "archive_utf8.csv" not in login(other).get("/exchange/").content.decode()


@pytest.mark.parametrize(
    "kind,first", [("individual", "客户姓名*"), ("corporate", "单位名称*"), ("archive", "客户姓名*")]
)
def test_templates_download_with_the_rules_in_a_second_sheet(make_user, kind, first):
    response = login(make_user("clerk")).get(f"/exchange/template/?kind={kind}")
    content = body(response)
    assert response.status_code == 200 and ".xlsx" in response["Content-Disposition"]
    header = read_xlsx(content, "填写")[0]
    assert header[0] == first
    rules = read_xlsx(content, "填写说明")
    assert rules[0][:3] == ["列名", "必填", "规则"] and len(rules) > 5
    from insurdesk.exchange.headers import map_headers

    mapping = map_headers(header)
    assert (
        not mapping.unknown
        and mapping.template
        == ({"individual": "individual", "corporate": "corporate", "archive": "archive"}[kind])
    )


def test_a_filled_in_template_imports(make_user, tmp_path):
    from openpyxl import load_workbook

    from insurdesk.exchange.pipeline import import_file

    client = login(make_user("clerk"))
    path = tmp_path / "t.xlsx"
    path.write_bytes(body(client.get("/exchange/template/?kind=individual")))
    wb = load_workbook(path)
    ws = wb["填写"]
    header = [c.value for c in ws[1]]
    values = {"客户姓名*": "模板客户", "证件号码*": person_id(42), "手机": "13800001234", "出生日期": None}
    ws.append([values.get(h) for h in header])
    wb.save(path)
    run = import_file(actor=None, path=path)
    assert run.created == 1 and run.refused == 0, list(run.issues.values_list("code", "message"))


# --- exports --------------------------------------------------------------------------------------


@pytest.fixture
def archives(units, individual_data):
    made = []
    for _i, name in enumerate(["张三", "=1+2", "+SUM(A1)", "李四"]):
        data = individual_data(name=name, unit_id=units["SZ"].pk, residence_address="深圳市南山区科技园路1号")
        made.append(customer_create(actor=None, kind="individual", data=data)[0])
    made.append(
        customer_create(
            actor=None, kind="individual", data=individual_data(name="广州人", unit_id=units["GZ"].pk)
        )[0]
    )
    return made


def test_a_customer_list_export_is_masked_for_the_role_neutralised_and_recorded(make_user, archives):
    cs = make_user("manager", "SZ")  # 机构负责人: may export, sees masks

    response = login(cs).get("/exchange/export/download/?list=customers&format=csv&kind=individual")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))
    assert rows[0][:5] == ["客户号", "客户类型", "名称", "证件类型", "证件号码"]
    by_name = {r[2]: r for r in rows[1:]}
    assert set(by_name) == {"张三", "'=1+2", "'+SUM(A1)", "李四"}  # own scope only; formulas neutralised
    assert all("*" in r[4] and "*" in r[7] for r in rows[1:])  # identity numbers and mobiles masked
    entry = AuditEntry.objects.get(action="exchange.export")
    assert (
        entry.actor_id == cs.pk
        and entry.detail["rows"] == 4
        and entry.detail["filter"] == {"kind": "individual"}
    )
    assert entry.detail["list"] == "customers" and entry.detail["format"] == "csv"


def test_an_xlsx_export_for_a_role_that_sees_everything_keeps_identity_numbers_as_text(make_user, archives):
    clerk = make_user("clerk", "SZ")
    response = login(clerk).get("/exchange/export/download/?list=customers&format=xlsx&q=张")
    rows = read_xlsx(body(response))
    assert [r[2] for r in rows[1:]] == ["张三"]
    assert rows[1][4] == archives[0].id_number and isinstance(rows[1][4], str)
    assert AuditEntry.objects.get(action="exchange.export").detail == {
        "list": "customers",
        "format": "xlsx",
        "filter": {"q": "张"},
        "rows": 1,
    }


def test_exports_are_refused_to_roles_without_the_action(make_user, archives):
    for role in ("agent", "cs", "underwriter", "claims"):
        assert (
            login(make_user(role)).get("/exchange/export/download/?list=customers&format=csv").status_code
            == 403
        )
    assert not AuditEntry.objects.filter(action="exchange.export").exists()


def test_a_customers_whole_file_is_one_workbook_and_is_recorded(make_user, archives):
    from insurdesk.customers.services import customer_record_view

    compliance = make_user("compliance", "HQ")
    zhang = archives[0]
    customer_record_view(actor=make_user("clerk"), customer=zhang, channel="web")

    response = login(compliance).get(f"/exchange/customers/{zhang.pk}/file.xlsx?reference=PI-2026-001")

    assert response.status_code == 200
    import python_calamine

    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(body(response)))
    assert wb.sheet_names[:6] == ["档案", "变更历史", "关联客户", "受益所有人", "他司保单", "使用记录"]
    archive = dict(row[:2] for row in wb.get_sheet_by_name("档案").to_python()[1:])
    assert archive["证件号码"] == zhang.id_number and archive["客户号"] == zhang.archive_no
    views = wb.get_sheet_by_name("使用记录").to_python()
    assert any(r[2] == "customer.view" for r in views[1:])
    entry = AuditEntry.objects.get(action="customer.export_file")
    assert entry.actor_id == compliance.pk and entry.target_id == str(zhang.pk)
    assert entry.detail["reference"] == "PI-2026-001" and entry.detail["sections"]["档案"] > 10


def test_the_whole_file_is_refused_outside_the_scope_and_to_other_roles(make_user, archives):
    gz = archives[-1]
    assert login(make_user("service", "SZ")).get(f"/exchange/customers/{gz.pk}/file.xlsx").status_code == 404
    assert (
        login(make_user("clerk", "SZ")).get(f"/exchange/customers/{archives[0].pk}/file.xlsx").status_code
        == 403
    )


def test_the_whole_file_form_finds_the_archive_by_number(make_user, archives):
    client = login(make_user("service", "SZ"))
    response = client.get(f"/exchange/export/customer-file/?archive_no={archives[0].archive_no}&reference=R1")
    assert response.status_code == 302
    assert response["Location"] == f"/exchange/customers/{archives[0].pk}/file.xlsx?reference=R1"
    response = client.get(
        f"/exchange/export/customer-file/?archive_no={archives[-1].archive_no}&reference=R1"
    )
    assert response["Location"] == "/exchange/export/"


def test_the_pages_render_for_the_roles_that_use_them(make_user, archives):
    assert "开始导入" in login(make_user("clerk")).get("/exchange/").content.decode()
    page = login(make_user("compliance", "HQ")).get("/exchange/export/").content.decode()
    assert "客户清单" in page and "客户完整档案" in page
    nav = login(make_user("clerk")).get("/customers/").content.decode()
    assert "/exchange/" in nav and "批量导入" in nav
    assert "批量导入" not in login(make_user("agent")).get("/customers/").content.decode()
