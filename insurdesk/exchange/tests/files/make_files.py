#!/usr/bin/env python
# ruff: noqa: E501 - tables of Chinese test data read best one row per line
"""Write the real test files of this folder (run from the repository root; the outputs are committed).

    .venv/bin/python insurdesk/exchange/tests/files/make_files.py

The .xlsx files are written by the programs offices use: LibreOffice (soffice --convert-to from a
csv) and openpyxl. Identity numbers are valid (check digits computed) unless a file is about
damage. tests expect the contents described in EXPECTED below; change both together.
"""

from __future__ import annotations

import csv
import datetime
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))

from insurdesk.identity.testing import make_resident_id, make_uscc  # noqa: E402

ARCHIVE = ["客户姓名", "身份证号码", "联系方式", "地址", "保单号", "保险产品名称", "保险金额", "保险起始日期",
           "保险到期日期", "缴费方式", "缴费金额", "缴费日期", "缴费状态", "理赔申请日期", "理赔金额", "理赔状态",
           "沟通日期", "沟通方式", "沟通内容", "后续跟进"]  # fmt: skip


def rid(y, m, d, seq, gender="M", region="110105"):
    return make_resident_id(datetime.date(y, m, d), gender, region=region, seq=seq)


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


ZHANG = rid(1980, 1, 1, 123)
LI = rid(1985, 6, 15, 246, "F", "310104")
WANG_15 = "440305" + "750203" + "331"  # a 15-digit legacy number (born 1975-02-03, male)
ZHAO_X = next(n for s in range(101, 999, 2) if (n := rid(1990, 12, 31, s)).endswith("X"))

ARCHIVE_ROWS = [
    # the seed's example row, with a real identity number
    ["张三", ZHANG, "13800000000", "北京市朝阳区", "0011223344", "人寿险", "1000000", "2023-01-01", "2024-01-01",
     "年缴", "10000", "2023-01-01", "已缴费", "2023-06-01", "50000", "待审核", "2023-05-01", "电话", "询问理赔进度",
     "是"],
    # the same customer's second policy: merges into one archive
    ["张三", ZHANG, "138-0000-0000", "北京市朝阳区", "0011223345", "健康险", "50万", "2023/3/1", "2024年2月29日",
     "年交", "1,200元", "2023年3月1日", "已缴费", "", "", "", "", "", "", ""],
    ["李 四", fullwidth(LI), "+86 139 1234 5678", "上海市黄浦区中山东一路1号", "0011223346", "人寿险", "￥200,000",
     "2022.7.1", "2042.6.30", "按年缴费", "5000", "2022-07-01", "已缴费", "", "", "", "2023-08-08", "面谈",
     "介绍新产品", "否"],
    ["王五", WANG_15, "021-62345678", "广东省深圳市南山区", "0011223347", "意外险", "10万元", "20230101", "20231231",
     "趸缴", "300", "20230101", "已缴费", "", "", "", "", "", "", ""],
    ["赵六", ZHAO_X.lower(), "13912345678 / zhao@example.com", "北京市海淀区", "0011223348", "人寿险", "1000000",
     "2023-01-01", "2024-01-01", "月缴", "900", "2023-01-01", "未缴费", "", "", "", "", "", "", ""],
]  # fmt: skip

INDIVIDUAL_HEADERS = ["手机号码", "姓名", "证件号码", "性别", "出生日期", "居住地址", "职业", "年收入", "婚姻状况",
                      "学历", "备注（选填）"]  # fmt: skip
INDIVIDUALS = [
    ["13700001111", "陈一", rid(1970, 3, 4, 111), "男", "1970-03-04", "广州市天河区", "教师", "12万", "已婚", "本科", ""],
    ["13700002222", "林二", rid(1992, 11, 5, 222, "F"), "女", "1992年11月5日", "杭州市西湖区", "医生", "300,000", "未婚",
     "硕士", "转介绍"],
    ["137 0000 3333", "周三", rid(1988, 8, 8, 333), "", "", "成都市武侯区", "", "", "", "", ""],
]  # fmt: skip

CORPORATE_HEADERS = ["单位名称", "统一社会信用代码", "法定代表人", "法定代表人证件号码", "注册资本（万元）", "企业性质",
                     "经办人", "经办人手机", "员工总数", "一般纳税人"]  # fmt: skip


def corporates():
    import random

    rng = random.Random(4)
    return [
        ["深圳市前海科技有限公司", make_uscc(rng=rng), "李强", rid(1975, 5, 6, 555), "500", "民营企业", "王经办",
         "13600001111", "120", "是"],
        ["北京海岸贸易有限公司", make_uscc(rng=rng), "张伟", rid(1968, 1, 2, 777), "1000万", "国有企业", "", "", "35",
         "否"],
    ]  # fmt: skip


