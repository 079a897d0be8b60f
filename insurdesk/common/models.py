from django.db import models

from insurdesk.common import lookups  # noqa: F401  (registers `__any_of` on every field)


class DailyRun(models.Model):
    """One daily duty finished for one day (`insurdesk daily`): what makes a second run skip it."""

    day = models.DateField("业务日期")
    duty = models.CharField("任务", max_length=40)
    counts = models.JSONField("结果", default=dict)
    started_at = models.DateTimeField("开始时间")
    finished_at = models.DateTimeField("完成时间")

    class Meta:
        verbose_name = "每日任务记录"
        verbose_name_plural = "每日任务记录"
        constraints = [models.UniqueConstraint(fields=["day", "duty"], name="dailyrun_day_duty_once")]
        indexes = [models.Index(fields=["-day"], name="dailyrun_day_desc")]

    def __str__(self):
        return f"{self.day} {self.duty}"
