"""Servicing's daily duties: requests due, loan interest (and termination), survival and maturity benefits."""

from insurdesk.common.daily import duty
from insurdesk.servicing.services import benefits_pay, loans_accrue, servicing_apply_due


@duty("servicing", order=30, title="保全到期生效")
def apply_due(day):
    result = servicing_apply_due(day=day)
    return {"applied": result.applied, "failed": result.failed}


@duty("loan_interest", order=40, title="保单贷款计息")
def loan_interest(day):
    result = loans_accrue(day=day)
    return {"accrued": result.accrued, "terminated": result.terminated}


@duty("benefits", order=50, title="生存金与满期金")
def benefits(day):
    result = benefits_pay(day=day)
    return {"survival": result.survival, "maturity": result.maturity}
