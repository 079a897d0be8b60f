"""Every write on applications: first entry, edits, second entry, submission, recording, transitions.

Problem items (问题件) have their own module, `insurdesk.applications.problems`; both are re-exported
here so callers import services from one place.
"""

import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from insurdesk.applications import calculations as calc
from insurdesk.applications.entry import (
    KEY_INPUTS,
    compare_entries,
    first_entry_values,
    second_entry_values,
)
from insurdesk.applications.models import (
    Application,
    ApplicationLine,
    Beneficiary,
    BusinessSource,
    IssueType,
    Origin,
    ProblemItem,
    Route,
    State,
)
from insurdesk.applications.selectors import new_business_blocks
from insurdesk.applications.validation import INPUT_FIELDS, Cleaned, clean_application
from insurdesk.applications.workflow import (
    OPEN_PROBLEM_STATES,
    application_lock,
    fire,
    recording_reasons_for,
)
from insurdesk.audit.services import audit_log
from insurdesk.common.errors import (
    Conflict,
    DomainError,
    Duplicate,
    FieldError,
    IllegalTransition,
    NotAllowed,
    ValidationFailed,
)
from insurdesk.common.text import check_reason
from insurdesk.common.uploads import check_upload
from insurdesk.customers.keys import identity_hash
from insurdesk.customers.models import Customer, Kind
from insurdesk.customers.selectors import customer_scope
from insurdesk.customers.services import archive_numbers, customer_create
from insurdesk.org.models import OrgUnit, User
from insurdesk.org.policy import require
from insurdesk.org.selectors import root_unit, viewer_unit_ids
from insurdesk.products.selectors import products_by_code

RECORDING_MAX_BYTES = 2 * 1024**3
RECORDING_REF_MAX = 100


def application_transition(
    *, actor, application: Application, name: str, detail: dict | None = None
) -> Application:
    """Run one state transition on a locked application, save it and write the audit entry.

    For underwriting and issuing (request_evidence, evidence_received, accept, postpone, decline,
    issue); call inside transaction.atomic on an application from `application_lock`.
    """
    before = application.state
    fire(application, name)
    application.version += 1
    application.save()
    audit_log(
        actor=actor,
        action=f"application.{name}",
        target=application,
        detail={"from": before, "to": application.state, **(detail or {})},
    )
    return application


# ------------------------------------------------------------------ first entry


def _resolve_party(actor, spec, role: str) -> tuple[Customer | None, bool, list[str]]:
    """Return (archive, created in this flow, warnings) for {"customer_id": id} or {"new": {...}}."""
    if spec is None:
        return None, False, []
    if not isinstance(spec, dict):
        raise ValidationFailed(FieldError(role, "format", "应为 {customer_id} 或 {new: {...}}"))
    if spec.get("customer_id"):
        qs = customer_scope(actor) if actor is not None else Customer.objects.all()
        customer = qs.filter(pk=spec["customer_id"]).first()
        if customer is None:
            raise ValidationFailed(
                FieldError(f"{role}.customer_id", "not_found", "客户档案不存在或不在您的管辖范围内")
            )
        return customer, False, []
    new = spec.get("new")
    if isinstance(new, dict):
        new = dict(new)
        kind = new.pop("kind", Kind.INDIVIDUAL)
        try:
            customer, warnings = customer_create(actor=actor, kind=kind, data=new)
        except DomainError as exc:
            for err in exc.errors:
                err.field = f"{role}.{err.field}" if err.field else role
            raise
        return customer, True, warnings
    raise ValidationFailed(FieldError(role, "required", "请选择已有客户档案或填写新客户信息"))


