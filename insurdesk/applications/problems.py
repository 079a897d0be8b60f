"""Problem items (问题件): raise, send, reply, assign and resolve — and what a resolution changes.

A reviewer resolves an entry mismatch against the scanned form by choosing the first value, the
second, or a corrected one; the chosen value becomes the application's. When the last entry item of
an application is resolved its lines are checked again (total, shares, products): a new
inconsistency becomes a new problem item, otherwise the application is ready for underwriting.
"""

from django.db import transaction
from django.utils import timezone

from insurdesk.applications import calculations as calc
from insurdesk.applications.entry import PATH_RE, field_label, norm_amount
from insurdesk.applications.models import (
    Application,
    ErrorParty,
    IssueType,
    Origin,
    ProblemItem,
    ProblemState,
    ReplyMethod,
    Resolution,
    Route,
    State,
)
from insurdesk.applications.validation import blank, clean_account
from insurdesk.applications.validation import text as clean_text
from insurdesk.applications.workflow import (
    OPEN_PROBLEM_STATES,
    application_lock,
    fire,
    recording_reasons_for,
)
from insurdesk.audit.services import audit_log
from insurdesk.common.errors import FieldError, IllegalTransition, NotFound, ValidationFailed
from insurdesk.customers.keys import identity_hash
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_update
from insurdesk.identity.documents import check_document
from insurdesk.identity.errors import IdentityError
from insurdesk.identity.uscc import parse_uscc
from insurdesk.org.models import User
from insurdesk.org.policy import require
from insurdesk.products.calculations import is_payment_term
from insurdesk.products.models import PaymentMode, Product

PARTY_PATHS = frozenset({"policyholder.name", "policyholder.id_number", "insured.name", "insured.id_number"})
SCALAR_PATHS = frozenset({"total_premium", "payment_mode", "payment_term", "bank_account"})
# Values change only before a policy exists; later corrections are servicing (保全).
APPLY_STATES = (State.SECOND_ENTRY, State.PROBLEMS, State.ENTERED, State.UNDERWRITING, State.EVIDENCE)
DEFAULT_ERROR_PARTY = {
    Resolution.FIRST: ErrorParty.SECOND,
    Resolution.SECOND: ErrorParty.FIRST,
    Resolution.CORRECTED: ErrorParty.BOTH,
    Resolution.ANSWERED: ErrorParty.NONE,
}


def applicable(path: str) -> bool:
    """Tell whether a resolution can write a value to this field of an application."""
    return path in PARTY_PATHS or path in SCALAR_PATHS or bool(PATH_RE.match(path or ""))


def _locked_item(app: Application, problem_id: int) -> ProblemItem:
    item = ProblemItem.objects.select_for_update().filter(pk=problem_id, application=app).first()
    if item is None:
        raise NotFound(FieldError("", "not_found", "问题件不存在"))
    return item


def _illegal(item: ProblemItem, what: str) -> IllegalTransition:
    return IllegalTransition(
        FieldError(
            "state", "illegal_transition", f"问题件当前状态为“{ProblemState(item.state).label}”，不能{what}"
        )
    )


def _fire_item(item: ProblemItem, name: str, what: str) -> None:
    from django_fsm import TransitionNotAllowed

    try:
        getattr(item, name)()
    except TransitionNotAllowed:
        raise _illegal(item, what) from None


