"""The audit log's daily duty: anchor the signed chain head outside the database."""

from insurdesk.audit.services import audit_anchor
from insurdesk.common.daily import duty


@duty("audit_anchor", order=900, title="使用记录链锚定")
def anchor(day):
    return {"anchored_seq": audit_anchor().seq}