def _party_checks(
    cleaned: Cleaned, ph: Customer | None, ins: Customer | None
) -> tuple[list[FieldError], list[str]]:
    """Return the errors and warnings that need both parties: relationship, insurable interest, limits."""
    errors: list[FieldError] = []
    warnings: list[str] = []
    s = cleaned.scalars
    rel = s["relationship"]
    if ph is None:
        return errors, warnings
    if cleaned.is_group:
        if ph.kind != Kind.CORPORATE:
            errors.append(FieldError("policyholder", "group_corporate", "团体险的投保人须为单位客户"))
        if ins is not None:
            errors.append(
                FieldError("insured", "group", "团体险的被保险人在被保险人清单中登记，投保单不填被保险人")
            )
        if rel not in ("employer", "other"):
            errors.append(FieldError("relationship", "group", "团体险投保人与被保险人的关系应为雇佣或其他"))
        if rel == "other" and not s["insured_consent"]:
            errors.append(
                FieldError(
                    "insured_consent",
                    "insurable_interest",
                    "非雇佣关系的团体投保须有被保险人书面同意（保险法第三十一条）",
                )
            )
        return errors, warnings
    if ins is None:
        errors.append(FieldError("insured", "required", "被保险人不能为空"))
        return errors, warnings
    if ins.kind != Kind.INDIVIDUAL:
        errors.append(FieldError("insured", "individual", "被保险人须为个人客户"))
    if rel == "self" and ins.pk != ph.pk:
        errors.append(FieldError("relationship", "self_mismatch", "关系为本人时投保人与被保险人须为同一客户"))
    if rel and rel != "self" and ins.pk == ph.pk:
        errors.append(FieldError("relationship", "self_mismatch", "投保人与被保险人为同一客户时关系应为本人"))
    if rel in ("spouse", "child", "parent") and ph.kind != Kind.INDIVIDUAL:
        errors.append(FieldError("relationship", "family_corporate", "单位投保人与被保险人不能是家庭关系"))
    if rel and not calc.has_insurable_interest(rel, consent=s["insured_consent"]):
        errors.append(
            FieldError(
                "relationship",
                "insurable_interest",
                "投保人对被保险人没有保险利益：须为本人、配偶、子女、父母或雇佣关系，"
                "或经被保险人书面同意（保险法第三十一条）",
            )
        )
    on = s["application_date"]
    insured_age = calc.age_on(ins.birth_date, on) if on else None
    if (
        rel
        and cleaned.death_cover
        and calc.death_consent_needed(rel, insured_age=insured_age)
        and not s["insured_consent"]
    ):
        errors.append(
            FieldError(
                "insured_consent",
                "consent_required",
                "以死亡为给付条件的保险须经被保险人书面同意并认可保险金额（保险法第三十四条）",
            )
        )
    if cleaned.death_cover and rel:
        death_sum = sum(
            (line.sum_insured for line in cleaned.lines if line.product.death_cover), calc.money(0)
        )
        problem = calc.minor_death_problem(age=insured_age, relationship=rel, death_sum=death_sum)
        if problem:
            warnings.append(f"{problem}（保险法第三十三条，核保时按累计身故保额审核）")
    for line in cleaned.lines:
        limits = calc.ProductLimits(
            code=line.product.code,
            min_age=line.product.min_age,
            max_age=line.product.max_age,
            min_sum=line.product.min_sum_insured,
            max_sum=line.product.max_sum_insured,
            occupation_classes=tuple(line.product.occupation_classes),
        )
        for _code, message in calc.limit_problems(
            limits, age=insured_age, sum_insured=line.sum_insured, occupation_class=ins.occupation_class
        ):
            warnings.append(message + "（将由核保规则审核）")
    return errors, warnings


def _resolve_agent(scalars: dict, ph: Customer | None) -> tuple[User | None, list[FieldError]]:
    agent_id = scalars.get("agent_id")
    if agent_id is None and ph is not None:
        agent_id = ph.agent_id
    if agent_id is None:
        if scalars.get("business_source") == BusinessSource.INTERMEDIARY:
            return None, []
        return None, [FieldError("agent_id", "required", "直销、综拓业务须填写业务员")]
    agent = User.objects.filter(pk=agent_id, role="agent", is_active=True).first()
    if agent is None:
        return None, [FieldError("agent_id", "not_found", "业务员不存在或不是业务员角色")]
    return agent, []


