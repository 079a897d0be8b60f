"""The compliance log page: search, chain status, exports neutralised and themselves logged; API /audit."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_log
from insurdesk.compliance.models import ChainVerification
from insurdesk.compliance.selectors import AuditFilters, audit_search
from insurdesk.compliance.tests.apiclient import as_user
from insurdesk.customers.services import customer_record_view

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(person, make_user):
    """A clerk in SZ viewed an SZ archive; a GZ clerk viewed a GZ archive; an entry carries a formula."""
    sz_clerk, gz_clerk = (
        make_user("clerk", "SZ", username="sz_clerk"),
        make_user("clerk", "GZ", username="gz_clerk"),
    )
    sz, gz = person("SZ"), person("GZ")
    customer_record_view(actor=sz_clerk, customer=sz, channel="web")
    customer_record_view(actor=gz_clerk, customer=gz, channel="web")
    audit_log(
        actor=sz_clerk,
        action="customer.change",
        target=sz,
        detail={"fields": {"occupation": {"before": "", "after": '=HYPERLINK("http://x")'}}},
    )
    return {"sz_clerk": sz_clerk, "gz_clerk": gz_clerk, "sz": sz, "gz": gz}


def search(viewer, **kw):
    return audit_search(viewer=viewer, filters=AuditFilters(**kw))


def test_search_by_actor_action_archive_number_and_dates(logged, officer):
    sz = logged["sz"]
    assert set(search(officer, actor="sz_clerk").values_list("action", flat=True)) == {
        "customer.view",
        "customer.change",
    }
    assert search(officer, actor="nobody").count() == 0
    assert search(officer, actor="system").filter(action="customer.create").count() == 2
    assert search(officer, action="customer.view").count() == 2
    assert search(officer, action="customer").count() == search(officer, action="customer.").count() == 5
    by_archive = search(officer, archive_no=sz.archive_no)
    assert set(by_archive.values_list("action", flat=True)) == {
        "customer.create",
        "customer.view",
        "customer.change",
    }
    assert search(officer, archive_no=sz.archive_no.replace("KH000000000", "kh")).count() == 3
    today = timezone.localdate()
    assert search(officer, date_from=today, date_to=today).count() == AuditEntry.objects.count()
    assert search(officer, date_to=today - timedelta(days=1)).count() == 0
    seqs = list(search(officer).values_list("seq", flat=True))
    assert seqs == sorted(seqs, reverse=True)


def test_a_branch_officer_reads_its_people_and_its_archives_only(logged, make_user):
    sz_officer = make_user("compliance", "SZ")
    seen = search(sz_officer)
    assert not seen.filter(actor_id=logged["gz_clerk"].pk).exists()
    assert not seen.filter(target_id=str(logged["gz"].pk), target_type="customers.customer").exists()
    assert seen.filter(actor_id=logged["sz_clerk"].pk).count() == 2
    assert search(sz_officer, archive_no=logged["gz"].archive_no).count() == 0


def test_the_page_lists_entries_with_the_archive_number(client, logged, officer):
    client.force_login(officer)
    html = client.get(
        reverse("compliance:audit_log"), {"archive_no": logged["sz"].archive_no}
    ).content.decode()
    assert "档案使用记录" in html and logged["sz"].archive_no in html and "查看档案" in html
    assert "尚未校验" in html


def test_a_bad_date_range_is_reported_in_chinese(client, officer):
    client.force_login(officer)
    html = client.get(
        reverse("compliance:audit_log"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    ).content
    assert "截止日期不能早于起始日期" in html.decode()


def test_verifying_the_chain_keeps_the_result_and_logs_it(client, logged, officer):
    client.force_login(officer)
    response = client.post(reverse("compliance:audit_verify"), follow=True)
    row = ChainVerification.objects.get()
    assert row.ok and row.checked > 0 and row.actor == officer
    assert "记录链完整" in response.content.decode()
    assert AuditEntry.objects.filter(action="audit.verify", actor_id=officer.pk).exists()
    AuditEntry.objects.filter(seq=2).update(detail={"forged": True})
    response = client.post(reverse("compliance:audit_verify"), follow=True)
    assert "记录链异常" in response.content.decode()
    assert ChainVerification.objects.order_by("-id").first().first_bad_seq == 2


def _csv(response) -> list[list[str]]:
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export_neutralises_formulas_and_is_itself_logged(client, logged, officer):
    client.force_login(officer)
    response = client.get(
        reverse("compliance:audit_export"), {"format": "csv", "archive_no": logged["sz"].archive_no}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:4] == ["序号", "时间", "操作人", "动作"] and len(rows) == 4
    details = [r[9] for r in rows[1:]]
    assert any("HYPERLINK" in d for d in details)
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert all(r[7] == logged["sz"].archive_no for r in rows[1:])
    entry = AuditEntry.objects.filter(action="audit.export").get()
    assert entry.actor_id == officer.pk and entry.detail["rows"] == 3 and entry.detail["format"] == "csv"
    assert entry.detail["filters"] == {"archive_no": logged["sz"].archive_no}


def test_cells_that_start_like_formulas_get_an_apostrophe(client, officer, make_user):
    client.force_login(officer)
    audit_log(actor=None, action="=cmd|' /C calc'!A0", target_type="+x", target_id="@y", detail={})
    audit_log(actor=None, action="-2+3", target_type="t", target_id="1", detail={})
    rows = _csv(client.get(reverse("compliance:audit_export"), {"format": "csv", "actor": "system"}))
    actions = {r[3] for r in rows[1:]}
    assert "'=cmd|' /C calc'!A0" in actions and "'-2+3" in actions
    assert any(r[5] == "'+x" and r[6] == "'@y" for r in rows[1:])


def test_xlsx_export_writes_text_cells_only(client, logged, officer):
    client.force_login(officer)
    response = client.get(reverse("compliance:audit_export"), {"format": "xlsx"})
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    rows = book.get_sheet_by_index(0).to_python()
    assert (
        rows[0][0] == "序号" and len(rows) == 1 + AuditEntry.objects.count() - 1
    )  # the export's own entry follows
    for row in rows:
        for cell in row:
            assert isinstance(cell, str) and not cell.startswith(("=", "+", "-", "@"))
    assert b"<f>" not in response.content  # no formula element anywhere
    assert AuditEntry.objects.filter(action="audit.export", detail__format="xlsx").exists()


def test_an_export_too_large_is_refused(client, logged, officer, settings):
    settings.INSURDESK_AUDIT_EXPORT_MAX = 2
    client.force_login(officer)
    response = client.get(reverse("compliance:audit_export"), {"format": "csv"}, follow=True)
    assert "请缩小查询范围" in response.content.decode()
    assert not AuditEntry.objects.filter(action="audit.export").exists()
    assert client.get(reverse("compliance:audit_export"), {"format": "pdf"}).status_code == 404


def test_the_export_holds_no_sensitive_values(client, person, officer, make_user):
    from insurdesk.customers.services import customer_update

    c = person(mobile="13812345678")
    customer_update(actor=make_user("clerk", "HQ"), customer_id=c.pk, data={"mobile": "13987654321"})
    client.force_login(officer)
    body = client.get(reverse("compliance:audit_export"), {"format": "csv"}).content.decode()
    assert "13987654321" not in body and "13812345678" not in body and c.id_number not in body
    assert '""changed"": true' in body


def test_api_lists_the_log_with_archive_numbers(logged, officer):
    api = as_user(officer)
    r = api.get("/audit", {"archive_no": logged["sz"].archive_no, "page_size": 2})
    body = r.json()
    assert r.status_code == 200 and body["count"] == 3 and len(body["items"]) == 2
    item = body["items"][0]
    assert set(item) >= {
        "seq",
        "at",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "archive_no",
        "hash",
    }
    assert item["archive_no"] == logged["sz"].archive_no
    assert api.get("/audit", {"action": "customer.view", "page": 99}).json() == {"items": [], "count": 2}
    assert api.get("/audit", {"date_from": "not-a-date"}).status_code == 422
