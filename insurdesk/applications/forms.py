"""Forms of the new-business pages: they parse and shape input; the services decide.

Errors come back from the services as paths (`lines[1].premium`, `policyholder.id_number`) and are put
on the row or field they name.
"""

import re

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from insurdesk.applications.entry import problem_field_choices
from insurdesk.applications.models import (
    AgencyKind,
    BeneficiaryRelation,
    BusinessSource,
    ErrorParty,
    IssueType,
    Relationship,
    ReplyMethod,
    Resolution,
    Route,
    State,
)
from insurdesk.customers.forms import agents_in_scope, translated
from insurdesk.customers.models import IdType
from insurdesk.products.calculations import parse_term, term_label
from insurdesk.products.models import PaymentMode, Product

BLANK = [("", "—")]
PERSON_ID_TYPES = [c for c in IdType.choices if c[0] != IdType.USCC]
DATE = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
ROW_RE = re.compile(r"^(lines|beneficiaries)\[(\d+)\]\.(\w+)$")
LINE_ROWS = 5
BENEFICIARY_ROWS = 4


def _text(label, max_length=200, *, required=False, **kw):
    return forms.CharField(label=label, max_length=max_length, required=required, **kw)


def _money(label, *, required=False, max_digits=14):
    return forms.DecimalField(
        label=label, required=required, max_digits=max_digits, decimal_places=2, min_value=0
    )


def _choice(label, choices, *, required=False, initial=None):
    return forms.ChoiceField(
        label=label, choices=BLANK + translated(choices), required=required, initial=initial
    )


class PathErrorsMixin:
    """Put a service's FieldErrors on the form field named by their path; the rest become non-field errors."""

    aliases: dict[str, str] = {}

    def add_domain_errors(self, errors, rows: dict | None = None) -> None:
        rows = rows or {}
        for err in errors:
            m = ROW_RE.match(err.field)
            if m and m[1] in rows and int(m[2]) < len(rows[m[1]]):
                row = rows[m[1]][int(m[2])]
                row.add_error(m[3] if m[3] in row.fields else None, err.message)
                continue
            field = err.field
            for long, short in (("policyholder.", "ph_"), ("insured.", "ins_")):
                if field.startswith(long) and field not in self.aliases:
                    field = short + field[len(long) :]
            name = self.aliases.get(err.field, field.replace(".", "_"))
            if name in self.fields and not self.fields[name].widget.is_hidden:
                self.add_error(name, err.message)
            else:
                label = err.field
                self.add_error(None, f"{label}：{err.message}" if label and "[" in label else err.message)


class ProductSelect(forms.Select):
    """A product select whose options carry the product's terms, so the term selects follow it (app.js)."""

    def __init__(self, *args, terms=None, **kw):
        super().__init__(*args, **kw)
        self.terms = terms or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        coverage, payment = self.terms.get(str(value), ((), ()))
        if value:
            option["attrs"]["data-coverage-terms"] = " ".join(coverage)
            option["attrs"]["data-payment-terms"] = " ".join(payment)
        return option


def term_choices(codes, current: str = "") -> list[tuple[str, str]]:
    """Return term codes as select choices labelled as the catalogue shows them (趸交、10年、至60岁、终身)."""
    seen = list(dict.fromkeys([*codes, *([current] if current else [])]))
    return BLANK + [(code, term_label(code)) for code in seen]


def _all_terms(products, attr: str) -> list[str]:
    return sorted({code for p in products for code in (getattr(p, attr) or [])}, key=_term_order)


def _term_order(code: str):
    t = parse_term(code)
    return (
        {"single": 0, "y": 1, "to": 2, "life": 3}.get(t.kind, 4) if t else 5,
        t.n if t and t.n else 0,
        code,
    )