def _resolve_unit(actor, unit_id) -> tuple[int | None, list[FieldError]]:
    if unit_id is not None:
        allowed = viewer_unit_ids(actor) if actor is not None else None
        if not OrgUnit.objects.filter(pk=unit_id).exists() or (
            allowed is not None and unit_id not in allowed
        ):
            return None, [FieldError("unit_id", "not_found", "受理机构不存在或不在您的管辖范围内")]
        return unit_id, []
    if actor is not None and actor.unit_id:
        return actor.unit_id, []
    root = root_unit()
    if root is None:
        return None, [FieldError("unit_id", "required", "系统尚未建立机构")]
    return root.pk, []


def _prepare(
    actor, data: dict
) -> tuple[Cleaned, Customer | None, bool, Customer | None, bool, User | None, int, list[str]]:
    """Clean the input and resolve parties, agent and unit; raise with every error found."""
    errors: list[FieldError] = []
    warnings: list[str] = []
    codes = [row.get("product_code") or "" for row in (data.get("lines") or []) if isinstance(row, dict)]
    if not isinstance(data.get("lines") or [], list) or any(
        not isinstance(r, dict) for r in data.get("lines") or []
    ):
        raise ValidationFailed(FieldError("lines", "format", "险种应为列表"))
    cleaned = None
    try:
        cleaned = clean_application(data, products=products_by_code(codes))
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    ph = ins = None
    ph_created = ins_created = False
    try:
        ph, ph_created, w = _resolve_party(actor, data.get("policyholder"), "policyholder")
        warnings.extend(w)
        if ph is None:
            errors.append(FieldError("policyholder", "required", "投保人不能为空"))
    except Duplicate:
        raise
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    insured_spec = data.get("insured")
    if insured_spec is None and data.get("relationship") == "self":
        ins = ph
    else:
        try:
            ins, ins_created, w = _resolve_party(actor, insured_spec, "insured")
            warnings.extend(w)
        except Duplicate:
            raise
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    agent = None
    unit_id = None
    errors.extend(new_business_blocks(ph, ins))
    if cleaned is not None:
        e, w = _party_checks(cleaned, ph, ins)
        errors.extend(e)
        warnings.extend(w)
        agent, e = _resolve_agent(cleaned.scalars, ph)
        errors.extend(e)
        unit_id, e = _resolve_unit(actor, cleaned.scalars.get("unit_id"))
        errors.extend(e)
    if errors:
        raise ValidationFailed(errors)
    return cleaned, ph, ph_created, ins, ins_created, agent, unit_id, warnings


def _snapshot(app: Application, role: str, customer: Customer | None) -> None:
    setattr(app, role, customer)
    setattr(app, f"{role}_name", customer.name if customer else "")
    setattr(app, f"{role}_id_type", customer.id_type if customer else "")
    setattr(app, f"{role}_id_number", customer.id_number if customer else None)


SCALAR_COLUMNS = (
    "relationship",
    "insured_consent",
    "beneficiary_legal",
    "total_premium",
    "payment_mode",
    "payment_term",
    "bank_name",
    "bank_account",
    "account_holder",
    "business_source",
    "agency_name",
    "agency_kind",
    "commission_ratio",
    "application_date",
    "requested_effective_date",
    "health_disclosure",
    "health_details",
    "notes",
)


def _write_children(app: Application, cleaned: Cleaned) -> None:
    app.lines.all().delete()
    app.beneficiaries.all().delete()
    by_code = {}
    for line in cleaned.lines:
        level = None
        if line.plan_level_code:
            level = next(pl for pl in line.product.plan_levels.all() if pl.code == line.plan_level_code)
        row = ApplicationLine.objects.create(
            application=app,
            seq=line.seq,
            product=line.product,
            coverage_term=line.coverage_term,
            sum_insured=line.sum_insured,
            premium=line.premium,
            plan_level=level,
            rider_of=by_code.get(line.rider_of_code) if line.product.is_rider else None,
        )
        by_code[line.product.code] = row
    # Riders keyed before their main line are linked once every main exists.
    for line in cleaned.lines:
        if line.product.is_rider and line.rider_of_code and by_code.get(line.rider_of_code):
            ApplicationLine.objects.filter(application=app, seq=line.seq).update(
                rider_of=by_code[line.rider_of_code]
            )
    rows = []
    for b in cleaned.beneficiaries:
        linked = None
        if b.id_number:
            linked = Customer.objects.filter(id_hash=identity_hash(b.id_type, b.id_number)).first()
        rows.append(
            Beneficiary(
                application=app,
                seq=b.seq,
                order=b.order,
                name=b.name,
                id_type=b.id_type,
                id_number=b.id_number,
                relationship=b.relationship,
                share=b.share,
                customer=linked,
            )
        )
    Beneficiary.objects.bulk_create(rows)


