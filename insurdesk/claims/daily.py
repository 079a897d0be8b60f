"""The claims' daily duty: flag the claims past the law's deadlines (保险法 §§22–25)."""

from insurdesk.claims.handling import claims_clock_check
from insurdesk.common.daily import duty


@duty("claim_clocks", order=40, title="理赔时限")
def claim_clocks(day):
    result = claims_clock_check(day=day)
    return {"overdue": result.flagged, "cleared": result.cleared}
