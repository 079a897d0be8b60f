"""Archive pages: list and search, create, edit, the archive itself and its relations."""

import contextlib
import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.common.countries import country_name
from insurdesk.common.errors import DomainError, Duplicate, NotAllowed, NotFound
from insurdesk.common.formtokens import once_per_form
from insurdesk.common.masking import mask_name
from insurdesk.common.rmb import figures
from insurdesk.common.security import client_ip
from insurdesk.customers import calculations
from insurdesk.customers.forms import (
    AML,
    BeneficialOwnerForm,
    BeneficialOwnerFormSet,
    CorporateForm,
    CustomerFilterForm,
    CustomerForm,
    IndividualForm,
    OtherPolicyForm,
    OtherPolicyFormSet,
    RelationForm,
    formset_rows,
)
from insurdesk.customers.models import Customer, Kind
from insurdesk.customers.selectors import (
    MASKERS,
    CustomerFilters,
    customer_get,
    customer_history,
    customer_list,
    customer_relations,
    sees_sensitive,
    shown,
)
from insurdesk.customers.services import (
    REVEALABLE_FIELDS,
    customer_create,
    customer_record_view,
    customer_reveal,
    customer_update,
    relation_add,
    relation_remove,
)
from insurdesk.org.models import OrgUnit, User
from insurdesk.org.policy import can

PAGE_SIZE = 20
CHILD_ERROR_RE = re.compile(r"^(beneficial_owners|other_policies)\[(\d+)\]\.(\w+)$")
FORM_FOR_KIND = {Kind.INDIVIDUAL: IndividualForm, Kind.CORPORATE: CorporateForm}


def _require(user, action: str) -> None:
    if not can(user, action):
        raise PermissionDenied(_("您的角色无权执行此操作"))


def _get_or_404(viewer, pk: int) -> Customer:
    try:
        return customer_get(viewer=viewer, pk=pk)
    except NotFound:
        raise Http404(_("客户档案不存在")) from None


# --- list ---


@login_required
@require_http_methods(["GET", "HEAD"])
def customer_list_view(request):
    form = CustomerFilterForm(request.GET or None, viewer=request.user)
    query, filters = "", CustomerFilters()
    if form.is_bound:
        form.is_valid()  # an invalid filter is dropped from cleaned_data and simply not applied
        cd = form.cleaned_data
        query = cd.get("q") or ""
        filters = CustomerFilters(
            kind=cd.get("kind") or "",
            unit_id=cd.get("unit"),
            agent_id=cd.get("agent"),
            aml_risk=cd.get("aml_risk") or "",
        )
    qs = customer_list(viewer=request.user, query=query, filters=filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "customer": c,
            # A USCC is public (国家企业信用信息公示系统); only a person's number is masked.
            "id_number": shown(request.user, "uscc" if c.kind == "corporate" else "id_number", c.id_number),
            "mobile": shown(request.user, "mobile", c.mobile),
        }
        for c in page
    ]
    context = {"form": form, "page": page, "rows": rows, "searched": bool(query) or form.is_bound}
    template = "customers/list.html#results" if request.htmx else "customers/list.html"
    return render(request, template, context)


# --- create and edit ---


def _formsets(kind: str, *, data=None, customer: Customer | None = None, viewer=None) -> dict:
    """Return the child-row formsets of the form: beneficial owners and other insurers' policies."""
    if kind != Kind.CORPORATE:
        return {}
    owners_initial = others_initial = None
    if customer is not None:
        owners_initial = [
            {f: getattr(bo, f) for f in BeneficialOwnerForm.base_fields}
            for bo in customer.beneficial_owners.order_by("id")
        ]
        others_initial = [
            {f: getattr(op, f) for f in OtherPolicyForm.base_fields}
            for op in customer.other_policies.order_by("id")
        ]
    out = {}
    # Owners carry identity numbers: a role that sees masks reads them on the archive, never edits them.
    if customer is None or sees_sensitive(viewer):
        out["beneficial_owners"] = BeneficialOwnerFormSet(data, prefix="bo", initial=owners_initial)
    out["other_policies"] = OtherPolicyFormSet(data, prefix="op", initial=others_initial)
    return out


def _place_errors(exc: DomainError, form, child_forms: dict) -> None:
    """Put each FieldError on its form field, child row field, or the form's non-field errors."""
    for err in form.add_domain_errors(exc.errors):
        m = CHILD_ERROR_RE.match(err.field)
        rows = child_forms.get(m.group(1), []) if m else []
        if m and int(m.group(2)) < len(rows):
            row = rows[int(m.group(2))]
            row.add_error(m.group(3) if m.group(3) in row.fields else None, err.message)
        else:
            form.add_error(None, err.message)


