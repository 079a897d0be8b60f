"""Read spreadsheets as rows of cells: .xlsx through calamine, .csv in UTF-8, UTF-8 with BOM or GB18030.

A table is read twice by an import (a quick pass over the identity column, then the import itself),
so `Table.rows()` can be called more than once. Rows come with their sheet row number as the user
sees it in Excel (the header is usually row 1); blank rows are skipped.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from insurdesk.exchange.headers import header_score

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HEADER_SEARCH_ROWS = 20
_CHUNK = 1 << 20
csv.field_size_limit(1 << 24)


class Unreadable(Exception):
    """The file cannot be read as a table; the message says why, in Chinese."""


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


@dataclass
class Table:
    path: Path
    format: str  # "xlsx" or "csv"
    encoding: str = ""
    sheet_name: str = ""
    header_row: int = 1  # sheet row number of the header
    headers: list = field(default_factory=list)
    total_rows: int = 0  # data rows (after the header), blank rows included; for progress only
    _sheet: object = None
    _first_row: int = 1
    _delimiter: str = ","

    def rows(self, start_after: int = 0) -> Iterator[tuple[int, list]]:
        """Yield (row number, cells) for each non-blank data row whose number is above start_after."""
        for number, cells in self._raw_rows():
            if number <= self.header_row or number <= start_after:
                continue
            if all(_blank(c) for c in cells):
                continue
            yield number, cells

    def _raw_rows(self) -> Iterator[tuple[int, list]]:
        if self.format == "xlsx":
            for i, cells in enumerate(self._sheet.iter_rows()):
                yield self._first_row + i, cells
            return
        with open(self.path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            for i, cells in enumerate(csv.reader(text, delimiter=self._delimiter), start=1):
                yield i, cells

    def close(self) -> None:
        self._sheet = None


def sniff_format(path: Path) -> str:
    """Return "xlsx" or "csv" from the file's first bytes, or refuse the file."""
    with open(path, "rb") as f:
        head = f.read(8192)
    if not head:
        raise Unreadable("文件是空的")
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        raise Unreadable("这是旧版Excel（.xls）或加密的文件，请在Excel中另存为.xlsx后再导入")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"
    if b"\x00" in head:
        raise Unreadable("文件不是表格（.xlsx或.csv）")
    return "csv"


def detect_encoding(path: Path) -> str:
    """Return the encoding of a text file: UTF-8 with or without BOM, UTF-16 (Excel's Unicode text), GB18030.

    The whole file is checked, so a GB18030 file whose first megabyte happens to be ASCII is not
    taken for UTF-8.
    """
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise Unreadable("文件编码无法识别（支持UTF-8、带BOM的UTF-8、GB18030/GBK）")


def _sniff_delimiter(sample: str) -> str:
    first = sample.splitlines()[0] if sample else ""
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _find_header(rows: Iterator[tuple[int, list]]) -> tuple[int, list]:
    best = (0, None, None)
    for number, cells in rows:
        if number > HEADER_SEARCH_ROWS:
            break
        score = header_score(cells)
        if score > best[0]:
            best = (score, number, cells)
    if best[1] is None:
        raise Unreadable("找不到表头：前20行中没有可识别的列名（如 客户姓名、证件号码、手机）")
    return best[1], list(best[2])


def _count_lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            count += chunk.count(b"\n")
    return count


def open_table(path: str | os.PathLike) -> Table:
    """Open a .xlsx or .csv file and find its header row; raise Unreadable when it is not a table."""
    path = Path(path)
    if not path.is_file():
        raise Unreadable(f"文件不存在：{path}")
    fmt = sniff_format(path)
    table = Table(path=path, format=fmt)
    if fmt == "xlsx":
        _check_expansion(path)
        _open_xlsx(table)
    else:
        table.encoding = detect_encoding(path)
        with open(path, encoding=table.encoding, newline="") as f:
            table._delimiter = _sniff_delimiter(f.read(65536))
        table.total_rows = max(0, _count_lines(path))
    try:
        table.header_row, table.headers = _find_header(table._raw_rows())
    except (csv.Error, UnicodeDecodeError) as exc:
        raise Unreadable(f"文件无法按表格读取：{exc}") from None
    if fmt == "csv":
        table.total_rows = max(0, table.total_rows - table.header_row)
    else:
        table.total_rows = max(0, table._first_row + table._sheet.height - 1 - table.header_row)
    return table


def _check_expansion(path: Path) -> None:
    """Refuse a workbook whose sheets expand past the limits before calamine reads it (zip bombs, bulk)."""
    from django.conf import settings

    from insurdesk.common.errors import ValidationFailed
    from insurdesk.common.uploads import check_spreadsheet_size

    with open(path, "rb") as fh:
        try:
            check_spreadsheet_size(
                fh,
                kind="xlsx",
                max_rows=settings.INSURDESK_IMPORT_MAX_ROWS,
                max_xml_bytes=settings.INSURDESK_IMPORT_MAX_XML_BYTES,
                settings_prefix="INSURDESK_IMPORT",
            )
        except ValidationFailed as exc:
            raise Unreadable(exc.errors[0].message) from None


def _open_xlsx(table: Table) -> None:
    try:
        import python_calamine as calamine

        workbook = calamine.CalamineWorkbook.from_path(str(table.path))
        names = workbook.sheet_names
        if not names:
            raise Unreadable("工作簿中没有工作表")
        chosen = None
        for index in range(min(len(names), 5)):
            sheet = workbook.get_sheet_by_index(index)
            head = [cells for _, cells in zip(range(HEADER_SEARCH_ROWS), sheet.iter_rows(), strict=False)]
            if any(header_score(cells) for cells in head):
                chosen = sheet
                break
        if chosen is None:
            chosen = workbook.get_sheet_by_index(0)
    except Unreadable:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise Unreadable(f"Excel文件已损坏或无法读取（{type(exc).__name__}）") from None
    start = getattr(chosen, "start", None) or (0, 0)
    table._sheet = chosen
    table._first_row = start[0] + 1
    table.sheet_name = chosen.name