class LineForm(forms.Form):
    product_code = forms.ChoiceField(label=_("险种"), required=False)
    coverage_term = forms.ChoiceField(label=_("保险期间"), required=False)
    sum_insured = _money(_("保额（元）"), max_digits=16)
    premium = _money(_("保费（元）"))
    rider_of = _text(_("所附主险代码"), 20)
    plan_level = _text(_("等级"), 10)

    def __init__(self, *args, products=(), **kw):
        super().__init__(*args, **kw)
        # Rows equal to their initial values are still read: an edit sends every row it shows.
        self.empty_permitted = False
        self.fields["product_code"].choices = BLANK + [(p.code, f"{p.code} {p.name}") for p in products]
        terms = {p.code: (p.coverage_terms or [], p.payment_terms or []) for p in products}
        self.fields["product_code"].widget = ProductSelect(
            terms=terms, choices=self.fields["product_code"].choices
        )
        current = str(
            self.initial.get("coverage_term") or self.data.get(self.add_prefix("coverage_term"), "") or ""
        )
        field = self.fields["coverage_term"]
        field.choices = term_choices(_all_terms(products, "coverage_terms"), current)
        field.widget.attrs.update(
            {
                "data-follows": "id_" + self.add_prefix("product_code"),
                "data-options-attr": "data-coverage-terms",
            }
        )

    def row(self) -> dict | None:
        d = self.cleaned_data
        if not d.get("product_code") and d.get("sum_insured") is None and d.get("premium") is None:
            return None
        return {
            "product_code": d.get("product_code") or "",
            "coverage_term": d.get("coverage_term") or "",
            "sum_insured": d.get("sum_insured"),
            "premium": d.get("premium"),
            "rider_of": d.get("rider_of") or None,
            "plan_level": d.get("plan_level") or None,
        }


class BeneficiaryForm(forms.Form):
    order = forms.IntegerField(label=_("受益顺序"), required=False, min_value=1, max_value=9, initial=1)
    name = _text(_("姓名"), 100)
    id_type = forms.ChoiceField(
        label=_("证件类型"), choices=PERSON_ID_TYPES, required=False, initial="resident_id"
    )
    id_number = _text(_("证件号码"), 30)
    relationship = _choice(_("与被保险人关系"), BeneficiaryRelation.choices)
    share = forms.DecimalField(
        label=_("受益比例（%）"), required=False, max_digits=5, decimal_places=2, min_value=0, max_value=100
    )

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.empty_permitted = False

    def row(self) -> dict | None:
        d = self.cleaned_data
        if not d.get("name") and d.get("share") is None:
            return None
        return {
            "order": d.get("order") or 1,
            "name": d.get("name") or "",
            "id_type": d.get("id_type") or "resident_id",
            "id_number": d.get("id_number") or None,
            "relationship": d.get("relationship") or "",
            "share": d.get("share"),
        }


def line_formset(data=None, *, initial=None, products=()):
    rows = len(initial or [])
    fs = forms.formset_factory(LineForm, extra=max(LINE_ROWS - rows, 1), max_num=20, absolute_max=20)
    return fs(data, prefix="line", initial=initial, form_kwargs={"products": products})


def beneficiary_formset(data=None, *, initial=None):
    rows = len(initial or [])
    fs = forms.formset_factory(
        BeneficiaryForm, extra=max(BENEFICIARY_ROWS - rows, 1), max_num=20, absolute_max=20
    )
    return fs(data, prefix="ben", initial=initial)


def formset_rows(formset) -> tuple[list[dict], list]:
    """Return the filled rows and, in the same order, the forms they came from (for error placement)."""
    rows, forms_ = [], []
    for form in formset.forms:
        if not hasattr(form, "cleaned_data"):
            continue
        row = form.row()
        if row is not None:
            rows.append(row)
            forms_.append(form)
    return rows, forms_


