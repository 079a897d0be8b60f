# ruff: noqa: E501 - tables of Chinese test data read best one row per line
"""Helpers of the exchange tests: files in every encoding and writer, the task queue run synchronously."""

from __future__ import annotations

import csv
import datetime
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from insurdesk.identity.testing import make_resident_id

FILES = Path(__file__).parent / "files"
ARCHIVE_HEADERS = ["客户姓名", "身份证号码", "联系方式", "地址", "保单号", "保险产品名称", "保险金额", "保险起始日期",
                   "保险到期日期", "缴费方式", "缴费金额", "缴费日期", "缴费状态", "理赔申请日期", "理赔金额",
                   "理赔状态", "沟通日期", "沟通方式", "沟通内容", "后续跟进"]  # fmt: skip


def person_id(n: int, gender: str = "M", year: int = 1980) -> str:
    """Return the n-th valid resident ID of a birth year, never ending in 000 (see normalize.looks_truncated)."""
    day = datetime.date(year, 1, 1) + datetime.timedelta(days=n // 400)
    seq = (n % 400) * 2 + 1 + (gender == "F") + 100
    if seq % 100 == 0:
        seq += 2
    return make_resident_id(day, gender, seq=seq)


def write_csv(path: Path, header: list, rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


def write_openpyxl(path: Path, header: list, rows: list[list], *, text_columns: tuple[int, ...] = ()) -> Path:
    """Write an xlsx the way a spreadsheet user does: numbers as numbers, dates as dates, text as text."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "客户"
    ws.append(header)
    for row in rows:
        ws.append(row)
    for col in text_columns:
        for cell in ws.iter_cols(min_col=col + 1, max_col=col + 1, min_row=2):
            for c in cell:
                c.number_format = "@"
    wb.save(path)
    return path


def soffice_or_skip() -> str:
    """Return the LibreOffice binary, or skip (fail on CI, where `make test` installs it)."""
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        reason = (
            "LibreOffice (soffice) is not installed: apt-get install -y libreoffice-calc-nogui "
            "to test files written by LibreOffice"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


def libreoffice_xlsx(csv_path: Path, out_dir: Path) -> Path:
    """Convert a UTF-8 csv to xlsx with LibreOffice, typing columns as LibreOffice would on open."""
    binary = soffice_or_skip()
    profile = out_dir / "lo-profile"
    # Filter options: comma, UTF-8 (76), first line 1; LibreOffice detects numbers and dates itself.
    subprocess.run(
        [binary, f"-env:UserInstallation=file://{profile}", "--headless", "--infilter=CSV:44,34,76,1",
         "--convert-to", "xlsx", "--outdir", str(out_dir), str(csv_path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    result = out_dir / (csv_path.stem + ".xlsx")
    assert result.exists(), f"LibreOffice wrote no {result}"
    return result


@pytest.fixture
def run_tasks():
    """Run every queued background job now, as `insurdesk db_worker` would (DB backend, in this process)."""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    def run() -> int:
        worker = Worker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        )
        count = 0
        while (result := DBTaskResult.objects.ready().first()) is not None:
            result.claim(worker.worker_id)
            worker.run_task(result)
            count += 1
        return count

    return run


# The products the archive files name (an office's own short names): an unknown one is refused.
ARCHIVE_PRODUCTS = [
    {"code": "L900", "name": "人寿险", "line": "life", "coverage_terms": ["1y", "20y"],
     "payment_modes": ["annual", "monthly", "single"], "payment_terms": ["single", "1y", "20y"]},
    {"code": "H900", "name": "健康险", "line": "health", "coverage_terms": ["1y"],
     "payment_modes": ["annual"], "payment_terms": ["1y"]},
    {"code": "A900", "name": "意外险", "line": "accident", "coverage_terms": ["1y"],
     "payment_modes": ["single"], "payment_terms": ["single"]},
]  # fmt: skip


@pytest.fixture
def archive_products(db):
    """The products the archive files name."""
    from insurdesk.products.services import product_create

    return [product_create(actor=None, data=dict(spec)) for spec in ARCHIVE_PRODUCTS]


@pytest.fixture
def root_unit(db, archive_products):
    """The root unit (and the products the archive files name)."""
    from insurdesk.org.services import unit_create

    return unit_create(actor=None, code="HQ", name="总公司")
