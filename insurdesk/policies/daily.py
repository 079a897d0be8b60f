"""The policies' daily duties: overdue premiums and lapse (保险法 §36), then maturity."""

from insurdesk.common.daily import duty
from insurdesk.policies.services import policies_lapse_check, policies_mature_check


@duty("lapse", order=10, title="逾期与失效")
def lapse(day):
    result = policies_lapse_check(actor=None, today=day)
    return {"overdue": result.marked_overdue, "lapsed": len(result.lapsed)}


@duty("maturity", order=20, title="满期")
def maturity(day):
    return {"matured": len(policies_mature_check(actor=None, today=day))}