def _new_number() -> str:
    while True:
        number = archive_numbers(1, prefix="TB")[0]
        if not Application.objects.filter(application_no=number).exists():
            return number


@transaction.atomic
def application_create(*, actor, data: dict) -> tuple[Application, list[str]]:
    """First entry (初录): key the whole application; new archives are created through the archive rules."""
    require(actor, "application.create", "您的角色无权录入投保单")
    cleaned, ph, ph_created, ins, ins_created, agent, unit_id, warnings = _prepare(actor, dict(data))
    s = cleaned.scalars
    number = s["application_no"]
    if number and Application.objects.filter(application_no=number).exists():
        raise Duplicate(FieldError("application_no", "duplicate", f"投保单号 {number} 已录入，不能重复录入"))
    now = timezone.now()
    app = Application(
        application_no=number or _new_number(),
        unit_id=unit_id,
        agent=agent,
        state_changed_at=now,
        first_entry_by=actor,
        first_entry_at=now,
        policyholder_created=ph_created,
        insured_created=ins_created,
        **{k: s[k] for k in SCALAR_COLUMNS},
    )
    _snapshot(app, "policyholder", ph)
    _snapshot(app, "insured", None if cleaned.is_group else ins)
    reasons = recording_reasons_for(s, cleaned.lines, ph, ins)
    app.recording_required, app.recording_reasons = bool(reasons), reasons
    try:
        with transaction.atomic():
            app.save()
    except IntegrityError as exc:
        raise Duplicate(FieldError("application_no", "duplicate", "投保单号已录入，不能重复录入")) from exc
    _write_children(app, cleaned)
    audit_log(
        actor=actor,
        action="application.create",
        target=app,
        detail={
            "application_no": app.application_no,
            "lines": [line.product.code for line in cleaned.lines],
            "total_premium": str(app.total_premium),
            "recording": reasons,
            "new_archives": [r for r, c in (("policyholder", ph_created), ("insured", ins_created)) if c],
        },
    )
    return app, warnings


def current_input(app: Application) -> dict:
    """Return the application as first-entry input, for an edit that sends only some fields."""
    out = {k: getattr(app, k) for k in SCALAR_COLUMNS}
    out["application_no"] = app.application_no
    out["agent_id"] = app.agent_id
    out["unit_id"] = app.unit_id
    out["policyholder"] = {"customer_id": app.policyholder_id}
    out["insured"] = {"customer_id": app.insured_id} if app.insured_id else None
    out["lines"] = [
        {
            "product_code": line.product.code,
            "coverage_term": line.coverage_term,
            "sum_insured": line.sum_insured,
            "premium": line.premium,
            "rider_of": line.rider_of.product.code if line.rider_of_id else None,
            "plan_level": line.plan_level.code if line.plan_level_id else None,
        }
        for line in app.lines.select_related("product", "rider_of__product", "plan_level").order_by("seq")
    ]
    out["beneficiaries"] = [
        {
            "order": b.order,
            "name": b.name,
            "id_type": b.id_type,
            "id_number": b.id_number,
            "relationship": b.relationship,
            "share": b.share,
        }
        for b in app.beneficiaries.order_by("seq")
    ]
    return out


EDITABLE_STATES = (State.SECOND_ENTRY, State.PROBLEMS, State.ENTERED)


