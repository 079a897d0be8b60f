"""Blank import templates (导入模板): a sheet to fill in and a second sheet with the rules of each column."""

from __future__ import annotations

from insurdesk.exchange.headers import ARCHIVE, CORPORATE, INDIVIDUAL, TEMPLATES, template_columns

KINDS = (INDIVIDUAL, CORPORATE, ARCHIVE)
# Columns Excel must keep as text: it would turn 18-digit numbers into 1.10105E+17 and drop leading zeros.
_TEXT_KINDS = frozenset({"identity", "uscc", "code", "policy_no", "mobile", "landline", "contact"})


def template_filename(kind: str) -> str:
    return f"{TEMPLATES[kind]}导入模板.xlsx"


def write_template(kind: str, target) -> None:
    """Write the template of a kind (individual, corporate, archive) to a path or binary file."""
    import xlsxwriter

    columns = template_columns(kind)
    workbook = xlsxwriter.Workbook(
        target,
        {"in_memory": not isinstance(target, str), "strings_to_numbers": False, "strings_to_formulas": False},
    )
    try:
        head = workbook.add_format({"bold": True, "bg_color": "#E7EEF8", "border": 1, "text_wrap": True})
        required = workbook.add_format({"bold": True, "bg_color": "#FDF1DC", "border": 1, "text_wrap": True})
        as_text = workbook.add_format({"num_format": "@"})
        sheet = workbook.add_worksheet("填写")
        for i, col in enumerate(columns):
            label = col.label + ("*" if col.required else "")
            sheet.write_string(0, i, label, required if col.required else head)
            sheet.set_column(
                i, i, max(10, min(30, len(col.label) * 2 + 4)), as_text if col.kind in _TEXT_KINDS else None
            )
        sheet.freeze_panes(1, 0)

        rules = workbook.add_worksheet("填写说明")
        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        rules.set_column(0, 0, 20)
        rules.set_column(1, 1, 8)
        rules.set_column(2, 2, 70)
        rules.set_column(3, 4, 28)
        rules.write_row(0, 0, ("列名", "必填", "规则", "示例", "也可写作"), head)
        for r, col in enumerate(columns, start=1):
            rules.write_string(r, 0, col.label, wrap)
            rules.write_string(r, 1, "是" if col.required else "", wrap)
            rules.write_string(r, 2, col.rule, wrap)
            rules.write_string(r, 3, col.example, wrap)
            rules.write_string(r, 4, "、".join(col.aliases), wrap)
        notes = (
            "说明：第一行为列名，列的顺序可以调整，也可使用“也可写作”中的列名；未识别的列会在导入报告中列出。",
            "证件号码、手机等列已设为文本格式；从其他表格粘贴时请使用“选择性粘贴—数值”，避免号码被Excel改成科学计数法。",
            "同一客户（同一证件号码）可以出现在多行，各行的信息须一致；已有档案的客户按证件号码更新，空白单元格不会清除已有信息。",
            "日期可写 2023-01-01、2023/1/1、2023年1月1日；金额可写 1,000、1000元、100万。",
        )
        for i, note in enumerate(notes, start=len(columns) + 2):
            rules.write_string(i, 0, note)
    finally:
        workbook.close()
