"""The import report: every refused value and every notice, row by row, as .xlsx or .csv.

Columns: 行号 (the sheet row), 列 (the header as written), 值 (masked), 规则 (a stable code), 说明
(Chinese), 级别 (拒绝 = the row was not imported, 提示 = imported, or a notice about the file).
"""

from __future__ import annotations

import csv
from pathlib import Path

from insurdesk.common.exports import safe_cell
from insurdesk.exchange.models import ImportIssue, ImportRun, IssueLevel

HEADERS = ("行号", "列", "值（已脱敏）", "规则", "说明", "级别")
FORMATS = ("xlsx", "csv")
_LEVELS = dict(IssueLevel.choices)
# The archive table's other parts, as the summaries (page, report, command line) count them.
PART_LABELS = (
    ("policy", "保单"), ("payment", "缴费"), ("claim", "理赔"), ("contact", "沟通记录"),
    ("party", "投保人/被保险人档案"),
)  # fmt: skip
PART_COUNTS = ("created", "updated", "unchanged", "refused")


def part_counts(parts: dict | None) -> list[dict]:
    """Return, for each part the run touched, its label and counts (created, updated, unchanged, refused)."""
    out = []
    for key, label in PART_LABELS:
        n = {k: (parts or {}).get(f"{key}.{k}", 0) for k in PART_COUNTS}
        if any(n.values()):
            out.append({"part": key, "label": label, **n})
    return out


def report_format(path: str | Path) -> str | None:
    """Return "xlsx" or "csv" from a report path's extension, or None for any other."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else None


def _rows(run: ImportRun):
    for issue in ImportIssue.objects.filter(run=run).order_by("row", "id").iterator(chunk_size=5000):
        yield (
            issue.row,
            issue.column,
            issue.value,
            issue.code,
            issue.message,
            _LEVELS.get(issue.level, issue.level),
        )


def summary(run: ImportRun) -> list[tuple[str, object]]:
    return [
        ("文件", run.file_name), ("模板", (run.columns or {}).get("template_label", "")),
        ("状态", run.get_status_display() + ("（仅校验，未导入）" if run.dry_run else "")),
        ("数据行", run.processed), ("新建", run.created), ("更新", run.updated), ("未变化", run.unchanged),
        ("合并（同一客户的其他行）", run.merged), ("拒绝", run.refused), ("提示", run.warnings),
        ("未逐条列出的问题（超过上限，只计数）", run.issues_omitted),
        ("说明", run.message),
    ] + [
        (p["label"], "新建 {created}，更新 {updated}，未变化 {unchanged}，拒绝 {refused}".format(**p))
        for p in part_counts(run.parts)
    ]  # fmt: skip


def write_report(run: ImportRun, path: str | Path, fmt: str | None = None) -> int:
    """Write the run's report to path; return the number of problem lines written."""
    fmt = fmt or report_format(path) or "csv"
    if fmt == "xlsx":
        return _write_xlsx(run, Path(path))
    return _write_csv(run, Path(path))


def _write_csv(run: ImportRun, path: Path) -> int:
    count = 0
    # UTF-8 with BOM: Excel in Chinese Windows opens it without garbling.
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADERS)
        for row in _rows(run):
            out.writerow([row[0], *(safe_cell(v) for v in row[1:])])
            count += 1
        if run.issues_omitted:
            note = f"另有 {run.issues_omitted} 个问题超过上限，只计数、未逐条列出"
            out.writerow(["", "", "", "omitted", note, ""])
    return count


def _write_xlsx(run: ImportRun, path: Path) -> int:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#E7EEF8"})
        sheet = workbook.add_worksheet("问题清单")
        sheet.set_column(0, 0, 8)
        sheet.set_column(1, 1, 16)
        sheet.set_column(2, 2, 22)
        sheet.set_column(3, 3, 16)
        sheet.set_column(4, 4, 70)
        sheet.write_row(0, 0, HEADERS, bold)
        count = 0
        for count, row in enumerate(_rows(run), start=1):
            sheet.write_number(count, 0, row[0])
            for col, value in enumerate(row[1:], start=1):
                sheet.write_string(count, col, str(value))
        sheet.freeze_panes(1, 0)
        info = workbook.add_worksheet("汇总")
        info.set_column(0, 0, 24)
        info.set_column(1, 1, 60)
        for i, (label, value) in enumerate(summary(run)):
            info.write_string(i, 0, label, bold)
            if isinstance(value, int):
                info.write_number(i, 1, value)
            else:
                info.write_string(i, 1, str(value or ""))
    finally:
        workbook.close()
    return count
