"""Product catalogue pages: the list and one product for everyone, create and edit for admins."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from insurdesk.common.errors import DomainError, NotAllowed, NotFound
from insurdesk.org.policy import can
from insurdesk.products.calculations import term_label
from insurdesk.products.forms import ProductForm, initial_of
from insurdesk.products.models import Line, PaymentMode
from insurdesk.products.selectors import product_get, product_list
from insurdesk.products.services import product_create, product_update


def _require(user, action: str) -> None:
    if not can(user, action):
        raise PermissionDenied(_("您的角色无权执行此操作"))


def _get_or_404(code: str):
    try:
        return product_get(code=code)
    except NotFound:
        raise Http404(_("险种不存在")) from None


def _labels(product) -> dict:
    modes = dict(PaymentMode.choices)
    return {
        "terms": "、".join(term_label(t) for t in product.coverage_terms),
        "modes": "、".join(str(modes.get(m, m)) for m in product.payment_modes),
        "payment_terms": "、".join(term_label(t) for t in product.payment_terms),
        "classes": "、".join(f"{c}类" for c in product.occupation_classes) or _("不限"),
        "mains": "、".join(sorted(m.code for m in product.attaches_to.all())),
    }


@login_required
@require_http_methods(["GET", "HEAD"])
def product_list_view(request):
    _require(request.user, "product.view")
    line = request.GET.get("line") or ""
    q = (request.GET.get("q") or "").strip()[:50]
    products = product_list(query=q, line=line if line in Line.values else "")
    return render(
        request,
        "products/list.html",
        {
            "rows": [{"p": p, **_labels(p)} for p in products],
            "lines": Line.choices,
            "line": line,
            "q": q,
            "can_manage": can(request.user, "product.manage"),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def product_detail_view(request, code: str):
    _require(request.user, "product.view")
    product = _get_or_404(code)
    return render(
        request,
        "products/detail.html",
        {
            "p": product,
            **_labels(product),
            "levels": list(product.plan_levels.all()),
            "can_manage": can(request.user, "product.manage"),
        },
    )


def _form_page(request, product=None):
    data = request.POST if request.method == "POST" else None
    form = ProductForm(data, editing=product is not None, initial=initial_of(product) if product else None)
    if data is not None and form.is_valid():
        try:
            if product is None:
                saved = product_create(actor=request.user, data=form.to_data())
            else:
                payload = form.to_data()
                payload.pop("code", None)
                saved = product_update(
                    actor=request.user,
                    code=product.code,
                    data=payload,
                    expected_version=form.cleaned_data.get("version"),
                )
        except NotAllowed:
            raise PermissionDenied(_("您的角色无权执行此操作")) from None
        except DomainError as exc:
            form.add_domain_errors(exc.errors)
        else:
            messages.success(request, _("险种 %(code)s 已保存") % {"code": saved.code})
            return redirect("products:detail", code=saved.code)
    return render(request, "products/form.html", {"form": form, "product": product})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def product_create_view(request):
    _require(request.user, "product.manage")
    return _form_page(request)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def product_edit_view(request, code: str):
    _require(request.user, "product.manage")
    return _form_page(request, _get_or_404(code))