@transaction.atomic
def application_update(
    *, actor, application_id: int, data: dict, expected_version: int | None = None
) -> tuple[Application, list[str]]:
    """Change an application before underwriting; key fields only until second entry, by its first clerk."""
    require(actor, "application.change", "您的角色无权修改投保单")
    app = application_lock(application_id, actor=actor)
    if expected_version is not None and expected_version != app.version:
        raise Conflict(
            FieldError(
                "version",
                "conflict",
                f"该投保单已被他人修改（当前版本 {app.version}），请刷新后重新编辑，您的输入未保存",
            )
        )
    if app.state not in EDITABLE_STATES:
        raise IllegalTransition(
            FieldError("state", "illegal_transition", f"投保单当前状态为“{State(app.state).label}”，不能修改")
        )
    data = dict(data)
    unknown = sorted(set(data) - set(INPUT_FIELDS))
    if unknown:
        raise ValidationFailed([FieldError(k, "unknown_field", "未知字段") for k in unknown])
    if app.state == State.SECOND_ENTRY:
        # Anyone else who saw the first values could no longer key the second entry blind.
        if actor is not None and actor.pk != app.first_entry_by_id:
            raise NotAllowed(FieldError("", "not_first_entry", "二次录入前只有初录人可以修改投保单"))
    else:
        locked = sorted(k for k in data if k in KEY_INPUTS or k == "application_no")
        if locked:
            raise ValidationFailed(
                [FieldError(k, "key_field_locked", "二次录入后关键字段只能通过问题件更正") for k in locked]
            )
    merged = {**current_input(app), **data}
    cleaned, ph, ph_created, ins, ins_created, agent, unit_id, warnings = _prepare(actor, merged)
    s = cleaned.scalars
    if s["application_no"] != app.application_no:
        if Application.objects.filter(application_no=s["application_no"]).exclude(pk=app.pk).exists():
            raise Duplicate(
                FieldError("application_no", "duplicate", f"投保单号 {s['application_no']} 已录入")
            )
        app.application_no = s["application_no"]
    changed = sorted(k for k in data if merged.get(k) != current_input(app).get(k))
    for k in SCALAR_COLUMNS:
        setattr(app, k, s[k])
    app.unit_id, app.agent = unit_id, agent
    if ph.pk != app.policyholder_id:
        _snapshot(app, "policyholder", ph)
        app.policyholder_created = ph_created
    target_insured = None if cleaned.is_group else ins
    if (target_insured.pk if target_insured else None) != app.insured_id:
        _snapshot(app, "insured", target_insured)
        app.insured_created = ins_created
    reasons = recording_reasons_for(s, cleaned.lines, ph, ins)
    app.recording_required, app.recording_reasons = bool(reasons), reasons
    app.version += 1
    app.save()
    if "lines" in data or "beneficiaries" in data:
        _write_children(app, cleaned)
    audit_log(actor=actor, action="application.change", target=app, detail={"fields": changed})
    return app, warnings


# ------------------------------------------------------------------ second entry


def _next_serial(app: Application) -> int:
    last = app.problems.order_by("-serial_no").values_list("serial_no", flat=True).first()
    return (last or 0) + 1


