"""Import runs (导入批次) with their progress and the problems found, row by row."""

from django.db import models

from insurdesk.org.models import User


class RunStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "进行中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


class ImportRun(models.Model):
    """One import of one file; progress is committed with each batch so a killed run resumes."""

    file_name = models.CharField("文件名", max_length=200)
    file_path = models.CharField("存储路径", max_length=500)
    file_hash = models.CharField("文件摘要", max_length=64, db_index=True)
    file_size = models.BigIntegerField("文件大小", default=0)
    dry_run = models.BooleanField("仅校验", default=False)
    template = models.CharField("模板", max_length=20, blank=True)
    status = models.CharField("状态", max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    message = models.TextField("说明", blank=True)
    columns = models.JSONField("列", default=dict, blank=True)

    total_rows = models.PositiveIntegerField("总行数", default=0)
    # Every data row with a sheet row number up to `rows_done` is committed (written, refused or counted).
    rows_done = models.PositiveIntegerField("已处理至行", default=0)
    processed = models.PositiveIntegerField("已处理行数", default=0)
    created = models.PositiveIntegerField("新建", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    unchanged = models.PositiveIntegerField("未变化", default=0)
    merged = models.PositiveIntegerField("合并", default=0)
    refused = models.PositiveIntegerField("拒绝", default=0)
    warnings = models.PositiveIntegerField("提示", default=0)
    # Problems past INSURDESK_IMPORT_MAX_ISSUES: counted here, not stored one by one.
    issues_omitted = models.PositiveIntegerField("未逐条记录的问题", default=0)
    # The archive table's other parts: "policy.created", "claim.unchanged" … -> count.
    parts = models.JSONField("保单/缴费/理赔/沟通记录计数", default=dict, blank=True)

    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="发起人"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近进展", null=True, blank=True)
    # host:pid of the process working on the run; a dead pid on this host lets a re-run take over.
    worker = models.CharField(max_length=100, blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == RunStatus.DONE:
            return 100
        return min(99, round(100 * self.processed / self.total_rows)) if self.total_rows else 0


class IssueLevel(models.TextChoices):
    ERROR = "error", "拒绝"
    WARNING = "warning", "提示"


class ImportIssue(models.Model):
    """A refused value or a notice: row 0 is about the file, row 1 (usually) about its header."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField("行号")
    column = models.CharField("列", max_length=100, blank=True)
    value = models.CharField("值（已脱敏）", max_length=200, blank=True)
    code = models.CharField("规则", max_length=40)
    message = models.CharField("说明", max_length=500)
    level = models.CharField("级别", max_length=8, choices=IssueLevel.choices, default=IssueLevel.ERROR)

    class Meta:
        verbose_name = "导入问题"
        verbose_name_plural = "导入问题"
        indexes = [models.Index(fields=["run", "row"])]

    def __str__(self) -> str:
        return f"{self.row} {self.column} {self.code}"
