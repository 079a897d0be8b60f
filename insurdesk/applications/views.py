"""New-business pages: list and queues, first entry, second entry, problem items, the application itself,
sales recording, clerks' mismatch rates."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.applications import forms as f
from insurdesk.applications.calculations import RECORDING_REASON_LABELS
from insurdesk.applications.models import Application, ProblemItem, State
from insurdesk.applications.problems import applicable
from insurdesk.applications.selectors import (
    QUEUES,
    ApplicationFilters,
    age_of,
    application_get,
    application_list,
    application_queue,
    entry_error_stats,
    key_values_visible,
    problem_list,
    problem_value,
    problems_by_owner,
    queue_owner,
    queues_for,
)
from insurdesk.applications.services import (
    application_create,
    application_recording_attach,
    application_recording_check,
    application_second_entry,
    application_submit,
    application_update,
    application_withdraw,
    current_input,
    problem_assign,
    problem_raise,
    problem_reply,
    problem_resolve,
    problem_send,
)
from insurdesk.common.errors import DomainError, NotAllowed, NotFound
from insurdesk.common.formtokens import once_per_form
from insurdesk.customers.selectors import customer_list, shown
from insurdesk.org.policy import can
from insurdesk.products.calculations import term_label

PAGE_SIZE = 20


def _require(user, action: str) -> None:
    if not can(user, action):
        raise PermissionDenied(_("您的角色无权执行此操作"))


def _get_or_404(viewer, pk: int) -> Application:
    try:
        return application_get(viewer=viewer, pk=pk)
    except NotFound:
        raise Http404(_("投保单不存在")) from None


def _messages_for(request, exc: DomainError) -> None:
    for err in exc.errors:
        messages.error(request, err.message)


def _detail_url(app_id: int, anchor: str = "") -> str:
    return reverse("applications:detail", args=[app_id]) + (f"#{anchor}" if anchor else "")


# ------------------------------------------------------------------ list and queues


@login_required
@require_http_methods(["GET", "HEAD"])
def application_list_view(request):
    form = f.ApplicationFilterForm(request.GET or None)
    query, state = "", ""
    if form.is_bound and form.is_valid():
        query, state = form.cleaned_data.get("q") or "", form.cleaned_data.get("state") or ""
    qs = application_list(viewer=request.user, query=query, filters=ApplicationFilters(state=state))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"app": a, "visible": key_values_visible(request.user, a), "age": age_of(a.state_changed_at)}
        for a in page
    ]
    return render(
        request,
        "applications/list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "can_create": can(request.user, "application.create"),
            "can_stats": can(request.user, "application.stats"),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def queues_view(request):
    now = timezone.now()
    queues = []
    for name in queues_for(request.user):
        _state, _action, title = QUEUES[name]
        qs = application_queue(viewer=request.user, name=name)
        items = list(qs[:50])
        queues.append(
            {
                "name": name,
                "title": title,
                "count": qs.count(),
                "rows": [
                    {
                        "app": a,
                        "age": age_of(a.state_changed_at, now),
                        "owner": queue_owner(a, name),
                        "visible": key_values_visible(request.user, a),
                        "open_problems": getattr(a, "open_problems", None),
                    }
                    for a in items
                ],
            }
        )
    return render(
        request,
        "applications/queues.html",
        {"queues": queues, "by_owner": problems_by_owner(viewer=request.user)},
    )


# ------------------------------------------------------------------ first entry and edit


def _resolver(viewer):
    def resolve(lookup: str):
        matches = list(customer_list(viewer=viewer, query=lookup)[:2])
        return matches[0] if len(matches) == 1 else None

    return resolve


def _products():
    return list(f.product_choices())


def _entry_page(request, *, app: Application | None):
    products = _products()
    data = request.POST if request.method == "POST" else None
    initial = (
        _initial(app)
        if app is not None
        else {"application_date": timezone.localdate(), "payment_mode": "annual", "business_source": "direct"}
    )
    form = f.ApplicationForm(data, viewer=request.user, initial=initial)
    lines_initial = beneficiaries_initial = None
    if app is not None:
        current = current_input(app)
        lines_initial = [
            {**row, "rider_of": row["rider_of"] or "", "plan_level": row["plan_level"] or ""}
            for row in current["lines"]
        ]
        beneficiaries_initial = [
            {**row, "id_number": row["id_number"] or ""} for row in current["beneficiaries"]
        ]
    lines = f.line_formset(data, initial=lines_initial, products=products)
    beneficiaries = f.beneficiary_formset(data, initial=beneficiaries_initial)
    if data is not None and form.is_valid() and lines.is_valid() and beneficiaries.is_valid():
        payload = form.scalars()
        resolve = _resolver(request.user)
        payload["policyholder"] = form.party("ph", resolve=resolve)
        payload["insured"] = form.party("ins", resolve=resolve)
        payload["lines"], line_forms = f.formset_rows(lines)
        payload["beneficiaries"], ben_forms = f.formset_rows(beneficiaries)
        if not form.errors:
            try:
                if app is None:
                    saved, warnings = application_create(actor=request.user, data=payload)
                else:
                    changed = _changed(current_input(app), payload)
                    saved, warnings = application_update(
                        actor=request.user,
                        application_id=app.pk,
                        data=changed,
                        expected_version=form.cleaned_data.get("version"),
                    )
            except NotAllowed as exc:
                if app is None:
                    raise PermissionDenied(_("您的角色无权执行此操作")) from None
                form.add_domain_errors(exc.errors)
            except DomainError as exc:
                form.add_domain_errors(exc.errors, rows={"lines": line_forms, "beneficiaries": ben_forms})
            else:
                for warning in warnings:
                    messages.warning(request, warning)
                messages.success(
                    request,
                    _("投保单 %(no)s 已保存") % {"no": saved.application_no}
                    if app
                    else _("初录完成，投保单 %(no)s 待二次录入") % {"no": saved.application_no},
                )
                return redirect("applications:detail", pk=saved.pk)
    return render(
        request,
        "applications/entry_form.html",
        {"form": form, "lines": lines, "beneficiaries": beneficiaries, "app": app, "products": products},
    )


def _initial(app: Application) -> dict:
    d = current_input(app)
    return {
        **{
            k: d[k]
            for k in (
                "application_no",
                "application_date",
                "requested_effective_date",
                "business_source",
                "agency_name",
                "agency_kind",
                "commission_ratio",
                "relationship",
                "insured_consent",
                "total_premium",
                "payment_mode",
                "payment_term",
                "bank_name",
                "bank_account",
                "account_holder",
                "beneficiary_legal",
                "health_disclosure",
                "health_details",
                "notes",
            )
        },
        "agent": app.agent_id,
        "version": app.version,
        "ph_lookup": app.policyholder.archive_no,
        "ins_lookup": app.insured.archive_no if app.insured_id and app.relationship != "self" else "",
    }


def _norm(value):
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if v not in (None, "")}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return None if value == "" else value


def _changed(current: dict, payload: dict) -> dict:
    """Return only the fields the form changed, so an edit after second entry leaves key fields alone."""
    out = {}
    for key, value in payload.items():
        before = current.get(key)
        if key == "insured" and value is None and payload.get("relationship") == "self":
            continue
        if _norm(value) != _norm(before):
            out[key] = value
    return out


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@once_per_form
def application_create_view(request):
    _require(request.user, "application.create")
    return _entry_page(request, app=None)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def application_edit_view(request, pk: int):
    _require(request.user, "application.change")
    app = _get_or_404(request.user, pk)
    if app.state == State.SECOND_ENTRY and request.user.pk != app.first_entry_by_id:
        raise PermissionDenied(_("二次录入前只有初录人可以修改投保单"))
    if app.state not in (State.SECOND_ENTRY, State.PROBLEMS, State.ENTERED):
        messages.error(request, _("投保单当前状态为“%(s)s”，不能修改") % {"s": app.get_state_display()})
        return redirect("applications:detail", pk=app.pk)
    return _entry_page(request, app=app)


@login_required
@require_http_methods(["GET", "HEAD"])
def customer_lookup_view(request):
    """Find one archive by archive number or ID number for the first-entry form (htmx fragment)."""
    raw = request.GET.get("q") or request.GET.get("ph_lookup") or request.GET.get("ins_lookup") or ""
    q = raw.strip()[:30]
    matches = list(customer_list(viewer=request.user, query=q)[:5]) if len(q) >= 4 else []
    rows = [{"c": c, "id_number": shown(request.user, "id_number", c.id_number)} for c in matches]
    return render(request, "applications/_lookup.html", {"rows": rows, "q": q})


# ------------------------------------------------------------------ second entry


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def second_entry_view(request, pk: int):
    _require(request.user, "application.second_entry")
    app = _get_or_404(request.user, pk)
    if request.user.pk == app.first_entry_by_id:
        messages.error(request, _("二次录入须由初录人以外的人员完成，您是该投保单的初录人"))
        return redirect("applications:detail", pk=app.pk)
    if app.state != State.SECOND_ENTRY:
        messages.error(request, _("投保单当前状态为“%(s)s”，不能二次录入") % {"s": app.get_state_display()})
        return redirect("applications:detail", pk=app.pk)
    data = request.POST if request.method == "POST" else None
    form = f.SecondEntryForm(data)
    lines = f.SecondLineFormSet(data, prefix="line")
    beneficiaries = f.SecondBeneficiaryFormSet(data, prefix="ben")
    if data is not None and form.is_valid() and lines.is_valid() and beneficiaries.is_valid():
        d = form.cleaned_data
        payload = {
            "policyholder": {"name": d["ph_name"], "id_number": d["ph_id_number"]},
            "total_premium": d["total_premium"],
            "payment_mode": d.get("payment_mode") or "",
            "payment_term": d["payment_term"],
            "lines": f.formset_rows(lines)[0],
            "beneficiaries": f.formset_rows(beneficiaries)[0],
        }
        if d.get("ins_name") or d.get("ins_id_number"):
            payload["insured"] = {"name": d.get("ins_name") or "", "id_number": d.get("ins_id_number") or ""}
        if d.get("bank_account"):
            payload["bank_account"] = d["bank_account"]
        try:
            saved, problems = application_second_entry(
                actor=request.user, application_id=app.pk, data=payload
            )
        except DomainError as exc:
            for err in exc.errors:
                form.add_error(None, f"{err.field}：{err.message}" if err.field else err.message)
        else:
            if problems:
                messages.warning(
                    request,
                    _("二次录入完成，%(n)d 处与初录不一致，已生成问题件：%(f)s")
                    % {"n": len(problems), "f": "、".join(p.field_label for p in problems)},
                )
            else:
                messages.success(request, _("二次录入完成，与初录一致"))
            return redirect("applications:detail", pk=saved.pk)
    return render(
        request,
        "applications/second_entry.html",
        {"app": app, "form": form, "lines": lines, "beneficiaries": beneficiaries},
    )


# ------------------------------------------------------------------ the application


def _problem_rows(viewer, items) -> list[dict]:
    now = timezone.now()
    return [
        {
            "item": p,
            "first": problem_value(viewer, p, p.first_value),
            "second": problem_value(viewer, p, p.second_value),
            "resolved": problem_value(viewer, p, p.resolved_value),
            "age": age_of(p.created_at, now),
        }
        for p in items
    ]


def _issued_policy(app: Application):
    from django.core.exceptions import ObjectDoesNotExist

    try:
        return app.policy  # the policies app's reverse relation (applications does not import it)
    except (ObjectDoesNotExist, AttributeError):
        return None


@login_required
@require_http_methods(["GET", "HEAD"])
def application_detail_view(request, pk: int):
    viewer = request.user
    app = _get_or_404(viewer, pk)
    visible = key_values_visible(viewer, app)
    problems = list(problem_list(viewer=viewer, open_only=False, application_id=app.pk)) if visible else []
    lines = sorted(app.lines.all(), key=lambda x: x.seq)
    editable = app.state in (State.SECOND_ENTRY, State.PROBLEMS, State.ENTERED)
    return render(
        request,
        "applications/detail.html",
        {
            "app": app,
            "issued_policy": _issued_policy(app),
            "visible": visible,
            "lines": [{"line": line, "term": term_label(line.coverage_term)} for line in lines],
            "beneficiaries": [
                {"b": b, "id_number": shown(viewer, "id_number", b.id_number)}
                for b in sorted(app.beneficiaries.all(), key=lambda x: x.seq)
            ],
            "policyholder_id": shown(viewer, "id_number", app.policyholder_id_number),
            "insured_id": shown(viewer, "id_number", app.insured_id_number),
            "bank_account": shown(viewer, "tax_account", app.bank_account),
            "health_details": shown(viewer, "health_notes", app.health_details),
            "payment_term_label": term_label(app.payment_term),
            "problems": _problem_rows(viewer, problems),
            "recording_reasons": [RECORDING_REASON_LABELS.get(r, r) for r in app.recording_reasons or []],
            "age": age_of(app.state_changed_at),
            "can": {
                "edit": editable
                and can(viewer, "application.change")
                and (app.state != State.SECOND_ENTRY or viewer.pk == app.first_entry_by_id),
                "second_entry": app.state == State.SECOND_ENTRY
                and can(viewer, "application.second_entry")
                and viewer.pk != app.first_entry_by_id,
                "submit": app.state == State.ENTERED and can(viewer, "application.submit"),
                "withdraw": app.state not in (State.ISSUED, State.WITHDRAWN, State.DECLINED, State.POSTPONED)
                and can(viewer, "application.withdraw"),
                "resolve": can(viewer, "application.resolve"),
                "handle": can(viewer, "application.problem_handle"),
                "raise": can(viewer, "application.problem_raise")
                and app.state not in (State.ISSUED, State.WITHDRAWN, State.DECLINED, State.POSTPONED),
                "recording": can(viewer, "application.recording_attach")
                and app.state not in (State.ISSUED, State.WITHDRAWN, State.DECLINED, State.POSTPONED),
                "check": app.has_recording
                and can(viewer, "application.recording_check")
                and viewer.pk != app.recording_attached_by_id,
                "listen": bool(app.recording_file) and can(viewer, "application.recording_view"),
            },
            "recording_form": f.RecordingForm(),
            "check_form": f.RecordingCheckForm(),
            "withdraw_form": f.WithdrawForm(),
            "raise_form": f.RaiseForm(),
            "reply_form": f.ReplyForm(),
        },
    )


@login_required
@require_POST
def submit_view(request, pk: int):
    _require(request.user, "application.submit")
    app = _get_or_404(request.user, pk)
    try:
        application_submit(actor=request.user, application_id=app.pk)
    except DomainError as exc:
        _messages_for(request, exc)
    else:
        level, text = submit_outcome(Application.objects.get(pk=app.pk))
        messages.add_message(request, level, text)
    return redirect("applications:detail", pk=app.pk)


def submit_outcome(app: Application) -> tuple[int, str]:
    """Say what submitting actually led to: issued at once, accepted, referred, evidence asked, declined."""
    policy = _issued_policy(app) if app.state == State.ISSUED else None
    if policy is not None:
        url = reverse("policies:detail", args=[policy.pk])
        return messages.SUCCESS, format_html(
            _("自动核保通过，已出单 {link}"), link=format_html('<a href="{}">{}</a>', url, policy.policy_no)
        )
    if app.state == State.ACCEPTED:
        return messages.SUCCESS, _("自动核保通过，待出单")
    if app.state == State.EVIDENCE:
        return messages.WARNING, _("已提交核保：须补充资料后继续核保")
    if app.state == State.DECLINED:
        return messages.WARNING, _("已提交核保：自动核保结论为拒保")
    case = getattr(app, "underwriting_case", None)
    if case is not None and case.state == "referred":
        return messages.INFO, _("已提交核保，已转人工核保")
    return messages.INFO, _("已提交核保，等待核保")


@login_required
@require_POST
def withdraw_view(request, pk: int):
    _require(request.user, "application.withdraw")
    app = _get_or_404(request.user, pk)
    form = f.WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写撤件原因"))
        return redirect("applications:detail", pk=app.pk)
    try:
        application_withdraw(actor=request.user, application_id=app.pk, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        _messages_for(request, exc)
    else:
        messages.success(request, _("已撤件"))
    return redirect("applications:detail", pk=app.pk)


# ------------------------------------------------------------------ sales recording


@login_required
@require_POST
def recording_view(request, pk: int):
    _require(request.user, "application.recording_attach")
    app = _get_or_404(request.user, pk)
    form = f.RecordingForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            application_recording_attach(
                actor=request.user,
                application_id=app.pk,
                file=form.cleaned_data.get("file"),
                reference=form.cleaned_data.get("reference") or "",
            )
        except DomainError as exc:
            _messages_for(request, exc)
        else:
            messages.success(request, _("双录资料已上传，待质检"))
    else:
        messages.error(request, _("双录资料无效"))
    return redirect(_detail_url(app.pk, "recording"))


@login_required
@require_POST
def recording_check_view(request, pk: int):
    _require(request.user, "application.recording_check")
    app = _get_or_404(request.user, pk)
    form = f.RecordingCheckForm(request.POST)
    if form.is_valid():
        try:
            application_recording_check(
                actor=request.user,
                application_id=app.pk,
                passed=form.cleaned_data["passed"],
                note=form.cleaned_data.get("note") or "",
            )
        except DomainError as exc:
            _messages_for(request, exc)
        else:
            messages.success(request, _("双录质检已登记"))
    return redirect(_detail_url(app.pk, "recording"))


@login_required
@require_http_methods(["GET", "HEAD"])
def recording_file_view(request, pk: int):
    _require(request.user, "application.recording_view")
    app = _get_or_404(request.user, pk)
    if not app.recording_file:
        raise Http404(_("没有双录文件"))
    response = FileResponse(
        app.recording_file.open("rb"),
        content_type=app.recording_content_type or None,
        as_attachment=True,
        filename=app.recording_file.name.rsplit("/", 1)[-1],
    )
    return response


# ------------------------------------------------------------------ problem items


@login_required
@require_http_methods(["GET", "HEAD"])
def problems_view(request):
    viewer = request.user
    mine = request.GET.get("mine") == "1"
    items = problem_list(viewer=viewer, open_only=True, owner_id=viewer.pk if mine else None)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "applications/problems.html",
        {
            "rows": _problem_rows(viewer, page),
            "page": page,
            "mine": mine,
            "by_owner": problems_by_owner(viewer=viewer),
            "can_resolve": can(viewer, "application.resolve"),
            "can_take": can(viewer, "application.problem_handle"),
        },
    )


def _item_or_404(app: Application, pid: int) -> ProblemItem:
    item = (
        ProblemItem.objects.select_related("owner", "created_by", "replied_by", "resolved_by")
        .filter(pk=pid, application=app)
        .first()
    )
    if item is None:
        raise Http404(_("问题件不存在"))
    return item


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def problem_resolve_view(request, pk: int, pid: int):
    _require(request.user, "application.resolve")
    app = _get_or_404(request.user, pk)
    item = _item_or_404(app, pid)
    form = f.ResolveForm(request.POST or None)
    if not applicable(item.field):
        form.fields["choice"].choices = [("answered", "已答复")]
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            problem_resolve(
                actor=request.user,
                application_id=app.pk,
                problem_id=item.pk,
                choice=d["choice"],
                value=d.get("value") or None,
                note=d["note"],
                error_party=d.get("error_party") or None,
                method=d["method"],
            )
        except DomainError as exc:
            for err in exc.errors:
                form.add_error(err.field if err.field in form.fields else None, err.message)
        else:
            app.refresh_from_db()
            messages.success(request, _("问题件 %(n)d 已处理") % {"n": item.serial_no})
            if app.state == State.ENTERED:
                messages.info(request, _("录入问题件已全部解决，投保单可提交核保"))
            return redirect(_detail_url(app.pk, "problems"))
    return render(
        request,
        "applications/problem_resolve.html",
        {
            "app": app,
            "item": item,
            "form": form,
            "first": problem_value(request.user, item, item.first_value),
            "second": problem_value(request.user, item, item.second_value),
            "resolved": problem_value(request.user, item, item.resolved_value),
        },
    )


@login_required
@require_POST
def problem_assign_view(request, pk: int, pid: int):
    _require(request.user, "application.problem_handle")
    app = _get_or_404(request.user, pk)
    item = _item_or_404(app, pid)
    try:
        problem_assign(
            actor=request.user, application_id=app.pk, problem_id=item.pk, owner_id=request.user.pk
        )
    except DomainError as exc:
        _messages_for(request, exc)
    else:
        messages.success(request, _("已领取问题件 %(n)d") % {"n": item.serial_no})
    return redirect(request.POST.get("next") or reverse("applications:problems"))


@login_required
@require_POST
def problem_send_view(request, pk: int, pid: int):
    _require(request.user, "application.problem_handle")
    app = _get_or_404(request.user, pk)
    item = _item_or_404(app, pid)
    try:
        problem_send(actor=request.user, application_id=app.pk, problem_id=item.pk)
    except DomainError as exc:
        _messages_for(request, exc)
    else:
        messages.success(request, _("问题件 %(n)d 已下发") % {"n": item.serial_no})
    return redirect(_detail_url(app.pk, "problems"))


@login_required
@require_POST
def problem_reply_view(request, pk: int, pid: int):
    _require(request.user, "application.problem_handle")
    app = _get_or_404(request.user, pk)
    item = _item_or_404(app, pid)
    form = f.ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择回复方式并填写回复内容"))
        return redirect(_detail_url(app.pk, "problems"))
    try:
        problem_reply(
            actor=request.user,
            application_id=app.pk,
            problem_id=item.pk,
            method=form.cleaned_data["method"],
            reply=form.cleaned_data["reply"],
        )
    except DomainError as exc:
        _messages_for(request, exc)
    else:
        messages.success(request, _("问题件 %(n)d 的回复已登记") % {"n": item.serial_no})
    return redirect(_detail_url(app.pk, "problems"))


@login_required
@require_POST
def problem_raise_view(request, pk: int):
    _require(request.user, "application.problem_raise")
    app = _get_or_404(request.user, pk)
    form = f.RaiseForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            problem_raise(
                actor=request.user,
                application_id=app.pk,
                text=d["text"],
                field=d.get("field") or "",
                issue_type=d["issue_type"],
                route=d["route"],
                arose_at="review",
            )
        except DomainError as exc:
            _messages_for(request, exc)
        else:
            messages.success(request, _("已提出问题件"))
    else:
        messages.error(request, _("请填写问题描述"))
    return redirect(_detail_url(app.pk, "problems"))


# ------------------------------------------------------------------ mismatch rates


@login_required
@require_http_methods(["GET", "HEAD"])
def entry_errors_view(request):
    _require(request.user, "application.stats")
    form = f.StatsFilterForm(request.GET or None)
    since = until = None
    if form.is_bound and form.is_valid():
        since, until = form.cleaned_data.get("since"), form.cleaned_data.get("until")
    rows = entry_error_stats(viewer=request.user, since=since, until=until)
    return render(request, "applications/entry_errors.html", {"form": form, "rows": rows})