class ApplicationForm(PathErrorsMixin, forms.Form):
    """First entry (初录): the application's own fields and, per party, an archive or a new customer."""

    aliases = {
        "agent_id": "agent",
        "policyholder": "ph_lookup",
        "insured": "ins_lookup",
        "policyholder.customer_id": "ph_lookup",
        "insured.customer_id": "ins_lookup",
        "policyholder.uscc": "ph_id_number",
        "policyholder.legal_representative.name": "ph_legal_rep_name",
    }

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    application_no = _text(_("投保单号"), 20, help_text=_("纸质投保单印刷号；不填则自动编号"))
    application_date = forms.DateField(label=_("投保日期"), required=True, **DATE)
    requested_effective_date = forms.DateField(label=_("指定生效日期"), required=False, **DATE)
    agent = forms.ModelChoiceField(
        label=_("业务员"), queryset=None, required=False, help_text=_("不填则取投保人档案的服务业务员")
    )
    business_source = forms.ChoiceField(
        label=_("业务来源"), choices=BLANK + translated(BusinessSource.choices)
    )
    agency_name = _text(_("中介机构名称"), 200)
    agency_kind = _choice(_("中介机构类型"), AgencyKind.choices)
    commission_ratio = forms.DecimalField(
        label=_("手续费比例（%）"), required=False, max_digits=5, decimal_places=2, min_value=0, max_value=100
    )

    ph_lookup = _text(
        _("投保人客户号或证件号码"),
        30,
        help_text=_("已有档案：填客户号或证件号码；新客户：留空并填写下面各项"),
    )
    ph_kind = forms.ChoiceField(
        label=_("新投保人类型"),
        choices=[("individual", "个人"), ("corporate", "单位")],
        required=False,
        initial="individual",
    )
    ph_name = _text(_("新投保人姓名/单位名称"), 200)
    ph_id_type = forms.ChoiceField(
        label=_("证件类型"),
        choices=PERSON_ID_TYPES,
        required=False,
        initial="resident_id",
        help_text=_("单位填统一社会信用代码于下一栏"),
    )
    ph_id_number = _text(_("证件号码/统一社会信用代码"), 30)
    ph_mobile = _text(_("手机"), 20)
    ph_occupation_class = forms.IntegerField(label=_("职业类别"), required=False, min_value=1, max_value=6)
    ph_legal_rep_name = _text(_("法定代表人（单位）"), 100)

    relationship = forms.ChoiceField(
        label=_("被保险人是投保人的"), choices=BLANK + translated(Relationship.choices)
    )
    ins_lookup = _text(_("被保险人客户号或证件号码"), 30, help_text=_("本人投保或团体险可不填"))
    ins_name = _text(_("新被保险人姓名"), 200)
    ins_id_type = forms.ChoiceField(
        label=_("证件类型"), choices=PERSON_ID_TYPES, required=False, initial="resident_id"
    )
    ins_id_number = _text(_("证件号码"), 30)
    ins_mobile = _text(_("手机"), 20)
    ins_occupation_class = forms.IntegerField(label=_("职业类别"), required=False, min_value=1, max_value=6)
    insured_consent = forms.BooleanField(label=_("被保险人已书面同意投保及保险金额"), required=False)

    total_premium = _money(_("保费合计（元）"), required=True)
    payment_mode = forms.ChoiceField(label=_("缴费方式"), choices=BLANK + translated(PaymentMode.choices))
    payment_term = forms.ChoiceField(label=_("缴费期间"), help_text=_("随第 1 险种（主险）的缴费期间选项"))
    bank_name = _text(_("缴费银行"), 100)
    bank_account = _text(_("缴费账号"), 40)
    account_holder = _text(_("账户户名"), 100)

    beneficiary_legal = forms.BooleanField(label=_("身故受益人：法定"), required=False)
    health_disclosure = forms.BooleanField(label=_("有健康告知事项"), required=False)
    health_details = forms.CharField(
        label=_("健康告知说明"),
        required=True,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("无告知事项请填写“无”"),
    )
    notes = forms.CharField(
        label=_("备注"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

    sections = (
        (
            _("投保单"),
            (
                "application_no",
                "application_date",
                "requested_effective_date",
                "agent",
                "business_source",
                "agency_name",
                "agency_kind",
                "commission_ratio",
            ),
        ),
        (
            _("投保人"),
            (
                "ph_lookup",
                "ph_kind",
                "ph_name",
                "ph_id_type",
                "ph_id_number",
                "ph_mobile",
                "ph_occupation_class",
                "ph_legal_rep_name",
            ),
        ),
        (
            _("被保险人"),
            (
                "relationship",
                "ins_lookup",
                "ins_name",
                "ins_id_type",
                "ins_id_number",
                "ins_mobile",
                "ins_occupation_class",
                "insured_consent",
            ),
        ),
        (
            _("缴费"),
            ("total_premium", "payment_mode", "payment_term", "bank_name", "bank_account", "account_holder"),
        ),
        (_("告知与备注"), ("health_disclosure", "health_details", "notes")),
    )

    def __init__(self, *args, viewer=None, products=None, **kw):
        super().__init__(*args, **kw)
        self.fields["agent"].queryset = agents_in_scope(viewer) if viewer is not None else None
        if products is None:
            products = Product.objects.all()
        current = str(self.initial.get("payment_term") or self.data.get("payment_term", "") or "")
        self.fields["payment_term"].choices = term_choices(_all_terms(products, "payment_terms"), current)
        self.fields["payment_term"].widget.attrs.update(
            {"data-follows": "id_line-0-product_code", "data-options-attr": "data-payment-terms"}
        )
        for prefix in ("ph", "ins"):
            self.fields[f"{prefix}_lookup"].widget.attrs.update(
                {
                    "hx-get": reverse_lazy("applications:lookup"),
                    "hx-trigger": "input changed delay:500ms",
                    "hx-target": f"#{prefix}-lookup-result",
                    "autocomplete": "off",
                }
            )
        for name in (
            "application_date",
            "business_source",
            "relationship",
            "total_premium",
            "payment_mode",
            "payment_term",
            "health_details",
        ):
            self.fields[name].required = True

    def fieldsets(self):
        return [(title, [self[name] for name in names]) for title, names in self.sections]

    def party(self, prefix: str, *, resolve) -> dict | None:
        """Return the party input: an archive found by `resolve(lookup)`, a new customer, or None."""
        d = self.cleaned_data
        lookup = (d.get(f"{prefix}_lookup") or "").strip()
        if lookup:
            customer = resolve(lookup)
            if customer is None:
                self.add_error(f"{prefix}_lookup", _("没有找到该客户档案，或不在您的管辖范围内"))
                return None
            return {"customer_id": customer.pk}
        name = (d.get(f"{prefix}_name") or "").strip()
        number = (d.get(f"{prefix}_id_number") or "").strip()
        if not name and not number:
            return None
        kind = d.get("ph_kind") or "individual" if prefix == "ph" else "individual"
        new = {"kind": kind, "name": name}
        if kind == "corporate":
            new.update({"uscc": number, "legal_rep_name": d.get("ph_legal_rep_name") or ""})
        else:
            new.update({"id_type": d.get(f"{prefix}_id_type") or "resident_id", "id_number": number})
            if d.get(f"{prefix}_occupation_class"):
                new["occupation_class"] = d[f"{prefix}_occupation_class"]
        if d.get(f"{prefix}_mobile"):
            new["mobile"] = d[f"{prefix}_mobile"]
        return {"new": new}

    def scalars(self) -> dict:
        d = self.cleaned_data
        return {
            "application_no": d.get("application_no") or "",
            "application_date": d.get("application_date"),
            "requested_effective_date": d.get("requested_effective_date"),
            "agent_id": d["agent"].pk if d.get("agent") else None,
            "business_source": d.get("business_source"),
            "agency_name": d.get("agency_name") or "",
            "agency_kind": d.get("agency_kind") or "",
            "commission_ratio": d.get("commission_ratio"),
            "relationship": d.get("relationship"),
            "insured_consent": bool(d.get("insured_consent")),
            "total_premium": d.get("total_premium"),
            "payment_mode": d.get("payment_mode"),
            "payment_term": (d.get("payment_term") or "").strip().lower(),
            "bank_name": d.get("bank_name") or "",
            "bank_account": d.get("bank_account") or None,
            "account_holder": d.get("account_holder") or "",
            "beneficiary_legal": bool(d.get("beneficiary_legal")),
            "health_disclosure": bool(d.get("health_disclosure")),
            "health_details": d.get("health_details") or "",
            "notes": d.get("notes") or "",
        }


class SecondEntryForm(forms.Form):
    """Second entry (二次录入): the key fields, blank, never pre-filled from the first entry."""

    ph_name = _text(_("投保人姓名/单位名称"), 200, required=True)
    ph_id_number = _text(_("投保人证件号码"), 30, required=True)
    ins_name = _text(_("被保险人姓名"), 200, help_text=_("团体险不填"))
    ins_id_number = _text(_("被保险人证件号码"), 30)
    total_premium = _text(_("保费合计（元）"), 30, required=True)
    payment_mode = forms.ChoiceField(label=_("缴费方式"), choices=BLANK + translated(PaymentMode.choices))
    payment_term = forms.ChoiceField(label=_("缴费期间"))
    bank_account = _text(_("缴费账号"), 40, help_text=_("投保单上没有则不填"))

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        current = str(self.data.get("payment_term", "") or "")
        self.fields["payment_term"].choices = term_choices(
            _all_terms(Product.objects.all(), "payment_terms"), current
        )


class SecondLineForm(forms.Form):
    product_code = _text(_("险种代码"), 20)
    sum_insured = _text(_("保额（元）"), 30)
    premium = _text(_("保费（元）"), 30)

    def row(self) -> dict | None:
        d = self.cleaned_data
        if not any(d.get(k) for k in ("product_code", "sum_insured", "premium")):
            return None
        return {k: d.get(k) or "" for k in ("product_code", "sum_insured", "premium")}


class SecondBeneficiaryForm(forms.Form):
    name = _text(_("受益人姓名"), 100)
    share = _text(_("受益比例（%）"), 10)

    def row(self) -> dict | None:
        d = self.cleaned_data
        if not any(d.get(k) for k in ("name", "share")):
            return None
        return {k: d.get(k) or "" for k in ("name", "share")}


SecondLineFormSet = forms.formset_factory(SecondLineForm, extra=LINE_ROWS, max_num=20, absolute_max=20)
SecondBeneficiaryFormSet = forms.formset_factory(
    SecondBeneficiaryForm, extra=BENEFICIARY_ROWS, max_num=20, absolute_max=20
)


class ResolveForm(forms.Form):
    choice = forms.ChoiceField(
        label=_("处理结论"), choices=translated(Resolution.choices), widget=forms.RadioSelect
    )
    value = _text(_("更正后的值"), 200, help_text=_("选择“更正为新值”时填写"))
    error_party = _choice(_("差错归属"), ErrorParty.choices, initial="")
    method = forms.ChoiceField(label=_("回复方式"), choices=translated(ReplyMethod.choices), initial="image")
    note = forms.CharField(label=_("处理说明"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class RaiseForm(forms.Form):
    text = forms.CharField(label=_("问题描述"), max_length=500)
    issue_type = forms.ChoiceField(
        label=_("问题类型"), choices=translated(IssueType.choices), initial="other"
    )
    route = forms.ChoiceField(label=_("处理去向"), choices=translated(Route.choices))
    field = forms.ChoiceField(label=_("涉及字段"), required=False, choices=())

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.fields["field"].choices = [("", _("（不涉及具体字段）"))] + problem_field_choices()


class ReplyForm(forms.Form):
    method = forms.ChoiceField(label=_("回复方式"), choices=translated(ReplyMethod.choices))
    reply = forms.CharField(label=_("回复内容"), max_length=500)


class RecordingForm(forms.Form):
    file = forms.FileField(label=_("双录文件（音频/视频）"), required=False)
    reference = _text(_("双录编号"), 100)


class RecordingCheckForm(forms.Form):
    passed = forms.TypedChoiceField(
        label=_("质检结论"), choices=[("1", "通过"), ("0", "不通过")], coerce=lambda v: v == "1", initial="1"
    )
    note = _text(_("质检意见"), 300)


class WithdrawForm(forms.Form):
    reason = _text(_("撤件原因"), 300, required=True)


class ApplicationFilterForm(forms.Form):
    q = _text(_("投保单号或投保人"), 100)
    state = _choice(_("状态"), State.choices)


class StatsFilterForm(forms.Form):
    since = forms.DateField(label=_("二次录入日期起"), required=False, **DATE)
    until = forms.DateField(label=_("至"), required=False, **DATE)


def product_choices():
    return Product.objects.filter(active=True).order_by("is_rider", "code")
