# ruff: noqa: E501 - a table of Chinese headers and rules reads best one column per line
"""The columns an import understands: canonical names, the aliases offices use, and how to read them.

A header is matched after normalising it (full-width → ASCII, spaces, required-marks and a bracketed
note removed, case folded), so "联系方式", " 手机号码* ", "保险金额（元）" all find their column.
A unit in brackets is kept when it changes the value: "保险金额（万元）" multiplies by 10,000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from insurdesk.customers.models import (
    Channel,
    CompanyNature,
    Education,
    HealthStatus,
    IdType,
    MaritalStatus,
)
from insurdesk.identity.normalize import WHITESPACE, to_halfwidth

INDIVIDUAL = "individual"
CORPORATE = "corporate"
ARCHIVE = "archive"  # the office archive table (seed 003): a customer with policy, payment, claim, contact
TEMPLATES = {INDIVIDUAL: "个人客户", CORPORATE: "单位客户", ARCHIVE: "客户档案管理表"}

CUSTOMER = "customer"
POLICY = "policy"
PAYMENT = "payment"
CLAIM = "claim"
CONTACT = "contact"
SECTION_LABELS = {
    CUSTOMER: "客户",
    POLICY: "保单",
    PAYMENT: "缴费记录",
    CLAIM: "理赔记录",
    CONTACT: "沟通记录",
}


@dataclass(frozen=True)
class Column:
    key: str  # model field name, or a pseudo-field ("phone", "unit_code", …) the pipeline resolves
    label: str  # the header written in templates
    kind: str  # how normalize reads the cell (see pipeline.CONVERTERS)
    aliases: tuple[str, ...] = ()
    section: str = CUSTOMER
    applies: tuple[str, ...] = (INDIVIDUAL, CORPORATE)
    required: bool = False
    rule: str = ""  # the rule shown in the template's second sheet
    mask: str = ""  # which masking.mask_* the report uses for values of this column
    example: str = ""
    in_template: bool = True  # False: read when a file has it, not offered in the blank template


def _choices(choices, extra: dict[str, str] | None = None) -> dict[str, str]:
    out = {}
    for value, label in choices:
        out[str(label).lower()] = value
        out[value.lower()] = value
    for alias, value in (extra or {}).items():
        out[alias.lower()] = value
    return out


ID_TYPES = _choices(
    [(v, label) for v, label in IdType.choices if v != "uscc"],
    {"身份证": "resident_id", "二代身份证": "resident_id", "居民身份证号码": "resident_id",
     "港澳台居住证": "hmt_residence_permit", "回乡证": "hk_macao_permit", "港澳通行证": "hk_macao_permit",
     "港澳居民来往内地通行证": "hk_macao_permit", "台胞证": "taiwan_permit", "永居证": "foreign_permanent_id",
     "外国人永久居留证": "foreign_permanent_id"},
)  # fmt: skip
CHOICES = {
    "marital_status": (_choices(MaritalStatus.choices, {"离婚": "divorced", "已婚有子女": "married"}), "婚姻状况"),
    "education": (_choices(Education.choices, {"大学本科": "bachelor", "研究生": "master", "中专": "high",
                                               "高中": "high", "小学": "primary", "初中及以下": "secondary"}),
                  "学历"),
    "health_status": (_choices(HealthStatus.choices, {"健康": "good", "好": "good"}), "健康状况"),
    "source_channel": (_choices(Channel.choices, {"个险": "direct", "银保": "intermediary", "网销": "online"}),
                       "来源渠道"),
    "nature": (_choices(CompanyNature.choices, {"国企": "state", "民企": "private", "私营企业": "private",
                                                "外企": "foreign", "政府机关": "government"}), "企业性质"),
    "id_type": (ID_TYPES, "证件类型"),
    "legal_rep_id_type": (ID_TYPES, "法定代表人证件类型"),
    "contact_id_type": (ID_TYPES, "经办人证件类型"),
    "holder_id_type": (ID_TYPES, "投保人证件类型"),
    "insured_id_type": (ID_TYPES, "被保险人证件类型"),
}  # fmt: skip

_IND = (INDIVIDUAL, ARCHIVE)
_CORP = (CORPORATE,)
_ALL = (INDIVIDUAL, CORPORATE, ARCHIVE)
_DATE_RULE = "日期：2023-01-01、2023/1/1、2023年1月1日或Excel日期均可"

COLUMNS: tuple[Column, ...] = (
    Column("archive_no", "客户号", "code", ("客户编号", "档案号", "客户档案号"), applies=_ALL,
           rule="可不填；填写时须与该证件已有档案的客户号一致（新客户的客户号由系统分配）", example=""),
    Column("name", "客户姓名", "name", ("姓名", "名称", "客户名称", "客户名"), applies=_IND,
           required=True, rule="必填（新建档案时）；与证件一致", mask="name", example="张三"),
    Column("name", "单位名称", "name", ("企业名称", "公司名称", "名称", "客户名称", "单位全称"), applies=_CORP,
           required=True, rule="必填（新建档案时）；须与公章一致", example="深圳市前海科技有限公司"),
    Column("id_type", "证件类型", "choice", ("证件种类",), applies=_IND,
           rule="居民身份证、护照、港澳居民来往内地通行证、台湾居民来往大陆通行证、港澳台居民居住证、"
                "外国人永久居留身份证、军官证、其他；不填为居民身份证", example="居民身份证"),
    Column("id_number", "证件号码", "identity",
           ("身份证号码", "身份证号", "身份证", "证件号", "公民身份号码", "身份证件号码", "居民身份证号码",
            "证件号码/身份证号"),
           applies=_IND, required=True,
           rule="必填；请把该列设为“文本”格式——被Excel存成数字（如1.10105E+17）或末尾变成000的号码会被拒绝；"
                "15位旧号码自动升为18位；末位x大小写均可",
           mask="id_number", example="110105198001010012"),
    Column("uscc", "统一社会信用代码", "uscc", ("信用代码", "社会信用代码", "统一代码", "uscc", "纳税人识别号/信用代码"),
           applies=_CORP, required=True, rule="必填；18位，校验位须正确", mask="id_number",
           example="91110108MA01A2B3C4"),
    Column("gender", "性别", "gender", (), applies=_IND, rule="男/女；不填时由身份证号码推出，填写时须与号码一致",
           example="男"),
    Column("birth_date", "出生日期", "date", ("出生年月日", "生日"), applies=_IND,
           rule=_DATE_RULE + "；不填时由身份证号码推出", example="1980-01-01"),
    Column("phone", "联系方式", "contact", ("联系电话", "电话", "联系号码"), applies=_ALL,
           rule="手机或固定电话或电子邮箱，可用“/”分隔多个；+86、空格、短横线自动去除", mask="phone",
           example="138 0013 8000"),
    Column("mobile", "手机", "mobile", ("手机号码", "手机号", "移动电话", "手机号码/电话"), applies=_ALL,
           rule="11位手机号；+86、空格、短横线自动去除", mask="phone", example="13800138000"),
    Column("landline", "固定电话", "landline", ("座机", "办公电话", "家庭电话", "固话"), applies=_ALL,
           rule="区号-号码，如010-12345678", mask="phone", example="010-12345678"),
    Column("email", "电子邮箱", "email", ("邮箱", "email", "e-mail", "电子邮件"), applies=_ALL, mask="email",
           example="zhang@example.com"),
    Column("residence_address", "居住地址", "text", ("地址", "家庭住址", "家庭地址", "住址", "现住址", "联系地址"),
           applies=_IND, mask="address", example="北京市朝阳区建国路1号"),
    Column("mailing_address", "通讯地址", "text", ("邮寄地址", "通信地址"), applies=_ALL, mask="address"),
    Column("postal_code", "邮政编码", "code", ("邮编",), applies=_ALL, rule="6位数字"),
    Column("nationality", "国籍", "code", (), applies=_IND, rule="三位字母代码，如CHN；不填为CHN"),
    Column("occupation", "职业", "text", (), applies=_IND),
    Column("occupation_code", "职业代码", "code", (), applies=_IND),
    Column("occupation_class", "职业类别", "int", ("职业等级",), applies=_IND, rule="1–6"),
    Column("employer", "工作单位", "text", ("单位", "就职单位"), applies=_IND),
    Column("marital_status", "婚姻状况", "choice", ("婚姻",), applies=_IND, rule="未婚/已婚/离异/丧偶"),
    Column("annual_income", "年收入", "amount", ("年收入（元）", "个人年收入"), applies=_IND,
           rule="元；可写1,000、10万、10000元"),
    Column("education", "学历", "choice", ("文化程度",), applies=_IND),
    Column("health_status", "健康状况", "choice", (), applies=_IND, rule="良好/一般/有既往症"),
    Column("has_social_insurance", "有社会保险", "bool", ("社保", "是否有社保", "有无社保"), applies=_IND,
           rule="是/否"),
    Column("id_valid_from", "证件有效期起", "date", ("证件起始日期", "证件有效期开始"), applies=_IND,
           rule=_DATE_RULE),
    Column("id_valid_to", "证件有效期止", "date", ("证件有效期", "证件到期日", "证件截止日期"), applies=_IND,
           rule=_DATE_RULE),
    Column("id_long_term", "证件长期有效", "bool", ("长期有效",), applies=_IND, rule="是/否"),
    # corporate (单位)
    Column("nature", "企业性质", "choice", ("单位性质",), applies=_CORP),
    Column("industry", "行业类别", "text", ("行业", "所属行业"), applies=_CORP),
    Column("industry_code", "行业代码", "code", (), applies=_CORP),
    Column("registered_capital", "注册资本（万元）", "capital", ("注册资本", "注册资金"), applies=_CORP,
           rule="万元；列名写“注册资本（元）”时按元换算"),
    Column("business_scope", "经营范围", "text", (), applies=_CORP),
    Column("registered_address", "注册地址", "text", ("住所", "注册地"), applies=_CORP),
    Column("operating_address", "经营地址", "text", ("办公地址", "经营场所"), applies=_CORP),
    Column("licence_valid_to", "营业执照有效期止", "date", ("营业期限至", "营业执照有效期"), applies=_CORP,
           rule=_DATE_RULE),
    Column("legal_rep_name", "法定代表人", "name", ("法人代表", "法定代表人姓名", "法人"), applies=_CORP,
           required=True, rule="必填（新建档案时）", mask="name"),
    Column("legal_rep_id_type", "法定代表人证件类型", "choice", ("法人证件类型",), applies=_CORP,
           rule="不填为居民身份证"),
    Column("legal_rep_id_number", "法定代表人证件号码", "identity", ("法人身份证号", "法定代表人身份证号码"),
           applies=_CORP, mask="id_number", rule="文本格式"),
    Column("legal_rep_id_valid_to", "法定代表人证件有效期止", "date", (), applies=_CORP, rule=_DATE_RULE),
    Column("controlling_shareholder", "控股股东/实际控制人", "text", ("控股股东", "实际控制人"), applies=_CORP),
    Column("contact_name", "经办人", "name", ("联系人", "经办人姓名"), applies=_CORP, mask="name"),
    Column("contact_id_type", "经办人证件类型", "choice", (), applies=_CORP, rule="不填为居民身份证"),
    Column("contact_id_number", "经办人证件号码", "identity", ("经办人身份证号",), applies=_CORP,
           mask="id_number", rule="文本格式"),
    Column("contact_mobile", "经办人手机", "mobile", ("联系人手机", "经办人电话", "联系人电话"), applies=_CORP,
           mask="phone"),
    Column("is_general_taxpayer", "一般纳税人", "bool", ("是否一般纳税人",), applies=_CORP, rule="是/否"),
    Column("tax_number", "纳税人识别号", "code", ("税号",), applies=_CORP),
    Column("tax_bank", "开户银行", "text", ("开户行",), applies=_CORP),
    Column("tax_account", "银行账号", "code", ("账号", "开户账号"), applies=_CORP, mask="account"),
    Column("tax_address_phone", "开票地址电话", "text", (), applies=_CORP),
    Column("headcount", "员工总数", "int", ("员工人数", "职工人数"), applies=_CORP),
    Column("insured_headcount", "参加社保人数", "int", ("参保人数",), applies=_CORP),
    Column("income_per_head", "人均年收入", "amount", ("人均年收入（元）",), applies=_CORP),
    Column("turnover_rate", "人员流动率", "percent", ("人员流动率（%）", "流动率"), applies=_CORP, rule="0–100"),
    # both
    Column("source_channel", "来源渠道", "choice", ("渠道",), applies=_ALL),
    Column("unit_code", "所属机构代码", "code", ("机构代码", "所属机构"), applies=_ALL,
           rule="机构代码（如SZ）；不填为导入人所属机构"),
    Column("agent_username", "业务员工号", "text", ("业务员", "服务业务员", "业务员账号"), applies=_ALL,
           rule="业务员的登录名"),
    Column("notes", "备注", "text", ("说明",), applies=_ALL),
    # archive table sections: policy, payment, claim, contact (imported when their modules exist)
    Column("policy_no", "保单号", "policy_no", ("保单编号", "保险单号"), POLICY, (ARCHIVE,)),
    Column("product_name", "保险产品名称", "text", ("产品名称", "险种", "险种名称", "保险产品"), POLICY, (ARCHIVE,),
           rule="须为系统中已有的产品"),
    Column("sum_insured", "保险金额", "amount", ("保额", "基本保额"), POLICY, (ARCHIVE,), rule="元；可写100万"),
    Column("start_date", "保险起始日期", "date", ("生效日期", "保险起期", "起保日期", "投保日期"), POLICY, (ARCHIVE,),
           rule=_DATE_RULE),
    Column("end_date", "保险到期日期", "date", ("到期日期", "保险止期", "满期日期"), POLICY, (ARCHIVE,),
           rule=_DATE_RULE),
    # The policyholder and insured when one of them is not the row's customer (see exchange.parts).
    Column("holder_name", "投保人姓名", "name", ("投保人",), POLICY, (ARCHIVE,), mask="name",
           rule="可不填：不填时投保人为本行客户；投保人不是本行客户时须同时填写投保人证件号码"),
    Column("holder_id_number", "投保人证件号码", "identity",
           ("投保人身份证号", "投保人身份证号码", "投保人证件号", "投保人身份证"), POLICY, (ARCHIVE,),
           mask="id_number",
           rule="可不填；规则同证件号码列，证件类型见投保人证件类型列；该证件尚无客户档案时按投保人姓名新建档案"),
    Column("holder_id_type", "投保人证件类型", "choice", ("投保人证件种类",), POLICY, (ARCHIVE,),
           rule="可不填：不填为居民身份证；可填的类型同证件类型列"),
    Column("insured_name", "被保险人姓名", "name", ("被保险人", "被保人姓名", "被保人"), POLICY, (ARCHIVE,),
           mask="name", rule="可不填：不填时被保险人为本行客户；被保险人不是本行客户时须同时填写被保险人证件号码"),
    Column("insured_id_number", "被保险人证件号码", "identity",
           ("被保险人身份证号", "被保险人身份证号码", "被保险人证件号", "被保险人身份证", "被保人身份证号"),
           POLICY, (ARCHIVE,), mask="id_number",
           rule="可不填；规则同证件号码列，证件类型见被保险人证件类型列；该证件尚无客户档案时按被保险人姓名新建档案"),
    Column("insured_id_type", "被保险人证件类型", "choice", ("被保险人证件种类", "被保人证件类型"), POLICY, (ARCHIVE,),
           rule="可不填：不填为居民身份证；可填的类型同证件类型列"),
    Column("relationship", "被保险人是投保人的", "text", ("被保险人与投保人关系", "被保险人与投保人的关系"),
           POLICY, (ARCHIVE,),
           rule="本人/配偶/子女/父母/雇员/其他；投保人与被保险人为同一人时为本人，可不填；"
                "列名写作“投保人与被保险人关系”或“与被保险人关系”时按“投保人是被保险人的…”读（父母、子女互换）"),
    Column("holder_relationship", "投保人与被保险人关系", "text",
           ("与被保险人关系", "与被保险人的关系", "投保人是被保险人的", "投保人与被保险人的关系"), POLICY, (ARCHIVE,),
           rule="投保人是被保险人的：本人/配偶/父母/子女/雇主/其他", in_template=False),
    Column("pay_mode", "缴费方式", "pay_mode", ("交费方式", "缴费频率", "交费频率"), PAYMENT, (ARCHIVE,),
           rule="趸缴/年缴/半年缴/季缴/月缴（年交、按年缴费等写法均可）"),
    Column("premium", "缴费金额", "amount", ("交费金额", "保费", "期缴保费"), PAYMENT, (ARCHIVE,)),
    Column("paid_date", "缴费日期", "date", ("交费日期",), PAYMENT, (ARCHIVE,), rule=_DATE_RULE),
    Column("pay_method", "缴费途径", "text", ("支付方式", "付款方式", "缴费渠道", "交费途径", "收款方式"), PAYMENT,
           (ARCHIVE,), rule="现金/转账/刷卡/银行代扣（微信、支付宝记为转账）；不填记为“未载明”"),
    Column("pay_status", "缴费状态", "text", ("交费状态",), PAYMENT, (ARCHIVE,), rule="已缴费/未缴费/逾期"),
    Column("claim_date", "理赔申请日期", "date", ("报案日期", "出险日期"), CLAIM, (ARCHIVE,), rule=_DATE_RULE),
    Column("claim_amount", "理赔金额", "amount", ("赔付金额", "索赔金额"), CLAIM, (ARCHIVE,)),
    Column("claim_status", "理赔状态", "text", (), CLAIM, (ARCHIVE,)),
    Column("contact_date", "沟通日期", "date", ("回访日期", "联系日期"), CONTACT, (ARCHIVE,), rule=_DATE_RULE),
    Column("contact_channel", "沟通方式", "text", ("联系方式类型", "回访方式"), CONTACT, (ARCHIVE,)),
    Column("contact_content", "沟通内容", "text", ("回访内容", "沟通记录"), CONTACT, (ARCHIVE,)),
    Column("follow_up", "后续跟进", "text", ("跟进", "后续跟进事项"), CONTACT, (ARCHIVE,)),
)  # fmt: skip

_MARKS = re.compile(r"[*＊※★☆]")
_BRACKET = re.compile(r"[(（\[【](?P<note>[^)）\]】]*)[)）\]】]\s*$")
_SPACE = dict.fromkeys(map(ord, WHITESPACE + "\u3000"))


def clean_header(header) -> str:
    """Return a header as compared: ASCII, lower case, without spaces or required-marks."""
    if header is None:
        return ""
    if isinstance(header, float) and header.is_integer():
        header = int(header)
    return _MARKS.sub("", to_halfwidth(str(header)).translate(_SPACE)).lower()


def _strip_note(h: str) -> tuple[str, str]:
    m = _BRACKET.search(h)
    if not m:
        return h, ""
    return h[: m.start()], m["note"]


@dataclass
class Mapping:
    """How the columns of one file map to fields."""

    template: str
    fields: dict[int, Column] = field(default_factory=dict)  # column index -> column
    headers: dict[int, str] = field(default_factory=dict)  # column index -> header as written
    scales: dict[int, int] = field(default_factory=dict)  # column index -> unit factor (万 = 10,000)
    unknown: list[tuple[int, str]] = field(default_factory=list)
    duplicate: list[tuple[int, str, int]] = field(default_factory=list)  # (index, header, first index)

    def index_of(self, key: str) -> int | None:
        return next((i for i, c in self.fields.items() if c.key == key), None)

    def has(self, key: str) -> bool:
        return self.index_of(key) is not None

    def sections(self) -> set[str]:
        return {c.section for c in self.fields.values()}


# An archive table's columns of the insured (被保险人姓名…) are the customer's when the table has no
# customer column of that field: a table of insured persons. A customer list reads them so too.
INSURED_AS_CUSTOMER = {"insured_id_number": "id_number", "insured_name": "name", "insured_id_type": "id_type"}
PARTY_KEYS = frozenset({"holder_name", "holder_id_number", "holder_id_type", "insured_name", "insured_id_number",
                        "insured_id_type"})


def _lookup(applies: str) -> dict[str, Column]:
    table: dict[str, Column] = {}
    for col in COLUMNS:
        if applies not in col.applies:
            continue
        for name in (col.label, *col.aliases, col.key):
            table.setdefault(clean_header(name), col)
            table.setdefault(clean_header(_strip_note(clean_header(name))[0]), col)
    if applies == INDIVIDUAL:
        own = {c.key: c for c in COLUMNS if INDIVIDUAL in c.applies}
        for col in COLUMNS:
            if col.key in INSURED_AS_CUSTOMER:
                for name in (col.label, *col.aliases):
                    table.setdefault(clean_header(name), own[INSURED_AS_CUSTOMER[col.key]])
    return table


_TABLES = {t: _lookup(t) for t in TEMPLATES}
# The party columns also head lists of insured persons, so they do not tell an archive table.
_ARCHIVE_ONLY = {
    clean_header(c.label) for c in COLUMNS if c.applies == (ARCHIVE,) and c.key not in PARTY_KEYS
}
_CORPORATE_MARKERS = {
    clean_header(n) for c in COLUMNS if c.key in ("uscc", "legal_rep_name") for n in (c.label, *c.aliases)
} | {clean_header(n) for n in ("单位名称", "企业名称", "公司名称")}


def _match(table: dict[str, Column], header: str) -> tuple[Column | None, int]:
    h = clean_header(header)
    if not h:
        return None, 1
    col = table.get(h)
    base, note = _strip_note(h)
    if col is None:
        col = table.get(base)
    scale = 1
    if col is not None and col.kind in ("amount", "capital"):
        if "万" in note:
            scale = 10000
        elif col.kind == "capital":
            scale = 1 if "元" in note else 10000
    return col, scale


def detect_template(headers: list) -> str:
    """Tell which kind of file this is from its headers: corporate, the archive table, or individual."""
    cleaned = {clean_header(h) for h in headers}
    if cleaned & _CORPORATE_MARKERS:
        return CORPORATE
    if cleaned & _ARCHIVE_ONLY or {_strip_note(h)[0] for h in cleaned} & _ARCHIVE_ONLY:
        return ARCHIVE
    return INDIVIDUAL


def map_headers(headers: list, template: str | None = None) -> Mapping:
    """Map each header to its column; keep the unknown and repeated ones to report them."""
    template = template or detect_template(headers)
    table = _TABLES[template]
    mapping = Mapping(template=template)
    seen: dict[str, int] = {}
    for i, header in enumerate(headers):
        written = "" if header is None else str(header).strip()
        col, scale = _match(table, written)
        if col is None:
            if written:
                mapping.unknown.append((i, written))
            continue
        if col.key in seen:
            mapping.duplicate.append((i, written, seen[col.key]))
            continue
        seen[col.key] = i
        mapping.fields[i] = col
        mapping.headers[i] = written
        if scale != 1 or col.kind == "capital":
            mapping.scales[i] = scale
    if template == ARCHIVE:
        own = {c.key: c for c in COLUMNS if ARCHIVE in c.applies and c.section == CUSTOMER}
        # The number first; the insured's name and document type are the customer's only when no
        # insured number stays.
        for party, key in INSURED_AS_CUSTOMER.items():
            index = mapping.index_of(party)
            if index is None or mapping.has(key) or (key != "id_number" and mapping.has("insured_id_number")):
                continue
            mapping.fields[index] = own[key]
    return mapping


def header_score(row: list) -> int:
    """Count the cells of a row that are known headers in any template (to find the header row)."""
    score = 0
    for cell in row:
        if (
            isinstance(cell, str)
            and cell.strip()
            and any(_match(t, cell)[0] is not None for t in _TABLES.values())
        ):
            score += 1
    return score


def template_columns(template: str) -> list[Column]:
    """Return the columns a template file offers, one per field, in template order."""
    out, keys = [], {"archive_no"}  # the archive number only checks re-imported exports; not for new lists
    for col in COLUMNS:
        if template in col.applies and col.key not in keys and col.in_template:
            keys.add(col.key)
            out.append(col)
    return out
