"""Exports (导出): filtered lists to .xlsx or .csv, and a customer's whole file, masked and recorded.

Lists are registered in EXPORTERS by name; each reads through its app's scoped selector and masks
with that app's rules for the viewer's role, and every export writes an audit entry with who, the
filter and the row count (the audit entry's time is the when). A customer's file collects sections
from CUSTOMER_FILE_SECTIONS, to which other kinds of records (policies, images …) add their own.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_log
from insurdesk.common.errors import FieldError, NotAllowed, ValidationFailed
from insurdesk.common.exports import safe_cell
from insurdesk.common.replica import replica_reads
from insurdesk.customers.models import Customer
from insurdesk.org.policy import can

FORMATS = ("xlsx", "csv")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@dataclass(frozen=True)
class ListExporter:
    name: str
    label: str
    action: str  # the POLICY action a viewer needs besides exchange.export
    headers: tuple[str, ...]
    # (viewer, params) -> (rows, the filter as recorded in the audit entry)
    rows: Callable[[object, dict], tuple[Iterable[list], dict]]
    # (viewer, data, **form options) -> the filter form the export page shows; its fields are the params
    form: Callable[..., object] | None = None


EXPORTERS: dict[str, ListExporter] = {}


def register(exporter: ListExporter) -> ListExporter:
    EXPORTERS[exporter.name] = exporter
    return exporter


# --- writing -------------------------------------------------------------------------------------


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else value
    return value


def write_table(fmt: str, target, sheets: list[tuple[str, tuple[str, ...], Iterable[list]]]) -> list[int]:
    """Write (title, headers, rows) sheets as one xlsx, a sheet each, or as csv (the first); return counts.

    Every text cell is neutralised (no formulas) and written as a string, so identity numbers keep
    their digits; numbers and dates stay numbers and dates in xlsx.
    """
    if fmt == "csv":
        title, headers, rows = sheets[0]
        out = csv.writer(target)
        out.writerow([safe_cell(h) for h in headers])
        n = 0
        for row in rows:
            out.writerow([safe_cell(_csv_text(_cell(v))) for v in row])
            n += 1
        return [n]
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "in_memory": not isinstance(target, str),
        },
    )
    counts = []
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#E7EEF8"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        for title, headers, rows in sheets:
            ws = workbook.add_worksheet(title[:31])
            for c, h in enumerate(headers):
                ws.write_string(0, c, str(h), bold)
                ws.set_column(c, c, max(10, min(40, len(str(h)) * 2 + 4)))
            n = 0
            for n, row in enumerate(rows, start=1):
                for c, value in enumerate(row):
                    value = _cell(value)
                    if isinstance(value, str):
                        ws.write_string(n, c, safe_cell(value))
                    elif isinstance(value, datetime.datetime):
                        ws.write_datetime(n, c, value, moment)
                    elif isinstance(value, datetime.date):
                        ws.write_datetime(n, c, value, day)
                    elif isinstance(value, Decimal | int | float):
                        ws.write_number(n, c, float(value))
                    else:
                        ws.write_string(n, c, safe_cell(str(value)))
            ws.freeze_panes(1, 0)
            counts.append(n)
    finally:
        workbook.close()
    return counts


def _csv_text(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


# --- lists ---------------------------------------------------------------------------------------


def export_list(*, viewer, name: str, params: dict, fmt: str, target) -> int:
    """Write a registered list for the viewer, masked for its role, and record the export; return rows."""
    exporter = EXPORTERS.get(name)
    if exporter is None:
        raise ValidationFailed(FieldError("name", "not_found", f"没有名为 {name} 的导出"))
    if fmt not in FORMATS:
        raise ValidationFailed(FieldError("format", "choice", "导出格式只能是 xlsx 或 csv"))
    if not (can(viewer, "exchange.export") and can(viewer, exporter.action)):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权导出" + exporter.label))
    rows, recorded_filter = exporter.rows(viewer, params)
    with transaction.atomic():
        # The rows come from the read replica when one is set (DATABASE_REPLICA_URL); the audit entry
        # is written to the primary in this transaction.
        with replica_reads():
            (count,) = write_table(fmt, target, [(exporter.label, exporter.headers, rows)])
        audit_log(
            actor=viewer,
            action="exchange.export",
            target_type=f"export.{name}",
            detail={"list": name, "format": fmt, "filter": recorded_filter, "rows": count},
        )
    return count


def _applied(form) -> dict:
    """Return what a filter form applies: its valid fields that hold a value (an invalid one is dropped)."""
    if not form.is_bound:
        return {}
    form.is_valid()  # an invalid filter is dropped, as on the list pages
    return {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}


def _customer_form(viewer, data=None, **options):
    from insurdesk.customers.forms import CustomerFilterForm

    return CustomerFilterForm(data, viewer=viewer, **options)


def _customer_rows(viewer, params: dict) -> tuple[Iterator[list], dict]:
    from insurdesk.customers.selectors import CustomerFilters, customer_list, shown

    form = _customer_form(viewer, params or None)
    query, filters = "", CustomerFilters()
    if form.is_bound:
        form.is_valid()  # an invalid filter is dropped, as on the list page
        cd = form.cleaned_data
        query = cd.get("q") or ""
        filters = CustomerFilters(
            kind=cd.get("kind") or "",
            unit_id=cd.get("unit"),
            agent_id=cd.get("agent"),
            aml_risk=cd.get("aml_risk") or "",
        )
    recorded = {
        k: v
        for k, v in {
            "q": query,
            "kind": filters.kind,
            "unit_id": filters.unit_id,
            "agent_id": filters.agent_id,
            "aml_risk": filters.aml_risk,
        }.items()
        if v
    }
    if "q" in recorded:
        # The search box may hold an identity number or mobile: the log keeps only its shape.
        from insurdesk.common.masking import mask_id_number

        recorded["q"] = mask_id_number(recorded["q"]) if any(ch.isdigit() for ch in query) else query
    qs = customer_list(viewer=viewer, query=query, filters=filters)

    def rows():
        for c in qs.iterator(chunk_size=2000):
            yield [
                c.archive_no,
                c.get_kind_display(),
                c.name,
                c.get_id_type_display(),
                shown(viewer, "id_number", c.id_number),
                c.get_gender_display() if c.gender else "",
                shown(viewer, "birth_date", c.birth_date),
                shown(viewer, "mobile", c.mobile),
                shown(viewer, "landline", c.landline),
                shown(viewer, "email", c.email),
                shown(viewer, "residence_address", c.residence_address),
                c.unit.name,
                str(c.agent) if c.agent_id else "",
                c.get_aml_risk_display(),
                c.completeness,
                c.created_at,
            ]

    return rows(), recorded


CUSTOMER_HEADERS = (
    "客户号",
    "客户类型",
    "名称",
    "证件类型",
    "证件号码",
    "性别",
    "出生日期",
    "手机",
    "固定电话",
    "电子邮箱",
    "居住地址",
    "所属机构",
    "业务员",
    "反洗钱风险等级",
    "档案完整率",
    "建档时间",
)
register(ListExporter("customers", "客户", "customer.view", CUSTOMER_HEADERS, _customer_rows, _customer_form))


# --- a customer's whole file (个人信息查阅、复制) -------------------------------------------------

Section = tuple[str, tuple[str, ...], Iterable[list]]
# (viewer, customer) -> sections; other kinds of records add theirs (see _policy_sections).
CUSTOMER_FILE_SECTIONS: list[Callable[[object, Customer], list[Section]]] = []


def customer_file_section(fn):
    CUSTOMER_FILE_SECTIONS.append(fn)
    return fn


def export_customer_file(*, viewer, customer: Customer, reference: str, target) -> list[str]:
    """Write one customer's whole file, a sheet per section, and record it; return the section titles.

    The customer must be in the viewer's scope (the caller reads it through customer_get).
    """
    if not can(viewer, "customer.export_file"):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权导出客户的完整档案"))
    reference = (reference or "").strip()[:100]
    sections: list[Section] = []
    for provider in CUSTOMER_FILE_SECTIONS:
        sections.extend(provider(viewer, customer))
    with transaction.atomic():
        counts = write_table("xlsx", target, sections)
        audit_log(
            actor=viewer,
            action="customer.export_file",
            target=customer,
            detail={
                "reference": reference,
                "sections": {s[0]: n for s, n in zip(sections, counts, strict=True)},
            },
        )
    return [s[0] for s in sections]


def _display(viewer, customer: Customer, field) -> object:
    from insurdesk.customers.selectors import shown

    value = getattr(customer, field.attname)
    if field.choices and value not in (None, ""):
        return dict(field.flatchoices).get(value, value)
    if field.is_relation:
        related = getattr(customer, field.name)
        return str(related) if related is not None else ""
    return shown(viewer, field.name, value)


_HIDDEN = frozenset({"id", "id_hash", "mobile_hash", "version"})


@customer_file_section
def _archive_sections(viewer, customer: Customer) -> list[Section]:
    from insurdesk.customers.selectors import customer_history, customer_relations, shown

    fields = [f for f in Customer._meta.concrete_fields if f.name not in _HIDDEN]
    archive = [[str(f.verbose_name), _display(viewer, customer, f)] for f in fields]
    history = []
    for entry in customer_history(customer=customer, limit=10_000):
        who = str(entry["who"]) if entry["who"] else "系统"
        if entry["type"] == "+":
            history.append([entry["when"], who, "建档", "", ""])
        for ch in entry["changes"]:
            history.append(
                [
                    entry["when"],
                    who,
                    ch["label"],
                    _shown_text(shown(viewer, ch["field"], ch["before"])),
                    _shown_text(shown(viewer, ch["field"], ch["after"])),
                ]
            )
    relations = [
        [
            link.get_relation_display(),
            link.to_customer.archive_no,
            link.to_customer.name if visible else "（不在您的管辖范围内）",
        ]
        for link, visible in customer_relations(viewer=viewer, customer=customer)
    ]
    owners = [
        [
            bo.name,
            bo.get_ownership_kind_display(),
            bo.percentage,
            bo.get_id_type_display(),
            shown(viewer, "id_number", bo.id_number),
            shown(viewer, "phone", bo.phone),
            shown(viewer, "address", bo.address),
            bo.since,
            bo.until,
        ]
        for bo in customer.beneficial_owners.order_by("id")
    ]
    others = [
        [op.insurer, op.policy_no, op.line, op.effective_date, op.sum_insured, op.premium, op.claims_paid]
        for op in customer.other_policies.order_by("id")
    ]
    views = [
        [e.at, e.actor_name, e.action, (e.detail or {}).get("channel", ""), e.ip or ""]
        for e in AuditEntry.objects.filter(
            target_type="customers.customer", target_id=str(customer.pk)
        ).order_by("seq")
    ]
    return [
        ("档案", ("项目", "内容"), archive),
        ("变更历史", ("时间", "操作人", "项目", "变更前", "变更后"), history),
        ("关联客户", ("关系", "客户号", "姓名"), relations),
        (
            "受益所有人",
            ("姓名", "类型", "比例（%）", "证件类型", "证件号码", "联系方式", "地址", "起始日期", "终止日期"),
            owners,
        ),
        (
            "他司保单",
            ("承保公司", "保单号", "险种", "生效日期", "保额（元）", "保费（元）", "已赔付（元）"),
            others,
        ),
        ("使用记录", ("时间", "操作人", "动作", "渠道", "地址"), views),
    ]


def _shown_text(value) -> object:
    if value is None or value == "":
        return "（空）"
    return value


if apps.is_installed("insurdesk.policies"):

    @customer_file_section
    def _policy_sections(viewer, customer: Customer) -> list[Section]:
        from django.db.models import Q

        from insurdesk.policies.models import Policy

        policies = (
            Policy.objects.filter(Q(policyholder=customer) | Q(insured=customer))
            .select_related("product", "policyholder", "insured")
            .order_by("effective_date", "id")
        )
        rows = []
        for p in policies:
            role = (
                "投保人/被保险人"
                if p.policyholder_id == p.insured_id
                else ("投保人" if p.policyholder_id == customer.pk else "被保险人")
            )
            rows.append(
                [
                    p.policy_no,
                    role,
                    str(p.product),
                    p.get_state_display(),
                    p.effective_date,
                    p.expiry_date,
                    p.get_payment_mode_display(),
                    p.premium,
                    p.sum_insured,
                    p.paid_to,
                ]
            )
        return [
            (
                "保单",
                (
                    "保单号",
                    "身份",
                    "主险",
                    "状态",
                    "生效日期",
                    "满期日期",
                    "缴费方式",
                    "期交保费（元）",
                    "保额（元）",
                    "缴至日期",
                ),
                rows,
            )
        ]


# --- policies and payments (issue 4) --------------------------------------------------------------

POLICY_HEADERS = ("保单号", "主险", "投保人", "投保人证件类型", "投保人证件号码", "被保险人", "保单状态",
                  "投保日期", "生效日期", "满期日期", "缴费方式", "期交保费（元）", "总保额（元）",
                  "缴至日期", "承保机构", "业务员")  # fmt: skip
PAYMENT_HEADERS = ("保单号", "投保人", "类型", "缴费日期", "金额（元）", "缴费方式", "期次", "应缴日期",
                   "所缴期间起", "所缴期间止", "该期状态", "凭证号", "机构", "业务员", "录入人",
                   "录入时间")  # fmt: skip


def _policy_form(viewer, data=None, **options):
    from insurdesk.policies.forms import PolicyExportForm

    return PolicyExportForm(data, viewer=viewer, **options)


def _policy_rows(viewer, params: dict) -> tuple[Iterator[list], dict]:
    from insurdesk.customers.selectors import shown
    from insurdesk.policies.selectors import PolicyFilters, policy_list

    cd = _applied(_policy_form(viewer, params or None))
    query = cd.get("q", "").upper()
    filters = PolicyFilters(
        state=cd.get("state", ""),
        unit_id=cd.get("unit"),
        agent_id=cd.get("agent"),
        product_code=cd.get("product_code", ""),
        customer_id=cd.get("customer"),
        application_id=cd.get("application"),
    )
    qs = policy_list(viewer=viewer, query=query, filters=filters)

    def rows():
        for p in qs.iterator(chunk_size=2000):
            holder = p.policyholder
            yield [
                p.policy_no,
                p.product.name,
                holder.name,
                holder.get_id_type_display(),
                shown(viewer, "id_number", holder.id_number),
                p.insured.name if p.insured_id else "团体清单",
                p.get_state_display(),
                p.application_date,
                p.effective_date,
                p.expiry_date,
                p.get_payment_mode_display(),
                p.premium,
                p.sum_insured,
                p.paid_to,
                p.unit.name,
                str(p.agent) if p.agent_id else "",
            ]

    recorded = {
        "q": query,
        "state": filters.state,
        "unit_id": filters.unit_id,
        "agent_id": filters.agent_id,
        "product_code": filters.product_code,
        "customer_id": filters.customer_id,
        "application_id": filters.application_id,
    }
    return rows(), {k: v for k, v in recorded.items() if v}


def _payment_form(viewer, data=None, **options):
    from insurdesk.policies.forms import PaymentFilterForm

    return PaymentFilterForm(data, viewer=viewer, **options)


def _payment_rows(viewer, params: dict) -> tuple[Iterator[list], dict]:
    from insurdesk.policies.selectors import (
        PaymentFilters,
        instalment_status_label,
        instalment_status_on,
        payment_list,
    )

    cd = _applied(_payment_form(viewer, params or None))
    filters = PaymentFilters(
        unit_id=cd.get("unit"),
        agent_id=cd.get("agent"),
        policy_no=cd.get("policy_no", "").upper(),
        paid_from=cd.get("paid_from"),
        paid_to=cd.get("paid_to"),
        method=cd.get("method", ""),
        kind=cd.get("kind", ""),
    )
    qs = payment_list(viewer=viewer, filters=filters).select_related("unit", "agent")
    today = timezone.localdate()

    def rows():
        for p in qs.iterator(chunk_size=2000):
            due = p.instalment
            yield [
                p.policy.policy_no,
                p.policy.policyholder.name,
                p.get_kind_display(),
                p.paid_on,
                p.amount,
                p.get_method_display(),
                due.seq if due else None,
                due.due_date if due else None,
                p.period_start,
                p.period_end,
                instalment_status_label(instalment_status_on(due, today)) if due else "",
                p.reference,
                p.unit.name,
                str(p.agent) if p.agent_id else "",
                str(p.recorded_by) if p.recorded_by_id else "",
                p.created_at,
            ]

    recorded = {
        "unit_id": filters.unit_id,
        "agent_id": filters.agent_id,
        "policy_no": filters.policy_no,
        "paid_from": filters.paid_from.isoformat() if filters.paid_from else "",
        "paid_to": filters.paid_to.isoformat() if filters.paid_to else "",
        "method": filters.method,
        "kind": filters.kind,
    }
    return rows(), {k: v for k, v in recorded.items() if v}


if apps.is_installed("insurdesk.policies"):
    register(ListExporter("policies", "保单", "policy.view", POLICY_HEADERS, _policy_rows, _policy_form))
    register(ListExporter("payments", "缴费", "payment.view", PAYMENT_HEADERS, _payment_rows, _payment_form))


# --- claims and the contact log (issue 4) ----------------------------------------------------------

CLAIM_HEADERS = ("赔案号", "保单号", "险种", "申请人", "申请人证件号码", "理赔申请日期", "理赔金额（元）",
                 "赔付金额（元）", "理赔状态", "录入时间")  # fmt: skip
CONTACT_HEADERS = ("客户号", "客户", "沟通日期", "沟通方式", "沟通内容", "需后续跟进", "后续跟进", "记录人",
                   "记录时间")  # fmt: skip


def _claim_form(viewer, data=None, **options):
    from insurdesk.claims.forms import ClaimFilterForm

    return ClaimFilterForm(data, **options)


def _claim_rows(viewer, params: dict) -> tuple[Iterator[list], dict]:
    from insurdesk.claims.selectors import ClaimFilters, claim_list
    from insurdesk.customers.selectors import shown

    cd = _applied(_claim_form(viewer, params or None))  # the list page's filters, checked as there
    query, state = (cd.get("q") or "").strip(), cd.get("state") or ""
    qs = claim_list(viewer=viewer, query=query, filters=ClaimFilters(state=state))

    def rows():
        for c in qs.iterator(chunk_size=2000):
            yield [
                c.claim_no,
                c.policy.policy_no,
                c.policy.product.name,
                c.claimant.name,
                shown(viewer, "id_number", c.claimant.id_number),
                c.reported_on,
                c.amount_claimed,
                c.amount_paid,
                c.get_state_display(),
                c.created_at,
            ]

    return rows(), {k: v for k, v in {"q": query, "state": state}.items() if v}


def _contact_form(viewer, data=None, **options):
    from insurdesk.care.forms import ContactFilterForm

    return ContactFilterForm(data, **options)


def _contact_rows(viewer, params: dict) -> tuple[Iterator[list], dict]:
    from insurdesk.care.selectors import ContactFilters, contact_list

    cd = _applied(_contact_form(viewer, params or None))
    channel, flag = cd.get("channel") or "", cd.get("follow_up") or ""
    filters = ContactFilters(channel=channel, follow_up=None if flag not in ("0", "1") else flag == "1")
    qs = contact_list(viewer=viewer, filters=filters)

    def rows():
        for c in qs.iterator(chunk_size=2000):
            yield [
                c.customer.archive_no,
                c.customer.name,
                c.contacted_on,
                c.get_channel_display(),
                c.content,
                c.follow_up,
                c.follow_up_note,
                str(c.author) if c.author_id else "",
                c.created_at,
            ]

    return rows(), {k: v for k, v in {"channel": channel, "follow_up": flag}.items() if v}


if apps.is_installed("insurdesk.claims"):
    register(ListExporter("claims", "理赔", "claim.view", CLAIM_HEADERS, _claim_rows, _claim_form))
if apps.is_installed("insurdesk.care"):
    register(
        ListExporter("contacts", "沟通记录", "contact.view", CONTACT_HEADERS, _contact_rows, _contact_form)
    )

    @customer_file_section
    def _care_sections(viewer, customer: Customer) -> list[Section]:
        from insurdesk.care.models import ContactLog
        from insurdesk.claims.models import Claim

        claims = [
            [c.claim_no, c.policy.policy_no, c.reported_on, c.amount_claimed, c.get_state_display()]
            for c in Claim.objects.filter(claimant=customer)
            .select_related("policy")
            .order_by("reported_on", "id")
        ]
        contacts = [
            [c.contacted_on, c.get_channel_display(), c.content, c.follow_up, c.follow_up_note]
            for c in ContactLog.objects.filter(customer=customer).order_by("contacted_on", "id")
        ]
        return [
            ("理赔", ("赔案号", "保单号", "理赔申请日期", "理赔金额（元）", "理赔状态"), claims),
            ("沟通记录", ("沟通日期", "沟通方式", "沟通内容", "需后续跟进", "后续跟进"), contacts),
        ]
