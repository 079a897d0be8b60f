# ruff: noqa: E501 - tables of Chinese test data read best one row per line
import datetime

import pytest

from insurdesk.exchange.headers import ARCHIVE, CORPORATE, INDIVIDUAL, detect_template, map_headers
from insurdesk.exchange.readers import Unreadable, open_table
from insurdesk.exchange.tests.conftest import FILES, libreoffice_xlsx, write_csv

ROWS = [["张三", "110105198001011238", "13800000000"], ["李四", "310104198506152467", "13912345678"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_in_each_encoding_is_detected(tmp_path, encoding):
    path = write_csv(tmp_path / "a.csv", ["客户姓名", "身份证号码", "联系方式"], ROWS, encoding)
    table = open_table(path)
    assert table.format == "csv"
    assert (
        table.encoding
        == {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030", "utf-16": "utf-16"}[encoding]
    )
    assert table.headers == ["客户姓名", "身份证号码", "联系方式"]
    assert [cells for _, cells in table.rows()] == ROWS


def test_a_gb18030_file_that_starts_with_a_megabyte_of_ascii_is_still_gb18030(tmp_path):
    rows = [["x" * 10, "110105198001011238", "13800000000"]] * 60_000 + ROWS
    path = write_csv(tmp_path / "late.csv", ["客户姓名", "身份证号码", "联系方式"], rows, "gb18030")
    table = open_table(path)
    assert table.encoding == "gb18030"
    assert list(table.rows())[-1][1] == ROWS[-1]


def test_tab_separated_text_from_excel_is_read(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_text("姓名\t身份证号码\n张三\t110105198001011238\n", encoding="utf-16")
    assert [c for _, c in open_table(path).rows()] == [["张三", "110105198001011238"]]


def test_a_title_row_above_the_header_is_skipped_and_row_numbers_are_the_sheets():
    table = open_table(FILES / "archive_openpyxl.xlsx")
    assert table.header_row == 3
    numbers = [n for n, _ in table.rows()]
    assert numbers[0] == 4 and len(numbers) == 5


def test_xlsx_written_by_libreoffice_keeps_types():
    table = open_table(FILES / "archive_libreoffice.xlsx")
    assert table.format == "xlsx" and detect_template(table.headers) == ARCHIVE
    first = next(table.rows())[1]
    assert first[1] == "110105198001011238"  # typed as text on import
    assert first[7] == datetime.date(2023, 1, 1)  # detected as a date
    assert first[6] == 1000000.0


def test_a_fresh_libreoffice_conversion_reads_like_the_committed_one(tmp_path):
    converted = libreoffice_xlsx(FILES / "archive_utf8.csv", tmp_path)
    fresh = [cells for _, cells in open_table(converted).rows()]
    # Without column types LibreOffice turns the 18-digit numbers into floats: the damage imports refuse.
    assert isinstance(fresh[0][1], float)
    assert fresh[0][7] == datetime.date(2023, 1, 1)


@pytest.mark.parametrize("content,message", [
    (b"", "空"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"), (b"\x00\x01\x02binary", "不是表格"),
    (b"PK\x03\x04not really a zip", "损坏"), (b"name,id\n\x80\xff,\xff\x80\n", "编码"),
    (b"a,b,c\n1,2,3\n", "表头"),
])  # fmt: skip
def test_unreadable_files_say_why(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(Unreadable) as exc:
        open_table(path)
    assert message in str(exc.value)


def test_a_missing_file_is_unreadable(tmp_path):
    with pytest.raises(Unreadable):
        open_table(tmp_path / "nope.xlsx")


def test_headers_in_any_order_with_aliases_units_and_marks():
    mapping = map_headers(
        ["手机号码", " 姓名* ", "证件号码（必填）", "年收入（万元）", "星座", "电话", "手机"]
    )
    keys = {mapping.headers[i]: c.key for i, c in mapping.fields.items()}
    assert keys == {
        "手机号码": "mobile",
        "姓名*": "name",
        "证件号码（必填）": "id_number",
        "年收入（万元）": "annual_income",
        "电话": "phone",
    }
    assert mapping.scales[3] == 10000
    assert mapping.unknown == [(4, "星座")]
    assert mapping.duplicate == [(6, "手机", 0)]


def test_the_template_is_told_from_the_headers():
    assert detect_template(["客户姓名", "身份证号码", "联系方式", "保单号"]) == ARCHIVE
    assert detect_template(["单位名称", "统一社会信用代码"]) == CORPORATE
    assert detect_template(["姓名", "证件号码", "手机"]) == INDIVIDUAL
    assert map_headers(["名称", "统一社会信用代码", "注册资本（元）"]).scales == {2: 1}
