"""REST endpoints of import and export: `/imports` (upload, progress, report) and `/exports` (downloads).

An upload answers 202 with the run; the import goes on in the background and `GET /imports/{id}`
reports its progress. Downloads answer the file itself (xlsx or csv), masked for the caller's role;
every export is recorded in the audit log.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from typing import Literal

from django.http import FileResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from insurdesk.common.errors import FieldError, NotFound, ValidationFailed
from insurdesk.customers.selectors import customer_get
from insurdesk.exchange.exporters import CONTENT_TYPES, EXPORTERS, export_customer_file, export_list
from insurdesk.exchange.models import ImportRun
from insurdesk.exchange.report import write_report
from insurdesk.exchange.selectors import run_get, run_list
from insurdesk.exchange.services import import_start
from insurdesk.exchange.views import download_name
from insurdesk.org.api import ErrorsOut, StrictSchema

router = Router(tags=["exchange"])

MAX_ID = 2**63 - 1
FormatT = Literal["xlsx", "csv"]
_READ = {401: ErrorsOut, 403: ErrorsOut, 422: ErrorsOut}
_ONE = {401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}


class RunOut(Schema):
    id: int
    file_name: str
    file_sha256: str
    dry_run: bool
    template: str = Field(description="individual / corporate / archive（客户档案管理表）")
    status: str = Field(description="queued / running / done / failed")
    message: str
    total_rows: int
    processed: int
    created: int
    updated: int
    unchanged: int
    merged: int = Field(description="同一客户的其他行，已并入该客户")
    refused: int
    warnings: int
    parts: dict[str, int] = Field(
        description="档案表其他部分的计数：policy/payment/claim/contact/party 各自的 "
        'created/updated/unchanged/refused，如 {"claim.created": 3}'
    )
    created_at: datetime
    finished_at: datetime | None


class RunPage(Schema):
    items: list[RunOut]
    count: int


def _run(request, pk: int) -> ImportRun:
    if not 1 <= pk <= MAX_ID:
        raise NotFound(FieldError("", "not_found", "导入批次不存在"))
    return run_get(viewer=request.auth, pk=pk)


def _out(run: ImportRun) -> dict:
    return {
        "id": run.pk, "file_name": run.file_name, "file_sha256": run.file_hash, "dry_run": run.dry_run,
        "template": run.template, "status": run.status, "message": run.message, "total_rows": run.total_rows,
        "processed": run.processed, "created": run.created, "updated": run.updated,
        "unchanged": run.unchanged, "merged": run.merged, "refused": run.refused, "warnings": run.warnings,
        "parts": run.parts or {}, "created_at": run.created_at, "finished_at": run.finished_at,
    }  # fmt: skip


@router.post(
    "/imports",
    response={202: RunOut, 401: ErrorsOut, 403: ErrorsOut, 422: ErrorsOut},
    summary="上传文件并在后台导入",
)
def import_create(request, file: File[UploadedFile], dry_run: Form[bool] = False):
    run = import_start(actor=request.auth, upload=file, dry_run=dry_run)
    return Status(202, _out(run))


@router.get("/imports", response={200: RunPage, **_READ}, summary="最近的导入批次")
def import_list(request):
    runs = run_list(viewer=request.auth)
    return {"items": [_out(r) for r in runs], "count": len(runs)}


@router.get("/imports/{id}", response={200: RunOut, **_ONE}, summary="导入批次的进度和结果")
def import_get(request, id: int):
    return _out(_run(request, id))


class ReportQuery(StrictSchema):
    format: FormatT = "xlsx"


def _file(path_or_handle, *, name: str, fmt: str) -> FileResponse:
    handle = open(path_or_handle, "rb") if isinstance(path_or_handle, str) else path_or_handle  # noqa: SIM115
    handle.seek(0)
    response = FileResponse(handle, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = download_name(name)
    return response


@router.get("/imports/{id}/report", response={200: None, **_ONE}, summary="下载导入报告（xlsx 或 csv）")
def import_report(request, id: int, query: Query[ReportQuery] = None):
    run = _run(request, id)
    fmt = query.format if query is not None else "xlsx"
    with tempfile.NamedTemporaryFile(suffix="." + fmt, delete=False) as tmp:
        path = tmp.name
    write_report(run, path, fmt)
    return _file(path, name=f"导入报告-{run.pk}.{fmt}", fmt=fmt)


class ExportQuery(StrictSchema):
    """The filters of every list; each list reads its own and drops a value it does not accept."""

    format: FormatT = "xlsx"
    q: str = Field(
        "",
        max_length=100,
        description="customers: 姓名/客户号/证件号码/手机；policies: 保单号（前缀）；claims: 赔案号或保单号",
    )
    kind: str = Field(
        "", max_length=20, description="customers: individual/corporate；payments: premium/refund"
    )
    unit: int | None = Field(None, ge=1, le=MAX_ID, description="机构 id（含下级机构）")
    agent: int | None = Field(None, ge=1, le=MAX_ID)
    aml_risk: str = Field("", max_length=10, description="customers")
    state: str = Field("", max_length=20, description="policies: 保单状态；claims: 理赔状态")
    product_code: str = Field("", max_length=20, description="policies: 主险代码")
    customer: int | None = Field(None, ge=1, le=MAX_ID, description="policies: 以任一身份关联的客户 id")
    application: int | None = Field(None, ge=1, le=MAX_ID, description="policies: 投保单 id")
    policy_no: str = Field("", max_length=20, description="payments: 保单号")
    paid_from: date | None = Field(None, description="payments: 缴费日期起")
    paid_to: date | None = Field(None, description="payments: 缴费日期止")
    method: str = Field("", max_length=20, description="payments: cash/transfer/card/withholding")
    channel: str = Field("", max_length=20, description="contacts: 沟通方式")
    follow_up: str = Field("", max_length=1, description="contacts: 1 需后续跟进，0 不需")


@router.get(
    "/exports/{name}",
    response={200: None, **_ONE},
    summary="导出清单（按角色脱敏，记入使用记录）；name: customers, policies, payments, claims, contacts",
)
def export_get(request, name: str, query: Query[ExportQuery] = None):
    if name not in EXPORTERS:
        raise NotFound(FieldError("name", "not_found", f"没有名为 {name} 的导出"))
    query = query or ExportQuery()
    params = {k: str(v) for k, v in query.dict().items() if k != "format" and v not in (None, "")}
    binary = tempfile.TemporaryFile("w+b")  # noqa: SIM115 - FileResponse closes it
    if query.format == "csv":
        import io

        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        export_list(viewer=request.auth, name=name, params=params, fmt="csv", target=text)
        text.flush()
        text.detach()
    else:
        export_list(viewer=request.auth, name=name, params=params, fmt="xlsx", target=binary)
    return _file(binary, name=f"{EXPORTERS[name].label}.{query.format}", fmt=query.format)


class FileQuery(StrictSchema):
    reference: str = Field(..., min_length=1, max_length=100, description="个人信息查阅请求的编号或事由")


@router.get(
    "/exports/customers/{id}/file",
    response={200: None, **_ONE},
    summary="客户完整档案（xlsx，每部分一个工作表），用于个人信息查阅、复制请求",
)
def export_customer(request, id: int, query: Query[FileQuery] = None):
    if query is None:
        raise ValidationFailed(FieldError("reference", "required", "请填写个人信息查阅请求的编号或事由"))
    if not 1 <= id <= MAX_ID:
        raise NotFound(FieldError("", "not_found", "客户档案不存在"))
    customer = customer_get(viewer=request.auth, pk=id)
    binary = tempfile.TemporaryFile("w+b")  # noqa: SIM115 - FileResponse closes it
    export_customer_file(viewer=request.auth, customer=customer, reference=query.reference, target=binary)
    return _file(binary, name=f"客户完整档案-{customer.archive_no}.xlsx", fmt="xlsx")