@transaction.atomic
def application_second_entry(
    *, actor, application_id: int, data: dict
) -> tuple[Application, list[ProblemItem]]:
    """Second entry (二次录入): compare the key fields keyed blind; each difference becomes a problem item."""
    require(actor, "application.second_entry", "您的角色无权进行二次录入")
    app = application_lock(application_id, actor=actor)
    if actor is not None and actor.pk == app.first_entry_by_id:
        raise NotAllowed(
            FieldError("", "same_person", "二次录入须由初录人以外的人员完成，您是该投保单的初录人")
        )
    if app.state != State.SECOND_ENTRY:
        raise IllegalTransition(
            FieldError(
                "state", "illegal_transition", f"投保单当前状态为“{State(app.state).label}”，不能二次录入"
            )
        )
    second = second_entry_values(data)
    first = first_entry_values(app)
    differences, compared = compare_entries(first, second)
    serial = _next_serial(app)
    problems = []
    for path, label, first_value, second_value in differences:
        problems.append(
            ProblemItem(
                application=app,
                serial_no=serial,
                field=path,
                field_label=label,
                first_value=first_value or None,
                second_value=second_value or None,
                issue_type=IssueType.MISMATCH,
                text=f"{label}初录与二次录入不一致，请核对投保单影像",
                route=Route.CORRECTION_DESK,
                arose_at=Origin.ENTRY,
                created_by=actor,
            )
        )
        serial += 1
    ProblemItem.objects.bulk_create(problems)
    now = timezone.now()
    app.second_entry_by = actor
    app.second_entry_at = now
    app.key_field_count = compared
    app.second_entry_values = json.dumps(second, ensure_ascii=False)
    open_entry = app.problems.filter(arose_at=Origin.ENTRY, state__in=OPEN_PROBLEM_STATES).exists()
    fire(app, "second_entry_mismatched" if open_entry else "second_entry_matched")
    app.version += 1
    app.save()
    audit_log(
        actor=actor,
        action="application.second_entry",
        target=app,
        detail={"compared": compared, "mismatches": [p.field for p in problems]},
    )
    return app, list(app.problems.filter(serial_no__in=[p.serial_no for p in problems]).order_by("serial_no"))


# ------------------------------------------------------------------ submission and withdrawal


@transaction.atomic
def application_submit(*, actor, application_id: int) -> Application:
    """Send a fully entered application to underwriting (提交核保)."""
    require(actor, "application.submit", "您的角色无权提交核保")
    app = application_lock(application_id, actor=actor)
    if (
        app.state == State.ENTERED
        and app.problems.filter(arose_at=Origin.ENTRY, state__in=OPEN_PROBLEM_STATES).exists()
    ):
        raise IllegalTransition(
            FieldError("problems", "open_problems", "尚有未解决的录入问题件，不能提交核保")
        )
    fire(app, "submit")
    app.submitted_by = actor
    app.submitted_at = timezone.now()
    app.assignee = None
    app.version += 1
    app.save()
    audit_log(actor=actor, action="application.submit", target=app, detail={})
    return app


@transaction.atomic
def application_withdraw(*, actor, application_id: int, reason: str) -> Application:
    """Withdraw an application before issue (撤件); its open problem items are cancelled."""
    require(actor, "application.withdraw", "您的角色无权撤件")
    reason = check_reason(reason, field="reason", label="撤件原因", max_length=300)
    app = application_lock(application_id, actor=actor)
    fire(app, "withdraw")
    app.closed_reason = reason[:300]
    app.version += 1
    app.save()
    for item in app.problems.filter(state__in=OPEN_PROBLEM_STATES):
        item.cancel()
        item.save()
    audit_log(actor=actor, action="application.withdraw", target=app, detail={"reason": app.closed_reason})
    return app


@transaction.atomic
def application_assign(*, actor, application_id: int, assignee_id: int | None) -> Application:
    """Give an application to a handler (当前处理人), or back to the pool with None."""
    require(actor, "application.view")
    app = application_lock(application_id, actor=actor)
    assignee = None
    if assignee_id is not None:
        assignee = User.objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is None:
            raise ValidationFailed(FieldError("assignee_id", "not_found", "处理人不存在"))
    app.assignee = assignee
    app.save(update_fields=["assignee", "updated_at"])
    audit_log(actor=actor, action="application.assign", target=app, detail={"assignee": assignee_id})
    return app


# ------------------------------------------------------------------ sales recording (双录)


def _recording_max_bytes() -> int:
    return int(getattr(settings, "INSURDESK_RECORDING_MAX_BYTES", RECORDING_MAX_BYTES))


# Recording formats whose content the shared upload check can recognise from the bytes.
RECORDING_TYPES = ("mp4", "mov", "m4a", "webm", "mp3", "wav", "amr")


