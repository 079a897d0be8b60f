"""Forms of the sign-in pages: the second-factor code."""

from django import forms


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
