"""Forms for the archive pages: they parse and shape input; customer_create / customer_update decide."""

import re

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from insurdesk.common.countries import country_choices
from insurdesk.customers.models import (
    Channel,
    CompanyNature,
    Education,
    Gender,
    HealthStatus,
    IdType,
    Kind,
    MaritalStatus,
    OwnershipKind,
    Relation,
    RiskLevel,
)
from insurdesk.customers.selectors import MASKERS, shown
from insurdesk.org.models import Role, User
from insurdesk.org.policy import can
from insurdesk.org.selectors import unit_choices, viewer_unit_ids

BLANK = [("", "—")]


def translated(choices) -> list[tuple[str, str]]:
    """Return the choices with their labels translated when shown (models mark them gettext_noop)."""
    return [(value, _(label)) for value, label in choices]


def _occupation_class(n: int) -> str:
    return gettext("%d 类") % n


PERSON_ID_TYPES = [c for c in IdType.choices if c[0] != IdType.USCC]
DATE = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

# Values the masking rules cover (the declaration, customers.selectors.MASKERS, and the company code
# shown masked beside it in the form); a viewer without customer.see_sensitive never gets them in a form.
SENSITIVE = frozenset(MASKERS) | {"uscc"}
# Encrypted columns are NULL when empty, so "" from a form must become None or every save looks like a change.
NULLABLE = frozenset(
    {
        "id_number",
        "mobile",
        "landline",
        "email",
        "residence_address",
        "mailing_address",
        "health_notes",
        "legal_rep_id_number",
        "contact_id_number",
        "contact_mobile",
        "tax_account",
        "uscc",
        "address",
        "phone",
    }
)
AML = ("aml_risk", "pep", "source_of_funds", "aml_last_review", "aml_next_review")


def _text(label, max_length=200, *, required=False, **kw):
    return forms.CharField(label=label, max_length=max_length, required=required, **kw)


def _area(label, rows=2):
    return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": rows}))


def _date(label):
    return forms.DateField(label=label, required=False, **DATE)


def _money(label, max_digits=14):
    return forms.DecimalField(
        label=label, required=False, max_digits=max_digits, decimal_places=2, min_value=0
    )


def _choice(label, choices, *, required=False, initial=None):
    return forms.ChoiceField(
        label=label, choices=BLANK + translated(choices), required=required, initial=initial
    )


def _flag(label):
    return forms.BooleanField(label=label, required=False)


def agents_in_scope(viewer):
    """Return the agents the viewer may assign or filter by: its subtree's agents; an agent only itself."""
    qs = User.objects.filter(role=Role.AGENT, is_active=True).order_by("username")
    if viewer.effective_role == Role.AGENT and not viewer.is_superuser:
        return qs.filter(pk=viewer.pk)
    ids = viewer_unit_ids(viewer)
    return qs if ids is None else qs.filter(unit_id__in=ids)


def units_in_scope(viewer) -> list[tuple[int, str]]:
    ids = viewer_unit_ids(viewer)
    return [(pk, label) for pk, label in unit_choices() if ids is None or pk in ids]


class DomainErrorsMixin:
    """Put a service's FieldErrors on the matching form fields; the rest become non-field errors."""

    aliases: dict[str, str] = {}

    def add_domain_errors(self, errors) -> list:
        """Attach errors; return those that name a child row (beneficial_owners[i].x) for the caller."""
        rest = []
        for err in errors:
            if "[" in err.field:
                rest.append(err)
                continue
            name = self.aliases.get(err.field, err.field)
            visible = name in self.fields and not self.fields[name].widget.is_hidden
            self.add_error(name if visible else None, err.message)
        return rest


