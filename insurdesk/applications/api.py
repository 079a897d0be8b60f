"""REST endpoints of applications (`/api/v1/applications`): first entry, edits, second entry, problem items,
submission to underwriting, sales recording, the clerks' mismatch rates.

Before second entry the key fields of an application are shown only to its first-entry clerk, and the
second-entry endpoint answers with the fields that differ, never the first values.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import field_validator

from insurdesk.applications.models import (
    AgencyKind,
    Application,
    BeneficiaryRelation,
    BusinessSource,
    ErrorParty,
    IssueType,
    Origin,
    ProblemItem,
    ProblemState,
    Relationship,
    ReplyMethod,
    Resolution,
    Route,
    State,
)
from insurdesk.applications.selectors import (
    QUEUES,
    ApplicationFilters,
    application_get,
    application_list,
    application_queue,
    entry_error_stats,
    key_values_visible,
    problem_list,
    problem_value,
)
from insurdesk.applications.services import (
    application_create,
    application_recording_attach,
    application_recording_check,
    application_second_entry,
    application_submit,
    application_update,
    application_withdraw,
    problem_assign,
    problem_raise,
    problem_reply,
    problem_resolve,
    problem_send,
)
from insurdesk.common.errors import FieldError, NotAllowed, NotFound
from insurdesk.customers.api import CustomerIn
from insurdesk.customers.api import _to_service as customer_input
from insurdesk.customers.selectors import shown
from insurdesk.org.api import ErrorsOut, InSchema, StrictSchema, storable_text
from insurdesk.org.policy import can
from insurdesk.products.calculations import term_label
from insurdesk.products.models import PaymentMode

router = Router(tags=["applications"])

MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 200


def _lit(choices) -> type:
    return Literal[tuple(choices.values)]  # type: ignore[valid-type,return-value]


StateT = _lit(State)
RelationshipT = _lit(Relationship)
SourceT = _lit(BusinessSource)
AgencyT = _lit(AgencyKind)
ModeT = _lit(PaymentMode)
BenRelT = _lit(BeneficiaryRelation)
ResolutionT = _lit(Resolution)
ErrorPartyT = _lit(ErrorParty)
IssueT = _lit(IssueType)
RouteT = _lit(Route)
OriginT = _lit(Origin)
MethodT = _lit(ReplyMethod)
ProblemStateT = _lit(ProblemState)
QueueT = Literal[tuple(QUEUES)]  # type: ignore[valid-type]
Amount = Decimal
IdTypeT = Literal[
    "resident_id",
    "hmt_residence_permit",
    "passport",
    "hk_macao_permit",
    "taiwan_permit",
    "foreign_permanent_id",
    "military_id",
    "other",
]


# ---------------------------------------------------------------- input


class PartyRef(InSchema):
    """An existing archive by id, or a new one (customer fields as in POST /api/v1/customers)."""

    customer_id: int | None = Field(None, ge=1, le=MAX_ID, description="已有客户档案 id")
    new: CustomerIn | None = Field(
        None, description="新客户信息（与 POST /api/v1/customers 的请求体相同，含 kind）"
    )


class LineIn(InSchema):
    product_code: str = Field(..., min_length=1, max_length=20, description="险种代码")
    coverage_term: str = Field(..., min_length=1, max_length=10, description="保险期间，如 20y、to70、life")
    sum_insured: Decimal = Field(..., ge=0, max_digits=16, decimal_places=2, description="保额（元）")
    premium: Decimal = Field(..., ge=0, max_digits=14, decimal_places=2, description="保费（元）")
    rider_of: str | None = Field(None, max_length=20, description="附加险所附主险的险种代码")
    plan_level: str | None = Field(None, max_length=10, description="团体险等级代码")


class BeneficiaryIn(InSchema):
    order: int = Field(1, ge=1, le=9, description="受益顺序")
    name: str = Field(..., min_length=1, max_length=100)
    share: Decimal = Field(..., gt=0, le=100, max_digits=5, decimal_places=2, description="受益比例（%）")
    id_type: IdTypeT = "resident_id"
    id_number: str | None = Field(None, max_length=30)
    relationship: BenRelT | None = Field(None, description="与被保险人关系")


class _ApplicationFields(InSchema):
    application_no: str | None = Field(
        None, max_length=20, description="投保单号（纸质投保单上的印刷号；空则自动编号）"
    )
    insured: PartyRef | None = Field(None, description="被保险人；关系为本人时可不填；团体险不填")
    relationship: RelationshipT = Field(..., description="被保险人是投保人的：本人/配偶/子女/父母/雇佣/其他")
    insured_consent: bool = Field(
        False, description="被保险人书面同意（含身故责任且非本人、非父母为未成年子女投保时必须）"
    )
    beneficiary_legal: bool = Field(False, description="身故受益人为法定")
    beneficiaries: list[BeneficiaryIn] = Field(default_factory=list, max_length=20)
    lines: list[LineIn] = Field(..., min_length=1, max_length=20)
    total_premium: Decimal = Field(
        ..., ge=0, max_digits=14, decimal_places=2, description="保费合计，须等于各险种保费之和"
    )
    payment_mode: ModeT
    payment_term: str = Field(..., min_length=1, max_length=10, description="缴费期间：single、10y、to60")
    bank_name: str | None = Field(None, max_length=100)
    bank_account: str | None = Field(None, max_length=40)
    account_holder: str | None = Field(None, max_length=100)
    business_source: SourceT
    agency_name: str | None = Field(None, max_length=200, description="中介机构名称（中介业务必填）")
    agency_kind: AgencyT | None = None
    commission_ratio: Decimal | None = Field(
        None, ge=0, le=100, max_digits=5, decimal_places=2, description="手续费比例（%），中介业务必填"
    )
    agent_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="业务员用户 id（默认为投保人档案的服务业务员）"
    )
    unit_id: int | None = Field(None, ge=1, le=MAX_ID, description="受理机构 id（默认为录入人所在机构）")
    application_date: date = Field(..., description="投保日期")
    requested_effective_date: date | None = None
    health_disclosure: bool = False
    health_details: str = Field(..., max_length=2000, description="健康告知说明 *（无告知事项填“无”）")
    notes: str | None = Field(None, max_length=5000)


class ApplicationIn(_ApplicationFields):
    policyholder: PartyRef = Field(..., description="投保人")


class ApplicationPatch(InSchema):
    """Send only the fields to change. Before second entry only the first-entry clerk may; afterwards key
    fields (parties, lines, beneficiaries, premiums, payment mode and term, account) change only through
    problem items."""

    version: int | None = Field(None, ge=1, le=2_147_483_647)
    application_no: str | None = Field(None, max_length=20)
    policyholder: PartyRef | None = None
    insured: PartyRef | None = None
    relationship: RelationshipT | None = None
    insured_consent: bool | None = None
    beneficiary_legal: bool | None = None
    beneficiaries: list[BeneficiaryIn] | None = Field(None, max_length=20)
    lines: list[LineIn] | None = Field(None, min_length=1, max_length=20)
    total_premium: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    payment_mode: ModeT | None = None
    payment_term: str | None = Field(None, max_length=10)
    bank_name: str | None = Field(None, max_length=100)
    bank_account: str | None = Field(None, max_length=40)
    account_holder: str | None = Field(None, max_length=100)
    business_source: SourceT | None = None
    agency_name: str | None = Field(None, max_length=200)
    agency_kind: AgencyT | None = None
    commission_ratio: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    agent_id: int | None = Field(None, ge=1, le=MAX_ID)
    unit_id: int | None = Field(None, ge=1, le=MAX_ID)
    application_date: date | None = None
    requested_effective_date: date | None = None
    health_disclosure: bool | None = None
    health_details: str | None = Field(None, max_length=2000)
    notes: str | None = Field(None, max_length=5000)


class SecondPartyIn(InSchema):
    name: str = Field("", max_length=200)
    id_number: str = Field("", max_length=30)


class SecondLineIn(InSchema):
    product_code: str = Field("", max_length=20)
    sum_insured: str = Field("", max_length=30, description="保额（按投保单原样录入）")
    premium: str = Field("", max_length=30)


class SecondBeneficiaryIn(InSchema):
    name: str = Field("", max_length=100)
    share: str = Field("", max_length=10)


class SecondEntryIn(InSchema):
    """The key fields keyed again from the form, without seeing the first entry."""

    policyholder: SecondPartyIn
    insured: SecondPartyIn | None = Field(None, description="团体险不填")
    lines: list[SecondLineIn] = Field(..., min_length=1, max_length=20)
    total_premium: str = Field("", max_length=30)
    payment_mode: str = Field("", max_length=12)
    payment_term: str = Field("", max_length=10)
    bank_account: str | None = Field(None, max_length=40)
    beneficiaries: list[SecondBeneficiaryIn] = Field(default_factory=list, max_length=20)


class ResolveIn(InSchema):
    choice: ResolutionT = Field(
        ...,
        description="first 以初录为准 / second 以二次录入为准 / corrected 更正为 value / "
        "answered 仅答复（非录入不一致的问题件）",
    )
    value: str | None = Field(None, max_length=200, description="更正后的值（choice=corrected）")
    note: str = Field(..., min_length=1, max_length=500, description="处理说明")
    error_party: ErrorPartyT | None = Field(
        None, description="差错归属，默认：选初录→二次录入差错，选二次→初录差错，更正→双方差错"
    )
    method: MethodT = Field("image", description="回复方式，默认核对影像")


class RaiseIn(InSchema):
    text: str = Field(..., min_length=1, max_length=500, description="问题描述")
    field: str | None = Field(None, max_length=60, description="涉及的字段（路径，如 insured.id_number）")
    issue_type: IssueT = "other"
    route: RouteT = "correction_desk"
    arose_at: OriginT = "review"
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)


class SendIn(InSchema):
    route: RouteT | None = Field(None, description="处理去向；不填保持原去向")


class ReplyIn(InSchema):
    method: MethodT = Field(..., description="回复方式")
    reply: str = Field(..., min_length=1, max_length=500, description="回复内容")


class ApplicationAssignIn(InSchema):
    owner_id: int | None = Field(None, ge=1, le=MAX_ID, description="处理人；不填为取消分派")


class CheckIn(InSchema):
    passed: bool = True
    note: str = Field("", max_length=300)


class ApplicationWithdrawIn(InSchema):
    reason: str = Field(..., min_length=1, max_length=300)


class ApplicationListQuery(StrictSchema):
    q: str | None = Field(None, max_length=100, description="投保单号或投保人姓名（前缀）")
    state: StateT | None = None
    queue: QueueT | None = Field(
        None, description="待办队列：second_entry / problems / entered / underwriting"
    )
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @field_validator("q", "state", "queue", mode="before")
    @classmethod
    def _blank_is_absent(cls, value):
        return None if value == "" else storable_text(value)


class ProblemQuery(StrictSchema):
    open_only: bool = Field(False, description="true 只列未解决的问题件")


class StatsQuery(StrictSchema):
    since: date | None = Field(None, description="二次录入日期起")
    until: date | None = Field(None, description="二次录入日期止")


# ---------------------------------------------------------------- output


class Ref(Schema):
    id: int
    name: str


class ApplicationPartyOut(Schema):
    customer_id: int
    archive_no: str
    name: str | None
    id_type: str
    id_number: str | None = Field(description="非授权角色看到掩码")
    created_in_flow: bool


class ApplicationLineOut(Schema):
    seq: int
    product_code: str
    product_name: str
    is_rider: bool
    rider_of: str | None
    coverage_term: str
    coverage_term_label: str
    sum_insured: Decimal
    premium: Decimal
    plan_level: str | None


class ApplicationBeneficiaryOut(Schema):
    seq: int
    order: int
    name: str
    share: Decimal
    id_type: str
    id_number: str | None
    relationship: str | None
    customer_id: int | None


class RecordingOut(Schema):
    required: bool
    reasons: list[str]
    reference: str
    file: str | None
    content_type: str
    size: int | None
    attached_by: Ref | None
    attached_at: datetime | None
    checked_by: Ref | None
    checked_at: datetime | None
    check_note: str
    ok: bool = Field(description="无需双录，或已上传且质检通过；承保出单以此为条件")


class ApplicationOut(Schema):
    id: int
    application_no: str
    state: StateT
    state_label: str
    state_changed_at: datetime
    key_fields_hidden: bool = Field(description="二次录入前，初录人以外的人看不到关键字段（为 null）")
    unit: Ref
    agent: Ref | None
    policyholder: ApplicationPartyOut
    insured: ApplicationPartyOut | None
    relationship: RelationshipT
    insured_consent: bool
    beneficiary_legal: bool
    beneficiaries: list[ApplicationBeneficiaryOut] | None
    lines: list[ApplicationLineOut] | None
    total_premium: Decimal | None
    payment_mode: ModeT | None
    payment_term: str | None
    bank_name: str
    bank_account: str | None
    account_holder: str
    business_source: SourceT
    agency_name: str
    agency_kind: AgencyT | None
    commission_ratio: Decimal | None
    application_date: date
    requested_effective_date: date | None
    health_disclosure: bool
    health_details: str | None
    notes: str
    first_entry_by: Ref
    first_entry_at: datetime
    second_entry_by: Ref | None
    second_entry_at: datetime | None
    submitted_at: datetime | None
    assignee: Ref | None
    open_problems: int
    recording: RecordingOut
    closed_reason: str
    version: int
    created_at: datetime
    updated_at: datetime


class ApplicationSaved(ApplicationOut):
    warnings: list[str]


class ApplicationPage(Schema):
    items: list[ApplicationOut]
    count: int


class MismatchOut(Schema):
    id: int
    serial_no: int
    field: str
    field_label: str


class SecondEntryOut(Schema):
    id: int
    application_no: str
    state: StateT
    state_label: str
    compared: int = Field(description="比对的关键字段数")
    mismatches: list[MismatchOut] = Field(description="不一致的字段（不显示初录内容）")


class ProblemOut(Schema):
    id: int
    application_id: int
    serial_no: int
    field: str
    field_label: str
    first_value: str | None
    second_value: str | None
    issue_type: IssueT
    text: str
    state: ProblemStateT
    route: RouteT
    arose_at: OriginT
    owner: Ref | None
    created_by: Ref | None
    created_at: datetime
    sent_at: datetime | None
    replied_by: Ref | None
    reply_method: MethodT | None
    reply_text: str
    replied_at: datetime | None
    resolution: ResolutionT | None
    resolved_value: str | None
    resolved_by: Ref | None
    resolved_at: datetime | None
    error_party: ErrorPartyT
    counts_as_error: bool


class ProblemPage(Schema):
    items: list[ProblemOut]
    count: int


class ClerkStatOut(Schema):
    user: Ref
    entries: int = Field(description="参与录入的投保单数（初录或二次录入）")
    fields: int = Field(description="比对的关键字段数")
    errors: int = Field(description="计为本人差错的问题件数")
    rate: Decimal | None = Field(description="差错率（%）= errors ÷ fields")


class StatsOut(Schema):
    items: list[ClerkStatOut]
    count: int


# ---------------------------------------------------------------- mapping


def _ref(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.username}


def _party(viewer, app: Application, role: str, visible: bool) -> dict | None:
    customer = getattr(app, role)
    if customer is None:
        return None
    return {
        "customer_id": customer.pk,
        "archive_no": customer.archive_no,
        "name": getattr(app, f"{role}_name") if visible else None,
        "id_type": getattr(app, f"{role}_id_type"),
        "id_number": shown(viewer, "id_number", getattr(app, f"{role}_id_number")) if visible else None,
        "created_in_flow": getattr(app, f"{role}_created"),
    }


def application_record(
    viewer, app: Application, *, open_problems: int | None = None, warnings: list[str] | None = None
) -> dict:
    """Return the application as the API shows it to this viewer (key fields hidden before second entry)."""
    visible = key_values_visible(viewer, app)
    lines = [
        {
            "seq": line.seq,
            "product_code": line.product.code,
            "product_name": line.product.name,
            "is_rider": line.product.is_rider,
            "rider_of": line.rider_of.product.code if line.rider_of_id else None,
            "coverage_term": line.coverage_term,
            "coverage_term_label": term_label(line.coverage_term),
            "sum_insured": line.sum_insured,
            "premium": line.premium,
            "plan_level": line.plan_level.code if line.plan_level_id else None,
        }
        for line in sorted(app.lines.all(), key=lambda x: x.seq)
    ]
    beneficiaries = [
        {
            "seq": b.seq,
            "order": b.order,
            "name": b.name,
            "share": b.share,
            "id_type": b.id_type,
            "id_number": shown(viewer, "id_number", b.id_number),
            "relationship": b.relationship or None,
            "customer_id": b.customer_id,
        }
        for b in sorted(app.beneficiaries.all(), key=lambda x: x.seq)
    ]
    if open_problems is None:
        open_problems = app.problems.filter(state__in=("open", "sent", "replied")).count()
    out = {
        "id": app.pk,
        "application_no": app.application_no,
        "state": app.state,
        "state_label": app.get_state_display(),
        "state_changed_at": app.state_changed_at,
        "key_fields_hidden": not visible,
        "unit": {"id": app.unit.pk, "name": app.unit.name},
        "agent": _ref(app.agent),
        "policyholder": _party(viewer, app, "policyholder", visible),
        "insured": _party(viewer, app, "insured", visible),
        "relationship": app.relationship,
        "insured_consent": app.insured_consent,
        "beneficiary_legal": app.beneficiary_legal,
        "beneficiaries": beneficiaries if visible else None,
        "lines": lines if visible else None,
        "total_premium": app.total_premium if visible else None,
        "payment_mode": app.payment_mode if visible else None,
        "payment_term": app.payment_term if visible else None,
        "bank_name": app.bank_name,
        "bank_account": shown(viewer, "tax_account", app.bank_account) if visible else None,
        "account_holder": app.account_holder,
        "business_source": app.business_source,
        "agency_name": app.agency_name,
        "agency_kind": app.agency_kind or None,
        "commission_ratio": app.commission_ratio,
        "application_date": app.application_date,
        "requested_effective_date": app.requested_effective_date,
        "health_disclosure": app.health_disclosure,
        "health_details": shown(viewer, "health_notes", app.health_details),
        "notes": app.notes,
        "first_entry_by": _ref(app.first_entry_by),
        "first_entry_at": app.first_entry_at,
        "second_entry_by": _ref(app.second_entry_by),
        "second_entry_at": app.second_entry_at,
        "submitted_at": app.submitted_at,
        "assignee": _ref(app.assignee),
        "open_problems": open_problems,
        "recording": {
            "required": app.recording_required,
            "reasons": list(app.recording_reasons or []),
            "reference": app.recording_reference,
            "file": app.recording_file.name or None,
            "content_type": app.recording_content_type,
            "size": app.recording_size,
            "attached_by": _ref(app.recording_attached_by),
            "attached_at": app.recording_attached_at,
            "checked_by": _ref(app.recording_checked_by),
            "checked_at": app.recording_checked_at,
            "check_note": app.recording_check_note,
            "ok": app.recording_ok,
        },
        "closed_reason": app.closed_reason,
        "version": app.version,
        "created_at": app.created_at,
        "updated_at": app.updated_at,
    }
    if warnings is not None:
        out["warnings"] = list(warnings)
    return out


def problem_record(viewer, item: ProblemItem) -> dict:
    return {
        "id": item.pk,
        "application_id": item.application_id,
        "serial_no": item.serial_no,
        "field": item.field,
        "field_label": item.field_label,
        "first_value": problem_value(viewer, item, item.first_value),
        "second_value": problem_value(viewer, item, item.second_value),
        "issue_type": item.issue_type,
        "text": item.text,
        "state": item.state,
        "route": item.route,
        "arose_at": item.arose_at,
        "owner": _ref(item.owner),
        "created_by": _ref(item.created_by),
        "created_at": item.created_at,
        "sent_at": item.sent_at,
        "replied_by": _ref(item.replied_by),
        "reply_method": item.reply_method or None,
        "reply_text": item.reply_text,
        "replied_at": item.replied_at,
        "resolution": item.resolution or None,
        "resolved_value": problem_value(viewer, item, item.resolved_value),
        "resolved_by": _ref(item.resolved_by),
        "resolved_at": item.resolved_at,
        "error_party": item.error_party,
        "counts_as_error": item.counts_as_error,
    }


def _visible(viewer, pk: int) -> Application:
    if not 1 <= pk <= MAX_ID:
        raise NotFound(FieldError("", "not_found", "投保单不存在"))
    return application_get(viewer=viewer, pk=pk)


def _reload(viewer, pk: int, **kw) -> dict:
    return application_record(viewer, application_get(viewer=viewer, pk=pk), **kw)


def _party_input(value: dict | None) -> dict | None:
    if value is None:
        return None
    if value.get("new") is not None:
        new = dict(value["new"])
        kind = new.pop("kind")
        return {"new": {"kind": kind, **customer_input(kind, new)}}
    return {k: v for k, v in value.items() if v is not None}


def _to_service(data: dict) -> dict:
    data = dict(data)
    for role in ("policyholder", "insured"):
        if role in data:
            data[role] = _party_input(data[role])
    for key in ("bank_name", "account_holder", "agency_name", "notes", "application_no"):
        if key in data and data[key] is None:
            data[key] = ""
    if "beneficiaries" in data and data["beneficiaries"] is None:
        data["beneficiaries"] = []
    return data


# ---------------------------------------------------------------- endpoints

_READ = {401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut}


def _require(actor, action: str) -> None:
    if not can(actor, action):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权执行此操作"))


@router.get(
    "/stats/entry-errors",
    url_name="application_entry_errors",
    summary="录入差错率（按录入人员）",
    response={200: StatsOut, **_READ},
)
def entry_errors(request, params: Query[StatsQuery]):
    """Each clerk's mismatch rate: problem items counted as the clerk's error ÷ key fields keyed."""
    _require(request.auth, "application.stats")
    rows = entry_error_stats(viewer=request.auth, since=params.since, until=params.until)
    items = [
        {
            "user": _ref(r["user"]),
            "entries": r["entries"],
            "fields": r["fields"],
            "errors": r["errors"],
            "rate": r["rate"],
        }
        for r in rows
        if r["user"] is not None
    ]
    return {"items": items, "count": len(items)}


@router.get(
    "",
    url_name="application_list",
    summary="投保单列表与待办队列（分页）",
    response={200: ApplicationPage, **_READ},
)
def list_applications(request, params: Query[ApplicationListQuery]):
    viewer = request.auth
    _require(viewer, "application.view")
    if params.queue:
        qs = application_queue(viewer=viewer, name=params.queue)
        if params.state:
            qs = qs.filter(state=params.state)
    else:
        qs = application_list(
            viewer=viewer, query=params.q or "", filters=ApplicationFilters(state=params.state or "")
        )
    count = qs.count()
    offset = (params.page - 1) * params.page_size
    rows = []
    if offset < count:
        rows = list(
            qs.select_related(
                "unit",
                "agent",
                "policyholder",
                "insured",
                "first_entry_by",
                "second_entry_by",
                "assignee",
                "recording_attached_by",
                "recording_checked_by",
            ).prefetch_related(
                "lines__product", "lines__rider_of__product", "lines__plan_level", "beneficiaries"
            )[offset : offset + params.page_size]
        )
    from django.db.models import Count, Q

    open_counts = dict(
        ProblemItem.objects.filter(
            application__in=[a.pk for a in rows], state__in=("open", "sent", "replied")
        )
        .values("application_id")
        .annotate(n=Count("id", filter=Q()))
        .values_list("application_id", "n")
    )
    return {
        "items": [application_record(viewer, a, open_problems=open_counts.get(a.pk, 0)) for a in rows],
        "count": count,
    }


@router.post(
    "", url_name="application_create", summary="新单初录", response={201: ApplicationSaved, **_WRITE}
)
def create_application(request, payload: ApplicationIn):
    """First entry (初录) of a whole application; new customers are created through the archive rules."""
    app, warnings = application_create(
        actor=request.auth, data=_to_service(payload.model_dump(exclude_unset=True))
    )
    return Status(201, _reload(request.auth, app.pk, warnings=warnings))


@router.get(
    "/{id}", url_name="application_detail", summary="读取一张投保单", response={200: ApplicationOut, **_READ}
)
def get_application(request, id: int):
    _require(request.auth, "application.view")
    return application_record(request.auth, _visible(request.auth, id))


@router.patch(
    "/{id}",
    url_name="application_update",
    summary="修改投保单（只发送要改的字段）",
    response={200: ApplicationSaved, **_WRITE},
)
def update_application(request, id: int, payload: ApplicationPatch):
    _require(request.auth, "application.change")
    current = _visible(request.auth, id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    app, warnings = application_update(
        actor=request.auth, application_id=current.pk, data=_to_service(data), expected_version=version
    )
    return _reload(request.auth, app.pk, warnings=warnings)


@router.post(
    "/{id}/second-entry",
    url_name="application_second_entry",
    summary="二次录入（盲录关键字段）",
    response={200: SecondEntryOut, **_WRITE},
)
def second_entry(request, id: int, payload: SecondEntryIn):
    """Key the key fields again; every difference becomes a problem item. The first values are never shown."""
    current = _visible(request.auth, id)
    app, problems = application_second_entry(
        actor=request.auth, application_id=current.pk, data=payload.model_dump(exclude_none=True)
    )
    return {
        "id": app.pk,
        "application_no": app.application_no,
        "state": app.state,
        "state_label": app.get_state_display(),
        "compared": app.key_field_count,
        "mismatches": [
            {"id": p.pk, "serial_no": p.serial_no, "field": p.field, "field_label": p.field_label}
            for p in problems
        ],
    }


@router.get(
    "/{id}/problems",
    url_name="application_problems",
    summary="投保单的问题件",
    response={200: ProblemPage, **_READ},
)
def list_problems(request, id: int, params: Query[ProblemQuery]):
    _require(request.auth, "application.view")
    app = _visible(request.auth, id)
    if not key_values_visible(request.auth, app):
        items = []
    else:
        items = list(problem_list(viewer=request.auth, open_only=params.open_only, application_id=app.pk))
    return {"items": [problem_record(request.auth, i) for i in items], "count": len(items)}


@router.post(
    "/{id}/problems",
    url_name="application_problem_raise",
    summary="提出问题件",
    response={201: ProblemOut, **_WRITE},
)
def raise_problem(request, id: int, payload: RaiseIn):
    app = _visible(request.auth, id)
    item = problem_raise(
        actor=request.auth,
        application_id=app.pk,
        text=payload.text,
        field=payload.field or "",
        issue_type=payload.issue_type,
        route=payload.route,
        arose_at=payload.arose_at,
        owner_id=payload.owner_id,
    )
    return Status(201, problem_record(request.auth, item))


@router.post(
    "/{id}/problems/{pid}/resolve",
    url_name="application_problem_resolve",
    summary="处理问题件（对照投保单影像）",
    response={200: ProblemOut, **_WRITE},
)
def resolve_problem(request, id: int, pid: int, payload: ResolveIn):
    app = _visible(request.auth, id)
    if not 1 <= pid <= MAX_ID:
        raise NotFound(FieldError("", "not_found", "问题件不存在"))
    item = problem_resolve(
        actor=request.auth,
        application_id=app.pk,
        problem_id=pid,
        choice=payload.choice,
        value=payload.value,
        note=payload.note,
        error_party=payload.error_party,
        method=payload.method,
    )
    item.refresh_from_db()
    return problem_record(request.auth, item)


def _problem_id(pid: int) -> int:
    if not 1 <= pid <= MAX_ID:
        raise NotFound(FieldError("", "not_found", "问题件不存在"))
    return pid


@router.post(
    "/{id}/problems/{pid}/send",
    url_name="application_problem_send",
    summary="下发问题件（更正岗或客户）",
    response={200: ProblemOut, **_WRITE},
)
def send_problem(request, id: int, pid: int, payload: SendIn):
    app = _visible(request.auth, id)
    item = problem_send(
        actor=request.auth, application_id=app.pk, problem_id=_problem_id(pid), route=payload.route
    )
    return problem_record(request.auth, item)


@router.post(
    "/{id}/problems/{pid}/reply",
    url_name="application_problem_reply",
    summary="登记问题件回复（谁、以何种方式、何时）",
    response={200: ProblemOut, **_WRITE},
)
def reply_problem(request, id: int, pid: int, payload: ReplyIn):
    app = _visible(request.auth, id)
    item = problem_reply(
        actor=request.auth,
        application_id=app.pk,
        problem_id=_problem_id(pid),
        method=payload.method,
        reply=payload.reply,
    )
    return problem_record(request.auth, item)


@router.post(
    "/{id}/problems/{pid}/assign",
    url_name="application_problem_assign",
    summary="分派问题件处理人",
    response={200: ProblemOut, **_WRITE},
)
def assign_problem(request, id: int, pid: int, payload: ApplicationAssignIn):
    app = _visible(request.auth, id)
    item = problem_assign(
        actor=request.auth, application_id=app.pk, problem_id=_problem_id(pid), owner_id=payload.owner_id
    )
    return problem_record(request.auth, item)


@router.post(
    "/{id}/submit",
    url_name="application_submit",
    summary="提交核保",
    response={200: ApplicationOut, **_WRITE},
)
def submit(request, id: int):
    app = _visible(request.auth, id)
    application_submit(actor=request.auth, application_id=app.pk)
    return _reload(request.auth, app.pk)


@router.post(
    "/{id}/withdraw",
    url_name="application_withdraw",
    summary="撤件",
    response={200: ApplicationOut, **_WRITE},
)
def withdraw(request, id: int, payload: ApplicationWithdrawIn):
    app = _visible(request.auth, id)
    application_withdraw(actor=request.auth, application_id=app.pk, reason=payload.reason)
    return _reload(request.auth, app.pk)


@router.post(
    "/{id}/recording",
    url_name="application_recording",
    summary="上传双录资料（音视频文件或双录编号）",
    response={200: ApplicationOut, **_WRITE},
)
def attach_recording(request, id: int, reference: Form[str] = "", file: File[UploadedFile] = None):
    """multipart/form-data: `file` (audio/* or video/*) and/or `reference` (双录系统编号)."""
    app = _visible(request.auth, id)
    application_recording_attach(actor=request.auth, application_id=app.pk, file=file, reference=reference)
    return _reload(request.auth, app.pk)


@router.post(
    "/{id}/recording/check",
    url_name="application_recording_check",
    summary="双录质检",
    response={200: ApplicationOut, **_WRITE},
)
def check_recording(request, id: int, payload: CheckIn):
    app = _visible(request.auth, id)
    application_recording_check(
        actor=request.auth, application_id=app.pk, passed=payload.passed, note=payload.note
    )
    return _reload(request.auth, app.pk)