def _also_check_the_rules(form, *, kind: str, creating: bool) -> None:
    """When some fields fail the form's own checks, run the archive's rules on the rest too, so that
    every mistake of one save shows at once (not a second wave after the first is fixed)."""
    from insurdesk.customers.validation import clean_corporate, clean_individual

    try:
        payload = form.to_data()
    except (AttributeError, KeyError):
        return
    failed = set(form.errors)
    # A field the form refused is absent here; what the rules say about it is left out below.
    payload = {k: v for k, v in payload.items() if k not in failed}
    try:
        if kind == Kind.CORPORATE:
            clean_corporate(payload, creating=creating, allow_uscc_override=True)
        else:
            clean_individual(payload, creating=creating)
    except (DomainError, TypeError, ValueError) as exc:
        for err in getattr(exc, "errors", ()):
            name = {"agent_id": "agent"}.get(err.field, err.field)
            if name in form.fields and name not in failed and not form.fields[name].widget.is_hidden:
                form.add_error(name, err.message)


def _customer_form_page(request, *, kind: str, customer: Customer | None):
    """Show and submit the create or edit form of one kind; the service decides and its errors come back."""
    form_class = FORM_FOR_KIND[kind]
    initial = _initial(customer) if customer is not None else None
    data = request.POST if request.method == "POST" else None
    form = form_class(data, viewer=request.user, customer=customer, initial=initial)
    formsets = _formsets(kind, data=data, customer=customer, viewer=request.user)
    duplicate = None
    if data is not None and form.is_valid() and all(fs.is_valid() for fs in formsets.values()):
        payload = form.to_data()
        child_forms = {}
        for key, fs in formsets.items():
            payload[key], child_forms[key] = formset_rows(fs)
        try:
            if customer is None:
                saved, warnings = customer_create(actor=request.user, kind=kind, data=payload)
            else:
                saved, warnings = customer_update(
                    actor=request.user,
                    customer_id=customer.pk,
                    data=payload,
                    expected_version=form.cleaned_data.get("version"),
                )
        except NotAllowed:
            raise PermissionDenied(_("您的角色无权执行此操作")) from None
        except NotFound:
            raise Http404(_("客户档案不存在")) from None
        except DomainError as exc:
            _place_errors(exc, form, child_forms)
            if isinstance(exc, Duplicate):
                duplicate = exc.existing
        else:
            for warning in warnings:
                messages.warning(request, warning)
            if customer is None:
                messages.success(request, _("已建档，客户号 %(no)s") % {"no": saved.archive_no})
            else:
                messages.success(request, _("已保存"))
            return redirect("customers:detail", pk=saved.pk)
    elif data is not None:
        _also_check_the_rules(form, kind=kind, creating=customer is None)
    context = {
        "form": form,
        "formsets": formsets,
        "kind": kind,
        "customer": customer,
        "duplicate": duplicate,
        "owners_readonly": (
            _owners(request.user, customer)
            if customer is not None and "beneficial_owners" not in formsets and kind == Kind.CORPORATE
            else None
        ),
    }
    return render(request, "customers/form.html", context)


def _initial(customer: Customer) -> dict:
    form_class = FORM_FOR_KIND[customer.kind]
    initial = {}
    for name in form_class.base_fields:
        attr = {"uscc": "id_number", "agent": "agent_id"}.get(name, name)
        initial[name] = getattr(customer, attr, None)
    return initial


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@once_per_form
def customer_create_individual(request):
    _require(request.user, "customer.create")
    return _customer_form_page(request, kind=Kind.INDIVIDUAL, customer=None)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@once_per_form
def customer_create_corporate(request):
    _require(request.user, "customer.create")
    return _customer_form_page(request, kind=Kind.CORPORATE, customer=None)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def customer_edit(request, pk: int):
    _require(request.user, "customer.change")
    customer = _get_or_404(request.user, pk)
    return _customer_form_page(request, kind=customer.kind, customer=customer)


# --- the archive page ---


def _value(viewer, customer, name: str):
    """Return a field's value for display: choice labels, 是/否, masks for what the role may not see."""
    attr = "id_number" if name == "uscc" else name
    if name == "agent":
        return str(customer.agent) if customer.agent_id else ""
    value = getattr(customer, attr)
    if value is None or value == "":
        return ""
    if getattr(customer, f"get_{attr}_display", None) is not None:
        return _(getattr(customer, f"get_{attr}_display")())
    if name == "nationality":
        return _(country_name(value))
    if isinstance(value, Decimal):
        return figures(value)
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date) and attr not in MASKERS:
        return value.isoformat()
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if name == "uscc":
        return value  # a company's public registration code: shown as the API shows it, never masked
    return _revealable(viewer, attr, value)