class CustomerForm(DomainErrorsMixin, forms.Form):
    """Fields common to both kinds; subclasses list theirs and the page sections (fieldsets)."""

    kind: str = ""
    aliases = {"agent_id": "agent"}
    fieldsets: list[tuple[str, tuple[str, ...]]] = []
    required_marks: tuple[str, ...] = ()

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    mobile = _text(_("手机"), 20, widget=forms.TextInput(attrs={"inputmode": "tel"}))
    landline = _text(_("固定电话"), 30)
    email = _text(_("电子邮箱"), 120)
    mailing_address = _text(_("通讯地址"), 300)
    postal_code = _text(_("邮政编码"), 10, widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    source_channel = _choice(_("来源渠道"), Channel.choices)
    agent = forms.TypedChoiceField(label=_("服务业务员"), required=False, coerce=int, empty_value=None)
    notes = _area(_("备注"))
    aml_risk = forms.ChoiceField(
        label=_("反洗钱风险等级"),
        choices=translated(RiskLevel.choices),
        initial=RiskLevel.LOW,
        required=False,
    )
    pep = _flag(_("政治公众人物"))
    source_of_funds = _text(_("资金来源"))
    aml_last_review = _date(_("上次审核日期"))
    aml_next_review = _date(_("下次审核日期"))

    def __init__(self, *args, viewer, customer=None, **kwargs):
        self.viewer = viewer
        self.customer = customer
        self.editing = customer is not None
        self.masked = self.editing and not can(viewer, "customer.see_sensitive")
        super().__init__(*args, **kwargs)
        if not self.editing:
            del self.fields["version"]
        keep_unlisted_country(self)
        if not can(viewer, "customer.change_aml"):
            for name in AML:
                del self.fields[name]
        if viewer.effective_role == Role.AGENT and not viewer.is_superuser:
            del self.fields["agent"]  # an agent's new customers are its own (customer_create)
        else:
            self.fields["agent"].choices = BLANK + [(u.pk, str(u)) for u in agents_in_scope(viewer)]
        for name in self.required_marks:
            self.fields[name].required = True
        if self.masked:
            # Values this role may not read are never sent to it: blank inputs showing the mask.
            for name in SENSITIVE & set(self.fields):
                field = self.fields[name]
                field.required = False
                current = self.initial.get(name)
                if current:
                    field.widget.attrs["placeholder"] = shown(
                        viewer, "id_number" if name == "uscc" else name, current
                    )
                    field.help_text = _("已隐藏，留空则保持不变")
                self.initial[name] = ""

    def sections(self):
        """Yield (title, bound fields) for the fieldsets that this viewer has fields in."""
        for title, names in self.fieldsets:
            bound = [self[n] for n in names if n in self.fields]
            if bound:
                yield title, bound

    def to_data(self) -> dict:
        """Return the cleaned input shaped for the service (model field names, None for empty secrets)."""
        data = {}
        for name, value in self.cleaned_data.items():
            if name == "version" or (name == "aml_risk" and not value):
                continue
            if name == "agent":
                if value is not None:
                    data["agent_id"] = value
                continue
            if self.masked and name in SENSITIVE and value in (None, ""):
                continue  # kept as stored
            if name in NULLABLE and value == "":
                value = None
            data[name] = value
        return data


class CountryField(forms.ChoiceField):
    """Nationality as a select of countries and regions by Chinese name; the GB/T 2659 code is stored.

    A code outside the list (an older archive's) stays valid and is offered as itself."""

    def __init__(self, label, **kwargs):
        super().__init__(label=label, required=False, initial="CHN", **kwargs)
        self.choices = lambda: [("", "—")] + [(c, _(n)) for c, n in country_choices()]

    def valid_value(self, value):
        return bool(re.fullmatch(r"[A-Z]{3}", value or "")) or super().valid_value(value)

    def to_python(self, value):
        return (super().to_python(value) or "").strip().upper()


def keep_unlisted_country(form, name: str = "nationality") -> None:
    field = form.fields.get(name)
    value = (form.initial.get(name) or (form.data.get(form.add_prefix(name)) if form.is_bound else "")) or ""
    if field is not None and value and value not in dict(country_choices()):
        field.choices = [*field.choices, (value, value)]


class IndividualForm(CustomerForm):
    kind = Kind.INDIVIDUAL
    required_marks = ("name", "id_type", "id_number")

    name = _text(_("姓名"), 200)
    gender = _choice(_("性别"), Gender.choices)
    birth_date = _date(_("出生日期"))
    nationality = CountryField(_("国籍"))
    id_type = _choice(_("证件类型"), PERSON_ID_TYPES, initial=IdType.RESIDENT_ID)
    id_number = _text(_("证件号码"), 40)
    id_valid_from = _date(_("证件有效期起"))
    id_valid_to = _date(_("证件有效期止"))
    id_long_term = _flag(_("长期有效"))
    residence_address = _text(_("居住地址"), 300)
    occupation = _text(_("职业"), 100)
    occupation_code = _text(_("职业代码"), 20)
    occupation_class = forms.TypedChoiceField(
        label=_("职业类别"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=BLANK + [(i, lazy(_occupation_class, str)(i)) for i in range(1, 7)],
    )
    employer = _text(_("工作单位"), 200)
    marital_status = _choice(_("婚姻状况"), MaritalStatus.choices)
    annual_income = _money(_("年收入（元）"))
    education = _choice(_("学历"), Education.choices)
    health_status = _choice(_("健康状况"), HealthStatus.choices)
    health_notes = _area(_("健康告知"))
    has_social_insurance = forms.NullBooleanField(label=_("有社会保险"), required=False)

    fieldsets = [
        (
            _("基本信息"),
            (
                "name",
                "gender",
                "birth_date",
                "nationality",
                "id_type",
                "id_number",
                "id_valid_from",
                "id_valid_to",
                "id_long_term",
            ),
        ),
        (
            _("联系方式"),
            ("mobile", "landline", "email", "residence_address", "mailing_address", "postal_code"),
        ),
        (
            _("画像（八要素）"),
            (
                "occupation",
                "occupation_code",
                "occupation_class",
                "employer",
                "marital_status",
                "annual_income",
                "education",
                "health_status",
                "has_social_insurance",
                "health_notes",
            ),
        ),
        (_("来源与服务"), ("source_channel", "agent", "notes")),
        (_("反洗钱"), AML),
    ]


class CorporateForm(CustomerForm):
    kind = Kind.CORPORATE
    required_marks = ("name", "uscc", "legal_rep_name")
    aliases = {
        "id_number": "uscc",
        "legal_representative.id_number": "legal_rep_id_number",
        "legal_representative.name": "legal_rep_name",
        "legal_representative.id_type": "legal_rep_id_type",
        "agent_id": "agent",
    }

    name = _text(_("单位名称"), 200, help_text=_("须与公章一致"))
    uscc = _text(_("统一社会信用代码"), 30)
    id_override_reason = _text(
        _("校验例外原因"), 200, help_text=_("代码确已登记但校验未通过时填写，将记入日志")
    )
    nature = _choice(_("企业性质"), CompanyNature.choices)
    industry = _text(_("行业类别"), 100)
    industry_code = _text(_("行业代码"), 10)
    registered_capital = _money(_("注册资本（万元）"), 16)
    business_scope = _area(_("经营范围"))
    registered_address = _text(_("注册地址"), 300)
    operating_address = _text(_("经营地址"), 300)
    licence_valid_to = _date(_("营业执照有效期止"))
    legal_rep_name = _text(_("法定代表人"), 100)
    legal_rep_id_type = _choice(_("法定代表人证件类型"), PERSON_ID_TYPES, initial=IdType.RESIDENT_ID)
    legal_rep_id_number = _text(_("法定代表人证件号码"), 40)
    legal_rep_id_valid_to = _date(_("法定代表人证件有效期止"))
    controlling_shareholder = _text(_("控股股东/实际控制人"), 200)
    contact_name = _text(_("经办人"), 100)
    contact_id_type = _choice(_("经办人证件类型"), PERSON_ID_TYPES, initial=IdType.RESIDENT_ID)
    contact_id_number = _text(_("经办人证件号码"), 40)
    contact_mobile = _text(_("经办人手机"), 20)
    is_general_taxpayer = _flag(_("一般纳税人"))
    tax_number = _text(_("纳税人识别号"), 20)
    tax_bank = _text(_("开户银行"), 100)
    tax_account = _text(_("银行账号"), 40)
    tax_address_phone = _text(_("开票地址电话"), 200)
    headcount = forms.IntegerField(label=_("员工总数"), required=False, min_value=0)
    insured_headcount = forms.IntegerField(label=_("参加社保人数"), required=False, min_value=0)
    income_per_head = _money(_("人均年收入（元）"), 12)
    turnover_rate = forms.DecimalField(
        label=_("人员流动率（%）"), required=False, max_digits=5, decimal_places=2, min_value=0, max_value=100
    )

    fieldsets = [
        (
            _("单位基本信息"),
            (
                "name",
                "uscc",
                "id_override_reason",
                "nature",
                "industry",
                "industry_code",
                "registered_capital",
                "licence_valid_to",
                "registered_address",
                "operating_address",
                "business_scope",
            ),
        ),
        (
            _("法定代表人与控制人"),
            (
                "legal_rep_name",
                "legal_rep_id_type",
                "legal_rep_id_number",
                "legal_rep_id_valid_to",
                "controlling_shareholder",
            ),
        ),
        (_("经办人"), ("contact_name", "contact_id_type", "contact_id_number", "contact_mobile")),
        (_("联系方式"), ("mobile", "landline", "email", "mailing_address", "postal_code")),
        (
            _("一般纳税人信息"),
            ("is_general_taxpayer", "tax_number", "tax_bank", "tax_account", "tax_address_phone"),
        ),
        (_("团险客户信息收集"), ("headcount", "insured_headcount", "income_per_head", "turnover_rate")),
        (_("来源与服务"), ("source_channel", "agent", "notes")),
        (_("反洗钱"), AML),
    ]

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, viewer=viewer, **kwargs)
        if not can(viewer, "customer.override_uscc"):
            del self.fields["id_override_reason"]


class ChildRowForm(DomainErrorsMixin, forms.Form):
    def row(self) -> dict:
        return {
            k: (None if k in NULLABLE and v == "" else v)
            for k, v in self.cleaned_data.items()
            if k != "DELETE"
        }


class BeneficialOwnerForm(ChildRowForm):
    name = _text(_("姓名"), 100)
    gender = _choice(_("性别"), Gender.choices)
    nationality = CountryField(_("国籍"))
    birth_date = _date(_("出生日期"))
    id_type = _choice(_("证件类型"), PERSON_ID_TYPES, initial=IdType.RESIDENT_ID)
    id_number = _text(_("证件号码"), 40)
    id_valid_to = _date(_("证件有效期止"))
    ownership_kind = _choice(_("受益所有权类型"), OwnershipKind.choices)
    percentage = forms.DecimalField(label=_("比例（%）"), required=False, max_digits=5, decimal_places=2)
    control_description = _text(_("控制方式"), 200)
    address = _text(_("地址"), 300)
    phone = _text(_("联系方式"), 30)


class OtherPolicyForm(ChildRowForm):
    insurer = _text(_("承保公司"), 100)
    policy_no = _text(_("保单号"), 50)
    line = _text(_("险种"), 100)
    effective_date = _date(_("生效日期"))
    sum_insured = _money(_("保额（元）"), 16)
    premium = _money(_("保费（元）"))
    claims_paid = _money(_("已赔付（元）"))


BeneficialOwnerFormSet = forms.formset_factory(BeneficialOwnerForm, extra=1, can_delete=True)
OtherPolicyFormSet = forms.formset_factory(OtherPolicyForm, extra=1, can_delete=True)


def formset_rows(formset) -> tuple[list[dict], list]:
    """Return the kept rows and, in the same order, the forms they came from (for error placement)."""
    rows, forms_ = [], []
    initial = formset.initial_form_count()
    for i, form in enumerate(formset.forms):
        if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
            continue
        if i >= initial and not form.has_changed():
            continue
        rows.append(form.row())
        forms_.append(form)
    return rows, forms_


class CustomerFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "placeholder": _("姓名 / 客户号 / 证件号码 / 手机"),
                "type": "search",
                "autocomplete": "off",
            }
        ),
    )
    kind = _choice(_("类型"), Kind.choices)
    unit = forms.TypedChoiceField(label=_("所属机构"), required=False, coerce=int, empty_value=None)
    agent = forms.TypedChoiceField(label=_("业务员"), required=False, coerce=int, empty_value=None)
    aml_risk = _choice(_("风险等级"), RiskLevel.choices)

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("全部"))] + translated(Kind.choices)
        self.fields["aml_risk"].choices = [("", _("全部"))] + translated(RiskLevel.choices)
        self.fields["unit"].choices = [("", _("全部"))] + units_in_scope(viewer)
        self.fields["agent"].choices = [("", _("全部"))] + [(u.pk, str(u)) for u in agents_in_scope(viewer)]


class RelationForm(forms.Form):
    archive_no = _text(
        _("对方客户号"), 20, required=True, widget=forms.TextInput(attrs={"placeholder": "KH…"})
    )
    relation = forms.ChoiceField(label=_("关系"), choices=translated(Relation.choices))

    def clean_archive_no(self) -> str:
        number = self.cleaned_data["archive_no"].strip().upper()
        if not re.fullmatch(r"KH\d{1,10}", number):
            raise forms.ValidationError(_("请填写对方的客户号，如 KH0000000123"))
        return number
