"""One-time form tokens: a form that creates something is safe to submit twice (issue 15).

Each render of such a form carries a fresh signed token (`{% form_token %}`, from
`insurdesk.common.templatetags.formtokens`). The view is wrapped in `@once_per_form`: the first POST
with a token spends it in its own committed transaction before the view runs, so of two submissions
(a double click, a reload of the POST, two tabs) only one does the work. The second is sent to the page
the first one led to, with a message, and creates nothing. A submission refused with form errors gives
its token back: the page it shows carries a new one anyway.

A POST without a token (a script, an old page) is handled as before; a token that is forged, expired
or another user's is refused with 400.
"""

from __future__ import annotations

import functools
import secrets

from django.contrib import messages
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from insurdesk.common.models import UsedFormToken

FIELD = "form_token"
_SALT = "insurdesk.form-token"
MAX_AGE = 24 * 3600  # a form left open longer than a day is filled in again


def issue_form_token(user) -> str:
    """Return a new one-time token for a form this user is shown."""
    return signing.dumps({"u": user.pk, "n": secrets.token_hex(16)}, salt=_SALT, compress=False)


def _nonce(request, token: str) -> str | None:
    try:
        data = signing.loads(token, salt=_SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != request.user.pk or not isinstance(data.get("n"), str):
        return None
    return data["n"]


def once_per_form(view):
    """Run a form's POST once per token; a repeat is sent where the first one went."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        token = request.POST.get(FIELD) if request.method == "POST" else None
        if not token:
            return view(request, *args, **kwargs)
        nonce = _nonce(request, token)
        if nonce is None:
            return HttpResponseBadRequest(_("表单已过期或无效，请刷新页面后重新填写"))
        try:
            with transaction.atomic():
                spent = UsedFormToken.objects.create(nonce=nonce, user_id=request.user.pk)
        except IntegrityError:
            first = UsedFormToken.objects.filter(nonce=nonce).first()
            if first is not None and first.location:
                messages.info(request, _("该表单已经提交过，未重复录入"))
                return redirect(first.location)
            messages.warning(request, _("该表单正在提交中，请勿重复提交；稍后请查看结果"))
            return redirect(request.get_full_path())
        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            UsedFormToken.objects.filter(pk=spent.pk).delete()
            raise
        if response.status_code in (301, 302, 303) and response.get("Location"):
            UsedFormToken.objects.filter(pk=spent.pk).update(location=response["Location"][:500])
        else:
            UsedFormToken.objects.filter(pk=spent.pk).delete()
        return response

    return wrapper
