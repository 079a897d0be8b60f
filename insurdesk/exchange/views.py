"""Pages of import and export: upload, a run's progress (polled by htmx), reports, templates, downloads."""

from __future__ import annotations

import io
import tempfile
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from insurdesk.common.errors import DomainError, NotAllowed, NotFound
from insurdesk.customers.selectors import customer_get
from insurdesk.exchange import blanks
from insurdesk.exchange.exporters import CONTENT_TYPES, EXPORTERS, FORMATS, export_customer_file, export_list
from insurdesk.exchange.models import RunStatus
from insurdesk.exchange.report import part_counts, write_report
from insurdesk.exchange.runs import may_take_over
from insurdesk.exchange.selectors import run_get, run_issues, run_list
from insurdesk.exchange.services import import_resume, import_start
from insurdesk.org.policy import can

SHOWN_ISSUES = 200


def _require(user, action: str) -> None:
    if not (user.is_superuser or can(user, action)):
        raise PermissionDenied("您的角色无权执行此操作")


def _run_or_404(request, pk: int):
    try:
        return run_get(viewer=request.user, pk=pk)
    except NotFound:
        raise Http404("导入批次不存在") from None


def download_name(name: str) -> str:
    """Return a Content-Disposition value that keeps a Chinese file name in every browser (RFC 6266)."""
    ascii_name = name.encode("ascii", "ignore").decode() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _file_response(fh, *, name: str, fmt: str) -> FileResponse:
    fh.seek(0)
    response = FileResponse(fh, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = download_name(name)
    return response


def _spool(fmt: str):
    """Return a temporary file to build a download in, and the text view a csv writer needs."""
    binary = tempfile.TemporaryFile("w+b")  # noqa: SIM115 - the response closes it
    if fmt == "csv":
        # UTF-8 with BOM: Excel in Chinese Windows opens it without garbling.
        return binary, io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    return binary, binary


def _finish(binary, target):
    if target is not binary:
        target.flush()
        target.detach()
    return binary


# --- import -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def index(request):
    _require(request.user, "exchange.import")
    return render(
        request,
        "exchange/index.html",
        {
            "runs": run_list(viewer=request.user),
            "kinds": [(k, blanks.template_filename(k)) for k in blanks.KINDS],
        },
    )


@login_required
@require_POST
def upload(request):
    _require(request.user, "exchange.import")
    file = request.FILES.get("file")
    if file is None:
        messages.error(request, "请选择要导入的文件（.xlsx 或 .csv）")
        return redirect("exchange:index")
    try:
        run = import_start(actor=request.user, upload=file, dry_run=bool(request.POST.get("dry_run")))
    except NotAllowed:
        raise PermissionDenied("您的角色无权批量导入") from None
    except DomainError as exc:
        for err in exc.errors:
            messages.error(request, err.message)
        return redirect("exchange:index")
    return redirect("exchange:run", pk=run.pk)


def _run_context(request, run) -> dict:
    # A running run whose worker died (or made no progress for minutes) can be queued again.
    stalled = run.status == RunStatus.RUNNING and may_take_over(run)
    return {
        "run": run,
        "stalled": stalled,
        "polling": not run.is_finished and not stalled,
        "formats": FORMATS,
        "now": timezone.now(),
        "parts": part_counts(run.parts),
    }


@login_required
@require_http_methods(["GET", "HEAD"])
def run_detail(request, pk: int):
    _require(request.user, "exchange.import")
    run = _run_or_404(request, pk)
    context = _run_context(request, run)
    context["issues"] = run_issues(run=run, limit=SHOWN_ISSUES)
    return render(request, "exchange/run.html", context)


@login_required
@require_http_methods(["GET", "HEAD"])
def run_progress(request, pk: int):
    _require(request.user, "exchange.import")
    run = _run_or_404(request, pk)
    response = render(request, "exchange/run.html#progress", _run_context(request, run))
    if run.is_finished and request.htmx:
        # The page swaps in the finished state once; then the problem list reloads with it.
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_http_methods(["GET", "HEAD"])
def run_report(request, pk: int):
    _require(request.user, "exchange.import")
    run = _run_or_404(request, pk)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in FORMATS:
        raise Http404("报告格式只能是 xlsx 或 csv")
    with tempfile.NamedTemporaryFile(suffix="." + fmt, delete=False) as tmp:
        path = tmp.name
    write_report(run, path, fmt)
    name = f"导入报告-{run.pk}-{run.file_name.rsplit('.', 1)[0]}.{fmt}"
    return _file_response(open(path, "rb"), name=name, fmt=fmt)  # noqa: SIM115 - FileResponse closes it


@login_required
@require_POST
def run_resume(request, pk: int):
    _require(request.user, "exchange.import")
    run = _run_or_404(request, pk)
    try:
        import_resume(actor=request.user, run=run)
    except DomainError as exc:
        messages.error(request, exc.errors[0].message)
    else:
        messages.success(request, "已重新排队，将从中断处继续")
    return redirect("exchange:run", pk=run.pk)


@login_required
@require_http_methods(["GET", "HEAD"])
def template(request):
    _require(request.user, "exchange.import")
    kind = request.GET.get("kind", "individual")
    if kind not in blanks.KINDS:
        raise Http404("没有这种模板")
    buffer = io.BytesIO()
    blanks.write_template(kind, buffer)
    return _file_response(buffer, name=blanks.template_filename(kind), fmt="xlsx")


# --- export -------------------------------------------------------------------------------------


def _filter_form(request, exporter):
    """Return the list's filter form, filled in from the query when the page was opened for that list."""
    if exporter.form is None:
        return None
    data = request.GET if request.GET and request.GET.get("list", "customers") == exporter.name else None
    # One page holds every list's form: ids are prefixed per list, names kept (they are the params).
    return exporter.form(request.user, data, auto_id=f"{exporter.name}_%s")


@login_required
@require_http_methods(["GET", "HEAD"])
def exports(request):
    _require(request.user, "exchange.export")
    return render(
        request,
        "exchange/exports.html",
        {
            "exporters": [
                (e, _filter_form(request, e)) for e in EXPORTERS.values() if can(request.user, e.action)
            ],
            "can_export_file": can(request.user, "customer.export_file"),
            "formats": FORMATS,
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def export_download(request):
    _require(request.user, "exchange.export")
    params = request.GET.dict()
    name, fmt = params.pop("list", "customers"), params.pop("format", "xlsx")
    if name not in EXPORTERS or fmt not in FORMATS:
        raise Http404("没有这种导出")
    binary, target = _spool(fmt)
    try:
        export_list(viewer=request.user, name=name, params=params, fmt=fmt, target=target)
    except NotAllowed:
        binary.close()
        raise PermissionDenied("您的角色无权导出") from None
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _file_response(_finish(binary, target), name=f"{EXPORTERS[name].label}-{stamp}.{fmt}", fmt=fmt)


@login_required
@require_http_methods(["GET", "HEAD"])
def customer_file(request, pk: int):
    _require(request.user, "customer.export_file")
    try:
        customer = customer_get(viewer=request.user, pk=pk)
    except NotFound:
        raise Http404("客户档案不存在") from None
    binary, _ = _spool("xlsx")
    export_customer_file(
        viewer=request.user, customer=customer, reference=request.GET.get("reference", ""), target=binary
    )
    return _file_response(binary, name=f"客户完整档案-{customer.archive_no}.xlsx", fmt="xlsx")


@login_required
@require_http_methods(["GET", "HEAD"])
def customer_file_lookup(request):
    """Find an archive by its number for the whole-file download form, then download."""
    _require(request.user, "customer.export_file")
    from insurdesk.customers.selectors import customer_list

    number = (request.GET.get("archive_no") or "").strip().upper()
    found = customer_list(viewer=request.user, query=number).first() if number else None
    if found is None or found.archive_no != number:
        messages.error(request, "找不到该客户号的档案（或不在您的管辖范围内）")
        return redirect("exchange:exports")
    response = redirect("exchange:customer_file", pk=found.pk)
    response["Location"] += "?reference=" + quote(request.GET.get("reference", ""))
    return response
