"""What each kind of request (保全项目) checks, shows and does: clean → a Plan; apply → the final Plan.

`clean` runs when a request is made (and again when it is applied, since the policy may have moved
on); `apply` writes the change under the policy's row lock, inside the approving transaction or the
daily duty. Sensitive values (mobile, account, identity numbers) appear masked in the before/after rows;
the values themselves are kept encrypted on the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max, Sum

from insurdesk.applications.models import BeneficiaryRelation
from insurdesk.applications.validation import Checker, _beneficiaries, clean_account
from insurdesk.common import masking
from insurdesk.common.errors import DomainError, FieldError, IllegalTransition, ValidationFailed
from insurdesk.customers.services import customer_update
from insurdesk.policies import calculations as policy_calc
from insurdesk.policies.members import member_add, member_remove
from insurdesk.policies.models import (
    COVERING_STATES,
    OPEN_INSTALMENT,
    RECORDABLE_METHODS,
    Instalment,
    MemberStatus,
    PaymentKind,
    Policy,
    PolicyBeneficiary,
    PolicyLine,
    PolicyState,
)
from insurdesk.policies.services import (
    cooling_off_start,
    instalments_per_year,
    payment_record,
    policy_transition,
    schedule_instalment,
)
from insurdesk.products.models import PlanLevel, Product
from insurdesk.servicing import calculations as calc
from insurdesk.servicing.models import (
    Direction,
    Kind,
    LoanState,
    MoneyKind,
    MoneyMovement,
    PolicyLoan,
    Requester,
)

ZERO = Decimal("0.00")

# The documents each kind needs (资料清单); the request is approved only once all are received.
DOCUMENTS: dict[str, list[str]] = {
    Kind.CONTACT: ["保全申请书", "投保人身份证件"],
    Kind.BENEFICIARY: ["保全申请书", "投保人身份证件", "被保险人同意书", "受益人身份证件"],
    Kind.PAYMENT_ACCOUNT: ["保全申请书", "投保人身份证件", "银行卡复印件"],
    Kind.SUM_INSURED: ["保全申请书", "投保人身份证件", "健康告知书"],
    Kind.RIDER_ADD: ["保全申请书", "投保人身份证件", "健康告知书"],
    Kind.RIDER_REMOVE: ["保全申请书", "投保人身份证件"],
    Kind.MEMBERS: ["保全申请书", "加减人清单", "单位公章"],
    Kind.SURRENDER: ["保全申请书", "投保人身份证件", "保险合同", "银行卡复印件"],
    Kind.REINSTATEMENT: ["复效申请书", "投保人身份证件", "健康告知书"],
    Kind.LOAN: ["保单贷款申请书", "投保人身份证件", "银行卡复印件"],
    Kind.LOAN_REPAY: ["还款凭证"],
}

# Figures a request keeps beside its input (computed when taken); cleaning it again ignores them.
COMPUTED = frozenset({"arrears", "interest", "charge", "refund"})

CONTACT_FIELDS = {
    "mobile": ("手机", masking.mask_phone),
    "email": ("电子邮箱", masking.mask_email),
    "residence_address": ("居住地址", masking.mask_address),
    "mailing_address": ("通讯地址", masking.mask_address),
    "postal_code": ("邮政编码", None),
}


@dataclass
class Plan:
    """A request's cleaned changes, its before/after rows, the money it moves and any referral."""

    changes: dict
    diff: list[dict] = field(default_factory=list)
    amount: Decimal = ZERO
    referral: str = ""  # why underwriting must see it first (核保), "" when it need not
    text: str = ""  # the endorsement's wording (批文)

    def row(self, name: str, label: str, before, after) -> None:
        self.diff.append({"field": name, "label": label, "before": _plain(before), "after": _plain(after)})


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _fail(name: str, code: str, message: str):
    raise ValidationFailed(FieldError(name, code, message))


def _state_in(policy: Policy, states, what: str) -> None:
    if policy.state not in states:
        raise IllegalTransition(
            FieldError("state", "state", f"保单当前状态为“{policy.get_state_display()}”，不能办理{what}")
        )


def _amount(value, name: str, label: str) -> Decimal:
    if value in (None, ""):
        _fail(f"changes.{name}", "required", f"请填写{label}")
    try:
        d = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        _fail(f"changes.{name}", "format", f"{label}格式不正确")
    if not d.is_finite() or d.as_tuple().exponent < -2:
        _fail(f"changes.{name}", "format", f"{label}最多两位小数")
    if d <= 0:
        _fail(f"changes.{name}", "range", f"{label}应大于 0")
    return d.quantize(calc.CENT)


