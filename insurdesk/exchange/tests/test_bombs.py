"""Bombs and bulk cost nothing to refuse (issue 15.7).

The finding: a 1 MB xlsx whose sheet expands to 262 MB of XML and 2 million rows took the member-list
upload to 1.75 GB and 24 s, kept the import's worker busy 6 minutes, stored 490 MB of refused rows and
a 397 MB report. Here a generated bomb (a small file, a large expansion) is refused before calamine
is ever called and before anything is stored; refused rows' details are kept within a bound.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from insurdesk.common.errors import ValidationFailed
from insurdesk.common.uploads import check_spreadsheet_size
from insurdesk.exchange.models import ImportIssue, ImportRun, RunStatus
from insurdesk.exchange.pipeline import import_file
from insurdesk.exchange.report import write_report
from insurdesk.exchange.services import import_start, upload_dir
from insurdesk.exchange.tests.conftest import person_id, write_csv

pytestmark = pytest.mark.django_db

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
    'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
    'name="客户" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def bomb(rows: int, *, padding: int = 0) -> bytes:
    """An xlsx whose one sheet holds `rows` rows (a header first), each padded with `padding` spaces."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>客户姓名</t>'
                "</is></c></row>".encode()
            )
            # Rows without their optional numbers, all alike: the deflated sheet is a few kilobytes.
            piece = (b"<row><c><v>1</v></c>" + b" " * padding + b"</row>") * 1000
            for _ in range(rows // 1000):
                sheet.write(piece)  # the same rows again: compresses to nearly nothing
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


@pytest.fixture
def no_calamine(monkeypatch):
    """Fail the test if anything hands the file to calamine: the refusal must come before reading."""
    import python_calamine

    def refuse(*args, **kwargs):
        raise AssertionError("calamine was called on a file that should have been refused unread")

    for name in ("from_path", "from_filelike", "from_object"):
        monkeypatch.setattr(python_calamine.CalamineWorkbook, name, refuse, raising=False)


@pytest.fixture
def small_limits(settings):
    settings.INSURDESK_IMPORT_MAX_ROWS = 1000
    settings.INSURDESK_IMPORT_MAX_XML_BYTES = 16 << 20
    settings.INSURDESK_MEMBERS_MAX_ROWS = 1000
    settings.INSURDESK_MEMBERS_MAX_XML_BYTES = 16 << 20
    return settings


def test_the_bomb_is_small_and_expands_a_lot():
    content = bomb(200_000, padding=100)
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        expanded = z.getinfo("xl/worksheets/sheet1.xml").file_size
    assert len(content) < 100_000 and expanded > 20 << 20  # 250 times the file


def test_the_check_stops_at_the_row_limit_without_expanding_the_rest():
    content = bomb(200_000)
    with pytest.raises(ValidationFailed) as info:
        check_spreadsheet_size(io.BytesIO(content), kind="xlsx", max_xml_bytes=1 << 30, max_rows=1000)
    [error] = info.value.errors
    assert error.code == "too_many_rows" and "1000" in error.message and error.field == "file"


def test_the_declared_expansion_is_refused_before_decompressing(monkeypatch):
    content = bomb(200_000, padding=100)
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: pytest.fail("decompressed"))
    with pytest.raises(ValidationFailed) as info:
        check_spreadsheet_size(io.BytesIO(content), kind="xlsx", max_xml_bytes=16 << 20, max_rows=10**9)
    assert info.value.errors[0].code == "too_expanded"


def test_a_zip_that_lies_about_its_size_is_refused():
    content = bytearray(bomb(20_000, padding=100))
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    # Claim 1 KB expanded in the central directory (a zip64 extra field holds the true size here).
    assert info.file_size > 1 << 20
    start = 0
    while (at := content.find(b"PK\x01\x02", start)) >= 0:
        name_len = int.from_bytes(content[at + 28 : at + 30], "little")
        if content[at + 46 : at + 46 + name_len] == b"xl/worksheets/sheet1.xml":
            extra_len = int.from_bytes(content[at + 30 : at + 32], "little")
            extra = at + 46 + name_len
            content[extra : extra + extra_len] = b"\x00" * extra_len  # drop the zip64 sizes
            content[at + 24 : at + 28] = (1024).to_bytes(4, "little")
            content[at + 20 : at + 24] = (1024).to_bytes(4, "little")
        start = at + 4
    with pytest.raises(ValidationFailed):
        check_spreadsheet_size(io.BytesIO(bytes(content)), kind="xlsx", max_xml_bytes=1 << 20, max_rows=10**9)


def test_the_import_page_refuses_the_bomb_before_storing_or_queueing_anything(
    small_limits, make_user, no_calamine
):
    clerk = make_user("clerk")
    before = set(upload_dir().iterdir())
    upload = SimpleUploadedFile("客户.xlsx", bomb(200_000, padding=100))
    with pytest.raises(ValidationFailed) as info:
        import_start(actor=clerk, upload=upload)
    assert info.value.errors[0].code == "too_expanded"
    assert "INSURDESK_IMPORT_MAX_XML_BYTES" in info.value.errors[0].message
    upload = SimpleUploadedFile("客户.xlsx", bomb(200_000))
    with pytest.raises(ValidationFailed) as info:
        import_start(actor=clerk, upload=upload)
    assert info.value.errors[0].code == "too_many_rows"
    assert "INSURDESK_IMPORT_MAX_ROWS" in info.value.errors[0].message
    assert not ImportRun.objects.exists() and set(upload_dir().iterdir()) == before


def test_the_import_api_answers_422_naming_the_file(small_limits, make_user, no_calamine):
    from django.test import Client

    from insurdesk.org.services import token_issue

    token = token_issue(user=make_user("clerk"))
    client = Client(headers={"Authorization": f"Bearer {token}"})
    r = client.post("/api/v1/imports", {"file": SimpleUploadedFile("客户.xlsx", bomb(200_000))})
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["field"] == "file" and r.json()["errors"][0]["code"] == "too_many_rows"
    assert not ImportRun.objects.exists()


def test_the_command_line_import_refuses_the_bomb_unread(small_limits, root_unit, tmp_path, no_calamine):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bomb(200_000))
    run = import_file(actor=None, path=path)
    assert run.status == RunStatus.FAILED and "INSURDESK_IMPORT_MAX_ROWS" in run.message
    assert not ImportIssue.objects.exists()


def test_the_member_list_upload_refuses_the_bomb_unread(small_limits, make_user, no_calamine):
    from insurdesk.policies.members import members_import

    with pytest.raises(ValidationFailed) as info:
        members_import(actor=make_user("clerk"), policy_id=1, filename="清单.xlsx", content=bomb(200_000))
    assert info.value.errors[0].code == "too_many_rows"
    assert "INSURDESK_MEMBERS_MAX_ROWS" in info.value.errors[0].message


def test_refused_rows_are_kept_in_full_up_to_the_bound_and_counted_beyond(settings, root_unit, tmp_path):
    settings.INSURDESK_IMPORT_MAX_ISSUES = 10
    rows = [["", person_id(i)] for i in range(60)]  # no name: every row refused
    path = write_csv(tmp_path / "bad.csv", ["客户姓名", "身份证号码"], rows)
    run = import_file(actor=None, path=path, batch_size=25)
    assert run.refused == 60
    assert ImportIssue.objects.filter(run=run).count() == 10
    assert run.issues_omitted >= 50
    report = tmp_path / "report.csv"
    assert write_report(run, report) == 10
    assert f"另有 {run.issues_omitted} 个问题" in report.read_text(encoding="utf-8-sig")
