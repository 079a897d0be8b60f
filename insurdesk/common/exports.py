"""Files users open in a spreadsheet: cells that never run as formulas, values masked by role.

A cell that starts with = + - @ (or a tab, carriage return, line feed, or the full-width forms that
Chinese input methods type) is run as a formula by Excel, WPS and LibreOffice; ``safe_cell`` puts an
apostrophe in front so it shows as the text it is (OWASP "CSV injection"). Numbers, dates and other
non-text values pass unchanged. xlsx files are written with every string as a string cell, so an
18-digit identity number keeps its digits and "=1+1" stays text even without the apostrophe.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.utils import timezone

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")

__all__ = ["FORMULA_START", "masked_row", "safe_cell", "safe_row", "write_csv", "write_xlsx"]


def safe_cell(value):
    """Return a value a spreadsheet shows as text: a leading formula character gets an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(values: Iterable) -> list:
    return [safe_cell(v) for v in values]


def masked_row(row: Mapping[str, Any], maskers: Mapping[str, Callable[[Any], Any]], *, reveal: bool) -> dict:
    """Return the row with every field that has a masker masked, unless the reader may see it in full.

    ``maskers`` maps field names to masking functions (e.g. insurdesk.customers.selectors.MASKERS);
    empty values stay empty.
    """
    if reveal:
        return dict(row)
    return {k: (maskers[k](v) if k in maskers and v not in (None, "") else v) for k, v in row.items()}


def write_csv(fh, header: Iterable[str], rows: Iterable[Iterable]) -> int:
    """Write a header and rows to a text file with every cell neutralised; return the number of rows.

    Open the file with encoding="utf-8-sig" and newline="" so Excel reads Chinese correctly.
    """
    writer = csv.writer(fh)
    writer.writerow(safe_row(header))
    n = 0
    for row in rows:
        writer.writerow(safe_row(row))
        n += 1
    return n


def write_xlsx(target, header: Iterable[str], rows: Iterable[Iterable], *, sheet: str = "导出") -> int:
    """Write a header and rows to an xlsx file (a path or a binary file); return the number of rows."""
    import xlsxwriter

    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
        "in_memory": not isinstance(target, str),
        "remove_timezone": True,
    }
    workbook = xlsxwriter.Workbook(target, options)
    try:
        ws = workbook.add_worksheet(sheet)
        formats = {
            datetime.date: workbook.add_format({"num_format": "yyyy-mm-dd"}),
            datetime.datetime: workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        }
        _write(ws, 0, header, formats)
        n = 0
        for n, row in enumerate(rows, start=1):
            _write(ws, n, row, formats)
    finally:
        workbook.close()
    return n


def _write(ws, r: int, row: Iterable, formats: dict) -> None:
    for c, value in enumerate(safe_row(row)):
        if isinstance(value, str):
            ws.write_string(r, c, value)
        elif value is None:
            ws.write_blank(r, c, None)
        elif isinstance(value, datetime.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value).replace(tzinfo=None)
            ws.write_datetime(r, c, value, formats[datetime.datetime])
        elif isinstance(value, datetime.date):
            ws.write_datetime(r, c, value, formats[datetime.date])
        elif isinstance(value, Decimal):
            ws.write_number(r, c, float(value))  # amounts up to 15 digits survive the float exactly
        else:
            ws.write(r, c, value)
