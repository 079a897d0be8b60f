"""REST endpoints of the product catalogue (`/api/v1/products`): list, read; create and change (admins)."""

from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from insurdesk.common.errors import FieldError, NotAllowed
from insurdesk.org.api import ErrorsOut, InSchema, StrictSchema, storable_text
from insurdesk.org.policy import can
from insurdesk.products.models import Line, PaymentMode, Product
from insurdesk.products.selectors import product_get, product_list
from insurdesk.products.services import product_create, product_update

router = Router(tags=["products"])

LineT = Literal[tuple(Line.values)]  # type: ignore[valid-type]
ModeT = Literal[tuple(PaymentMode.values)]  # type: ignore[valid-type]
MAX_PAGE_SIZE = 200


class PlanLevelIn(InSchema):
    code: str = Field(..., min_length=1, max_length=10, description="等级代码")
    name: str = Field(..., min_length=1, max_length=100, description="等级名称")
    sum_insured: Decimal = Field(..., ge=0, max_digits=16, decimal_places=2, description="每人保额（元）")
    premium_per_member: Decimal = Field(
        ..., ge=0, max_digits=14, decimal_places=2, description="每人保费（元）"
    )
    description: str = Field("", max_length=300)


class _ProductFields(InSchema):
    name: str = Field(..., min_length=1, max_length=100, description="险种名称")
    line: LineT = Field(
        ...,
        description="险类：life 寿险 / health 健康险 / accident 意外险 / property 财产险 / "
        "auto 车险 / group 团险",
    )
    is_rider: bool = Field(False, description="附加险")
    attaches_to: list[str] = Field(default_factory=list, max_length=50, description="附加险可附加的主险代码")
    coverage_terms: list[str] = Field(
        ...,
        min_length=1,
        max_length=30,
        description="保险期间选项，如 30d、6m、1y、20y、to70（至70周岁）、life（终身）",
    )
    payment_modes: list[ModeT] = Field(..., min_length=1, description="缴费方式")
    payment_terms: list[str] = Field(
        ..., min_length=1, max_length=30, description="缴费期间选项，如 single（趸交）、10y、to60"
    )
    min_age: int = Field(0, ge=0, le=120, description="最低投保年龄（周岁）")
    max_age: int = Field(65, ge=0, le=120, description="最高投保年龄（周岁）")
    min_sum_insured: Decimal | None = Field(
        None, ge=0, max_digits=16, decimal_places=2, description="最低保额"
    )
    max_sum_insured: Decimal | None = Field(
        None, ge=0, max_digits=16, decimal_places=2, description="最高保额"
    )
    cooling_off_days: int = Field(15, ge=0, le=366, description="犹豫期（天）")
    grace_days: int = Field(60, ge=0, le=366, description="宽限期（天）")
    required_documents: list[str] = Field(default_factory=list, max_length=50, description="所需资料")
    occupation_classes: list[int] = Field(
        default_factory=list, max_length=6, description="可承保职业类别 1–6，空为不限"
    )
    death_cover: bool = Field(False, description="含身故责任")
    unit_linked: bool = Field(False, description="投资连结")
    is_group: bool = Field(False, description="团体险")
    active: bool = Field(True, description="在售")
    description: str = Field("", max_length=5000)
    plan_levels: list[PlanLevelIn] = Field(
        default_factory=list, max_length=50, description="等级明细（团体险）"
    )
    cash_values: list[Decimal] = Field(
        default_factory=list, max_length=105, description="现金价值表：每千元保额在各保单年度末的现金价值"
    )
    loan_share: Decimal = Field(Decimal("0"), ge=0, le=100, decimal_places=2, description="可贷比例（%）")
    loan_rate: Decimal = Field(Decimal("0"), ge=0, le=100, decimal_places=2, description="贷款年利率（%）")
    reinstatement_health: bool = Field(False, description="复效须重新健康告知")
    survival_benefit: Decimal = Field(
        Decimal("0"), ge=0, max_digits=10, decimal_places=2, description="生存金（每千元保额）"
    )
    survival_interval: int = Field(0, ge=0, le=50, description="生存金给付间隔（年），0 为无")
    maturity_benefit: Decimal = Field(
        Decimal("0"), ge=0, max_digits=10, decimal_places=2, description="满期金（每千元保额）"
    )


class ProductIn(_ProductFields):
    code: str = Field(..., min_length=1, max_length=20, description="险种代码（大写字母、数字）")


def _drop_default(schema: dict) -> None:
    schema.pop("default", None)


