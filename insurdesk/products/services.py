"""Every write on the product catalogue: create and change, with the audit log."""

from django.db import IntegrityError, transaction

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import Conflict, Duplicate, FieldError, NotAllowed, NotFound, ValidationFailed
from insurdesk.org.policy import can
from insurdesk.products.models import PlanLevel, Product
from insurdesk.products.validation import clean_product

LIST_FIELDS = ("coverage_terms", "payment_modes", "payment_terms", "required_documents", "occupation_classes")


def _require(actor) -> None:
    if actor is not None and not can(actor, "product.manage"):
        raise NotAllowed(FieldError("", "forbidden", "只有系统管理员可以维护险种"))


def _current(product: Product) -> dict:
    out = {
        f.name: getattr(product, f.name)
        for f in Product._meta.concrete_fields
        if f.name not in ("id", "version", "created_at", "updated_at")
    }
    out["attaches_to"] = list(product.attaches_to.values_list("code", flat=True))
    out["plan_levels"] = [
        {
            "code": p.code,
            "name": p.name,
            "sum_insured": p.sum_insured,
            "premium_per_member": p.premium_per_member,
            "description": p.description,
        }
        for p in product.plan_levels.all()
    ]
    return out


def _mains(codes: list[str], *, exclude: str = "") -> list[Product]:
    found = {p.code: p for p in Product.objects.filter(code__in=codes)}
    errors = []
    for code in codes:
        p = found.get(code)
        if p is None:
            errors.append(FieldError("attaches_to", "not_found", f"主险 {code} 不存在"))
        elif p.is_rider:
            errors.append(FieldError("attaches_to", "not_main", f"{code} 是附加险，附加险不能再附加于附加险"))
    if errors:
        raise ValidationFailed(errors)
    return [found[c] for c in codes if c != exclude]


def _write(product: Product, clean: dict) -> None:
    product.attaches_to.set(_mains(clean["attaches_to"], exclude=product.code))
    product.plan_levels.all().delete()
    PlanLevel.objects.bulk_create([PlanLevel(product=product, **level) for level in clean["plan_levels"]])


def _plain(value):
    return str(value) if value is not None and not isinstance(value, bool | int | list | str) else value


@transaction.atomic
def product_create(*, actor, data: dict) -> Product:
    """Add a product to the catalogue; a code is used once."""
    _require(actor)
    clean = clean_product(dict(data))
    if Product.objects.filter(code=clean["code"]).exists():
        raise Duplicate(FieldError("code", "duplicate", f"险种代码 {clean['code']} 已存在"))
    fields = {k: v for k, v in clean.items() if k not in ("attaches_to", "plan_levels")}
    product = Product(**fields)
    if actor is not None and actor.pk:
        product._history_user = actor
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        raise Duplicate(FieldError("code", "duplicate", f"险种代码 {clean['code']} 已存在")) from exc
    _write(product, clean)
    audit_log(actor=actor, action="product.create", target=product, detail={"code": product.code})
    return product


@transaction.atomic
def product_update(*, actor, code: str, data: dict, expected_version: int | None = None) -> Product:
    """Change a product; its code never changes; refuse a stale version."""
    _require(actor)
    product = Product.objects.select_for_update().filter(code=(code or "").upper()).first()
    if product is None:
        raise NotFound(FieldError("", "not_found", "险种不存在"))
    if expected_version is not None and expected_version != product.version:
        raise Conflict(
            FieldError(
                "version", "conflict", f"该险种已被他人修改（当前版本 {product.version}），请刷新后重新编辑"
            )
        )
    data = dict(data)
    if "code" in data and (data["code"] or "").strip().upper() != product.code:
        raise ValidationFailed(FieldError("code", "immutable", "险种代码不能修改"))
    current = _current(product)
    clean = clean_product(data, current=current)
    changes = {}
    for key, value in clean.items():
        if key in ("attaches_to", "plan_levels"):
            if key in data and current[key] != value:
                changes[key] = {
                    "before": [_plain_level(x) for x in current[key]],
                    "after": [_plain_level(x) for x in value],
                }
            continue
        if getattr(product, key) != value:
            changes[key] = {"before": _plain(getattr(product, key)), "after": _plain(value)}
            setattr(product, key, value)
    if changes:
        product.version += 1
        if actor is not None and actor.pk:
            product._history_user = actor
        product.save()
        if "attaches_to" in changes or "plan_levels" in changes:
            _write(product, clean)
        audit_log(
            actor=actor,
            action="product.update",
            target=product,
            detail={"code": product.code, "changes": changes},
        )
    return product


def _plain_level(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x
