"""The request form of each kind (保全申请书) and the small forms of the request page.

Every kind's form has the common part (channel, applicant, effective date, reason, documents received)
and its own fields; `changes()` turns them into the `changes` the service and the API take.
"""

from __future__ import annotations

import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from insurdesk.applications.models import BeneficiaryRelation
from insurdesk.customers.models import IdType
from insurdesk.policies.models import RECORDABLE_METHODS, MemberStatus, PaymentMethod
from insurdesk.products.models import Product
from insurdesk.servicing.kinds import DOCUMENTS
from insurdesk.servicing.models import Channel, Kind, Requester

BENEFICIARY_ROWS = 4
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RequestForm(forms.Form):
    channel = forms.ChoiceField(label=_("申请渠道"), choices=Channel.choices, initial=Channel.COUNTER)
    applicant = forms.ChoiceField(
        label=_("申请人"), choices=Requester.choices, initial=Requester.POLICYHOLDER
    )
    effective_date = forms.DateField(
        label=_("生效日期"), widget=_DATE, help_text=_("默认今天；未来日期到期由日终自动生效")
    )
    reason = forms.CharField(label=_("申请原因"), required=False, max_length=500)
    documents = forms.MultipleChoiceField(
        label=_("已收资料"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("资料不全的申请可以受理，补齐后方可审批"),
    )

    kind = ""
    kind_fields: tuple[str, ...] = ()

    def __init__(self, *args, policy=None, **kw):
        super().__init__(*args, **kw)
        self.policy = policy
        self.fields["effective_date"].initial = timezone.localdate()
        self.fields["documents"].choices = [(d, d) for d in DOCUMENTS[self.kind]]
        self.fields["documents"].initial = list(DOCUMENTS[self.kind])

    def changes(self) -> dict:
        return {
            k: self.cleaned_data.get(k)
            for k in self.kind_fields
            if self.cleaned_data.get(k) not in (None, "")
        }

    def common_fields(self):
        return [self[name] for name in ("channel", "applicant", "effective_date", "reason", "documents")]

    def own_fields(self):
        return [
            self[name]
            for name in self.fields
            if name not in ("channel", "applicant", "effective_date", "reason", "documents")
        ]

    def add_domain_errors(self, errors) -> None:
        for err in errors:
            name = self.field_of(err.field)
            self.add_error(name if name in self.fields else None, err.message)

    def field_of(self, path: str) -> str | None:
        path = path or ""
        if path.startswith("changes."):
            path = path[len("changes.") :]
        return path.split("[")[0].split(".")[0] or None


class ContactForm(RequestForm):
    kind = Kind.CONTACT
    mobile = forms.CharField(label=_("新手机号"), required=False, max_length=20)
    email = forms.CharField(label=_("新电子邮箱"), required=False, max_length=254)
    residence_address = forms.CharField(label=_("新居住地址"), required=False, max_length=300)
    mailing_address = forms.CharField(label=_("新通讯地址"), required=False, max_length=300)
    postal_code = forms.CharField(label=_("新邮政编码"), required=False, max_length=6)
    kind_fields = ("mobile", "email", "residence_address", "mailing_address", "postal_code")


class BeneficiaryForm(RequestForm):
    kind = Kind.BENEFICIARY
    beneficiary_legal = forms.BooleanField(label=_("身故受益人为法定"), required=False)
    insured_consent = forms.BooleanField(
        label=_("被保险人已书面同意"),
        required=False,
        help_text=_("投保人变更受益人须经被保险人同意（保险法第四十一条）"),
    )

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        for n in range(1, BENEFICIARY_ROWS + 1):
            self.fields[f"b{n}_order"] = forms.IntegerField(
                label=_("受益顺序"), required=False, min_value=1, max_value=9, initial=1 if n == 1 else None
            )
            self.fields[f"b{n}_name"] = forms.CharField(label=_("姓名"), required=False, max_length=100)
            self.fields[f"b{n}_id_type"] = forms.ChoiceField(
                label=_("证件类型"), choices=IdType.choices, initial=IdType.RESIDENT_ID, required=False
            )
            self.fields[f"b{n}_id_number"] = forms.CharField(
                label=_("证件号码"), required=False, max_length=30
            )
            self.fields[f"b{n}_relationship"] = forms.ChoiceField(
                label=_("与被保险人关系"), choices=[("", "—"), *BeneficiaryRelation.choices], required=False
            )
            self.fields[f"b{n}_share"] = forms.DecimalField(
                label=_("受益比例（%）"), required=False, min_value=0, max_value=100, decimal_places=2
            )

    def rows(self):
        return [
            [self[f"b{n}_{k}"] for k in ("order", "name", "id_type", "id_number", "relationship", "share")]
            for n in range(1, BENEFICIARY_ROWS + 1)
        ]

    def own_fields(self):
        return [self["beneficiary_legal"], self["insured_consent"]]

    def changes(self) -> dict:
        cd = self.cleaned_data
        rows = []
        for n in range(1, BENEFICIARY_ROWS + 1):
            if not (cd.get(f"b{n}_name") or "").strip():
                continue
            rows.append(
                {
                    "order": cd.get(f"b{n}_order") or 1,
                    "name": cd.get(f"b{n}_name"),
                    "id_type": cd.get(f"b{n}_id_type") or IdType.RESIDENT_ID,
                    "id_number": cd.get(f"b{n}_id_number") or None,
                    "relationship": cd.get(f"b{n}_relationship") or "",
                    "share": str(cd[f"b{n}_share"]) if cd.get(f"b{n}_share") is not None else None,
                }
            )
        self._rows = [n for n in range(1, BENEFICIARY_ROWS + 1) if (cd.get(f"b{n}_name") or "").strip()]
        return {
            "beneficiary_legal": bool(cd.get("beneficiary_legal")),
            "beneficiaries": rows,
            "insured_consent": bool(cd.get("insured_consent")),
        }

    def field_of(self, path: str) -> str | None:
        m = re.match(r"changes\.beneficiaries\[(\d+)\]\.(\w+)", path or "")
        if m and getattr(self, "_rows", None) and int(m.group(1)) < len(self._rows):
            return f"b{self._rows[int(m.group(1))]}_{m.group(2)}"
        return super().field_of(path)


class PaymentAccountForm(RequestForm):
    kind = Kind.PAYMENT_ACCOUNT
    bank_name = forms.CharField(label=_("开户银行"), max_length=100)
    bank_account = forms.CharField(label=_("新缴费账号"), max_length=40)
    account_holder = forms.CharField(label=_("账户户名"), required=False, max_length=100)
    kind_fields = ("bank_name", "bank_account", "account_holder")


class SumInsuredForm(RequestForm):
    kind = Kind.SUM_INSURED
    sum_insured = forms.DecimalField(
        label=_("新主险保额（元）"), min_value=0, max_digits=16, decimal_places=2
    )
    kind_fields = ("sum_insured",)

    def changes(self):
        return {"sum_insured": str(self.cleaned_data["sum_insured"])}


class RiderAddForm(RequestForm):
    kind = Kind.RIDER_ADD
    product_code = forms.ChoiceField(label=_("附加险"))
    sum_insured = forms.DecimalField(label=_("保额（元）"), min_value=0, max_digits=16, decimal_places=2)
    premium = forms.DecimalField(label=_("期交保费（元）"), min_value=0, max_digits=14, decimal_places=2)
    kind_fields = ("product_code", "sum_insured", "premium")

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        riders = Product.objects.filter(is_rider=True, active=True)
        if self.policy is not None:
            riders = riders.filter(attaches_to=self.policy.product_id)
        self.fields["product_code"].choices = [(p.code, f"{p.code} {p.name}") for p in riders]

    def changes(self):
        cd = self.cleaned_data
        return {
            "product_code": cd["product_code"],
            "sum_insured": str(cd["sum_insured"]),
            "premium": str(cd["premium"]),
        }


class RiderRemoveForm(RequestForm):
    kind = Kind.RIDER_REMOVE
    seq = forms.TypedChoiceField(label=_("退保的附加险"), coerce=int)
    kind_fields = ("seq",)

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        lines = self.policy.lines.filter(is_rider=True) if self.policy is not None else []
        self.fields["seq"].choices = [
            (line.seq, f"#{line.seq} {line.product.code} {line.product.name}") for line in lines
        ]


class MembersForm(RequestForm):
    kind = Kind.MEMBERS
    add = forms.CharField(
        label=_("加人名单"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("每行一人：姓名, 证件号码, 等级代码[, 人员类别 employee/spouse/child]"),
    )
    remove = forms.TypedMultipleChoiceField(
        label=_("减人"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        members = (
            self.policy.members.filter(status=MemberStatus.ACTIVE).select_related("plan_level")[:500]
            if self.policy is not None
            else []
        )
        self.fields["remove"].choices = [(m.pk, f"{m.seq} {m.name}（{m.plan_level.code}）") for m in members]

    def clean_add(self):
        rows = []
        for n, line in enumerate((self.cleaned_data.get("add") or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in re.split(r"[,，]", line)]
            if len(parts) < 3:
                raise forms.ValidationError(_("第 %(n)d 行应为：姓名, 证件号码, 等级代码") % {"n": n})
            row = {"name": parts[0], "id_number": parts[1], "plan_level": parts[2]}
            if len(parts) > 3 and parts[3]:
                row["member_type"] = parts[3]
            rows.append(row)
        return rows

    def changes(self):
        return {"add": self.cleaned_data.get("add") or [], "remove": self.cleaned_data.get("remove") or []}


class SurrenderForm(RequestForm):
    kind = Kind.SURRENDER

    def changes(self):
        return {}


class ReinstatementForm(RequestForm):
    kind = Kind.REINSTATEMENT
    health_changed = forms.BooleanField(label=_("失效期间健康状况有变化"), required=False)
    health_notes = forms.CharField(label=_("健康告知说明"), required=False, max_length=300)
    method = forms.ChoiceField(
        label=_("补费方式"),
        choices=[(m, PaymentMethod(m).label) for m in RECORDABLE_METHODS],
        initial="transfer",
    )
    kind_fields = ("health_changed", "health_notes", "method")

    def changes(self):
        cd = self.cleaned_data
        return {
            "health_changed": bool(cd.get("health_changed")),
            "health_notes": cd.get("health_notes") or "",
            "method": cd["method"],
        }


class LoanForm(RequestForm):
    kind = Kind.LOAN
    amount = forms.DecimalField(label=_("贷款金额（元）"), min_value=0, max_digits=16, decimal_places=2)

    def changes(self):
        return {"amount": str(self.cleaned_data["amount"])}


class LoanRepayForm(RequestForm):
    kind = Kind.LOAN_REPAY
    amount = forms.DecimalField(label=_("还款金额（元）"), min_value=0, max_digits=16, decimal_places=2)

    def changes(self):
        return {"amount": str(self.cleaned_data["amount"])}


FORMS: dict[str, type[RequestForm]] = {
    f.kind: f
    for f in (
        ContactForm,
        BeneficiaryForm,
        PaymentAccountForm,
        SumInsuredForm,
        RiderAddForm,
        RiderRemoveForm,
        MembersForm,
        SurrenderForm,
        ReinstatementForm,
        LoanForm,
        LoanRepayForm,
    )
}


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("意见"), required=False, max_length=500)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("拒绝原因"), max_length=500)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤回原因"), max_length=500)


class UnderwriteForm(forms.Form):
    accept = forms.TypedChoiceField(
        label=_("核保结论"), choices=[("1", _("同意")), ("0", _("拒绝"))], coerce=lambda v: v == "1"
    )
    note = forms.CharField(label=_("核保意见"), required=False, max_length=500)


class QueueFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("保全项目"), required=False, choices=[("", _("全部")), *Kind.choices])
    policy_no = forms.CharField(label=_("保单号"), required=False, max_length=20)
