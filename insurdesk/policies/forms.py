"""Forms of the policy pages: they parse input; the services in policies.services and .members decide."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from insurdesk.customers.forms import DomainErrorsMixin, agents_in_scope, units_in_scope
from insurdesk.customers.models import IdType
from insurdesk.policies.models import (
    RECORDABLE_METHODS,
    MemberType,
    PaymentKind,
    PaymentMethod,
    PolicyState,
)
from insurdesk.products.models import Product

BLANK = [("", "—")]
MAX_ID = 2**63 - 1
DATE = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


class _Scoped(forms.Form):
    """A filter form whose unit and agent choices are the viewer's scope."""

    unit = forms.TypedChoiceField(label=_("机构"), required=False, coerce=int, empty_value=None)
    agent = forms.TypedChoiceField(label=_("业务员"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = BLANK + units_in_scope(viewer)
        self.fields["agent"].choices = BLANK + [(u.pk, str(u)) for u in agents_in_scope(viewer)]


class PolicyFilterForm(_Scoped):
    q = forms.CharField(label=_("保单号"), required=False, max_length=30)
    state = forms.ChoiceField(label=_("状态"), required=False, choices=BLANK + list(PolicyState.choices))
    application = forms.IntegerField(required=False, widget=forms.HiddenInput)


class PolicyExportForm(PolicyFilterForm):
    """The policy list's filters and those the API also takes (main product, a customer in any role)."""

    product_code = forms.ChoiceField(label=_("主险"), required=False)
    customer = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    application = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product_code"].choices = BLANK + [
            (p.code, f"{p.code} {p.name}") for p in Product.objects.filter(is_rider=False).order_by("code")
        ]


class PaymentFilterForm(_Scoped):
    """Filters of the payment records (缴费记录), as the API's /payments takes them."""

    policy_no = forms.CharField(label=_("保单号"), required=False, max_length=20)
    paid_from = forms.DateField(label=_("缴费日期起"), required=False, **DATE)
    paid_to = forms.DateField(label=_("缴费日期止"), required=False, **DATE)
    method = forms.ChoiceField(
        label=_("缴费方式"), required=False, choices=BLANK + list(PaymentMethod.choices)
    )
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=BLANK + list(PaymentKind.choices))


class DueFilterForm(_Scoped):
    due_from = forms.DateField(label=_("应缴日期起"), required=False, **DATE)
    due_to = forms.DateField(label=_("应缴日期止"), required=False, **DATE)
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=BLANK + [("unpaid", "未缴"), ("overdue", "逾期"), ("partial", "部分")],
    )


class PaymentForm(DomainErrorsMixin, forms.Form):
    aliases = {"policy_id": "policy_no"}

    policy_no = forms.CharField(label=_("保单号"), max_length=20)
    amount = forms.DecimalField(label=_("缴费金额（元）"), max_digits=14, decimal_places=2, min_value=0)
    # Money received has a real method: "未载明" belongs to past payments of an archive table only.
    method = forms.ChoiceField(label=_("缴费方式"), choices=[(m.value, m.label) for m in RECORDABLE_METHODS])
    paid_on = forms.DateField(label=_("缴费日期"), **DATE)
    reference = forms.CharField(label=_("凭证号"), required=False, max_length=60)
    note = forms.CharField(label=_("备注"), required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = timezone.localdate()


class ReceiptForm(forms.Form):
    receipt_date = forms.DateField(label=_("回执签收日期"), **DATE)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("撤单原因"), max_length=300)


class MemberForm(DomainErrorsMixin, forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=100)
    id_type = forms.ChoiceField(
        label=_("证件类型"), choices=[c for c in IdType.choices if c[0] != IdType.USCC]
    )
    id_number = forms.CharField(label=_("证件号码"), max_length=30)
    occupation_class = forms.IntegerField(label=_("职业类别"), required=False, min_value=1, max_value=6)
    member_type = forms.ChoiceField(label=_("人员类别"), choices=MemberType.choices)
    plan_level = forms.ChoiceField(label=_("等级"))

    def __init__(self, *args, levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan_level"].choices = [
            (lvl.code, f"{lvl.code} {lvl.name}（{lvl.sum_insured} 元）") for lvl in levels
        ]


class MemberImportForm(forms.Form):
    file = forms.FileField(label=_("被保险人清单（xlsx 或 csv）"))
    dry_run = forms.BooleanField(label=_("只校验，不导入"), required=False)
