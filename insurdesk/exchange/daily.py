"""The exchange's daily duty: uploaded import files are kept only for the configured period."""

from insurdesk.common.daily import duty
from insurdesk.exchange.services import uploads_expire


@duty("upload_retention", order=90, title="删除过期的导入文件")
def upload_retention(day):
    return {"deleted": uploads_expire(today=day)}
