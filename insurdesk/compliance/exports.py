"""The audit log as CSV or XLSX: every cell neutralised against formula injection.

The log holds no sensitive values (customers.services names sensitive fields without their values),
so an export is the entries as they are.
"""

import csv
import io
import json
from collections.abc import Iterable

import xlsxwriter

from insurdesk.compliance.calculations import safe_cell
from insurdesk.compliance.selectors import ACTION_LABELS, CUSTOMER_TARGET, archive_numbers_of

HEADER = [
    "序号",
    "时间",
    "操作人",
    "动作",
    "动作说明",
    "对象类型",
    "对象ID",
    "客户号",
    "地址",
    "详情",
    "哈希",
]


def audit_rows(entries: list) -> Iterable[list[str]]:
    """Yield the header, then one row of safe text cells per entry."""
    from django.utils import timezone

    numbers = archive_numbers_of(entries)
    yield HEADER
    for e in entries:
        archive_no = numbers.get(e.target_id, "") if e.target_type == CUSTOMER_TARGET else ""
        yield [
            safe_cell(v)
            for v in (
                e.seq,
                timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                e.actor_name,
                e.action,
                ACTION_LABELS.get(e.action, ""),
                e.target_type,
                e.target_id,
                archive_no,
                e.ip or "",
                json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
                e.hash,
            )
        ]


def to_csv(rows: Iterable[list[str]]) -> bytes:
    """Return UTF-8 CSV with a byte-order mark, so spreadsheet programs read the Chinese correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[list[str]], *, sheet: str = "使用记录") -> bytes:
    """Return an XLSX workbook; every cell is written as text, never as a formula, URL or number."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    ws = book.add_worksheet(sheet)
    bold = book.add_format({"bold": True})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            ws.write_string(r, c, value, bold if r == 0 else None)
    ws.freeze_panes(1, 0)
    ws.set_column(0, 0, 8)
    ws.set_column(1, 1, 20)
    ws.set_column(9, 9, 60)
    book.close()
    return buf.getvalue()