def _check_file(upload) -> tuple[str, int]:
    """Check a recording as every upload is checked: its name, its size, its content told from its bytes.

    The type the browser declares is never trusted (a renamed .exe is not a video); the stored content
    type is the one the bytes show.
    """
    if getattr(upload, "size", None) == 0:
        raise ValidationFailed([FieldError("file", "empty", "双录文件为空")])
    checked = check_upload(upload, allowed_types=RECORDING_TYPES, max_bytes=_recording_max_bytes())
    return checked.content_type, checked.size


@transaction.atomic
def application_recording_attach(
    *, actor, application_id: int, file=None, reference: str = ""
) -> Application:
    """Attach the sales recording (双录): an audio/video file or the recording system's reference number."""
    require(actor, "application.recording_attach", "您的角色无权上传双录资料")
    reference = (reference or "").strip()
    if file is None and not reference:
        raise ValidationFailed(FieldError("file", "required", "请上传双录文件或填写双录编号"))
    if reference and (len(reference) > RECORDING_REF_MAX or any(c.isspace() for c in reference)):
        raise ValidationFailed(
            FieldError("reference", "format", f"双录编号至多 {RECORDING_REF_MAX} 个字符且不含空格")
        )
    app = application_lock(application_id, actor=actor)
    if app.state not in (
        State.SECOND_ENTRY,
        State.PROBLEMS,
        State.ENTERED,
        State.UNDERWRITING,
        State.EVIDENCE,
        State.ACCEPTED,
    ):
        raise IllegalTransition(
            FieldError(
                "state", "illegal_transition", f"投保单当前状态为“{State(app.state).label}”，不能上传双录资料"
            )
        )
    detail = {"reference": reference}
    if file is not None:
        content_type, size = _check_file(file)
        app.recording_file.save(f"{app.application_no}-{file.name.rsplit('/', 1)[-1]}", file, save=False)
        app.recording_content_type, app.recording_size = content_type, size
        detail.update({"file": app.recording_file.name, "content_type": content_type, "size": size})
    else:
        app.recording_file = ""
        app.recording_content_type, app.recording_size = "", None
    app.recording_reference = reference
    app.recording_attached_by = actor
    app.recording_attached_at = timezone.now()
    app.recording_checked_by = None
    app.recording_checked_at = None
    app.recording_check_note = ""
    app.version += 1
    app.save()
    audit_log(actor=actor, action="application.recording_attach", target=app, detail=detail)
    return app


@transaction.atomic
def application_recording_check(
    *, actor, application_id: int, passed: bool = True, note: str = ""
) -> Application:
    """Record the quality check of the attached recording (双录质检) by someone other than who attached it."""
    require(actor, "application.recording_check", "您的角色无权进行双录质检")
    app = application_lock(application_id, actor=actor)
    if not app.has_recording:
        raise IllegalTransition(FieldError("recording", "no_recording", "尚未上传双录资料，不能质检"))
    if actor is not None and actor.pk == app.recording_attached_by_id:
        raise NotAllowed(FieldError("", "same_person", "双录质检须由上传人以外的人员完成"))
    note = (note or "").strip()[:300]
    if not passed and not note:
        raise ValidationFailed(FieldError("note", "required", "质检不通过时须写明原因"))
    if passed:
        app.recording_checked_by = actor
        app.recording_checked_at = timezone.now()
    else:
        app.recording_checked_by = None
        app.recording_checked_at = None
    app.recording_check_note = note if passed else f"不通过：{note}"
    app.version += 1
    app.save()
    audit_log(
        actor=actor, action="application.recording_check", target=app, detail={"passed": passed, "note": note}
    )
    return app


# Problem items live in their own module; re-exported so callers import every service from here.
from insurdesk.applications.problems import (  # noqa: E402
    problem_assign,
    problem_raise,
    problem_reply,
    problem_resolve,
    problem_send,
)

__all__ = [
    "application_assign",
    "application_create",
    "application_lock",
    "application_recording_attach",
    "application_recording_check",
    "application_second_entry",
    "application_submit",
    "application_transition",
    "application_update",
    "application_withdraw",
    "problem_assign",
    "problem_raise",
    "problem_reply",
    "problem_resolve",
    "problem_send",
]