@dataclass(frozen=True)
class Revealable:
    """A masked value the viewer may show in full: renders as the mask, names the field to ask for."""

    text: str
    reveal_field: str

    def __str__(self) -> str:
        return self.text


def _revealable(viewer, attr: str, value):
    masked = shown(viewer, attr, value)
    if masked != value and attr in REVEALABLE_FIELDS and can(viewer, "customer.reveal"):
        return Revealable(masked, attr)
    return masked


def _rows(viewer, customer, form_class, names) -> list[tuple[str, object]]:
    fields = form_class.base_fields
    return [(fields[n].label, _value(viewer, customer, n)) for n in names if n in fields]


def _section(form_class, title) -> tuple[str, ...]:
    return next(names for t, names in form_class.fieldsets if str(t) == str(title))


def _owners(viewer, customer) -> list[dict]:
    out = []
    for bo in customer.beneficial_owners.order_by("id"):
        out.append(
            {
                "bo": bo,
                "id_number": shown(viewer, "id_number", bo.id_number),
                "address": shown(viewer, "address", bo.address),
                "phone": shown(viewer, "phone", bo.phone),
            }
        )
    return out


HIDDEN_HISTORY_FIELDS = frozenset({"id_hash", "mobile_hash", "id"})


def _history_value(viewer, field: str, value, units: dict, users: dict):
    if value is None or value == "":
        return _("（空）")
    if field in ("unit", "unit_id"):
        return units.get(value, value)
    if field in ("agent", "agent_id", "created_by", "created_by_id"):
        return users.get(value, value)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    try:
        model_field = Customer._meta.get_field(field)
    except FieldDoesNotExist:
        model_field = None
    if model_field is not None and model_field.choices:
        label = dict(model_field.flatchoices).get(value)
        return value if label is None else _(label)
    return shown(viewer, field, value)


