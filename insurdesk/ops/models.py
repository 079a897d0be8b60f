from django.db import models


class WorkerHeartbeat(models.Model):
    """A job worker that is alive: it stamps `seen_at` every few seconds while it runs.

    A task left RUNNING by a worker whose stamp went stale (a killed process, a lost machine) is put
    back in the queue for another worker (insurdesk.ops.worker.requeue_orphans).
    """

    worker_id = models.CharField("工作进程", max_length=64, primary_key=True)
    host = models.CharField("主机", max_length=255)
    pid = models.PositiveIntegerField("进程号")
    started_at = models.DateTimeField("启动时间")
    seen_at = models.DateTimeField("最近心跳", db_index=True)

    class Meta:
        verbose_name = "工作进程心跳"
        verbose_name_plural = "工作进程心跳"

    def __str__(self):
        return f"{self.worker_id} @ {self.host}:{self.pid}"


class Lease(models.Model):
    """A named lock held by one process until `expires_at`, renewed while it works (the scheduler).

    A row lock on every database: taken in a transaction that reads the row FOR UPDATE (PostgreSQL) or
    under SQLite's write lock (BEGIN IMMEDIATE). A holder that dies stops renewing and the lease lapses.
    """

    name = models.CharField("名称", max_length=64, primary_key=True)
    holder = models.CharField("持有者", max_length=200, blank=True)
    expires_at = models.DateTimeField("到期时间", null=True, blank=True)

    class Meta:
        verbose_name = "租约锁"
        verbose_name_plural = "租约锁"

    def __str__(self):
        return f"{self.name}: {self.holder or '-'}"


class ScheduledRun(models.Model):
    """One run of a scheduled job (the daily duties, later the monthly reports): who, when, how it ended."""

    job = models.CharField("任务", max_length=40)
    period = models.CharField("周期", max_length=20)  # the business day or month the run was for
    holder = models.CharField("执行者", max_length=200)
    started_at = models.DateTimeField("开始时间")
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    ok = models.BooleanField("成功", null=True)
    message = models.TextField("说明", blank=True)

    class Meta:
        verbose_name = "定时任务记录"
        verbose_name_plural = "定时任务记录"
        indexes = [models.Index(fields=["job", "-started_at"], name="scheduledrun_job_started")]

    def __str__(self):
        return f"{self.job} {self.period}"
