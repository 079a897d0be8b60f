"""Forms of the underwriting pages: they parse input; underwriting_decide decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from insurdesk.customers.forms import DomainErrorsMixin, units_in_scope
from insurdesk.underwriting.models import DecisionKind, EvidenceKind
from insurdesk.underwriting.selectors import QUEUES

BLANK = [("", "—")]
# What an underwriter chooses on the case page, in the order a decision is usually weighed.
DECISIONS = [
    (k, DecisionKind(k).label)
    for k in ("standard", "rated", "exclusion", "request_evidence", "postpone", "decline")
]


class DecisionForm(DomainErrorsMixin, forms.Form):
    decision = forms.ChoiceField(label=_("核保结论"), choices=DECISIONS, widget=forms.RadioSelect)
    extra_premium = forms.DecimalField(
        label=_("加费（每期，元）"), required=False, max_digits=14, decimal_places=2, min_value=0
    )
    exclusion = forms.CharField(
        label=_("除外责任"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    evidence_kind = forms.ChoiceField(
        label=_("补充资料类型"), required=False, choices=BLANK + list(EvidenceKind.choices)
    )
    evidence = forms.CharField(
        label=_("补充资料/体检项目"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reasons = forms.CharField(
        label=_("核保意见"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class QueueFilterForm(forms.Form):
    queue = forms.ChoiceField(label=_("队列"), choices=list(QUEUES.items()), required=False)
    unit = forms.TypedChoiceField(label=_("机构"), required=False, coerce=int, empty_value=None)
    mine = forms.BooleanField(label=_("只看我的"), required=False)

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = BLANK + units_in_scope(viewer)
