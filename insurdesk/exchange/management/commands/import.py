"""insurdesk import PATH [--dry-run] [--report REPORT]

Import a customer list (individual or corporate template) or the archive table from .xlsx or .csv.
Exit status: 0 when every row was imported or already present, 1 when any row was refused, 2 when
the file cannot be read (or the arguments cannot be used).
"""

from __future__ import annotations

import os
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from insurdesk.common.errors import NotAllowed
from insurdesk.exchange.models import RunStatus
from insurdesk.exchange.pipeline import BATCH_SIZE, import_file
from insurdesk.exchange.report import FORMATS, PART_LABELS, report_format, write_report
from insurdesk.exchange.runs import ImportBusy

EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE = 0, 1, 2
SHOWN_PROBLEMS = 20


class ProgressBar:
    """A one-line bar with rows/s on a terminal; a plain line every few seconds otherwise (logs, CI)."""

    def __init__(self, stream, *, label: str = "导入"):
        self.stream = stream
        self.label = label
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self.base: int | None = None
        self.last_print = 0.0

    def __call__(self, run) -> None:
        now = time.monotonic()
        if self.base is None:
            # Rows committed before this process started (a resumed run) do not count towards its speed.
            self.started, self.base, self.last_print = now, run.processed, now
        finished = run.status == RunStatus.DONE
        if not finished and now - self.last_print < (0.2 if self.tty else 5.0):
            return
        self.last_print = now
        done, total = run.processed, max(run.total_rows, run.processed)
        elapsed = max(now - self.started, 1e-6)
        rate = (done - self.base) / elapsed
        width = 30
        filled = int(width * done / total) if total else width
        eta = (total - done) / rate if rate > 0 else 0
        line = (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:>9,}/{total:,} rows  "
            f"{rate:>8,.0f} rows/s  ETA {eta:>5.0f}s"
        )
        if self.tty:
            self.stream.write("\r" + line + ("\n" if finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "批量导入客户名单或客户档案管理表（.xlsx/.csv）。"
        "退出码：0 全部导入或已存在，1 有行被拒绝，2 文件无法读取。"
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="要导入的 .xlsx 或 .csv 文件")
        parser.add_argument("--dry-run", action="store_true", help="只校验并报告，不导入任何数据")
        parser.add_argument("--report", metavar="REPORT", help="把问题清单写入此文件（.xlsx 或 .csv）")
        parser.add_argument(
            "--user", metavar="USERNAME", help="以此用户的身份和权限导入（默认：系统，档案归入根机构）"
        )
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help=f"每批提交的行数（默认 {BATCH_SIZE}）"
        )

    def handle(self, *args, path, dry_run, report, user, batch_size, **options):
        if report and report_format(report) is None:
            raise CommandError(
                f"--report 的扩展名应为 {' 或 '.join('.' + f for f in FORMATS)}：{report}",
                returncode=EXIT_UNREADABLE,
            )
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise CommandError(f"无法读取文件：{path} 不存在或不可读", returncode=EXIT_UNREADABLE)
        actor = None
        if user:
            from insurdesk.org.models import User

            actor = User.objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"用户不存在或已停用：{user}", returncode=EXIT_UNREADABLE)
        try:
            run = import_file(
                actor=actor,
                path=path,
                dry_run=dry_run,
                batch_size=batch_size,
                progress=ProgressBar(self.stderr._out),
            )
        except ImportBusy as exc:
            raise CommandError(str(exc), returncode=EXIT_REFUSED) from None
        except NotAllowed as exc:
            raise CommandError(exc.errors[0].message, returncode=EXIT_UNREADABLE) from None
        if report:
            write_report(run, report)
        code = self._summarise(run, report)
        if code:
            sys.exit(code)

    def _summarise(self, run, report: str | None) -> int:
        err = self.stderr
        if run.status == RunStatus.FAILED:
            err.write(f"无法读取文件：{run.message}")
            return EXIT_UNREADABLE
        verb = "校验完成（--dry-run，未导入任何数据）" if run.dry_run else "导入完成"
        self.stdout.write(
            f"{verb}：{run.processed} 行；新建 {run.created}，更新 {run.updated}，未变化 {run.unchanged}，"
            f"合并 {run.merged}，拒绝 {run.refused}，提示 {run.warnings}（导入批次 #{run.pk}）"
        )
        if run.parts:
            self.stdout.write(parts_summary(run.parts))
        problems = run.issues.order_by("row", "id")
        for issue in problems[:SHOWN_PROBLEMS]:
            err.write(
                f"第 {issue.row} 行 [{issue.column}] {issue.value} {issue.code}: {issue.message}"
                f"（{issue.get_level_display()}）"
            )
        count = problems.count()
        if count > SHOWN_PROBLEMS:
            err.write(
                f"……另有 {count - SHOWN_PROBLEMS} 条"
                + ("，见报告 " + report if report else "，用 --report 导出全部")
            )
        elif report:
            self.stdout.write(f"报告：{report}")
        return EXIT_REFUSED if run.refused else EXIT_OK


def parts_summary(parts: dict) -> str:
    """Return the counts of the archive table's other parts: 保单 新建 1，更新 0，未变化 2；缴费 …"""
    out = []
    for key, label in PART_LABELS:
        n = [parts.get(f"{key}.{k}", 0) for k in ("created", "updated", "unchanged", "refused")]
        if any(n):
            out.append(f"{label} 新建 {n[0]}，更新 {n[1]}，未变化 {n[2]}，拒绝 {n[3]}")
    return "；".join(out)
