"""Administration pages (系统): users, their roles, units, locks, passwords, second factors and tokens.

Every write goes through a service in org/services.py, which checks org.manage again and audits.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.common.errors import DomainError
from insurdesk.org import services
from insurdesk.org.forms import LockForm, UnitForm, UnitRenameForm, UserForm
from insurdesk.org.models import OrgUnit, Role, User
from insurdesk.org.selectors import unit_choices, unit_tree, user_list
from insurdesk.org.services import second_factor_device

PAGE_SIZE = 50


@login_required
@require_http_methods(["GET", "HEAD"])
def users(request):
    role = request.GET.get("role", "")
    state = request.GET.get("state", "")
    unit = request.GET.get("unit", "")
    qs = user_list(
        query=request.GET.get("q", ""),
        role=role if role in Role.values else "",
        unit_id=int(unit) if unit.isdigit() else None,
        locked={"locked": True, "active": False}.get(state),
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "org/system/users.html",
        {"page": page, "roles": Role.choices, "units": unit_choices(), "filters": request.GET},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def user_create(request):
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            unit = OrgUnit.objects.get(pk=cd["unit"])
            user = services.user_create(
                actor=request.user,
                username=cd["username"].strip(),
                role=cd["role"],
                unit_code=unit.code,
                full_name=cd["full_name"].strip(),
                email=cd["email"],
            )
            raw = services.user_reset_password(actor=request.user, user_id=user.pk)
        except DomainError as exc:
            form.add_domain_errors(exc.errors)
        else:
            return _detail(request, user, new_password=raw, created=True)
    return render(request, "org/system/user_form.html", {"form": form})


def _user(pk: int) -> User:
    user = User.objects.select_related("unit").filter(pk=pk).first()
    if user is None:
        raise Http404(_("用户不存在"))
    return user


def _detail(request, user: User, *, form=None, new_password: str = "", created: bool = False, status=200):
    from insurdesk.org.selectors import api_tokens_of

    initial = {
        "full_name": str(user) if (user.last_name or user.first_name) else "",
        "role": user.role,
        "unit": user.unit_id,
        "email": user.email,
    }
    context = {
        "subject": user,
        "form": form or UserForm(initial=initial, editing=True),
        "lock_form": LockForm(),
        "device": second_factor_device(user),
        "tokens": [t for t in api_tokens_of(user) if t.active],
        "new_password": new_password,
        "created": created,
    }
    return render(request, "org/system/user_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def user_detail(request, pk: int):
    user = _user(pk)
    if request.method == "POST":
        form = UserForm(request.POST, editing=True)
        if form.is_valid():
            cd = form.cleaned_data
            try:
                services.user_change(
                    actor=request.user,
                    user_id=user.pk,
                    role=cd["role"],
                    unit_id=cd["unit"],
                    full_name=cd["full_name"],
                    email=cd["email"],
                )
            except DomainError as exc:
                form.add_domain_errors(exc.errors)
            else:
                messages.success(request, _("已保存用户 %(name)s 的资料") % {"name": user.username})
                return redirect("system:user_detail", pk=user.pk)
        return _detail(request, user, form=form, status=400)
    return _detail(request, user)


ACTIONS = {"lock", "unlock", "reset_password", "reset_second_factor", "revoke_tokens"}


@login_required
@require_POST
def user_action(request, pk: int):
    user = _user(pk)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return HttpResponseBadRequest(_("无此操作"))
    try:
        if action in ("lock", "unlock"):
            form = LockForm(request.POST)
            form.is_valid()
            services.user_set_locked(
                actor=request.user,
                user_id=user.pk,
                locked=action == "lock",
                reason=form.cleaned_data.get("reason", ""),
            )
            text = (
                _("已锁定，该用户无法登录，其 API 令牌已撤销")
                if action == "lock"
                else _("已解锁，该用户可以登录")
            )
        elif action == "reset_password":
            raw = services.user_reset_password(actor=request.user, user_id=user.pk)
            return _detail(request, _user(pk), new_password=raw)
        elif action == "reset_second_factor":
            services.user_reset_second_factor(actor=request.user, user_id=user.pk)
            text = _("已重置动态口令：该用户下次登录时须重新绑定身份验证器")
        else:
            n = services.user_revoke_tokens(actor=request.user, user_id=user.pk)
            text = _("已撤销 %(n)s 个 API 令牌") % {"n": n}
    except DomainError as exc:
        messages.error(request, "；".join(e.message for e in exc.errors))
    else:
        messages.success(request, text)
    return redirect("system:user_detail", pk=user.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def units(request):
    form = UnitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            parent = OrgUnit.objects.get(pk=cd["parent"])
            unit = services.unit_create(
                actor=request.user,
                code=cd["code"],
                name=cd["name"],
                parent_code=parent.code,
                level=cd["level"],
            )
        except DomainError as exc:
            form.add_domain_errors(exc.errors)
        else:
            messages.success(request, _("已新增机构 %(unit)s") % {"unit": unit})
            return redirect("system:units")
    status = 400 if form.is_bound else 200
    return render(request, "org/system/units.html", {"form": form, "units": unit_tree()}, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def unit_detail(request, pk: int):
    unit = OrgUnit.objects.filter(pk=pk).first()
    if unit is None:
        raise Http404(_("机构不存在"))
    form = UnitRenameForm(request.POST or None, initial={"name": unit.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_rename(actor=request.user, unit_id=unit.pk, name=form.cleaned_data["name"])
        except DomainError as exc:
            form.add_domain_errors(exc.errors)
        else:
            messages.success(request, _("已保存"))
            return redirect("system:units")
    members = user_list(unit_id=unit.pk)[:200]
    return render(request, "org/system/unit_detail.html", {"unit": unit, "form": form, "members": members})
