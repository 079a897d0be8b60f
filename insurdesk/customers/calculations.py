"""Pure arithmetic on archives: completeness score (档案完整率), age."""

from datetime import date

# The fields an archive of each kind must carry to be complete, with the label the page shows.
REQUIRED_INDIVIDUAL: dict[str, str] = {
    "name": "姓名",
    "gender": "性别",
    "birth_date": "出生日期",
    "nationality": "国籍",
    "id_type": "证件类型",
    "id_number": "证件号码",
    "id_validity": "证件有效期",
    "mobile": "手机",
    "residence_address": "居住地址",
    "postal_code": "邮政编码",
    "occupation": "职业",
    "occupation_class": "职业类别",
    "employer": "工作单位",
    "marital_status": "婚姻状况",
    "annual_income": "年收入",
    "education": "学历",
    "health_status": "健康状况",
    "source_channel": "来源渠道",
}
REQUIRED_CORPORATE: dict[str, str] = {
    "name": "单位名称",
    "id_number": "统一社会信用代码",
    "licence_valid_to": "营业执照有效期",
    "nature": "企业性质",
    "industry": "行业类别",
    "registered_capital": "注册资本",
    "business_scope": "经营范围",
    "registered_address": "注册地址",
    "legal_rep_name": "法定代表人",
    "legal_rep_id_number": "法定代表人证件号码",
    "controlling_shareholder": "控股股东/实际控制人",
    "contact_name": "经办人",
    "contact_mobile": "经办人手机",
    "beneficial_owners": "受益所有人",
    "headcount": "员工总数",
    "source_channel": "来源渠道",
}


def _filled(value) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    return True


def completeness(kind: str, values: dict) -> tuple[int, list[str]]:
    """Return the score 0–100 and the labels of the required fields still empty.

    `values` holds the field values; "id_validity" counts as filled when a valid-to date or
    long-term validity is present; "beneficial_owners" is their count.
    """
    required = REQUIRED_INDIVIDUAL if kind == "individual" else REQUIRED_CORPORATE
    v = dict(values)
    v["id_validity"] = v.get("id_valid_to") or (True if v.get("id_long_term") else None)
    if "beneficial_owners" in v and not v["beneficial_owners"]:
        v["beneficial_owners"] = None
    missing = [label for key, label in required.items() if not _filled(v.get(key))]
    score = round(100 * (len(required) - len(missing)) / len(required))
    return score, missing


def age_on(birth_date: date | None, on: date) -> int | None:
    """Return the age in whole years on a day (a 29 Feb birthday counts on 1 Mar in common years)."""
    if birth_date is None:
        return None
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