def _bad(message: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(FieldError("value", code, message))


def _apply(app: Application, path: str, value: str) -> None:
    """Write one resolved value into the application (lines and beneficiaries by position)."""
    if path in PARTY_PATHS:
        role, name = path.split(".")
        if name == "name":
            if blank(value):
                raise _bad(f"{field_label(path)}不能为空", "required")
            setattr(app, f"{role}_name", clean_text(value)[:200])
        else:
            id_type = getattr(app, f"{role}_id_type")
            try:
                number = (
                    parse_uscc(value).code if id_type == "uscc" else check_document(id_type, value).number
                )
            except IdentityError as exc:
                raise _bad(f"{field_label(path)}：{exc.message}", exc.code) from None
            setattr(app, f"{role}_id_number", number)
        app.save()
        return
    if path == "total_premium":
        app.total_premium = _money(value, path)
    elif path == "payment_mode":
        if value not in PaymentMode.values:
            raise _bad("缴费方式应为 single/annual/semiannual/quarterly/monthly 之一", "choice")
        app.payment_mode = value
    elif path == "payment_term":
        if not is_payment_term((value or "").lower()):
            raise _bad("缴费期间应如 single、10y、to60", "format")
        app.payment_term = value.lower()
    elif path == "bank_account":
        try:
            app.bank_account = clean_account(value)
        except ValueError as exc:
            raise _bad(str(exc), "format") from None
    else:
        _apply_row(app, path, value)
        return
    app.save()


def _money(value, path: str, *, positive: bool = False):
    try:
        amount = calc.money(value)
    except (TypeError, ValueError):
        raise _bad(f"{field_label(path)}格式不正确", "format") from None
    if amount < 0 or (positive and amount == 0):
        raise _bad(f"{field_label(path)}应大于 0", "range")
    return amount


def _apply_row(app: Application, path: str, value: str) -> None:
    m = PATH_RE.match(path)
    group, seq, name = m["group"], int(m["i"]) + 1, m["name"]
    row = (app.lines if group == "lines" else app.beneficiaries).filter(seq=seq).first()
    if row is None:
        if blank(value):
            return  # the other entry keyed a row the form does not have
        what = "险种" if group == "lines" else "受益人"
        raise _bad(f"投保单没有第{seq}个{what}：增加{what}须撤件后重新录入", "no_such_row")
    if blank(value):
        raise _bad(f"{field_label(path)}不能为空；删除险种或受益人须撤件后重新录入", "required")
    if name == "product_code":
        product = Product.objects.filter(code=clean_text(value).upper(), active=True).first()
        if product is None:
            raise _bad(f"险种 {value} 不存在或已停售", "not_found")
        row.product = product
    elif name == "sum_insured":
        row.sum_insured = _money(value, path, positive=True)
    elif name == "premium":
        row.premium = _money(value, path)
    elif name == "share":
        share = _money(value, path, positive=True)
        if share > 100:
            raise _bad("受益比例应在 0–100% 之间", "range")
        row.share = share
    elif name == "name":
        row.name = clean_text(value)[:100]
    row.save()


def _reconcile_party(actor, app: Application, role: str) -> None:
    """Make the archive agree with the party as resolved: relink, correct a new archive, or refuse."""
    customer = getattr(app, role)
    if customer is None:
        return
    name, id_type = getattr(app, f"{role}_name"), getattr(app, f"{role}_id_type")
    number = getattr(app, f"{role}_id_number")
    if customer.name == name and (customer.id_number or "") == (number or ""):
        return
    label = "投保人" if role == "policyholder" else "被保险人"
    other = None
    if number:
        other = (
            Customer.objects.filter(id_hash=identity_hash(id_type, number)).exclude(pk=customer.pk).first()
        )
    if other is not None:
        if other.name != name:
            raise _bad(
                f"确认的{label}证件号码已有档案（客户号 {other.archive_no}），其姓名为“{other.name}”，"
                f"与确认的“{name}”不符，请核对",
                "archive_mismatch",
            )
        setattr(app, role, other)
        setattr(app, f"{role}_created", False)
        app.save()
        return
    if getattr(app, f"{role}_created"):
        data = {"name": name}
        if (customer.id_number or "") != (number or ""):
            data["id_number"] = number
            if id_type != "uscc":
                doc = check_document(id_type, number)
                data.update({k: v for k, v in (("birth_date", doc.birth_date), ("gender", doc.gender)) if v})
        customer_update(actor=actor, customer_id=customer.pk, data=data)
        return
    raise _bad(
        f"{label}档案（客户号 {customer.archive_no}）与确认的姓名或证件号码不一致：请先在客户档案中更正，"
        f"或选择与档案一致的值",
        "archive_mismatch",
    )


def _consistency(app: Application) -> list[tuple[str, str, str, str]]:
    """Return (path, text, current, suggested) for every rule the resolved application breaks."""
    out = []
    lines = list(app.lines.select_related("product").prefetch_related("product__attaches_to").order_by("seq"))
    total = calc.premium_total(line.premium for line in lines)
    if total != app.total_premium:
        out.append(
            (
                "total_premium",
                f"保费合计 {app.total_premium} 元与各险种保费之和 {total} 元不符",
                norm_amount(app.total_premium),
                norm_amount(total),
            )
        )
    if (app.payment_mode == "single") != (app.payment_term == "single"):
        out.append(("payment_term", "趸交的缴费期间为 single，期交不能选 single", app.payment_term, ""))
    codes = {line.product.code for line in lines}
    for line in lines:
        p, path = line.product, f"lines[{line.seq - 1}].product_code"
        if line.coverage_term not in p.coverage_terms:
            out.append((path, f"{p.code} 不提供保险期间 {line.coverage_term}", p.code, ""))
        if app.payment_mode not in p.payment_modes or app.payment_term not in p.payment_terms:
            out.append((path, f"{p.code} 不提供该缴费方式或缴费期间", p.code, ""))
        if p.is_rider and not ({m.code for m in p.attaches_to.all()} & codes):
            out.append((path, f"附加险 {p.code} 在本单没有可附加的主险", p.code, ""))
    beneficiaries = list(app.beneficiaries.order_by("seq"))
    for order, order_total in calc.share_problems((b.order, b.share) for b in beneficiaries):
        last = [b for b in beneficiaries if b.order == order][-1]
        suggested = last.share + calc.HUNDRED - order_total
        out.append(
            (
                f"beneficiaries[{last.seq - 1}].share",
                f"第 {order} 受益顺序的受益比例合计为 {order_total}%，应为 100%",
                norm_amount(last.share),
                norm_amount(suggested) if suggested > 0 else "",
            )
        )
    if (
        app.relationship == "self"
        and app.insured_id
        and (app.policyholder_name != app.insured_name or app.policyholder_id_number != app.insured_id_number)
    ):
        out.append(
            (
                "insured.name",
                "本人投保时投保人与被保险人的姓名、证件号码应一致",
                app.insured_name,
                app.policyholder_name,
            )
        )
    return out


def _next_serial(app: Application) -> int:
    last = app.problems.order_by("-serial_no").values_list("serial_no", flat=True).first()
    return (last or 0) + 1


def _after_entry_resolution(actor, app: Application) -> list[ProblemItem]:
    """Once no entry item is open: re-check the application; new items, or on to `entered`."""
    if app.problems.filter(arose_at=Origin.ENTRY, state__in=OPEN_PROBLEM_STATES).exists():
        return []
    found = _consistency(app)
    if found:
        serial = _next_serial(app)
        items = []
        for path, message, current, suggested in found:
            items.append(
                ProblemItem.objects.create(
                    application=app,
                    serial_no=serial,
                    field=path,
                    field_label=field_label(path),
                    first_value=current or None,
                    second_value=suggested or None,
                    issue_type=IssueType.INCONSISTENT,
                    text=message,
                    route=Route.CORRECTION_DESK,
                    arose_at=Origin.ENTRY,
                    created_by=actor,
                )
            )
            serial += 1
        return items
    if app.state == State.PROBLEMS:
        fire(app, "problems_cleared")
    ins = app.insured
    reasons = recording_reasons_for(
        {
            "application_date": app.application_date,
            "business_source": app.business_source,
            "agency_kind": app.agency_kind,
        },
        list(app.lines.select_related("product")),
        app.policyholder,
        ins,
    )
    app.recording_required, app.recording_reasons = bool(reasons), reasons
    return []


@transaction.atomic
def problem_resolve(
    *,
    actor,
    application_id: int,
    problem_id: int,
    choice: str,
    value: str | None = None,
    note: str = "",
    error_party: str | None = None,
    method: str = ReplyMethod.IMAGE,
) -> ProblemItem:
    """Resolve a problem item against the scanned form: first, second or corrected value, or an answer."""
    require(actor, "application.resolve", "只有复核员可以处理问题件")
    app = application_lock(application_id, actor=actor)
    item = _locked_item(app, problem_id)
    if not item.is_open:
        raise _illegal(item, "处理")
    if choice not in Resolution.values:
        raise ValidationFailed(
            FieldError("choice", "choice", "处理结论应为 first/second/corrected/answered 之一")
        )
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(FieldError("note", "required", "请填写处理说明（核对影像的结果）"))
    if method not in ReplyMethod.values:
        raise ValidationFailed(FieldError("method", "choice", "回复方式无效"))
    party = error_party or DEFAULT_ERROR_PARTY[choice]
    if party not in ErrorParty.values:
        raise ValidationFailed(
            FieldError("error_party", "choice", "差错归属应为 none/first/second/both 之一")
        )
    writes = applicable(item.field) and choice != Resolution.ANSWERED
    if choice == Resolution.ANSWERED and item.issue_type == IssueType.MISMATCH:
        raise ValidationFailed(
            FieldError("choice", "choice", "录入不一致的问题件须选择以初录、二次录入或更正值为准")
        )
    if choice != Resolution.ANSWERED and not applicable(item.field):
        raise ValidationFailed(FieldError("choice", "choice", "该问题件不对应投保单字段，只能作答复处理"))
    if choice == Resolution.FIRST:
        chosen = item.first_value or ""
    elif choice == Resolution.SECOND:
        chosen = item.second_value or ""
    elif choice == Resolution.CORRECTED:
        chosen = (value or "").strip()
        if not chosen and item.field != "bank_account":
            raise ValidationFailed(FieldError("value", "required", "请填写更正后的值"))
    else:
        chosen = ""
    if writes:
        if app.state not in APPLY_STATES:
            raise IllegalTransition(
                FieldError(
                    "state",
                    "illegal_transition",
                    f"投保单当前状态为“{State(app.state).label}”，不能再更正投保单内容",
                )
            )
        _apply(app, item.field, chosen)
    now = timezone.now()
    _fire_item(item, "resolve", "处理")
    item.resolution = choice
    item.resolved_value = chosen or None
    item.resolved_by = actor
    item.resolved_at = now
    item.replied_by = item.replied_by or actor
    item.reply_method = item.reply_method or method
    item.reply_text = note[:500] if not item.reply_text else item.reply_text
    item.replied_at = item.replied_at or now
    item.error_party = party
    item.counts_as_error = party != ErrorParty.NONE
    if item.owner_id is None:
        item.owner = actor
    item.save()
    if writes and item.field in PARTY_PATHS:
        role = item.field.split(".")[0]
        still_open = app.problems.filter(field__startswith=f"{role}.", state__in=OPEN_PROBLEM_STATES).exists()
        if not still_open:
            _reconcile_party(actor, app, role)
            if app.relationship == "self" and role == "policyholder" and app.insured_id:
                app.insured = app.policyholder
    new_items = []
    if item.arose_at == Origin.ENTRY and app.state in (State.PROBLEMS, State.ENTERED):
        new_items = _after_entry_resolution(actor, app)
    app.version += 1
    app.save()
    audit_log(
        actor=actor,
        action="problem.resolve",
        target=item,
        detail={
            "application": app.application_no,
            "serial_no": item.serial_no,
            "field": item.field,
            "choice": choice,
            "error_party": party,
            "note": note[:200],
            "new_items": [i.serial_no for i in new_items],
        },
    )
    return item


@transaction.atomic
def problem_raise(
    *,
    actor,
    application_id: int,
    text: str,
    field: str = "",
    issue_type: str = IssueType.OTHER,
    route: str = Route.CORRECTION_DESK,
    arose_at: str = Origin.REVIEW,
    first_value: str | None = None,
    owner_id: int | None = None,
) -> ProblemItem:
    """Raise a problem item by hand (e.g. a missing signature, or from underwriting)."""
    require(actor, "application.problem_raise", "您的角色无权提出问题件")
    app = application_lock(application_id, actor=actor)
    errors = []
    message = (text or "").strip()
    if not message:
        errors.append(FieldError("text", "required", "问题描述不能为空"))
    if issue_type not in IssueType.values:
        errors.append(FieldError("issue_type", "choice", "问题类型无效"))
    if route not in Route.values:
        errors.append(FieldError("route", "choice", "处理去向应为 correction_desk 或 customer"))
    if arose_at not in Origin.values:
        errors.append(FieldError("arose_at", "choice", "产生环节无效"))
    owner = None
    if owner_id is not None:
        owner = User.objects.filter(pk=owner_id, is_active=True).first()
        if owner is None:
            errors.append(FieldError("owner_id", "not_found", "处理人不存在"))
    if errors:
        raise ValidationFailed(errors)
    if app.state in (State.ISSUED, State.WITHDRAWN, State.DECLINED, State.POSTPONED):
        raise IllegalTransition(
            FieldError(
                "state", "illegal_transition", f"投保单当前状态为“{State(app.state).label}”，不能提出问题件"
            )
        )
    field = (field or "").strip()[:60]
    item = ProblemItem.objects.create(
        application=app,
        serial_no=_next_serial(app),
        field=field,
        field_label=field_label(field) if field else "",
        first_value=first_value or None,
        issue_type=issue_type,
        text=message[:500],
        route=route,
        arose_at=arose_at,
        owner=owner,
        created_by=actor,
    )
    audit_log(
        actor=actor,
        action="problem.raise",
        target=item,
        detail={
            "application": app.application_no,
            "serial_no": item.serial_no,
            "field": field,
            "issue_type": issue_type,
            "arose_at": arose_at,
        },
    )
    return item


@transaction.atomic
def problem_send(*, actor, application_id: int, problem_id: int, route: str | None = None) -> ProblemItem:
    """Send a problem item out (下发) to the correction desk or the customer."""
    require(actor, "application.problem_handle", "您的角色无权下发问题件")
    app = application_lock(application_id, actor=actor)
    item = _locked_item(app, problem_id)
    if route is not None and route not in Route.values:
        raise ValidationFailed(FieldError("route", "choice", "处理去向应为 correction_desk 或 customer"))
    _fire_item(item, "send", "下发")
    if route:
        item.route = route
    item.sent_at = timezone.now()
    item.save()
    audit_log(actor=actor, action="problem.send", target=item, detail={"route": item.route})
    return item


@transaction.atomic
def problem_reply(*, actor, application_id: int, problem_id: int, method: str, reply: str) -> ProblemItem:
    """Record the reply to a sent problem item: who, how, what, when."""
    require(actor, "application.problem_handle", "您的角色无权登记问题件回复")
    app = application_lock(application_id, actor=actor)
    item = _locked_item(app, problem_id)
    reply = (reply or "").strip()
    errors = []
    if method not in ReplyMethod.values:
        errors.append(FieldError("method", "choice", "回复方式无效"))
    if not reply:
        errors.append(FieldError("reply", "required", "回复内容不能为空"))
    if errors:
        raise ValidationFailed(errors)
    _fire_item(item, "reply", "登记回复")
    item.replied_by, item.reply_method, item.reply_text = actor, method, reply[:500]
    item.replied_at = timezone.now()
    item.save()
    audit_log(actor=actor, action="problem.reply", target=item, detail={"method": method})
    return item


@transaction.atomic
def problem_assign(*, actor, application_id: int, problem_id: int, owner_id: int | None) -> ProblemItem:
    """Give an open problem item to a handler (or take it, with one's own id)."""
    require(actor, "application.problem_handle", "您的角色无权分派问题件")
    app = application_lock(application_id, actor=actor)
    item = _locked_item(app, problem_id)
    if not item.is_open:
        raise _illegal(item, "分派")
    owner = None
    if owner_id is not None:
        owner = User.objects.filter(pk=owner_id, is_active=True).first()
        if owner is None:
            raise ValidationFailed(FieldError("owner_id", "not_found", "处理人不存在"))
    item.owner = owner
    item.save(update_fields=["owner"])
    audit_log(actor=actor, action="problem.assign", target=item, detail={"owner": owner_id})
    return item
