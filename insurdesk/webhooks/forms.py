from django import forms
from django.utils.translation import gettext_lazy as _

from insurdesk.common.events import EVENTS
from insurdesk.webhooks.models import Scope


class SubscriptionForm(forms.Form):
    url = forms.CharField(
        label=_("接收地址"),
        max_length=500,
        required=False,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    events = forms.MultipleChoiceField(
        label=_("事件"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(k, f"{k}（{v}）") for k, v in EVENTS.items()],
    )
    secret = forms.CharField(
        label=_("签名密钥"),
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("至少 16 个字符；接收方用它验证 X-Insurdesk-Signature，保存后不再显示"),
    )
    scope = forms.ChoiceField(label=_("数据范围"), choices=Scope.choices, initial=Scope.IDS, required=False)
    description = forms.CharField(label=_("说明"), max_length=200, required=False)