def _history(viewer, customer) -> list[dict]:
    entries = customer_history(customer=customer)
    ids = {
        ch[k]
        for e in entries
        for ch in e["changes"]
        for k in ("before", "after")
        if ch["field"] in ("unit", "unit_id", "agent", "agent_id") and ch[k]
    }
    units = {u.pk: u.name for u in OrgUnit.objects.filter(pk__in=ids)}
    users = {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    out = []
    for e in entries:
        changes = []
        for ch in e["changes"]:
            if ch["field"] in HIDDEN_HISTORY_FIELDS:
                continue
            label = ch["label"]
            if label == ch["field"]:
                with contextlib.suppress(FieldDoesNotExist):
                    label = str(Customer._meta.get_field(ch["field"]).verbose_name)
            changes.append(
                {
                    "label": label,
                    "before": _history_value(viewer, ch["field"], ch["before"], units, users),
                    "after": _history_value(viewer, ch["field"], ch["after"], units, users),
                }
            )
        if e["changes"] and not changes:
            continue
        out.append({"when": e["when"], "who": e["who"], "created": e["type"] == "+", "changes": changes})
    return out


# Completeness labels (customers.calculations) that no form or model field names, for the catalogue.
_COMPLETENESS_ONLY_LABELS = (
    gettext_noop("证件有效期"),
    gettext_noop("年收入"),
    gettext_noop("营业执照有效期"),
    gettext_noop("注册资本"),
)


def _completeness(customer) -> tuple[int, list[str]]:
    values = {f.attname: getattr(customer, f.attname) for f in Customer._meta.concrete_fields}
    if customer.kind == Kind.CORPORATE:
        values["beneficial_owners"] = customer.beneficial_owners.count()
    return calculations.completeness(customer.kind, values)


@login_required
@require_http_methods(["GET", "HEAD"])
def customer_detail(request, pk: int):
    viewer = request.user
    customer = _get_or_404(viewer, pk)
    customer_record_view(actor=viewer, customer=customer, channel="web", ip=request.META.get("REMOTE_ADDR"))
    today = timezone.localdate()
    score, missing = _completeness(customer)
    form_class = FORM_FOR_KIND[customer.kind]
    context = {
        "customer": customer,
        "score": score,
        "missing": [_(label) for label in missing],
        "today": today,
        "can_change": can(viewer, "customer.change"),
        "can_history": can(viewer, "customer.history"),
        "masked": not sees_sensitive(viewer),
        "aml": _rows(viewer, customer, CustomerForm, AML),
        "id_expired": bool(
            customer.id_valid_to and customer.id_valid_to < today and not customer.id_long_term
        ),
        "relations": [
            {
                "link": link,
                "visible": visible,
                "name": link.to_customer.name if visible else mask_name(link.to_customer.name),
            }
            for link, visible in customer_relations(viewer=viewer, customer=customer)
        ],
        "relation_form": RelationForm(),
    }
    if customer.kind == Kind.INDIVIDUAL:
        context["sections"] = [
            (
                "basic",
                _("基本信息"),
                _rows(viewer, customer, form_class, _section(form_class, _("基本信息"))),
            ),
            (
                "contacts",
                _("联系方式"),
                _rows(viewer, customer, form_class, _section(form_class, _("联系方式"))),
            ),
            (
                "profile",
                _("画像"),
                [(_("年龄"), calculations.age_on(customer.birth_date, today))]
                + _rows(viewer, customer, form_class, ("gender",))
                + _rows(viewer, customer, form_class, _section(form_class, _("画像（八要素）"))),
            ),
        ]
    else:
        context["sections"] = [
            (
                "basic",
                _("基本信息"),
                _rows(viewer, customer, form_class, _section(form_class, _("单位基本信息"))),
            ),
            (
                "contacts",
                _("联系方式"),
                _rows(viewer, customer, form_class, _section(form_class, _("联系方式"))),
            ),
        ]
        context["corporate_sections"] = [
            (title, _rows(viewer, customer, form_class, _section(form_class, title)))
            for title in (_("法定代表人与控制人"), _("经办人"), _("一般纳税人信息"), _("团险客户信息收集"))
        ]
        context["owners"] = _owners(viewer, customer)
        context["other_policies"] = list(customer.other_policies.order_by("id"))
    context["service_rows"] = (
        [
            (_("所属机构"), customer.unit.name),
            (_("服务业务员"), str(customer.agent) if customer.agent_id else ""),
        ]
        + _rows(viewer, customer, form_class, ("source_channel", "notes"))
        + [
            (_("建档时间"), timezone.localtime(customer.created_at).strftime("%Y-%m-%d %H:%M")),
            (_("建档人"), str(customer.created_by) if customer.created_by_id else ""),
        ]
    )
    if context["can_history"]:
        context["history"] = _history(viewer, customer)
    return render(request, "customers/detail.html", context)


# --- relations ---


@login_required
@require_POST
def relation_add_view(request, pk: int):
    _require(request.user, "customer.change")
    customer = _get_or_404(request.user, pk)
    form = RelationForm(request.POST)
    target = reverse("customers:detail", args=[customer.pk]) + "#relations"
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(target)
    number = form.cleaned_data["archive_no"]
    other = customer_list(viewer=request.user, query=number).first()
    if other is None:
        messages.error(request, _("客户号 %(no)s 不存在或不在您的管辖范围内") % {"no": number})
        return redirect(target)
    try:
        relation_add(
            actor=request.user,
            customer_id=customer.pk,
            other_id=other.pk,
            relation=form.cleaned_data["relation"],
        )
    except NotAllowed:
        raise PermissionDenied(_("您的角色无权执行此操作")) from None
    except DomainError as exc:
        for err in exc.errors:
            messages.error(request, err.message)
    else:
        messages.success(
            request, _("已关联 %(name)s（%(no)s）") % {"name": other.name, "no": other.archive_no}
        )
    return redirect(target)


@login_required
@require_POST
def relation_remove_view(request, pk: int, other_pk: int):
    _require(request.user, "customer.change")
    customer = _get_or_404(request.user, pk)
    relation_remove(actor=request.user, customer_id=customer.pk, other_id=other_pk)
    messages.success(request, _("已解除关联"))
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#relations")


# --- revealing one masked value ---


@login_required
@require_POST
def customer_reveal_view(request, pk: int):
    """Show one masked value in full for a stated reason (htmx: in place, for this view only)."""
    viewer = request.user
    _require(viewer, "customer.reveal")
    customer = _get_or_404(viewer, pk)
    field = request.POST.get("field", "")
    try:
        value = customer_reveal(
            actor=viewer,
            customer_id=customer.pk,
            field=field,
            reason=request.POST.get("reason", ""),
            channel="web",
            ip=client_ip(request),
        )
    except NotAllowed:
        raise PermissionDenied(_("您的角色无权执行此操作")) from None
    except NotFound:
        raise Http404(_("客户档案不存在")) from None
    except DomainError as exc:
        message = exc.errors[0].message
        if request.htmx:  # answer in place: a redirect would swap a whole page into the field
            masked = shown(viewer, field, getattr(customer, field)) if field in REVEALABLE_FIELDS else ""
            context = {"customer": customer, "value": Revealable(masked, field), "error": message}
            return render(request, "customers/_reveal.html", context)
        messages.error(request, message)
        return redirect("customers:detail", pk=customer.pk)
    context = {
        "customer": customer,
        "field": field,
        "label": Customer._meta.get_field(field).verbose_name,
        "value": value,
    }
    return render(request, "customers/_revealed.html" if request.htmx else "customers/revealed.html", context)
