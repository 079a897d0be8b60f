"""The customer archive (客户档案): individuals and companies, their AML data and relations.

One wide table for both kinds keeps the hot lookups (identity, mobile, name, archive number) on one
set of indexes; kind-specific columns are blank for the other kind.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from simple_history.models import HistoricalRecords

from insurdesk.common.fields import EncryptedTextField
from insurdesk.org.models import OrgUnit, User


# Choice labels are marked with gettext_noop, not gettext_lazy: they stay Chinese data for the API,
# exports and the importer's label matching, and pages translate them where they show them.
class Kind(models.TextChoices):
    INDIVIDUAL = "individual", gettext_noop("个人")
    CORPORATE = "corporate", gettext_noop("单位")


class Gender(models.TextChoices):
    MALE = "M", gettext_noop("男")
    FEMALE = "F", gettext_noop("女")


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", gettext_noop("居民身份证")
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit", gettext_noop("港澳台居民居住证")
    PASSPORT = "passport", gettext_noop("护照")
    HK_MACAO_PERMIT = "hk_macao_permit", gettext_noop("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", gettext_noop("台湾居民来往大陆通行证")
    FOREIGN_PERMANENT_ID = "foreign_permanent_id", gettext_noop("外国人永久居留身份证")
    MILITARY_ID = "military_id", gettext_noop("军官证")
    OTHER = "other", gettext_noop("其他")
    USCC = "uscc", gettext_noop("统一社会信用代码")


class MaritalStatus(models.TextChoices):
    SINGLE = "single", gettext_noop("未婚")
    MARRIED = "married", gettext_noop("已婚")
    DIVORCED = "divorced", gettext_noop("离异")
    WIDOWED = "widowed", gettext_noop("丧偶")


class Education(models.TextChoices):
    PRIMARY = "primary", gettext_noop("小学及以下")
    SECONDARY = "secondary", gettext_noop("初中")
    HIGH = "high", gettext_noop("高中/中专")
    COLLEGE = "college", gettext_noop("大专")
    BACHELOR = "bachelor", gettext_noop("本科")
    MASTER = "master", gettext_noop("硕士")
    DOCTOR = "doctor", gettext_noop("博士")


class HealthStatus(models.TextChoices):
    GOOD = "good", gettext_noop("良好")
    FAIR = "fair", gettext_noop("一般")
    CONDITION = "condition", gettext_noop("有既往症")


class Channel(models.TextChoices):
    DIRECT = "direct", gettext_noop("直销")
    CROSS_SELL = "cross_sell", gettext_noop("综拓")
    INTERMEDIARY = "intermediary", gettext_noop("中介")
    REFERRAL = "referral", gettext_noop("转介绍")
    WALK_IN = "walk_in", gettext_noop("柜面")
    ONLINE = "online", gettext_noop("网络")


class RiskLevel(models.TextChoices):
    LOW = "low", gettext_noop("低")
    MEDIUM = "medium", gettext_noop("中")
    HIGH = "high", gettext_noop("高")


class CompanyNature(models.TextChoices):
    STATE = "state", gettext_noop("国有企业")
    COLLECTIVE = "collective", gettext_noop("集体企业")
    PRIVATE = "private", gettext_noop("民营企业")
    FOREIGN = "foreign", gettext_noop("外资企业")
    JOINT = "joint", gettext_noop("合资企业")
    PUBLIC_INSTITUTION = "public_institution", gettext_noop("事业单位")
    GOVERNMENT = "government", gettext_noop("机关")
    SOCIAL = "social", gettext_noop("社会团体")
    INDIVIDUAL_BUSINESS = "individual_business", gettext_noop("个体工商户")
    OTHER = "other", gettext_noop("其他")


class Customer(models.Model):
    archive_no = models.CharField(_("客户号"), max_length=20, unique=True)
    kind = models.CharField(_("客户类型"), max_length=12, choices=Kind.choices, db_index=True)
    name = models.CharField(_("名称"), max_length=200, db_index=True)

    id_type = models.CharField(_("证件类型"), max_length=24, choices=IdType.choices)
    id_number = EncryptedTextField(_("证件号码"), null=True, blank=True)
    id_hash = models.CharField(max_length=32, null=True, blank=True, editable=False)
    id_valid_from = models.DateField(_("证件有效期起"), null=True, blank=True)
    id_valid_to = models.DateField(_("证件有效期止"), null=True, blank=True, db_index=True)
    id_long_term = models.BooleanField(_("长期有效"), default=False)
    id_override_reason = models.CharField(_("校验例外原因"), max_length=200, blank=True)

    # individual (个人) — the "eight factors" used by profiling are first-class columns
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    nationality = models.CharField(_("国籍"), max_length=3, default="CHN", blank=True)
    occupation = models.CharField(_("职业"), max_length=100, blank=True)
    occupation_code = models.CharField(_("职业代码"), max_length=20, blank=True)
    occupation_class = models.PositiveSmallIntegerField(_("职业类别"), null=True, blank=True)
    employer = models.CharField(_("工作单位"), max_length=200, blank=True)
    marital_status = models.CharField(_("婚姻状况"), max_length=10, choices=MaritalStatus.choices, blank=True)
    annual_income = models.DecimalField(
        _("年收入（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    education = models.CharField(_("学历"), max_length=10, choices=Education.choices, blank=True)
    health_status = models.CharField(_("健康状况"), max_length=10, choices=HealthStatus.choices, blank=True)
    health_notes = EncryptedTextField(_("健康告知"), null=True, blank=True)
    has_social_insurance = models.BooleanField(_("有社会保险"), null=True, blank=True)

    # contacts (both kinds)
    mobile = EncryptedTextField(_("手机"), null=True, blank=True)
    mobile_hash = models.CharField(max_length=32, null=True, blank=True, db_index=True, editable=False)
    landline = EncryptedTextField(_("固定电话"), null=True, blank=True)
    email = EncryptedTextField(_("电子邮箱"), null=True, blank=True)
    residence_address = EncryptedTextField(_("居住地址"), null=True, blank=True)
    mailing_address = EncryptedTextField(_("通讯地址"), null=True, blank=True)
    postal_code = models.CharField(_("邮政编码"), max_length=6, blank=True)

    # corporate (单位)
    nature = models.CharField(_("企业性质"), max_length=24, choices=CompanyNature.choices, blank=True)
    industry = models.CharField(_("行业类别"), max_length=100, blank=True)
    industry_code = models.CharField(_("行业代码"), max_length=10, blank=True)
    registered_capital = models.DecimalField(
        _("注册资本（万元）"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    business_scope = models.TextField(_("经营范围"), blank=True)
    registered_address = models.CharField(_("注册地址"), max_length=300, blank=True)
    operating_address = models.CharField(_("经营地址"), max_length=300, blank=True)
    licence_valid_to = models.DateField(_("营业执照有效期止"), null=True, blank=True)
    legal_rep_name = models.CharField(_("法定代表人"), max_length=100, blank=True)
    legal_rep_id_type = models.CharField(
        _("法定代表人证件类型"), max_length=24, choices=IdType.choices, blank=True
    )
    legal_rep_id_number = EncryptedTextField(_("法定代表人证件号码"), null=True, blank=True)
    legal_rep_id_valid_to = models.DateField(_("法定代表人证件有效期止"), null=True, blank=True)
    controlling_shareholder = models.CharField(_("控股股东/实际控制人"), max_length=200, blank=True)
    contact_name = models.CharField(_("经办人"), max_length=100, blank=True)
    contact_id_type = models.CharField(_("经办人证件类型"), max_length=24, choices=IdType.choices, blank=True)
    contact_id_number = EncryptedTextField(_("经办人证件号码"), null=True, blank=True)
    contact_mobile = EncryptedTextField(_("经办人手机"), null=True, blank=True)
    is_general_taxpayer = models.BooleanField(_("一般纳税人"), default=False)
    tax_number = models.CharField(_("纳税人识别号"), max_length=20, blank=True)
    tax_bank = models.CharField(_("开户银行"), max_length=100, blank=True)
    tax_account = EncryptedTextField(_("银行账号"), null=True, blank=True)
    tax_address_phone = models.CharField(_("开票地址电话"), max_length=200, blank=True)
    headcount = models.PositiveIntegerField(_("员工总数"), null=True, blank=True)
    insured_headcount = models.PositiveIntegerField(_("参加社保人数"), null=True, blank=True)
    income_per_head = models.DecimalField(
        _("人均年收入（元）"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    turnover_rate = models.DecimalField(
        _("人员流动率（%）"), max_digits=5, decimal_places=2, null=True, blank=True
    )

    # AML maintenance (反洗钱维护信息)
    aml_risk = models.CharField(
        _("反洗钱风险等级"), max_length=8, choices=RiskLevel.choices, default=RiskLevel.LOW, db_index=True
    )
    pep = models.BooleanField(_("政治公众人物"), default=False)
    source_of_funds = models.CharField(_("资金来源"), max_length=200, blank=True)
    aml_last_review = models.DateField(_("上次审核日期"), null=True, blank=True)
    aml_next_review = models.DateField(_("下次审核日期"), null=True, blank=True)

    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="customers", verbose_name=_("所属机构")
    )
    agent = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("服务业务员"),
    )
    source_channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    completeness = models.PositiveSmallIntegerField(_("档案完整率"), default=0, db_index=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(_("建档时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    # History is read by archive (`id`) in date order and nothing else, so the lookup indexes the
    # copied fields would bring are not made: on a million-row import the random-order ones (name,
    # mobile hash) were a large part of what SQLite writes as the tables outgrow its page cache.
    history = HistoricalRecords(
        excluded_fields=["updated_at", "completeness", "version"],
        no_db_index=[
            "archive_no",
            "kind",
            "name",
            "id_valid_to",
            "mobile_hash",
            "aml_risk",
            "unit",
            "agent",
            "created_by",
        ],
    )

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        constraints = [
            models.UniqueConstraint(
                fields=["id_hash"],
                condition=Q(id_hash__isnull=False),
                name="customer_one_archive_per_identity",
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "name"]),
            models.Index(fields=["agent", "name"]),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.archive_no}）"

    @property
    def is_individual(self) -> bool:
        return self.kind == Kind.INDIVIDUAL


class Relation(models.TextChoices):
    SPOUSE = "spouse", gettext_noop("配偶")
    CHILD = "child", gettext_noop("子女")
    PARENT = "parent", gettext_noop("父母")
    SIBLING = "sibling", gettext_noop("兄弟姐妹")
    GRANDPARENT = "grandparent", gettext_noop("祖父母/外祖父母")
    GRANDCHILD = "grandchild", gettext_noop("孙子女/外孙子女")
    EMPLOYER = "employer", gettext_noop("雇主")
    EMPLOYEE = "employee", gettext_noop("雇员")
    OTHER = "other", gettext_noop("其他")


# Each relation seen from the other side, so one link shows on both archives.
RELATION_INVERSE = {
    "spouse": "spouse",
    "child": "parent",
    "parent": "child",
    "sibling": "sibling",
    "grandparent": "grandchild",
    "grandchild": "grandparent",
    "employer": "employee",
    "employee": "employer",
    "other": "other",
}


class CustomerRelation(models.Model):
    """`to_customer` is the `relation` of `from_customer` (e.g. to is the spouse of from)."""

    from_customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="relations")
    to_customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    relation = models.CharField(_("关系"), max_length=12, choices=Relation.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("关联客户")
        constraints = [models.UniqueConstraint(fields=["from_customer", "to_customer"], name="relation_once")]

    def __str__(self) -> str:
        return f"{self.from_customer_id} → {self.to_customer_id}: {self.relation}"


class OwnershipKind(models.TextChoices):
    EQUITY = "equity", gettext_noop("持股≥25%")
    INCOME_VOTE = "income_vote", gettext_noop("收益权/表决权≥25%")
    CONTROL = "control", gettext_noop("实际控制")
    MANAGER = "manager", gettext_noop("高级管理人员")


class BeneficialOwner(models.Model):
    """受益所有人 (PBOC/SAMR 2024 No.3): who ultimately owns or controls a corporate customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="beneficial_owners")
    name = models.CharField(_("姓名"), max_length=100)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    nationality = models.CharField(_("国籍"), max_length=3, default="CHN", blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    address = EncryptedTextField(_("地址"), null=True, blank=True)
    phone = EncryptedTextField(_("联系方式"), null=True, blank=True)
    id_type = models.CharField(
        _("证件类型"), max_length=24, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_number = EncryptedTextField(_("证件号码"), null=True, blank=True)
    id_valid_to = models.DateField(_("证件有效期止"), null=True, blank=True)
    ownership_kind = models.CharField(_("受益所有权类型"), max_length=12, choices=OwnershipKind.choices)
    percentage = models.DecimalField(
        _("持股/收益比例（%）"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    control_description = models.CharField(_("控制方式"), max_length=200, blank=True)
    since = models.DateField(_("起始日期"), null=True, blank=True)
    until = models.DateField(_("终止日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("受益所有人")

    def __str__(self) -> str:
        return self.name


class CustomerNameKey(models.Model):
    """One pinyin reading of a customer's name (full or initials), for search by pinyin; see pinyin.py."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="name_keys")
    key = models.CharField(max_length=60)

    class Meta:
        verbose_name = _("姓名拼音")
        verbose_name_plural = _("姓名拼音")
        indexes = [models.Index(fields=["key", "customer"], name="customer_name_key")]
        constraints = [models.UniqueConstraint(fields=["customer", "key"], name="customer_name_key_once")]

    def __str__(self) -> str:
        return self.key


class OtherInsurerPolicy(models.Model):
    """团险客户信息收集: a policy the company already holds with another insurer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="other_policies")
    insurer = models.CharField(_("承保公司"), max_length=100)
    policy_no = models.CharField(_("保单号"), max_length=50, blank=True)
    line = models.CharField(_("险种"), max_length=100, blank=True)
    effective_date = models.DateField(_("生效日期"), null=True, blank=True)
    sum_insured = models.DecimalField(_("保额（元）"), max_digits=16, decimal_places=2, null=True, blank=True)
    premium = models.DecimalField(_("保费（元）"), max_digits=14, decimal_places=2, null=True, blank=True)
    claims_paid = models.DecimalField(
        _("已赔付（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("他司保单")

    def __str__(self) -> str:
        return f"{self.insurer} {self.policy_no}"


class ArchiveSequence(models.Model):
    """Counter behind archive numbers; a block is reserved under a row lock so numbers never repeat."""

    name = models.CharField(max_length=20, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