DAMAGED_HEADERS = [
    "客户姓名",
    "身份证号码",
    "手机",
    "出生日期",
    "性别",
    "年收入",
    "电子邮箱",
    "所属机构代码",
    "星座",
]
DAMAGED = [
    ["好人", rid(1981, 2, 3, 101), "13500000001", "1981-02-03", "男", "10万", "good@example.com", "", "白羊"],
    ["科学计数", "1.10105E+17", "13500000002", "", "", "", "", "", ""],
    ["截断", "110105198001011000", "13500000003", "", "", "", "", "", ""],
    ["带小数", "110105198001011234.0", "13500000004", "", "", "", "", "", ""],
    ["脱敏", "110105********1234", "13500000005", "", "", "", "", "", ""],
    ["校验位错", rid(1982, 3, 4, 103)[:17] + "0" if not rid(1982, 3, 4, 103).endswith("0") else
     rid(1982, 3, 4, 103)[:17] + "1", "13500000006", "", "", "", "", "", ""],
    ["出生日期不存在", "110105198002301234", "13500000007", "", "", "", "", "", ""],
    ["手机错", rid(1983, 4, 5, 105), "1350000", "", "", "", "", "", ""],
    ["日期错", rid(1984, 5, 6, 107), "13500000009", "2023/13/45", "", "", "", "", ""],
    ["两位年份", rid(1985, 6, 7, 109), "13500000010", "85/6/7", "", "", "", "", ""],
    ["金额错", rid(1986, 7, 8, 111), "13500000011", "", "", "一百万", "", "", ""],
    ["负金额", rid(1987, 8, 9, 113), "13500000012", "", "", "-5000", "", "", ""],
    ["性别错", rid(1988, 9, 10, 115), "13500000013", "", "未知", "", "", "", ""],
    ["性别不符", rid(1989, 10, 11, 117), "13500000014", "", "女", "", "", "", ""],
    ["生日不符", rid(1990, 11, 12, 119), "13500000015", "1990-11-13", "", "", "", "", ""],
    ["邮箱错", rid(1991, 12, 13, 121), "13500000016", "", "", "", "not-an-email", "", ""],
    ["机构错", rid(1992, 1, 14, 123), "13500000017", "", "", "", "", "NOPE", ""],
    ["", rid(1993, 2, 15, 125), "13500000018", "", "", "", "", "", ""],
    ["=HYPERLINK(\"http://evil\")", rid(1994, 3, 16, 127), "13500000019", "", "", "", "", "", ""],
]  # fmt: skip


def write(path: Path, header, rows, encoding: str) -> None:
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    print("wrote", path.name)


def libreoffice(csv_path: Path, out: Path, column_types: str = "") -> None:
    binary = shutil.which("soffice")
    if binary is None:
        print("soffice missing: skipped", out.name)
        return
    with tempfile.TemporaryDirectory() as tmp:
        options = "CSV:44,34,76,1" + (f",{column_types}" if column_types else "")
        subprocess.run([binary, f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                        f"--infilter={options}", "--convert-to", "xlsx", "--outdir", tmp, str(csv_path)],
                       check=True, capture_output=True, timeout=300)  # fmt: skip
        shutil.move(Path(tmp) / (csv_path.stem + ".xlsx"), out)
    print("wrote", out.name, "(LibreOffice)")


def openpyxl_file(path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "客户档案"
    ws.append(["保险客户档案管理表（2023年）"])  # a title row above the header, as offices do
    ws.append([])
    ws.append(ARCHIVE)
    for row in ARCHIVE_ROWS:
        cells = list(row)
        cells[1] = row[1]  # identity numbers as text
        cells[6] = 1000000 if row[6] == "1000000" else row[6]  # a number cell
        cells[7] = datetime.date(2023, 1, 1) if row[7] == "2023-01-01" else row[7]  # a date cell
        cells[10] = 10000.0 if row[10] == "10000" else row[10]
        ws.append(cells)
    for r in range(4, 4 + len(ARCHIVE_ROWS)):
        ws.cell(row=r, column=2).number_format = "@"
    wb.save(path)
    print("wrote", path.name, "(openpyxl)")


def openpyxl_numeric_ids(path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "手机"])
    ws.append(["数字身份证", int(rid(1980, 1, 1, 301)), 13800000001])  # Excel keeps 15 digits: damaged
    ws.append(["文本身份证", rid(1980, 1, 1, 303), "13800000002"])
    wb.save(path)
    print("wrote", path.name, "(openpyxl, identity numbers stored as numbers)")


def main() -> None:
    write(HERE / "archive_gb18030.csv", ARCHIVE, ARCHIVE_ROWS, "gb18030")
    write(HERE / "archive_utf8.csv", ARCHIVE, ARCHIVE_ROWS, "utf-8")
    write(HERE / "individuals_utf8_bom.csv", INDIVIDUAL_HEADERS, INDIVIDUALS, "utf-8-sig")
    write(HERE / "corporates_gb18030.csv", CORPORATE_HEADERS, corporates(), "gb18030")
    write(HERE / "damaged_utf8.csv", DAMAGED_HEADERS, DAMAGED, "utf-8")
    openpyxl_file(HERE / "archive_openpyxl.xlsx")
    openpyxl_numeric_ids(HERE / "numeric_ids_openpyxl.xlsx")
    # LibreOffice: identity, phone and policy-number columns typed as text (2), others detected
    libreoffice(HERE / "archive_utf8.csv", HERE / "archive_libreoffice.xlsx", "2/2/3/2/5/2")
    # LibreOffice with every column detected: 18-digit identity numbers become numbers — damaged
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "archive_numbers.csv"
        shutil.copy(HERE / "archive_utf8.csv", copy)
        libreoffice(copy, HERE / "archive_numbers_libreoffice.xlsx")


if __name__ == "__main__":
    main()
