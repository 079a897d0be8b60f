"""The product form: lists are typed one per line or separated by commas; product_create/update decide."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from insurdesk.products.models import Line, PaymentMode

SPLIT_RE = re.compile(r"[,，、\s]+")


def _split(text: str) -> list[str]:
    return [part for part in SPLIT_RE.split(text or "") if part]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ProductForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    code = forms.CharField(label=_("险种代码"), max_length=20)
    name = forms.CharField(label=_("险种名称"), max_length=100)
    line = forms.ChoiceField(label=_("险类"), choices=Line.choices)
    is_rider = forms.BooleanField(label=_("附加险"), required=False)
    attaches_to = forms.CharField(
        label=_("可附加的主险"), required=False, help_text=_("附加险填写，险种代码以逗号分隔")
    )
    coverage_terms = forms.CharField(
        label=_("保险期间选项"), help_text=_("以逗号分隔，如 1y, 20y, to70, life")
    )
    payment_modes = forms.MultipleChoiceField(
        label=_("缴费方式"), choices=PaymentMode.choices, widget=forms.CheckboxSelectMultiple
    )
    payment_terms = forms.CharField(
        label=_("缴费期间选项"), help_text=_("以逗号分隔，如 single, 10y, 20y, to60")
    )
    min_age = forms.IntegerField(label=_("最低投保年龄"), min_value=0, max_value=120, initial=0)
    max_age = forms.IntegerField(label=_("最高投保年龄"), min_value=0, max_value=120, initial=65)
    min_sum_insured = forms.DecimalField(
        label=_("最低保额（元）"), required=False, min_value=0, max_digits=16, decimal_places=2
    )
    max_sum_insured = forms.DecimalField(
        label=_("最高保额（元）"), required=False, min_value=0, max_digits=16, decimal_places=2
    )
    cooling_off_days = forms.IntegerField(label=_("犹豫期（天）"), min_value=0, max_value=366, initial=15)
    grace_days = forms.IntegerField(label=_("宽限期（天）"), min_value=0, max_value=366, initial=60)
    occupation_classes = forms.TypedMultipleChoiceField(
        label=_("可承保职业类别"),
        required=False,
        coerce=int,
        choices=[(i, f"{i}类") for i in range(1, 7)],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选为不限"),
    )
    required_documents = forms.CharField(
        label=_("所需资料"), required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=_("每行一项")
    )
    death_cover = forms.BooleanField(label=_("含身故责任"), required=False)
    unit_linked = forms.BooleanField(label=_("投资连结"), required=False)
    is_group = forms.BooleanField(label=_("团体险"), required=False)
    active = forms.BooleanField(label=_("在售"), required=False, initial=True)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    cash_values = forms.CharField(
        label=_("现金价值表"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每千元保额在第 1、2、3…保单年度末的现金价值（元），以逗号或换行分隔"),
    )
    loan_share = forms.DecimalField(
        label=_("可贷比例（%）"),
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text=_("保单贷款最高为现金价值的该比例；0 为不可贷款"),
    )
    loan_rate = forms.DecimalField(
        label=_("贷款年利率（%）"),
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text=_("按日计息；复效时欠缴保费亦按此利率计息"),
    )
    reinstatement_health = forms.BooleanField(label=_("复效须重新健康告知"), required=False)
    survival_benefit = forms.DecimalField(
        label=_("生存金（每千元保额，元）"), required=False, min_value=0, decimal_places=2
    )
    survival_interval = forms.IntegerField(
        label=_("生存金给付间隔（年）"), required=False, min_value=0, max_value=50
    )
    maturity_benefit = forms.DecimalField(
        label=_("满期金（每千元保额，元）"), required=False, min_value=0, decimal_places=2
    )
    plan_levels = forms.CharField(
        label=_("等级明细（团体险）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("每行一个等级：代码, 名称, 每人保额, 每人保费, 说明"),
    )

    sections = (
        (_("基本信息"), ("code", "name", "line", "is_rider", "attaches_to", "active", "description")),
        (
            _("期间与缴费"),
            ("coverage_terms", "payment_modes", "payment_terms", "cooling_off_days", "grace_days"),
        ),
        (
            _("承保限制"),
            (
                "min_age",
                "max_age",
                "min_sum_insured",
                "max_sum_insured",
                "occupation_classes",
                "required_documents",
            ),
        ),
        (_("责任与类型"), ("death_cover", "unit_linked", "is_group", "plan_levels")),
        (
            _("保全与给付"),
            (
                "cash_values",
                "loan_share",
                "loan_rate",
                "reinstatement_health",
                "survival_benefit",
                "survival_interval",
                "maturity_benefit",
            ),
        ),
    )

    def __init__(self, *args, editing: bool = False, **kw):
        super().__init__(*args, **kw)
        if editing:
            self.fields["code"].disabled = True

    def fieldsets(self):
        return [(title, [self[name] for name in names]) for title, names in self.sections]

    def clean_plan_levels(self):
        levels = []
        for n, line in enumerate(_lines(self.cleaned_data.get("plan_levels")), start=1):
            parts = [p.strip() for p in re.split(r"[,，]", line)]
            if len(parts) < 4:
                raise forms.ValidationError(
                    _("第 %(n)d 行应为：代码, 名称, 每人保额, 每人保费[, 说明]") % {"n": n}
                )
            levels.append(
                {
                    "code": parts[0],
                    "name": parts[1],
                    "sum_insured": parts[2],
                    "premium_per_member": parts[3],
                    "description": "，".join(parts[4:]),
                }
            )
        return levels

    def to_data(self) -> dict:
        d = dict(self.cleaned_data)
        d.pop("version", None)
        d["attaches_to"] = [c.upper() for c in _split(d.get("attaches_to"))]
        d["coverage_terms"] = [t.lower() for t in _split(d.get("coverage_terms"))]
        d["payment_terms"] = [t.lower() for t in _split(d.get("payment_terms"))]
        d["required_documents"] = _lines(d.get("required_documents"))
        d["cash_values"] = _split(d.get("cash_values"))
        return d

    def add_domain_errors(self, errors) -> None:
        for err in errors:
            name = err.field.split("[")[0]
            self.add_error(
                name if name in self.fields and not self.fields[name].disabled else None, err.message
            )


def initial_of(product) -> dict:
    return {
        "version": product.version,
        "code": product.code,
        "name": product.name,
        "line": product.line,
        "is_rider": product.is_rider,
        "attaches_to": ", ".join(sorted(m.code for m in product.attaches_to.all())),
        "coverage_terms": ", ".join(product.coverage_terms),
        "payment_modes": product.payment_modes,
        "payment_terms": ", ".join(product.payment_terms),
        "min_age": product.min_age,
        "max_age": product.max_age,
        "min_sum_insured": product.min_sum_insured,
        "max_sum_insured": product.max_sum_insured,
        "cooling_off_days": product.cooling_off_days,
        "grace_days": product.grace_days,
        "occupation_classes": product.occupation_classes,
        "required_documents": "\n".join(product.required_documents),
        "death_cover": product.death_cover,
        "unit_linked": product.unit_linked,
        "is_group": product.is_group,
        "active": product.active,
        "description": product.description,
        "cash_values": ", ".join(product.cash_values),
        "loan_share": product.loan_share,
        "loan_rate": product.loan_rate,
        "reinstatement_health": product.reinstatement_health,
        "survival_benefit": product.survival_benefit,
        "survival_interval": product.survival_interval,
        "maturity_benefit": product.maturity_benefit,
        "plan_levels": "\n".join(
            f"{p.code}, {p.name}, {p.sum_insured}, {p.premium_per_member}"
            + (f", {p.description}" if p.description else "")
            for p in product.plan_levels.all()
        ),
    }
