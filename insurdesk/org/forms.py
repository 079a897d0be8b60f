"""Forms of the sign-in pages (the second-factor code) and of the administration pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from insurdesk.org.models import Role, UnitLevel
from insurdesk.org.selectors import unit_choices


class OtpCodeForm(forms.Form):
    code = forms.CharField(
        label="动态口令",
        min_length=6,
        max_length=8,
        help_text="身份验证器应用中显示的 6 位数字",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "size": 8}
        ),
        error_messages={"required": "请输入动态口令", "min_length": "动态口令为 6 位数字"},
    )

    def clean_code(self):
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isdigit():
            raise forms.ValidationError("动态口令为 6 位数字")
        return code


# ---------------------------------------------------------------- administration (系统管理)


class DomainErrorsForm(forms.Form):
    """A form that shows a service's refusals at the fields they name."""

    def add_domain_errors(self, errors) -> None:
        for err in errors:
            name = err.field if err.field in self.fields else None
            self.add_error(name, err.message)


class UserForm(DomainErrorsForm):
    username = forms.CharField(label=_("用户名"), max_length=150)
    full_name = forms.CharField(label=_("姓名"), max_length=60, required=False, help_text=_("姓在前，名在后"))
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)
    unit = forms.TypedChoiceField(label=_("所属机构"), coerce=int)
    email = forms.EmailField(label=_("电子邮箱"), required=False)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices()
        if editing:
            del self.fields["username"]


class LockForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


class UnitForm(DomainErrorsForm):
    code = forms.CharField(label=_("机构代码"), max_length=20)
    name = forms.CharField(label=_("机构名称"), max_length=100)
    parent = forms.TypedChoiceField(label=_("上级机构"), coerce=int)
    level = forms.ChoiceField(label=_("层级"), choices=UnitLevel.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = unit_choices()


class UnitRenameForm(DomainErrorsForm):
    name = forms.CharField(label=_("机构名称"), max_length=100)
