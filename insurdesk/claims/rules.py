"""The claim catalogue and the configurable numbers of claims, each overridable in Django settings.

- CLAIM_DOCUMENTS: the document checklist (理赔资料清单) of each claim type.
- CLAIM_WAITING_DAYS: waiting period (等待期) by product line, for illness claims; products carry no
  field for it yet. Accidents have none.
- CLAIM_DEFAULTS: deductible (免赔额) and ratio (赔付比例, %) a handler starts from, by claim type.
- CLAIM_APPROVAL_LIMITS: amounts above the limit of the policy's unit (or its nearest ancestor with
  one; "*" for all others) need a second approver who is not the decider.
- CLAIM_CLOCKS: the law's days (保险法 §§22–25).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

DOCUMENTS: dict[str, list[tuple[str, str]]] = {
    "death": [
        ("claim_form", "理赔申请书"),
        ("policy", "保险合同或保单号"),
        ("claimant_id", "申请人身份证明"),
        ("death_certificate", "死亡证明"),
        ("household_cancellation", "户籍注销证明"),
        ("beneficiary_proof", "受益人与被保险人关系证明"),
        ("bank_account", "领款账户信息"),
    ],
    "critical_illness": [
        ("claim_form", "理赔申请书"),
        ("insured_id", "被保险人身份证明"),
        ("diagnosis", "疾病诊断证明书"),
        ("pathology", "病理或检查报告"),
        ("medical_records", "病历资料"),
        ("bank_account", "领款账户信息"),
    ],
    "medical": [
        ("claim_form", "理赔申请书"),
        ("insured_id", "被保险人身份证明"),
        ("diagnosis", "诊断证明"),
        ("invoices", "医疗费用发票"),
        ("expense_list", "费用清单"),
        ("discharge_summary", "出院小结"),
        ("bank_account", "领款账户信息"),
    ],
    "accident_disability": [
        ("claim_form", "理赔申请书"),
        ("insured_id", "被保险人身份证明"),
        ("accident_proof", "意外事故证明"),
        ("disability_appraisal", "伤残鉴定书"),
        ("medical_records", "病历资料"),
        ("bank_account", "领款账户信息"),
    ],
    "accident_medical": [
        ("claim_form", "理赔申请书"),
        ("insured_id", "被保险人身份证明"),
        ("accident_proof", "意外事故证明"),
        ("invoices", "医疗费用发票"),
        ("expense_list", "费用清单"),
        ("bank_account", "领款账户信息"),
    ],
    "property": [
        ("claim_form", "理赔申请书"),
        ("claimant_id", "申请人身份证明"),
        ("loss_list", "损失清单"),
        ("police_report", "事故证明或报警回执"),
        ("repair_estimate", "维修报价或定损报告"),
        ("photos", "现场照片"),
        ("bank_account", "领款账户信息"),
    ],
}

WAITING_DAYS: dict[str, int] = {
    "life": 180,
    "health": 90,
    "accident": 0,
    "property": 0,
    "auto": 0,
    "group": 30,
}
# Claim types for which the waiting period counts (an illness, not an accident or a loss).
WAITING_TYPES = frozenset({"death", "critical_illness", "medical"})

DEFAULTS: dict[str, tuple[Decimal, Decimal]] = {
    "death": (Decimal("0"), Decimal("100")),
    "critical_illness": (Decimal("0"), Decimal("100")),
    "medical": (Decimal("100"), Decimal("80")),
    "accident_disability": (Decimal("0"), Decimal("100")),
    "accident_medical": (Decimal("100"), Decimal("100")),
    "property": (Decimal("500"), Decimal("100")),
}
# Fixed-benefit claim types: the benefit is the remaining sum insured unless the handler says less.
FIXED_BENEFIT = frozenset({"death", "critical_illness"})

APPROVAL_LIMITS: dict[str, Decimal] = {"*": Decimal("50000")}

CLOCKS: dict[str, int] = {"decision": 30, "payment": 10, "refusal_notice": 3, "advance": 60}

# 保险法 §26: limitation from knowing of the event — 5 years for life insurance, 2 years otherwise.
LIMITATION_YEARS: dict[str, int] = {"life": 5, "*": 2}

# 保险法 §44: suicide within 2 years of the contract's start or reinstatement.
SUICIDE_YEARS = 2


def documents(claim_type: str) -> list[tuple[str, str]]:
    return getattr(settings, "CLAIM_DOCUMENTS", DOCUMENTS).get(claim_type, [])


def waiting_days(line: str, claim_type: str) -> int:
    if claim_type not in WAITING_TYPES:
        return 0
    return int(getattr(settings, "CLAIM_WAITING_DAYS", WAITING_DAYS).get(line, 0))


def defaults(claim_type: str) -> tuple[Decimal, Decimal]:
    return getattr(settings, "CLAIM_DEFAULTS", DEFAULTS).get(claim_type, (Decimal("0"), Decimal("100")))


def approval_limit(unit) -> Decimal:
    """Return the limit of the unit, else of its nearest ancestor that has one, else the "*" limit."""
    limits = {
        k: Decimal(str(v)) for k, v in getattr(settings, "CLAIM_APPROVAL_LIMITS", APPROVAL_LIMITS).items()
    }
    while unit is not None:
        if unit.code in limits:
            return limits[unit.code]
        unit = unit.parent
    return limits.get("*", APPROVAL_LIMITS["*"])


def clock_days(name: str) -> int:
    return int({**CLOCKS, **getattr(settings, "CLAIM_CLOCKS", {})}[name])


def limitation_years(line: str) -> int:
    table = getattr(settings, "CLAIM_LIMITATION_YEARS", LIMITATION_YEARS)
    return int(table.get(line, table.get("*", 2)))