def _only(changes: dict, allowed: set[str]) -> None:
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationFailed([FieldError(f"changes.{k}", "unknown_field", "未知字段") for k in unknown])


class _Rollback(Exception):
    pass


def _dry_run(write: Callable[[], object]) -> None:
    """Run a lower service to check the input exactly as it will check it when applied, then undo it."""
    try:
        with transaction.atomic():
            write()
            raise _Rollback
    except _Rollback:
        pass


# ------------------------------------------------------------------ money helpers


def premium_received(policy: Policy) -> Decimal:
    """Premium received less every refund already paid back (cooling-off, surrender, member, rider)."""
    sums = policy.payments.values("kind").annotate(s=Sum("amount"))
    by_kind = {row["kind"]: row["s"] or ZERO for row in sums}
    paid_back = (
        MoneyMovement.objects.filter(
            policy=policy,
            direction=Direction.PAY,
            kind__in=(MoneyKind.SURRENDER, MoneyKind.MEMBER_REFUND, MoneyKind.RIDER_REFUND),
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return by_kind.get(PaymentKind.PREMIUM, ZERO) - by_kind.get(PaymentKind.REFUND, ZERO) - paid_back


def accrue(loan: PolicyLoan, day: date) -> None:
    """Bring a loan's interest up to `day` (simple daily interest on the principal); save it."""
    if loan.state != LoanState.OPEN or day <= loan.accrued_to:
        return
    loan.interest_exact += calc.daily_interest(loan.principal, loan.rate, (day - loan.accrued_to).days)
    loan.interest = calc.money(loan.interest_exact)
    loan.accrued_to = day
    loan.save(update_fields=["interest_exact", "interest", "accrued_to"])


def loan_balance(policy: Policy, day: date, *, lock: bool = False) -> Decimal:
    qs = PolicyLoan.objects.filter(policy=policy, state=LoanState.OPEN)
    if lock:
        qs = qs.select_for_update()
    total = ZERO
    for loan in qs:
        if lock:
            accrue(loan, day)
            total += loan.balance
        else:
            extra = calc.daily_interest(loan.principal, loan.rate, max(0, (day - loan.accrued_to).days))
            total += loan.principal + calc.money(loan.interest_exact + extra)
    return total


def main_line(policy: Policy) -> PolicyLine:
    return policy.lines.filter(is_rider=False).order_by("seq").first()


def main_sum_insured(policy: Policy) -> Decimal:
    line = main_line(policy)
    return line.sum_insured if line is not None else policy.sum_insured


def policy_cash_value(policy: Policy, day: date) -> Decimal:
    return calc.cash_value(policy.product.cash_values, main_sum_insured(policy), policy.effective_date, day)


def _move(policy, request, kind, direction, amount, *, day, due=None, period="", payee="", note=""):
    if amount <= 0:
        return None
    return MoneyMovement.objects.create(
        policy=policy,
        request=request,
        kind=kind,
        direction=direction,
        amount=amount,
        period=period or (request.request_no if request is not None else day.isoformat()),
        payee=(payee or policy.policyholder.name)[:100],
        due_date=due or day,
        recorded_on=day,
        note=note[:300],
    )


def _recompute_premium(policy: Policy) -> None:
    lines = list(policy.lines.all())
    policy.premium = sum((line.premium + line.extra_premium for line in lines), ZERO)
    policy.extra_premium = sum((line.extra_premium for line in lines), ZERO)
    policy.annual_premium = policy.premium * instalments_per_year(policy.payment_mode)
    policy.sum_insured = sum((line.sum_insured for line in lines), ZERO)


# ------------------------------------------------------------------ the kinds


class KindRules:
    """One kind: which policy states it needs, how it is cleaned, and what applying it writes."""

    states: tuple = tuple(COVERING_STATES)
    what = ""

    def check_state(self, policy: Policy) -> None:
        _state_in(policy, self.states, self.what)

    def clean(self, policy: Policy, changes: dict, *, day: date, applicant: str) -> Plan:
        raise NotImplementedError

    def apply(self, policy: Policy, request, *, day: date) -> Plan:
        raise NotImplementedError


PAYABLE = (PolicyState.PENDING, *COVERING_STATES, PolicyState.LAPSED)


class Contact(KindRules):
    states = PAYABLE
    what = "联系方式变更"

    def clean(self, policy, changes, *, day, applicant):
        _only(changes, set(CONTACT_FIELDS))
        values = {k: v for k, v in changes.items() if v not in (None,)}
        if not values:
            _fail("changes", "required", "请填写要变更的联系方式")
        customer = policy.policyholder
        try:
            _dry_run(lambda: customer_update(actor=None, customer_id=customer.pk, data=dict(values)))
        except DomainError as exc:
            raise ValidationFailed(
                [
                    FieldError(f"changes.{e.field}" if e.field else "changes", e.code, e.message)
                    for e in exc.errors
                ]
            ) from None
        plan = Plan(changes=values, text="投保人联系方式变更如下")
        for name, value in values.items():
            label, mask = CONTACT_FIELDS[name]
            before = getattr(customer, name, None)
            shown = mask or (lambda v: v)
            plan.row(name, label, shown(before) if before else "", shown(str(value)) if value else "")
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        customer_update(actor=None, customer_id=policy.policyholder_id, data=dict(plan.changes))
        return plan


def _beneficiary_text(rows: list[dict], legal: bool) -> str:
    if legal:
        return "法定"
    if not rows:
        return "未指定"
    labels = dict(BeneficiaryRelation.choices)
    parts = []
    for b in sorted(rows, key=lambda r: (r["order"], r.get("seq", 0))):
        number = masking.mask_id_number(b.get("id_number")) if b.get("id_number") else ""
        relation = labels.get(b.get("relationship") or "", "")
        parts.append(
            f"第{b['order']}顺序 {b['name']}{'（' + relation + '）' if relation else ''}"
            f"{' ' + number if number else ''} {Decimal(str(b['share'])).normalize():f}%"
        )
    return "；".join(parts)


class Beneficiary(KindRules):
    what = "受益人变更"

    def clean(self, policy, changes, *, day, applicant):
        _only(changes, {"beneficiary_legal", "beneficiaries", "insured_consent"})
        if policy.is_group:
            _fail("changes.beneficiaries", "group", "团体保单的受益人随被保险人清单登记")
        legal = bool(changes.get("beneficiary_legal"))
        chk = Checker()
        rows = _beneficiaries(chk, changes.get("beneficiaries") or [], legal=legal)
        errors = [
            FieldError("changes." + e.field if e.field else "changes", e.code, e.message) for e in chk.errors
        ]
        if not legal and not rows and policy.lines.filter(death_cover=True).exists():
            errors.append(
                FieldError(
                    "changes.beneficiaries", "required", "含身故责任的保单须指定身故受益人，或注明“法定”"
                )
            )
        # 保险法 §41: a change by the policyholder needs the insured's written consent.
        if (
            applicant == Requester.POLICYHOLDER
            and policy.insured_id != policy.policyholder_id
            and not changes.get("insured_consent")
        ):
            errors.append(
                FieldError(
                    "changes.insured_consent",
                    "consent_required",
                    "投保人变更受益人须经被保险人书面同意（保险法第四十一条）",
                )
            )
        if errors:
            raise ValidationFailed(errors)
        cleaned = [
            {
                "seq": b.seq,
                "order": b.order,
                "name": b.name,
                "share": str(b.share),
                "id_type": b.id_type,
                "id_number": b.id_number,
                "relationship": b.relationship,
            }
            for b in rows
        ]
        before = [
            {
                "seq": b.seq,
                "order": b.order,
                "name": b.name,
                "share": str(b.share),
                "id_number": b.id_number,
                "relationship": b.relationship,
            }
            for b in policy.beneficiaries.all()
        ]
        plan = Plan(
            changes={
                "beneficiary_legal": legal,
                "beneficiaries": cleaned,
                "insured_consent": bool(changes.get("insured_consent")),
            },
            text="身故受益人变更如下（保险法第四十一条）",
        )
        plan.row(
            "beneficiaries",
            "身故受益人",
            _beneficiary_text(before, policy.beneficiary_legal),
            _beneficiary_text(cleaned, legal),
        )
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        policy.beneficiaries.all().delete()
        PolicyBeneficiary.objects.bulk_create(
            [
                PolicyBeneficiary(
                    policy=policy,
                    seq=b["seq"],
                    order=b["order"],
                    name=b["name"],
                    id_type=b["id_type"],
                    id_number=b["id_number"],
                    relationship=b["relationship"],
                    share=Decimal(b["share"]),
                )
                for b in plan.changes["beneficiaries"]
            ]
        )
        policy.beneficiary_legal = plan.changes["beneficiary_legal"]
        policy.save(update_fields=["beneficiary_legal", "updated_at"])
        return plan


class PaymentAccount(KindRules):
    states = PAYABLE
    what = "缴费账户变更"

    def clean(self, policy, changes, *, day, applicant):
        _only(changes, {"bank_name", "bank_account", "account_holder"})
        if policy.application_id is None:
            _fail("policy_id", "no_account", "该保单为存量迁移保单，没有登记缴费账户，请在投保资料中补录")
        try:
            account = clean_account(changes.get("bank_account"))
        except ValueError as exc:
            _fail("changes.bank_account", "format", str(exc))
        if not account:
            _fail("changes.bank_account", "required", "请填写新的缴费账号")
        bank = str(changes.get("bank_name") or "").strip()[:100]
        if not bank:
            _fail("changes.bank_name", "required", "请填写开户银行")
        holder = str(changes.get("account_holder") or "").strip()[:100] or policy.policyholder.name
        app = policy.application
        plan = Plan(
            changes={"bank_name": bank, "bank_account": account, "account_holder": holder},
            text="缴费账户变更如下",
        )
        plan.row("bank_name", "开户银行", app.bank_name, bank)
        plan.row(
            "bank_account",
            "缴费账号",
            masking.mask_account(app.bank_account) if app.bank_account else "",
            masking.mask_account(account),
        )
        plan.row("account_holder", "账户户名", app.account_holder, holder)
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        app = policy.application
        app.bank_name = plan.changes["bank_name"]
        app.bank_account = plan.changes["bank_account"]
        app.account_holder = plan.changes["account_holder"]
        app.save(update_fields=["bank_name", "bank_account", "account_holder"])
        return plan


class SumInsured(KindRules):
    what = "保额变更"

    def clean(self, policy, changes, *, day, applicant):
        _only(changes, {"sum_insured"})
        if policy.is_group:
            _fail("changes.sum_insured", "group", "团体保单的保额随等级明细确定，请办理加减人")
        line = main_line(policy)
        new = _amount(changes.get("sum_insured"), "sum_insured", "新保额")
        product = line.product
        if product.min_sum_insured is not None and new < product.min_sum_insured:
            _fail("changes.sum_insured", "range", f"保额不能低于险种最低保额 {product.min_sum_insured} 元")
        if product.max_sum_insured is not None and new > product.max_sum_insured:
            _fail("changes.sum_insured", "range", f"保额不能高于险种最高保额 {product.max_sum_insured} 元")
        if new == line.sum_insured:
            _fail("changes.sum_insured", "unchanged", "新保额与现保额相同")
        premium = calc.money(line.premium * new / line.sum_insured) if line.sum_insured else line.premium
        plan = Plan(changes={"sum_insured": str(new)}, text="主险保额变更，期交保费按比例调整")
        plan.row("sum_insured", "主险保额（元）", line.sum_insured, new)
        plan.row("premium", "主险期交保费（元）", line.premium, premium)
        if new > line.sum_insured:
            plan.referral = "增加保额须经核保"
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        line = main_line(policy)
        new = Decimal(plan.changes["sum_insured"])
        line.premium = calc.money(line.premium * new / line.sum_insured) if line.sum_insured else line.premium
        line.sum_insured = new
        line.save(update_fields=["premium", "sum_insured"])
        _recompute_premium(policy)
        policy.save()
        return plan


class RiderAdd(KindRules):
    what = "附加险加保"

    def clean(self, policy, changes, *, day, applicant):
        _only(changes, {"product_code", "sum_insured", "premium", "coverage_term"})
        code = str(changes.get("product_code") or "").strip().upper()
        rider = Product.objects.filter(code=code).first() if code else None
        if rider is None:
            _fail("changes.product_code", "required" if not code else "not_found", "请选择要加保的附加险")
        if not rider.is_rider or not rider.attaches_to.filter(pk=policy.product_id).exists():
            _fail("changes.product_code", "not_attachable", f"{rider.name} 不能附加于 {policy.product.name}")
        if not rider.active:
            _fail("changes.product_code", "inactive", f"{rider.name} 已停售")
        if policy.lines.filter(product=rider).exists():
            _fail("changes.product_code", "duplicate", f"保单已有附加险 {rider.name}")
        si = _amount(changes.get("sum_insured"), "sum_insured", "附加险保额")
        premium = _amount(changes.get("premium"), "premium", "附加险期交保费")
        if rider.min_sum_insured is not None and si < rider.min_sum_insured:
            _fail("changes.sum_insured", "range", f"保额不能低于 {rider.min_sum_insured} 元")
        if rider.max_sum_insured is not None and si > rider.max_sum_insured:
            _fail("changes.sum_insured", "range", f"保额不能高于 {rider.max_sum_insured} 元")
        term = str(changes.get("coverage_term") or "").strip().lower()
        if not term:
            term = (
                policy.coverage_term
                if policy.coverage_term in rider.coverage_terms
                else rider.coverage_terms[0]
            )
        elif term not in rider.coverage_terms:
            _fail("changes.coverage_term", "choice", f"保险期间应为 {'、'.join(rider.coverage_terms)} 之一")
        plan = Plan(
            changes={
                "product_code": code,
                "sum_insured": str(si),
                "premium": str(premium),
                "coverage_term": term,
            },
            text=f"加保附加险 {rider.code} {rider.name}",
        )
        plan.row("lines", "附加险", "—", f"{rider.code} {rider.name} 保额 {si} 元 期交保费 {premium} 元")
        plan.row("premium", "期交保费（元）", policy.premium, policy.premium + premium)
        plan.referral = "附加险加保须经核保（健康告知）"
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        c = plan.changes
        rider = Product.objects.get(code=c["product_code"])
        seq = (policy.lines.aggregate(m=Max("seq"))["m"] or 0) + 1
        PolicyLine.objects.create(
            policy=policy,
            seq=seq,
            product=rider,
            is_rider=True,
            coverage_term=c["coverage_term"],
            sum_insured=Decimal(c["sum_insured"]),
            premium=Decimal(c["premium"]),
            death_cover=rider.death_cover,
        )
        _recompute_premium(policy)
        policy.save()
        return plan


def _policy_year_bounds(policy: Policy, day: date) -> tuple[date, date]:
    done = calc.completed_years(policy.effective_date, day)
    start = policy_calc.add_years(policy.effective_date, done)
    end = policy_calc.add_years(policy.effective_date, done + 1) - timedelta(days=1)
    if policy.expiry_date is not None:
        end = min(end, policy.expiry_date)
    return start, end


class RiderRemove(KindRules):
    what = "附加险退保"

    def clean(self, policy, changes, *, day, applicant):
        _only(changes, {"seq"})
        try:
            seq = int(changes.get("seq"))
        except (TypeError, ValueError):
            _fail("changes.seq", "required", "请选择要退保的附加险")
        line = policy.lines.filter(seq=seq).select_related("product").first()
        if line is None or not line.is_rider:
            _fail("changes.seq", "not_rider", "只能退保附加险；主险请办理退保")
        refund = ZERO
        if policy.paid_to and policy.paid_to > day:
            start, end = _policy_year_bounds(policy, day)
            annual = line.premium * instalments_per_year(policy.payment_mode)
            refund = calc.pro_rata(annual, day, start, min(end, policy.paid_to - timedelta(days=1)))
            refund = min(refund, max(ZERO, premium_received(policy)))
        plan = Plan(
            changes={"seq": seq}, amount=refund, text=f"附加险 {line.product.code} {line.product.name} 退保"
        )
        plan.row(
            "lines", "附加险", f"{line.product.code} {line.product.name} 保额 {line.sum_insured} 元", "—"
        )
        plan.row(
            "premium", "期交保费（元）", policy.premium, policy.premium - line.premium - line.extra_premium
        )
        plan.row("refund", "退还未满期保费（元）", "", refund)
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        policy.lines.filter(seq=plan.changes["seq"]).delete()
        _recompute_premium(policy)
        policy.save()
        _move(
            policy,
            request,
            MoneyKind.RIDER_REFUND,
            Direction.PAY,
            plan.amount,
            day=day,
            due=calc.refund_due(day),
            note="附加险退保退还未满期保费",
        )
        return plan


class Members(KindRules):
    what = "团体加减人"

    def clean(self, policy, changes, *, day, applicant):
        changes = {k: v for k, v in changes.items() if k not in COMPUTED}
        _only(changes, {"add", "remove"})
        if not policy.is_group:
            _fail("policy_id", "not_group", "只有团体保单可以加减人")
        adds = changes.get("add") or []
        removes = changes.get("remove") or []
        if not isinstance(adds, list) or not isinstance(removes, list):
            _fail("changes", "format", "add 与 remove 应为列表")
        if not adds and not removes:
            _fail("changes", "required", "请填写加人或减人名单")
        levels = {
            pl.code: pl
            for pl in PlanLevel.objects.filter(
                product_id__in=policy.lines.values_list("product_id", flat=True)
            )
        }
        start, end = _policy_year_bounds(policy, day)
        charge = refund = ZERO
        plan = Plan(changes={}, text="团体保单被保险人清单变更，保费按日比例计算")
        clean_adds = []
        for i, raw in enumerate(adds):
            if not isinstance(raw, dict):
                _fail(f"changes.add[{i}]", "format", "加人应为对象")
            row = {k: v for k, v in raw.items() if v not in (None, "")}
            try:
                _dry_run(
                    lambda row=row: member_add(actor=None, policy_id=policy.pk, data=dict(row), joined_on=day)
                )
            except DomainError as exc:
                raise ValidationFailed(
                    [
                        FieldError(f"changes.add[{i}].{e.field}".rstrip("."), e.code, e.message)
                        for e in exc.errors
                    ]
                ) from None
            level = levels.get(str(row.get("plan_level") or "").strip().upper())
            premium = calc.pro_rata(level.premium_per_member, day, start, end) if level else ZERO
            charge += premium
            clean_adds.append({k: str(v) for k, v in row.items()})
            plan.row(
                f"add[{i}]",
                "加人",
                "",
                f"{row.get('name')} 等级 {level.code if level else ''} 加费 {premium} 元",
            )
        members = {m.pk: m for m in policy.members.filter(pk__in=[r for r in removes if isinstance(r, int)])}
        clean_removes = []
        for i, member_id in enumerate(removes):
            m = members.get(member_id) if isinstance(member_id, int) else None
            if m is None:
                _fail(f"changes.remove[{i}]", "not_found", "被保险人不存在")
            if m.status != MemberStatus.ACTIVE:
                _fail(f"changes.remove[{i}]", "removed", f"{m.name} 已减员")
            if member_id in clean_removes:
                _fail(f"changes.remove[{i}]", "duplicate", f"{m.name} 重复")
            premium = calc.pro_rata(m.plan_level.premium_per_member, day, start, end)
            refund += premium
            clean_removes.append(member_id)
            plan.row(f"remove[{i}]", "减人", f"{m.seq} {m.name}", f"减员，退费 {premium} 元")
        refund = min(refund, max(ZERO, premium_received(policy) + charge))
        plan.changes = {
            "add": clean_adds,
            "remove": clean_removes,
            "charge": str(charge),
            "refund": str(refund),
        }
        plan.amount = charge + refund
        plan.row("charge", "应收加人保费（元）", "", charge)
        plan.row("refund", "应退减人保费（元）", "", refund)
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        for row in plan.changes["add"]:
            member_add(actor=None, policy_id=policy.pk, data=dict(row), joined_on=day)
        for member_id in plan.changes["remove"]:
            member_remove(actor=None, policy_id=policy.pk, member_id=member_id, left_on=day)
        _move(
            policy,
            request,
            MoneyKind.MEMBER_CHARGE,
            Direction.COLLECT,
            Decimal(plan.changes["charge"]),
            day=day,
            due=day + timedelta(days=30),
            note="加人按日计收保费",
        )
        _move(
            policy,
            request,
            MoneyKind.MEMBER_REFUND,
            Direction.PAY,
            Decimal(plan.changes["refund"]),
            day=day,
            due=calc.refund_due(day),
            note="减人按日退还保费",
        )
        return plan


class Surrender(KindRules):
    states = (*COVERING_STATES, PolicyState.LAPSED)
    what = "退保"

    def clean(self, policy, changes, *, day, applicant):
        _only(changes, set())
        received = max(ZERO, premium_received(policy))
        cooling = policy_calc.within_cooling_off(cooling_off_start(policy), policy.cooling_off_days, day)
        cash = policy_cash_value(policy, day)
        loans = loan_balance(policy, day)
        value = calc.surrender_value(
            in_cooling_off=cooling, premium_received=received, cash=cash, loan_balance=loans
        )
        plan = Plan(
            changes={},
            amount=value,
            text=("犹豫期内解除合同，退还已交保费" if cooling else "解除合同，退还保单现金价值")
            + f"，于 {calc.refund_due(day):%Y-%m-%d} 前支付（保险法第四十七条）",
        )
        plan.row("state", "保单状态", policy.get_state_display(), PolicyState.SURRENDERED.label)
        plan.row("premium_received", "已交保费（元）", "", received)
        plan.row("cash_value", "现金价值（元）", "", "犹豫期内不适用" if cooling else cash)
        if loans:
            plan.row("loan", "扣除贷款本息（元）", "", loans)
        plan.row("refund", "退保金（元）", "", value)
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        settle_loans(policy, day)
        policy_transition(
            actor=None,
            policy_id=policy.pk,
            name="surrender",
            reason=f"退保（{request.request_no}）",
            on=day,
            detail={"request": request.request_no, "refund": str(plan.amount)},
        )
        _move(
            policy,
            request,
            MoneyKind.SURRENDER,
            Direction.PAY,
            plan.amount,
            day=day,
            due=calc.refund_due(day),
            note="退保金（保险法第四十七条：30 日内支付）",
        )
        return plan


def settle_loans(policy: Policy, day: date) -> None:
    for loan in PolicyLoan.objects.select_for_update().filter(policy=policy, state=LoanState.OPEN):
        accrue(loan, day)
        loan.state, loan.closed_on = LoanState.SETTLED, day
        loan.save(update_fields=["state", "closed_on"])


def arrears(policy: Policy, day: date) -> list[tuple[int, Decimal, date]]:
    """Return (seq, amount still owed, due date) of every premium due by `day` and not paid."""
    open_ = list(Instalment.objects.filter(policy=policy, status__in=OPEN_INSTALMENT).order_by("seq"))
    out = [(i.seq, i.outstanding, i.due_date) for i in open_ if i.due_date <= day]
    if not open_:
        return out
    seq = open_[-1].seq + 1
    while True:
        planned = schedule_instalment(policy, seq)
        if planned is None or planned.due_date > day:
            return out
        out.append((seq, planned.amount, planned.due_date))
        seq += 1


class Reinstatement(KindRules):
    states = (PolicyState.LAPSED,)
    what = "复效"

    def clean(self, policy, changes, *, day, applicant):
        changes = {k: v for k, v in changes.items() if k not in COMPUTED}
        _only(changes, {"health_changed", "health_notes", "method"})
        if policy.lapsed_on and day > calc.reinstatement_deadline(policy.lapsed_on):
            _fail(
                "effective_date",
                "too_late",
                f"效力中止已满两年（{policy.lapsed_on:%Y-%m-%d} 起），不能复效（保险法第三十七条）",
            )
        method = changes.get("method") or "transfer"
        if method not in RECORDABLE_METHODS:
            _fail("changes.method", "choice", "补费方式应为 现金/转账/刷卡/银行代扣 之一")
        owed = arrears(policy, day)
        principal = sum((a for _, a, _ in owed), ZERO)
        interest = calc.arrears_interest([(a, d) for _, a, d in owed], policy.product.loan_rate, day)
        health_changed = bool(changes.get("health_changed"))
        plan = Plan(
            changes={
                "health_changed": health_changed,
                "health_notes": str(changes.get("health_notes") or "")[:300],
                "method": method,
                "arrears": str(principal),
                "interest": str(interest),
            },
            amount=principal + interest,
            text="补交欠缴保费及利息，保险合同效力恢复（保险法第三十七条）",
        )
        plan.row("state", "保单状态", policy.get_state_display(), PolicyState.REINSTATED.label)
        plan.row("arrears", f"补交保费 {len(owed)} 期（元）", "", principal)
        plan.row("interest", "利息（元）", "", interest)
        if policy.product.reinstatement_health or health_changed:
            plan.referral = "复效须重新健康告知，转核保"
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        while True:
            due = (
                Instalment.objects.filter(policy=policy, status__in=OPEN_INSTALMENT, due_date__lte=day)
                .order_by("seq")
                .first()
            )
            if due is None:
                break
            payment_record(
                actor=None,
                policy_id=policy.pk,
                amount=due.outstanding,
                method=plan.changes["method"],
                paid_on=day,
                reference=f"{request.request_no}-{due.seq}",  # one reference per instalment paid
                note="复效补交保费",
                today=day,
            )
        _move(
            policy,
            request,
            MoneyKind.ARREARS_INTEREST,
            Direction.COLLECT,
            Decimal(plan.changes["interest"]),
            day=day,
            note="复效补交利息",
        )
        policy_transition(
            actor=None, policy_id=policy.pk, name="reinstate", on=day, detail={"request": request.request_no}
        )
        return plan


class Loan(KindRules):
    what = "保单贷款"

    def clean(self, policy, changes, *, day, applicant):
        _only(changes, {"amount"})
        product = policy.product
        if not product.loan_share or not product.cash_values:
            _fail("kind", "no_loan", f"{product.name} 不提供保单贷款")
        amount = _amount(changes.get("amount"), "amount", "贷款金额")
        cash = policy_cash_value(policy, day)
        owed = loan_balance(policy, day)
        limit = calc.loan_limit(cash, product.loan_share, owed)
        if amount > limit:
            _fail(
                "changes.amount",
                "over_limit",
                f"贷款金额 {amount} 元超过可贷金额 {limit} 元（现金价值 {cash} 元的 {product.loan_share}%"
                + (f"，已欠贷款本息 {owed} 元" if owed else "")
                + "）",
            )
        plan = Plan(
            changes={"amount": str(amount)},
            amount=amount,
            text=f"保单贷款 {amount} 元，年利率 {product.loan_rate}%，按日计息",
        )
        plan.row("cash_value", "现金价值（元）", "", cash)
        plan.row("limit", "可贷金额（元）", "", limit)
        plan.row("loan", "贷款本息余额（元）", owed, owed + amount)
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        PolicyLoan.objects.create(
            policy=policy,
            request=request,
            principal=plan.amount,
            rate=policy.product.loan_rate,
            lent_on=day,
            accrued_to=day,
        )
        _move(policy, request, MoneyKind.LOAN, Direction.PAY, plan.amount, day=day, note="保单贷款放款")
        return plan


class LoanRepay(KindRules):
    states = (*COVERING_STATES, PolicyState.LAPSED)
    what = "贷款还款"

    def clean(self, policy, changes, *, day, applicant):
        _only(changes, {"amount"})
        owed = loan_balance(policy, day)
        if not owed:
            _fail("kind", "no_loan", "该保单没有未还清的贷款")
        amount = _amount(changes.get("amount"), "amount", "还款金额")
        if amount > owed:
            _fail("changes.amount", "over_balance", f"还款金额 {amount} 元超过贷款本息余额 {owed} 元")
        plan = Plan(
            changes={"amount": str(amount)}, amount=amount, text=f"归还保单贷款 {amount} 元（先还利息）"
        )
        plan.row("loan", "贷款本息余额（元）", owed, owed - amount)
        return plan

    def apply(self, policy, request, *, day):
        plan = self.clean(policy, request.changes, day=day, applicant=request.applicant)
        left = plan.amount
        for loan in PolicyLoan.objects.select_for_update().filter(policy=policy, state=LoanState.OPEN):
            accrue(loan, day)
            on_interest = min(left, loan.interest)
            loan.interest -= on_interest
            loan.interest_exact = max(Decimal(0), loan.interest_exact - on_interest)
            left -= on_interest
            on_principal = min(left, loan.principal)
            loan.principal -= on_principal
            left -= on_principal
            if loan.principal == 0 and loan.interest == 0:
                loan.state, loan.closed_on, loan.interest_exact = LoanState.REPAID, day, Decimal(0)
            loan.save()
        _move(
            policy,
            request,
            MoneyKind.LOAN_REPAY,
            Direction.COLLECT,
            plan.amount,
            day=day,
            note="保单贷款还款",
        )
        return plan


RULES: dict[str, KindRules] = {
    Kind.CONTACT: Contact(),
    Kind.BENEFICIARY: Beneficiary(),
    Kind.PAYMENT_ACCOUNT: PaymentAccount(),
    Kind.SUM_INSURED: SumInsured(),
    Kind.RIDER_ADD: RiderAdd(),
    Kind.RIDER_REMOVE: RiderRemove(),
    Kind.MEMBERS: Members(),
    Kind.SURRENDER: Surrender(),
    Kind.REINSTATEMENT: Reinstatement(),
    Kind.LOAN: Loan(),
    Kind.LOAN_REPAY: LoanRepay(),
}

__all__ = ["DOCUMENTS", "RULES", "Plan", "accrue", "arrears", "premium_received", "settle_loans"]
