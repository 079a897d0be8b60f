"""The product catalogue (险种): lines, riders, terms, payment options, limits and plan levels.

Terms are short codes read by `insurdesk.products.calculations`: coverage terms "30d", "6m", "1y",
"20y", "to70" (to age 70), "life" (终身); payment terms "single" (趸交), "10y", "to60".
"""

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Line(models.TextChoices):
    LIFE = "life", "寿险"
    HEALTH = "health", "健康险"
    ACCIDENT = "accident", "意外险"
    PROPERTY = "property", "财产险"
    AUTO = "auto", "车险"
    GROUP = "group", "团险"


class PaymentMode(models.TextChoices):
    SINGLE = "single", "趸交"
    ANNUAL = "annual", "年交"
    SEMIANNUAL = "semiannual", "半年交"
    QUARTERLY = "quarterly", "季交"
    MONTHLY = "monthly", "月交"


class Product(models.Model):
    code = models.CharField("险种代码", max_length=20, unique=True)
    name = models.CharField("险种名称", max_length=100)
    line = models.CharField("险类", max_length=10, choices=Line.choices, db_index=True)
    is_rider = models.BooleanField("附加险", default=False)
    attaches_to = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="riders", verbose_name="可附加的主险"
    )
    coverage_terms = models.JSONField("保险期间选项", default=list, blank=True)
    payment_modes = models.JSONField("缴费方式", default=list, blank=True)
    payment_terms = models.JSONField("缴费期间选项", default=list, blank=True)
    min_age = models.PositiveSmallIntegerField("最低投保年龄", default=0)
    max_age = models.PositiveSmallIntegerField("最高投保年龄", default=65)
    min_sum_insured = models.DecimalField(
        "最低保额（元）", max_digits=16, decimal_places=2, null=True, blank=True
    )
    max_sum_insured = models.DecimalField(
        "最高保额（元）", max_digits=16, decimal_places=2, null=True, blank=True
    )
    cooling_off_days = models.PositiveSmallIntegerField("犹豫期（天）", default=15)
    grace_days = models.PositiveSmallIntegerField("宽限期（天）", default=60)
    required_documents = models.JSONField("所需资料", default=list, blank=True)
    occupation_classes = models.JSONField("可承保职业类别", default=list, blank=True)
    death_cover = models.BooleanField("含身故责任", default=False)
    unit_linked = models.BooleanField("投资连结", default=False)
    is_group = models.BooleanField("团体险", default=False)
    active = models.BooleanField("在售", default=True, db_index=True)
    description = models.TextField("说明", blank=True)
    # Servicing (保全) tables: cash value (现金价值) at the end of each policy year per 1,000 of sum
    # insured, the share of it a policy loan may reach, the loan's yearly interest (also charged on
    # arrears at reinstatement), and the survival and maturity benefits (生存金/满期金) per 1,000.
    cash_values = models.JSONField("现金价值表（每千元保额，按保单年度）", default=list, blank=True)
    loan_share = models.DecimalField("可贷比例（%）", max_digits=5, decimal_places=2, default=0)
    loan_rate = models.DecimalField("贷款年利率（%）", max_digits=5, decimal_places=2, default=0)
    reinstatement_health = models.BooleanField("复效须重新健康告知", default=False)
    survival_benefit = models.DecimalField(
        "生存金（每千元保额，元）", max_digits=10, decimal_places=2, default=0
    )
    survival_interval = models.PositiveSmallIntegerField("生存金给付间隔（年）", default=0)
    maturity_benefit = models.DecimalField(
        "满期金（每千元保额，元）", max_digits=10, decimal_places=2, default=0
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "version"])

    class Meta:
        verbose_name = "险种"
        verbose_name_plural = "险种"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(max_age__gte=models.F("min_age")), name="product_age_order"),
            models.CheckConstraint(
                condition=Q(min_sum_insured__isnull=True)
                | Q(max_sum_insured__isnull=True)
                | Q(max_sum_insured__gte=models.F("min_sum_insured")),
                name="product_sum_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def kind_label(self) -> str:
        return "附加险" if self.is_rider else "主险"


class PlanLevel(models.Model):
    """等级明细: one plan of a group product with its sum insured and premium per member."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="plan_levels")
    code = models.CharField("等级代码", max_length=10)
    name = models.CharField("等级名称", max_length=100)
    sum_insured = models.DecimalField("每人保额（元）", max_digits=16, decimal_places=2)
    premium_per_member = models.DecimalField("每人保费（元）", max_digits=14, decimal_places=2)
    description = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        verbose_name = "等级明细"
        verbose_name_plural = "等级明细"
        ordering = ["product", "code"]
        constraints = [models.UniqueConstraint(fields=["product", "code"], name="plan_level_once")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
