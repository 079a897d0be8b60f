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


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` of one API caller: the first answer, given again to a retry of the same body."""

    user_id = models.BigIntegerField("调用人ID")
    operation = models.CharField("接口", max_length=200)
    key = models.CharField("幂等键", max_length=100)
    body_sha256 = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField("状态码", null=True, blank=True)  # None: still running
    response = models.TextField("应答", blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "幂等键"
        verbose_name_plural = "幂等键"
        constraints = [
            models.UniqueConstraint(fields=["user_id", "operation", "key"], name="idempotency_key_once")
        ]

    def __str__(self):
        return f"{self.operation} {self.key}"


class UsedFormToken(models.Model):
    """A one-time form token spent by a submission: a second submission of the form finds it here."""

    nonce = models.CharField(max_length=32, unique=True)
    user_id = models.BigIntegerField("提交人ID")
    location = models.CharField("结果页", max_length=500, blank=True)  # "": still running
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "已提交表单"
        verbose_name_plural = "已提交表单"

    def __str__(self):
        return self.nonce
