"""Exports: no cell runs as a formula in Excel, WPS or LibreOffice; masks follow the reader's role."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from insurdesk.common.exports import FORMULA_START, masked_row, safe_cell, write_csv, write_xlsx
from insurdesk.common.masking import mask_id_number, mask_phone


@pytest.mark.parametrize(
    "value, shown",
    [
        ('=HYPERLINK("http://x","点我")', '\'=HYPERLINK("http://x","点我")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("＝1+1", "'＝1+1"),
        ("张三", "张三"),
        ("110105199003071239", "110105199003071239"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_text_starting_a_formula_gets_an_apostrophe(value, shown):
    assert safe_cell(value) == shown


@pytest.mark.parametrize("value", [None, 0, -5, 3.5, Decimal("-1.00"), datetime.date(2026, 1, 1), True])
def test_other_values_pass_unchanged(value):
    assert safe_cell(value) is value


@given(st.text())
def test_no_neutralised_cell_starts_a_formula(text):
    out = safe_cell(text)
    assert not out.startswith(FORMULA_START)
    assert out == text or out == "'" + text


def test_csv_cells_and_header_are_neutralised():
    buf = io.StringIO()
    n = write_csv(buf, ["姓名", "=备注"], [["=cmd|' /C calc'!A0", "-5"], ["张三", 12]])
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert n == 2 and rows == [["姓名", "'=备注"], ["'=cmd|' /C calc'!A0", "'-5"], ["张三", "12"]]


def test_xlsx_keeps_text_as_text_and_never_writes_formulas(tmp_path):
    path = tmp_path / "out.xlsx"
    n = write_xlsx(
        str(path),
        ["证件号码", "备注", "日期", "金额"],
        [
            ["110105199003071239", "=1+1", datetime.date(2026, 3, 1), Decimal("1234.56")],
            ["32010219920214105X", "@A1", None, 7],
        ],
    )
    assert n == 2
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[1][0] == "110105199003071239" and rows[1][1] == "'=1+1" and rows[2][1] == "'@A1"
    assert rows[1][2] == datetime.date(2026, 3, 1) and rows[1][3] == 1234.56
    with open(path, "rb") as fh:
        import zipfile

        sheet = zipfile.ZipFile(fh).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet


def test_xlsx_to_a_binary_file():
    buf = io.BytesIO()
    write_xlsx(buf, ["a"], [["+1"]])
    assert buf.getvalue().startswith(b"PK")


def test_masked_rows_follow_the_readers_role():
    maskers = {"id_number": mask_id_number, "mobile": mask_phone}
    row = {"name": "张三", "id_number": "110105199003071239", "mobile": "13812345678", "email": None}
    masked = masked_row(row, maskers, reveal=False)
    assert masked["id_number"] == "110105********1239" and masked["mobile"] != row["mobile"]
    assert masked["name"] == "张三" and masked["email"] is None
    assert masked_row(row, maskers, reveal=True) == row