def _optional(model: type[Schema], name: str) -> type[Schema]:
    from pydantic import create_model
    from pydantic.fields import FieldInfo

    fields: dict[str, Any] = {}
    for fname, info in model.model_fields.items():
        copy = FieldInfo.merge_field_infos(info, default=None, json_schema_extra=_drop_default)
        copy.default_factory = None
        fields[fname] = (info.annotation, copy)
    return create_model(name, __base__=InSchema, **fields)


_ProductPatchFields = _optional(_ProductFields, "_ProductPatchFields")


class ProductPatch(_ProductPatchFields):
    """Send only the fields to change; lists (attaches_to, plan_levels…) replace the stored ones."""

    version: int | None = Field(None, ge=1, le=2_147_483_647, description="编辑开始时读到的 version")


class PlanLevelOut(Schema):
    code: str
    name: str
    sum_insured: Decimal
    premium_per_member: Decimal
    description: str


class ProductOut(Schema):
    code: str
    name: str
    line: LineT
    line_label: str
    is_rider: bool
    attaches_to: list[str]
    coverage_terms: list[str]
    payment_modes: list[ModeT]
    payment_terms: list[str]
    min_age: int
    max_age: int
    min_sum_insured: Decimal | None
    max_sum_insured: Decimal | None
    cooling_off_days: int
    grace_days: int
    required_documents: list[str]
    occupation_classes: list[int]
    death_cover: bool
    unit_linked: bool
    is_group: bool
    active: bool
    description: str
    plan_levels: list[PlanLevelOut]
    cash_values: list[Decimal]
    loan_share: Decimal
    loan_rate: Decimal
    reinstatement_health: bool
    survival_benefit: Decimal
    survival_interval: int
    maturity_benefit: Decimal
    version: int


class ProductPage(Schema):
    items: list[ProductOut]
    count: int


class ProductQuery(StrictSchema):
    q: str | None = Field(None, max_length=100, description="险种代码前缀或名称片段")
    line: LineT | None = None
    active: bool | None = Field(None, description="true 只列在售险种")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)

    @field_validator("q", "line", "active", mode="before")
    @classmethod
    def _blank_is_absent(cls, value):
        return None if value == "" else storable_text(value)


def product_record(p: Product) -> dict:
    return {
        **{
            f: getattr(p, f)
            for f in (
                "code",
                "name",
                "line",
                "is_rider",
                "coverage_terms",
                "payment_modes",
                "payment_terms",
                "min_age",
                "max_age",
                "min_sum_insured",
                "max_sum_insured",
                "cooling_off_days",
                "grace_days",
                "required_documents",
                "occupation_classes",
                "death_cover",
                "unit_linked",
                "is_group",
                "active",
                "description",
                "cash_values",
                "loan_share",
                "loan_rate",
                "reinstatement_health",
                "survival_benefit",
                "survival_interval",
                "maturity_benefit",
                "version",
            )
        },
        "line_label": p.get_line_display(),
        "attaches_to": sorted(m.code for m in p.attaches_to.all()),
        "plan_levels": [
            {
                "code": pl.code,
                "name": pl.name,
                "sum_insured": pl.sum_insured,
                "premium_per_member": pl.premium_per_member,
                "description": pl.description,
            }
            for pl in p.plan_levels.all()
        ],
    }


_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut}


def _require_view(actor) -> None:
    if not can(actor, "product.view"):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权查看险种"))


@router.get(
    "",
    url_name="product_list",
    summary="险种目录（分页）",
    response={200: ProductPage, 401: ErrorsOut, 403: ErrorsOut, 422: ErrorsOut},
)
def list_products(request, params: Query[ProductQuery]):
    _require_view(request.auth)
    qs = product_list(query=params.q or "", line=params.line or "", active_only=bool(params.active))
    count = qs.count()
    offset = (params.page - 1) * params.page_size
    rows = list(qs[offset : offset + params.page_size]) if offset < count else []
    return {"items": [product_record(p) for p in rows], "count": count}


@router.post(
    "", url_name="product_create", summary="新增险种（系统管理员）", response={201: ProductOut, **_WRITE}
)
def create_product(request, payload: ProductIn):
    product = product_create(actor=request.auth, data=payload.model_dump())
    return Status(201, product_record(product_get(code=product.code)))


@router.get(
    "/{code}",
    url_name="product_detail",
    summary="读取一个险种",
    response={200: ProductOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut},
)
def get_product(request, code: str):
    _require_view(request.auth)
    return product_record(product_get(code=code))


@router.patch(
    "/{code}",
    url_name="product_update",
    summary="修改险种（只发送要改的字段；系统管理员）",
    response={200: ProductOut, 404: ErrorsOut, **_WRITE},
)
def update_product(request, code: str, payload: ProductPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    product = product_update(actor=request.auth, code=code, data=data, expected_version=version)
    return product_record(product_get(code=product.code))
