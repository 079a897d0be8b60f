"""Every write of underwriting: open a case and run the rules, decide, request and receive evidence.

Each service moves the case and its application together in one transaction (the application's
state through `applications.services.application_transition`); an illegal step raises
IllegalTransition and changes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from insurdesk.applications.models import Application
from insurdesk.applications.models import State as AppState
from insurdesk.applications.selectors import new_business_blocks
from insurdesk.applications.services import application_lock, application_transition
from insurdesk.audit.services import audit_log
from insurdesk.common.errors import FieldError, IllegalTransition, NotFound, ValidationFailed
from insurdesk.org.policy import can, require
from insurdesk.underwriting import rules
from insurdesk.underwriting.exposure import insured_exposure
from insurdesk.underwriting.models import (
    ACCEPTING,
    CaseState,
    Decision,
    DecisionKind,
    EvidenceKind,
    RuleResult,
    UnderwritingCase,
)

# decision → (case transition, application transition)
TRANSITIONS: dict[str, tuple[str, str]] = {
    DecisionKind.STANDARD: ("accept", "accept"),
    DecisionKind.RATED: ("accept", "accept"),
    DecisionKind.EXCLUSION: ("accept", "accept"),
    DecisionKind.POSTPONE: ("postpone", "postpone"),
    DecisionKind.DECLINE: ("decline", "decline"),
    DecisionKind.REQUEST_EVIDENCE: ("request_evidence", "request_evidence"),
    DecisionKind.EVIDENCE_RECEIVED: ("evidence_received", "evidence_received"),
}
DEFAULT_REASONS = {
    DecisionKind.STANDARD: "标准体承保",
    DecisionKind.EVIDENCE_RECEIVED: "补充资料已收到，恢复核保",
}
MAX_REASONS = 2000


def cumulative_limit() -> Decimal:
    """The cumulative sum insured per insured above which a case goes to financial underwriting."""
    return Decimal(str(getattr(settings, "INSURDESK_UW_CUMULATIVE_LIMIT", rules.DEFAULT_CUMULATIVE_LIMIT)))


def auto_accept_enabled() -> bool:
    return bool(getattr(settings, "INSURDESK_UW_AUTO_ACCEPT", True))


def _person(c) -> rules.PersonFacts:
    return rules.PersonFacts(
        name=c.name,
        is_individual=c.kind == "individual",
        birth_date=c.birth_date,
        occupation_class=c.occupation_class,
        id_valid_to=c.id_valid_to if c.kind == "individual" else c.licence_valid_to,
        id_long_term=c.id_long_term,
        aml_risk=c.aml_risk,
        pep=c.pep,
    )


def case_facts(application: Application, *, on: date | None = None) -> rules.CaseFacts:
    """Gather what the rules look at from the application, its products and the two archives."""
    lines = list(application.lines.select_related("product").order_by("seq"))
    insured = application.insured
    exposure = (
        insured_exposure(insured.pk, exclude_application_id=application.pk) if insured is not None else None
    )
    details = (application.health_details or "").strip()
    return rules.CaseFacts(
        on=on or application.application_date,
        policyholder=_person(application.policyholder),
        insured=_person(insured) if insured is not None else None,
        relationship=application.relationship,
        lines=[
            rules.LineFacts(
                product_code=line.product.code,
                product_name=line.product.name,
                sum_insured=line.sum_insured,
                min_age=line.product.min_age,
                max_age=line.product.max_age,
                min_sum=line.product.min_sum_insured,
                max_sum=line.product.max_sum_insured,
                occupation_classes=frozenset(line.product.occupation_classes)
                if line.product.occupation_classes
                else None,
                death_cover=line.product.death_cover,
                is_group=line.product.is_group,
            )
            for line in lines
        ],
        consent_recorded=application.insured_consent,
        health_answers={"投保单健康告知事项": application.health_disclosure},
        health_notes="" if details in ("", "无") else details,
        existing_sum_insured=exposure.sum_insured if exposure else Decimal("0"),
        existing_death_sum=exposure.death_sum if exposure else Decimal("0"),
        cumulative_limit=cumulative_limit(),
        is_group=application.is_group,
        application_date=application.application_date,
        requested_effective_date=application.requested_effective_date,
    )


def _lock_case(application_id: int) -> UnderwritingCase | None:
    return UnderwritingCase.objects.select_for_update().filter(application_id=application_id).first()


def _run_rules(case: UnderwritingCase, application: Application) -> list[rules.RuleResult]:
    results = rules.evaluate(case_facts(application))
    run = (case.rule_results.order_by("-run").values_list("run", flat=True).first() or 0) + 1
    RuleResult.objects.bulk_create(
        [
            RuleResult(case=case, run=run, code=r.code, name=r.name, outcome=r.outcome, reason=r.reason[:500])
            for r in results
        ]
    )
    case.rules_run_at = timezone.now()
    case.auto_outcome = rules.overall(results)
    case.proposed_decision = DecisionKind.DECLINE if case.auto_outcome == rules.DECLINE else ""
    return results


def _fire(obj, name: str, *, what: str) -> None:
    method = getattr(obj, name)
    if not can_proceed(method):
        label = obj.get_state_display()
        raise IllegalTransition(
            FieldError("decision", "illegal_transition", f"{what}当前状态为“{label}”，不能执行此操作")
        )
    method()
    obj.state_changed_at = timezone.now()


@transaction.atomic
def underwriting_open(*, actor, application_id: int) -> UnderwritingCase:
    """Open the case of a submitted application and run the automatic rules.

    All rules pass → accepted at standard rates (when automatic acceptance is on); any refer → the
    manual queue; a decline rule → the manual queue with a proposed decline for an underwriter to confirm.
    Opening a case that already ran its rules returns it unchanged.
    """
    application = application_lock(application_id, actor=actor)
    case = _lock_case(application_id)
    if case is not None and case.state != CaseState.NEW:
        return case
    if application.state != AppState.UNDERWRITING:
        raise IllegalTransition(
            FieldError(
                "", "not_submitted", f"投保单当前状态为“{application.get_state_display()}”，尚未提交核保"
            )
        )
    if case is None:
        case = UnderwritingCase.objects.create(application=application, state_changed_at=timezone.now())
    results = _run_rules(case, application)
    now = timezone.now()
    blocked = new_business_blocks(application.policyholder, application.insured)
    if case.auto_outcome == rules.PASS and auto_accept_enabled() and not blocked:
        _fire(case, "auto_accept", what="核保案件")
        case.decision, case.automatic, case.decided_at = DecisionKind.STANDARD, True, now
        case.reasons = "自动核保规则全部通过，标准体承保"
        Decision.objects.create(
            case=case, kind=DecisionKind.STANDARD, reasons=case.reasons, automatic=True, decided_at=now
        )
        application_transition(
            actor=actor, application=application, name="accept", detail={"automatic": True}
        )
    else:
        _fire(case, "refer", what="核保案件")
    case.save()
    audit_log(
        actor=actor,
        action="underwriting.open",
        target=case,
        detail={
            "application": application.application_no,
            "outcome": case.auto_outcome,
            "state": case.state,
            "rules": {r.code: r.outcome for r in results},
        },
    )
    return case


def _amount(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed(FieldError("extra_premium", "format", "加费金额格式不正确")) from None
    if not d.is_finite():
        raise ValidationFailed(FieldError("extra_premium", "format", "加费金额格式不正确"))
    return d.quantize(Decimal("0.01"))


def _clean_decision(
    case: UnderwritingCase,
    decision: str,
    extra_premium,
    exclusion: str,
    reasons: str,
    evidence_kind: str,
    evidence: str,
) -> dict:
    errors = []
    if decision not in TRANSITIONS:
        raise ValidationFailed(
            FieldError(
                "decision",
                "choice",
                "核保结论应为 standard/rated/exclusion/postpone/"
                "decline/request_evidence/evidence_received 之一",
            )
        )
    extra = _amount(extra_premium)
    exclusion = (exclusion or "").strip()
    reasons = (reasons or "").strip() or DEFAULT_REASONS.get(decision, "")
    evidence = (evidence or "").strip()
    if decision == DecisionKind.RATED:
        if extra is None or extra <= 0:
            errors.append(FieldError("extra_premium", "required", "加费承保须填写大于 0 的加费金额"))
        elif extra > Decimal("999999999.99"):
            errors.append(FieldError("extra_premium", "range", "加费金额过大"))
    elif extra is not None:
        errors.append(FieldError("extra_premium", "not_rated", "只有加费承保才填写加费金额"))
    if decision == DecisionKind.EXCLUSION and not exclusion:
        errors.append(FieldError("exclusion", "required", "除外承保须写明除外责任"))
    elif decision != DecisionKind.EXCLUSION and exclusion:
        errors.append(FieldError("exclusion", "not_exclusion", "只有除外承保才填写除外责任"))
    if decision == DecisionKind.REQUEST_EVIDENCE:
        if evidence_kind not in EvidenceKind.values:
            errors.append(
                FieldError("evidence_kind", "required", "请选择补充资料类型（补充资料/体检/财务资料/问卷）")
            )
        if not evidence:
            errors.append(FieldError("evidence", "required", "请写明需要补充的资料或体检项目"))
    if not reasons:
        errors.append(FieldError("reasons", "required", "请填写核保意见"))
    elif len(reasons) > MAX_REASONS:
        errors.append(FieldError("reasons", "too_long", f"核保意见不能超过 {MAX_REASONS} 个字符"))
    if (
        decision in ACCEPTING
        and case.proposed_decision == DecisionKind.DECLINE
        and reasons == DEFAULT_REASONS.get(decision)
    ):
        errors.append(FieldError("reasons", "required", "自动核保建议拒保，改为承保须写明理由"))
    if errors:
        raise ValidationFailed(errors)
    return {"extra": extra, "exclusion": exclusion, "reasons": reasons, "evidence": evidence}


@transaction.atomic
def underwriting_decide(
    *,
    actor,
    application_id: int,
    decision: str,
    extra_premium=None,
    exclusion: str = "",
    reasons: str = "",
    evidence_kind: str = "",
    evidence: str = "",
) -> UnderwritingCase:
    """Record an underwriter's decision and move the case and the application by it.

    standard / rated (加费, with the extra premium per instalment) / exclusion (除外, with its wording)
    accept; postpone and decline close the case; request_evidence (补充资料/体检) pauses it until
    evidence_received, which re-runs the rules and puts it back in the manual queue.
    """
    require(actor, "underwriting.decide", "您的角色无权作出核保决定")
    application = application_lock(application_id, actor=actor)
    case = _lock_case(application_id)
    if case is None:
        if application.state != AppState.UNDERWRITING:
            raise IllegalTransition(
                FieldError(
                    "", "not_submitted", f"投保单当前状态为“{application.get_state_display()}”，不在核保中"
                )
            )
        case = underwriting_open(actor=actor, application_id=application_id)
    clean = _clean_decision(case, decision, extra_premium, exclusion, reasons, evidence_kind, evidence)
    if decision in ACCEPTING:
        # SPEC §1: an expired identity document blocks new business; no underwriter can accept it.
        blocks = new_business_blocks(application.policyholder, application.insured)
        if blocks:
            raise IllegalTransition(blocks)
    case_step, app_step = TRANSITIONS[decision]
    _fire(case, case_step, what="核保案件")
    now = timezone.now()
    Decision.objects.create(
        case=case,
        kind=decision,
        extra_premium=clean["extra"],
        exclusion=clean["exclusion"],
        evidence_kind=evidence_kind if decision == DecisionKind.REQUEST_EVIDENCE else "",
        evidence=clean["evidence"],
        reasons=clean["reasons"],
        decided_by=actor,
        decided_at=now,
    )
    if decision == DecisionKind.REQUEST_EVIDENCE:
        case.evidence_kind, case.evidence_requested = evidence_kind, clean["evidence"]
        case.evidence_requested_at, case.evidence_received_at = now, None
    elif decision == DecisionKind.EVIDENCE_RECEIVED:
        case.evidence_received_at = now
    else:
        case.decision, case.reasons, case.decided_by, case.decided_at = decision, clean["reasons"], actor, now
        case.extra_premium, case.exclusion, case.automatic = clean["extra"], clean["exclusion"], False
    application_transition(actor=actor, application=application, name=app_step, detail={"decision": decision})
    if decision == DecisionKind.EVIDENCE_RECEIVED:
        _run_rules(case, application)
    if actor is not None and actor.pk:
        case.assignee = actor
    case.save()
    audit_log(
        actor=actor,
        action=f"underwriting.{decision}",
        target=case,
        detail={
            "application": application.application_no,
            "state": case.state,
            "extra_premium": clean["extra"],
            "exclusion": bool(clean["exclusion"]),
        },
    )
    return case


@transaction.atomic
def underwriting_assign(*, actor, application_id: int, assignee=None) -> UnderwritingCase:
    """Take a case from the manual queue (or give it to another underwriter)."""
    require(actor, "underwriting.decide", "您的角色无权领取核保案件")
    case = _lock_case(application_id)
    if case is None:
        raise NotFound(FieldError("", "not_found", "核保案件不存在"))
    target = assignee or actor
    if target is not None and not can(target, "underwriting.decide"):
        raise ValidationFailed(FieldError("assignee", "role", "只能分配给核保员"))
    case.assignee = target
    case.save(update_fields=["assignee", "updated_at"])
    audit_log(
        actor=actor,
        action="underwriting.assign",
        target=case,
        detail={"assignee": target.pk if target else None},
    )
    return case
