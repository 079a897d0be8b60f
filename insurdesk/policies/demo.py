"""Demo policies (演示数据): issued policies in every state, with premiums paid, due, overdue and lapsed.

Everything goes through the services, in the clerk's branch (深圳分公司): applications are keyed,
re-keyed, submitted, underwritten and issued, premiums recorded, then the daily lapse check runs.
Some policies are back-dated (the application keyed months ago) so the due list and lapses show.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

from django.utils import timezone

from insurdesk.customers.calculations import age_on
from insurdesk.customers.models import Customer, Kind
from insurdesk.identity.testing import make_resident_id
from insurdesk.org.selectors import unit_subtree_ids
from insurdesk.policies.members import member_add
from insurdesk.policies.models import Instalment, Policy
from insurdesk.policies.services import (
    payment_record,
    policies_lapse_check,
    policy_cancel,
    policy_issue,
    policy_record_receipt,
)
from insurdesk.underwriting.services import underwriting_decide, underwriting_open
from insurdesk.underwriting.testing import submit_application

SEED = 20261122
MEMBER_NAMES = (
    "王建华",
    "李秀英",
    "张磊",
    "刘洋",
    "陈静",
    "杨帆",
    "赵敏",
    "黄志强",
    "周婷",
    "吴涛",
    "徐丽",
    "孙鹏",
)


@dataclass
class DemoPolicies:
    policies: int
    payments: int
    lapsed: int


def _people(scope: list[int], today: datetime.date) -> list[Customer]:
    """Individuals of the branch aged 25–55, occupation class 1–3, documents valid: they pass the rules."""
    out = []
    qs = (
        Customer.objects.filter(
            kind=Kind.INDIVIDUAL, unit_id__in=scope, aml_risk="low", pep=False, occupation_class__in=(1, 2, 3)
        )
        .exclude(birth_date=None)
        .order_by("id")
    )
    for c in qs[:400]:
        age = age_on(c.birth_date, today)
        expired = c.id_valid_to is not None and not c.id_long_term and c.id_valid_to < today
        if 25 <= age <= 50 and not expired:
            out.append(c)
    return out


def _data(holder, insured, agent, *, lines, total, mode="annual", term="20y", days_ago=1, **extra) -> dict:
    today = timezone.localdate()
    data = {
        "policyholder": {"customer_id": holder.pk},
        "relationship": "self" if insured is None else "spouse",
        "insured_consent": True,
        "lines": lines,
        "total_premium": total,
        "payment_mode": mode,
        "payment_term": term,
        "business_source": "direct",
        "agent_id": holder.agent_id or agent.pk,
        "health_details": "无",
        "application_date": today - datetime.timedelta(days=days_ago),
        "requested_effective_date": today - datetime.timedelta(days=days_ago - 1) if days_ago > 1 else None,
        "beneficiary_legal": True,
    }
    if insured is not None:
        data["insured"] = {"customer_id": insured.pk}
    data.update(extra)
    return data


def _pay_due(clerk, policy: Policy, *, through: datetime.date, method="transfer") -> int:
    """Pay every premium of the policy falling due on or before `through`, each on its due date."""
    n = 0
    while True:
        due = (
            Instalment.objects.filter(policy=policy, status__in=("unpaid", "overdue", "partial"))
            .order_by("seq")
            .first()
        )
        if due is None or due.due_date > through:
            return n
        payment_record(
            actor=clerk,
            policy_id=policy.pk,
            amount=due.outstanding,
            method=method,
            paid_on=min(due.due_date, timezone.localdate()),
            reference=f"DEMO{policy.pk:04d}{due.seq:03d}",
        )
        n += 1


def load_demo_policies(*, users: dict, today: datetime.date | None = None) -> DemoPolicies:
    """Load about ten policies in the clerk's branch: in force, pending, rated, lapsed, cancelled, group."""
    today = today or timezone.localdate()
    clerk, clerk2, underwriter, service = (
        users["clerk"],
        users["clerk2"],
        users["underwriter"],
        users["service"],
    )
    agent = users["agent"]
    scope = unit_subtree_ids(clerk.unit)
    people = _people(scope, today)
    if len(people) < 12:
        return DemoPolicies(0, 0, 0)
    rng = random.Random(SEED)
    made: list[Policy] = []
    payments = 0

    def issue(data: dict, *, rate: str | None = None, exclusion: str | None = None) -> Policy:
        app = submit_application(clerk=clerk, clerk2=clerk2, data=data)
        case = underwriting_open(actor=None, application_id=app.pk)
        if rate or exclusion or case.state == "referred":
            underwriting_decide(
                actor=underwriter,
                application_id=app.pk,
                decision="rated" if rate else "exclusion" if exclusion else "standard",
                extra_premium=rate,
                exclusion=exclusion or "",
                reasons="高血压病史，按标准保费加费承保"
                if rate
                else "既往症除外承保"
                if exclusion
                else "资料齐全，同意承保",
            )
        policy = policy_issue(actor=clerk, application_id=app.pk)
        made.append(policy)
        return policy

    life = [
        {"product_code": "L101", "coverage_term": "life", "sum_insured": "300000", "premium": "7800.00"},
        {
            "product_code": "R201",
            "coverage_term": "20y",
            "sum_insured": "100000",
            "premium": "2200.00",
            "rider_of": "L101",
        },
    ]
    term = [{"product_code": "L102", "coverage_term": "20y", "sum_insured": "500000", "premium": "260.00"}]
    p = iter(people)

    # in force for a year and more: annual life cover, paid up to date
    for days in (420, 200):
        policy = issue(_data(next(p), None, agent, lines=life, total="10000.00", days_ago=days))
        payments += _pay_due(clerk, policy, through=today)
    # monthly term life, paid monthly by bank withholding
    policy = issue(_data(next(p), None, agent, lines=term, total="260.00", mode="monthly", days_ago=150))
    payments += _pay_due(clerk, policy, through=today, method="withholding")
    # monthly, the last two months unpaid: overdue, still in its grace period
    policy = issue(_data(next(p), None, agent, lines=term, total="260.00", mode="monthly", days_ago=120))
    payments += _pay_due(clerk, policy, through=today - datetime.timedelta(days=45))
    # annual, second premium unpaid for more than 60 days: the lapse check suspends it (保险法 §36)
    policy = issue(_data(next(p), None, agent, lines=life, total="10000.00", days_ago=365 + 80))
    payments += _pay_due(clerk, policy, through=today - datetime.timedelta(days=300))
    # rated (加费) after a health disclosure, first premium paid
    holder, spouse = next(p), next(p)
    policy = issue(
        _data(
            holder,
            spouse,
            agent,
            lines=life,
            total="10000.00",
            health_disclosure=True,
            health_details="高血压两年，药物控制平稳",
            days_ago=20,
        ),
        rate="800.00",
    )
    payments += _pay_due(clerk, policy, through=today)
    # exclusion (除外) on a medical policy
    policy = issue(
        _data(
            next(p),
            None,
            agent,
            lines=[
                {"product_code": "H301", "coverage_term": "1y", "sum_insured": "2000000", "premium": "680.00"}
            ],
            total="680.00",
            term="1y",
            health_disclosure=True,
            health_details="甲状腺结节",
            days_ago=10,
        ),
        exclusion="甲状腺及其相关疾病导致的医疗费用不承担保险责任",
    )
    payments += _pay_due(clerk, policy, through=today)
    # issued this week, first premium not yet paid
    issue(_data(next(p), None, agent, lines=life, total="10000.00", days_ago=2))
    # cancelled inside the cooling-off period, the premium refunded
    policy = issue(_data(next(p), None, agent, lines=life, total="10000.00", days_ago=3))
    payments += _pay_due(clerk, policy, through=today)
    policy_record_receipt(actor=service, policy_id=policy.pk, receipt_date=today)
    policy_cancel(actor=service, policy_id=policy.pk, reason="客户犹豫期内申请撤单")
    # a group accident policy with its member list (被保险人清单)
    company = Customer.objects.filter(kind=Kind.CORPORATE, unit_id__in=scope).order_by("id").first()
    if company is not None:
        levels = ("A", "B", "B", "C", "C", "C", "B", "C", "C", "B", "C", "C")
        premium = {"A": 300, "B": 150, "C": 260}
        total = f"{sum(premium[x] for x in levels)}.00"
        group = issue(
            {
                "policyholder": {"customer_id": company.pk},
                "relationship": "employer",
                "lines": [
                    {
                        "product_code": "G801",
                        "coverage_term": "1y",
                        "sum_insured": "3000000",
                        "premium": total,
                        "plan_level": "B",
                    }
                ],
                "total_premium": total,
                "payment_mode": "single",
                "payment_term": "single",
                "business_source": "direct",
                "agent_id": company.agent_id or agent.pk,
                "health_details": "无",
                "application_date": today - datetime.timedelta(days=8),
                "requested_effective_date": today - datetime.timedelta(days=7),
                "beneficiary_legal": True,
            }
        )
        for i, (name, level) in enumerate(zip(MEMBER_NAMES, levels, strict=True)):
            gender = "M" if i % 2 == 0 else "F"
            birth = datetime.date(1975 + rng.randrange(25), rng.randrange(1, 13), rng.randrange(1, 28))
            seq = 2 * rng.randrange(100, 499) + (1 if gender == "M" else 0)
            member_add(
                actor=clerk,
                policy_id=group.pk,
                data={
                    "name": name,
                    "id_number": make_resident_id(birth, gender, region="440305", seq=seq),
                    "plan_level": level,
                    "occupation_class": 1 if level != "C" else 3,
                },
            )
        payments += _pay_due(clerk, group, through=today, method="transfer")
    # one more waits in the manual underwriting queue (a health disclosure)
    app = submit_application(
        clerk=clerk,
        clerk2=clerk2,
        data=_data(
            next(p),
            None,
            agent,
            lines=life,
            total="10000.00",
            health_disclosure=True,
            health_details="两年前胆囊切除手术，已康复",
        ),
    )
    underwriting_open(actor=None, application_id=app.pk)
    lapsed = policies_lapse_check(actor=None, today=today).lapsed
    return DemoPolicies(len(made), payments, len(lapsed))
