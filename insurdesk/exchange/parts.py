"""The archive table's other parts — policy, payment, claim, contact — read, checked, then written.

A row is one whole: its parts are checked before anything of the batch is written (`prepare`), and
a row whose part fails is refused whole, customer included, so no half row goes in. The parts of
the rows that pass are written after their customers, in the batch's transaction (`write`), each
through its app's bulk service: `policies.legacy` (legacy policies, past payments), `claims` and
`care`. Each is found again by its natural key, so importing the same file twice changes nothing:
a policy by its number, a payment by policy, day and amount, a claim by policy and application date,
a contact by customer, day, channel and content.

Rows of one policy merge like rows of one customer: the first sets the values, later rows may add
what it left empty, a later row that contradicts it is refused (conflict).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from decimal import Decimal

from insurdesk.care.services import ContactImport, clean_contact, contacts_import
from insurdesk.claims.services import ClaimImport, claims_check, claims_import
from insurdesk.customers.models import Customer
from insurdesk.exchange.headers import CLAIM, CONTACT, PAYMENT, POLICY
from insurdesk.exchange.models import IssueLevel
from insurdesk.identity.normalize import clean_code
from insurdesk.policies.legacy import (
    Catalogue,
    LegacyPayment,
    LegacyPolicy,
    check_existing,
    check_legacy_policy,
    clean_policy_no,
    mismatch,
    payments_import_legacy,
    policies_import_legacy,
)
from insurdesk.policies.legacy import _changes as policy_changes
from insurdesk.policies.models import Policy

# Refusals name service fields; these are the columns they came from.
COLUMN_OF = {
    "policy_no": "policy_no", "product": "product_name", "sum_insured": "sum_insured",
    "effective_date": "start_date", "expiry_date": "end_date", "payment_mode": "pay_mode",
    "premium": "premium", "amount": "premium", "paid_on": "paid_date", "policy_id": "policy_no",
    "reported_on": "claim_date", "amount_claimed": "claim_amount", "amount_paid": "claim_amount",
    "state": "claim_status", "claimant_id": "claim_date", "contacted_on": "contact_date",
    "channel": "contact_channel", "content": "contact_content", "follow_up": "follow_up",
    "follow_up_note": "follow_up", "customer_id": "contact_date", "": "policy_no",
}  # fmt: skip


def _table(groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {clean_code(word).lower(): value for value, words in groups.items() for word in words}


PAY_STATUS = _table({
    "paid": ("已缴费", "已缴", "已交", "已交费", "已缴清", "已缴纳", "缴费成功", "已付", "已付款", "正常",
             "是"),
    "unpaid": ("未缴费", "未缴", "未交", "未交费", "逾期", "已逾期", "欠费", "待缴", "待缴费", "未付", "否"),
})  # fmt: skip
CLAIM_STATUS = _table({
    "reported": ("已报案", "报案", "待受理", "已受理", "受理", "reported"),
    "reviewing": ("待审核", "审核中", "审核", "处理中", "理赔中", "调查中", "待核赔", "核赔中", "reviewing"),
    "approved": ("审核通过", "已通过", "通过", "同意赔付", "待赔付", "待支付", "approved"),
    "paid": ("已赔付", "已结案", "结案", "赔付完成", "已理赔", "已支付", "已赔", "paid"),
    "rejected": ("已拒绝", "已拒赔", "拒赔", "拒付", "拒绝", "不予赔付", "rejected"),
    "withdrawn": ("已撤销", "撤销", "撤案", "已撤案", "撤回", "已撤回", "withdrawn"),
})  # fmt: skip
CHANNELS = _table({
    "phone": ("电话", "手机", "致电", "来电", "电话回访", "通话", "phone"),
    "wechat": ("微信", "企业微信", "wechat"),
    "visit": ("面谈", "上门", "拜访", "见面", "面访", "当面", "柜面", "visit"),
    "sms": ("短信", "sms"),
    "email": ("邮件", "电子邮件", "邮箱", "email", "e-mail"),
    "other": ("其他", "其它", "other"),
})  # fmt: skip
FOLLOW_UP = _table({
    "yes": ("是", "需要", "需", "要", "有", "y", "yes", "√"),
    "no": ("否", "不需要", "无需", "无", "不", "n", "no", "×"),
})  # fmt: skip


def _key(text: str) -> str:
    return clean_code(text).lower()


@dataclass
class RowParts:
    """What one row carries besides its customer, read into the services' terms."""

    policy: LegacyPolicy | None = None
    payment: tuple[Decimal, object] | None = None  # (amount, paid_on)
    claim: tuple[object, Decimal, str] | None = None  # (reported_on, amount, state)
    contact: dict | None = None
    policy_id: int | None = None


class PartsHandler:
    """Read, check and write the parts of an archive table's rows for one import run."""

    def __init__(self, importer):
        self.importer = importer
        self.actor = importer.actor
        self.catalogue = Catalogue()
        self.repeated: set[int] = set()  # in-run keys of policy numbers met in more than one row
        self.first_row: dict[str, int] = {}  # policy number -> first row that gave it (repeated only)
        self._once: set[int] = set()
        self.counts: Counter = Counter()

    # -- the pre-pass: which policy numbers repeat --

    def prepass(self, cells: list) -> None:
        index = self.importer.mapping.index_of("policy_no")
        if index is None or index >= len(cells) or cells[index] in (None, ""):
            return
        key = hash(clean_policy_no(cells[index]))
        if key in self._once:
            self.repeated.add(key)
        else:
            self._once.add(key)

    def end_prepass(self) -> None:
        self._once = set()

    def remember(self, number: int, cells: list) -> None:
        """After a restart, recall the first committed row of a repeated policy."""
        index = self.importer.mapping.index_of("policy_no")
        if index is None or index >= len(cells) or cells[index] in (None, ""):
            return
        no = clean_policy_no(cells[index])
        if hash(no) in self.repeated:
            self.first_row.setdefault(no, number)

    # -- reading a row --

    def read(self, row) -> RowParts | None:
        s = row.sections
        if not s:
            return None
        policy, payment, claim, contact = (s.get(k, {}) for k in (POLICY, PAYMENT, CLAIM, CONTACT))
        parts = RowParts()
        no = policy.get("policy_no")
        if policy or payment.get("pay_mode") or payment.get("premium") is not None:
            parts.policy = LegacyPolicy(
                policy_no=clean_policy_no(no) if no else "",
                product_name=policy.get("product_name"),
                sum_insured=policy.get("sum_insured"),
                effective_date=policy.get("start_date"),
                expiry_date=policy.get("end_date"),
                payment_mode=payment.get("pay_mode"),
                premium=payment.get("premium"),
            )
        if (claim or payment.get("paid_date") or payment.get("pay_status")) and not no:
            self._issue(row, "policy_no", "", "required", "有缴费或理赔信息时须填写保单号")
        elif parts.policy is not None and not no:
            self._issue(row, "policy_no", "", "required", "有保单信息时须填写保单号")
        self._read_payment(row, payment, parts)
        self._read_claim(row, claim, parts)
        self._read_contact(row, contact, parts)
        return parts

    def _read_payment(self, row, payment: dict, parts: RowParts) -> None:
        status_text = payment.get("pay_status")
        status = None
        if status_text:
            status = PAY_STATUS.get(_key(status_text))
            if status is None:
                self._issue(row, "pay_status", status_text, "choice", "缴费状态应为 已缴费/未缴费/逾期 等")
                return
        amount, day = payment.get("premium"), payment.get("paid_date")
        if status == "unpaid":
            if day:
                self._issue(row, "pay_status", status_text, "unpaid", "缴费状态为未缴费，未生成缴费记录",
                            IssueLevel.WARNING)  # fmt: skip
            return
        if day is None and status is None:
            return  # a premium without a day is the policy's premium, not a payment
        if day is None or amount is None:
            missing = "paid_date" if day is None else "premium"
            self._issue(row, missing, "", "required", "已缴费的记录须填写缴费日期和缴费金额")
            return
        parts.payment = (amount, day)

    def _read_claim(self, row, claim: dict, parts: RowParts) -> None:
        if not claim:
            return
        day, amount, status_text = (
            claim.get("claim_date"),
            claim.get("claim_amount"),
            claim.get("claim_status"),
        )
        state = "reported"
        if status_text:
            state = CLAIM_STATUS.get(_key(status_text))
            if state is None:
                self._issue(row, "claim_status", status_text, "choice",
                            "理赔状态应为 已报案/审核中/审核通过/已赔付/已拒赔/已撤销 等")  # fmt: skip
                return
        if day is None or amount is None:
            missing = "claim_date" if day is None else "claim_amount"
            self._issue(row, missing, "", "required", "理赔记录须填写理赔申请日期和理赔金额")
            return
        parts.claim = (day, amount, state)

    def _read_contact(self, row, contact: dict, parts: RowParts) -> None:
        if not contact:
            return
        channel_text = contact.get("contact_channel")
        channel = CHANNELS.get(_key(channel_text)) if channel_text else None
        if channel_text and channel is None:
            self._issue(row, "contact_channel", channel_text, "choice",
                        "沟通方式应为 电话/微信/面谈/短信/邮件/其他 之一")  # fmt: skip
            return
        follow = contact.get("follow_up") or ""
        answer = FOLLOW_UP.get(_key(follow)) if follow else "no"
        data = {
            "contacted_on": contact.get("contact_date"),
            "channel": channel,
            "content": contact.get("contact_content") or "",
            "follow_up": answer != "no",
            "follow_up_note": "" if answer in ("yes", "no") else follow,
        }
        _, errors = clean_contact(data, creating=True)
        if errors:
            for e in errors:
                self._issue(row, COLUMN_OF.get(e.field, "contact_date"), "", e.code, e.message)
            return
        parts.contact = data

    def _issue(self, row, key: str, value, code: str, message: str, level: str = IssueLevel.ERROR) -> None:
        self.importer._column_issue(row, key, value if value != "" else None, code, message, level)

    # -- before anything of the batch is written --

    def prepare(self, rows: list) -> None:
        """Refuse the rows whose parts cannot go in, before the batch writes anything."""
        live = []
        for row in rows:
            row.parts = self.read(row)
            if row.parts is not None and not row.refused and row.key is not None:
                live.append(row)
        if not live:
            return
        numbers = {r.parts.policy.policy_no for r in live if r.parts.policy and r.parts.policy.policy_no}
        existing = {p.policy_no: p for p in Policy.objects.filter(policy_no__in=numbers)}
        owners = dict(
            Customer.objects.filter(
                pk__in={i for p in existing.values() for i in (p.policyholder_id, p.insured_id) if i}
            ).values_list("id_hash", "pk")
        )
        merged: dict[str, tuple[int, LegacyPolicy]] = {}
        for row in live:
            item = row.parts.policy
            if item is None or not item.policy_no:
                continue
            product = self.catalogue.find(item.product_name) if item.product_name else None
            policy = existing.get(item.policy_no)
            earlier = merged.get(item.policy_no)
            creating = policy is None and earlier is None
            errors = check_legacy_policy(item, product=product, creating=creating)
            if not errors and policy is not None:
                refusal = check_existing(self.actor, policy, customer_id=owners.get(row.key)) or mismatch(
                    policy, item, product
                )
                errors = [refusal] if refusal else []
                first = self.first_row.get(item.policy_no)
                if (
                    not errors
                    and first is not None
                    and first < row.number
                    and policy_changes(policy, item, product)
                ):
                    errors = [self._conflict(first)]
            if not errors and earlier is not None:
                clash = [
                    f.name
                    for f in fields(LegacyPolicy)
                    if f.name != "customer_id"
                    and getattr(item, f.name) not in (None, "")
                    and getattr(earlier[1], f.name) not in (None, "")
                    and getattr(item, f.name) != getattr(earlier[1], f.name)
                ]
                if clash:
                    errors = [self._conflict(earlier[0], field=c) for c in clash]
                elif earlier[1].customer_id != row.key:
                    errors = [self._conflict(earlier[0], field="policy_no", other_customer=True)]
            if errors:
                for e in errors:
                    self._issue(
                        row, COLUMN_OF.get(e.field, "policy_no"), _shown(item, e.field), e.code, e.message
                    )
                continue
            if earlier is None:
                merged[item.policy_no] = (row.number, LegacyPolicy(**{**vars(item), "customer_id": row.key}))
            else:
                for f in fields(LegacyPolicy):
                    if getattr(earlier[1], f.name) in (None, ""):
                        setattr(earlier[1], f.name, getattr(item, f.name))
            if hash(item.policy_no) in self.repeated:
                self.first_row.setdefault(item.policy_no, row.number)
        # Claims on policies already in the system: a state the machine does not allow, a role that may not.
        claims = [
            (row, ClaimImport(existing[row.parts.policy.policy_no].pk, 0, *row.parts.claim))
            for row in live
            if not row.refused and row.parts.claim and row.parts.policy
            and row.parts.policy.policy_no in existing
        ]  # fmt: skip
        for index, errors in claims_check(actor=self.actor, items=[c for _, c in claims]).items():
            for e in errors:
                self._issue(claims[index][0], COLUMN_OF.get(e.field, "claim_status"), None, e.code, e.message)

    @staticmethod
    def _conflict(first_row: int, field: str = "policy_no", other_customer: bool = False):
        from insurdesk.common.errors import FieldError

        message = (
            f"与第 {first_row} 行的同一保单号属于不同客户，本行未导入"
            if other_customer
            else f"与第 {first_row} 行（同一保单）的值不同；同一保单的多行须一致，本行未导入"
        )
        return FieldError(field, "conflict", message)

    # -- after the batch's customers are written --

    def write(self, rows: list, customer_ids: dict[str, int]) -> None:
        """Write the parts of the rows that went in, their customers now archived."""
        rows = [r for r in rows if not r.refused and r.parts is not None and r.key in customer_ids]
        if not rows:
            return
        # Policies: one item per number, the rows' values merged (prepare refused contradictions).
        by_no: dict[str, LegacyPolicy] = {}
        for row in rows:
            item = row.parts.policy
            if item is None or not item.policy_no:
                continue
            if item.policy_no not in by_no:
                by_no[item.policy_no] = LegacyPolicy(**{**vars(item), "customer_id": customer_ids[row.key]})
            else:
                kept = by_no[item.policy_no]
                for f in fields(LegacyPolicy):
                    if getattr(kept, f.name) in (None, ""):
                        setattr(kept, f.name, getattr(item, f.name))
        numbers = list(by_no)
        result = policies_import_legacy(
            actor=self.actor, items=[by_no[n] for n in numbers], catalogue=self.catalogue
        )
        ids = {numbers[i]: pk for i, pk in result.ids.items()}
        refusals = {numbers[i]: errs for i, errs in result.refused.items()}
        self._count("policy", result, len(numbers))
        for row in rows:
            item = row.parts.policy
            if item is None or not item.policy_no:
                continue
            if item.policy_no in refusals:  # found only now (e.g. a concurrent import took the number)
                for e in refusals[item.policy_no]:
                    self._issue(
                        row, COLUMN_OF.get(e.field, "policy_no"), _shown(item, e.field), e.code, e.message
                    )
            row.parts.policy_id = ids.get(item.policy_no)
        self._write_payments(rows)
        self._write_claims(rows, customer_ids)
        self._write_contacts(rows, customer_ids)

    def _count(self, part: str, result, total: int) -> None:
        self.counts[f"{part}.created"] += len(result.created)
        self.counts[f"{part}.updated"] += len(result.updated)
        self.counts[f"{part}.unchanged"] += len(result.unchanged)
        self.counts[f"{part}.refused"] += len(result.refused)

    def _each_refusal(self, owners: list, result, default: str) -> None:
        for index, errors in result.refused.items():
            for e in errors:
                self._issue(owners[index], COLUMN_OF.get(e.field, default), None, e.code, e.message)

    def _write_payments(self, rows: list) -> None:
        owners, items = [], []
        for row in rows:
            if row.parts.payment and row.parts.policy_id and not row.refused:
                amount, day = row.parts.payment
                owners.append(row)
                items.append(LegacyPayment(policy_id=row.parts.policy_id, amount=amount, paid_on=day))
        result = payments_import_legacy(actor=self.actor, items=items)
        self._count("payment", result, len(items))
        self._each_refusal(owners, result, "paid_date")

    def _write_claims(self, rows: list, customer_ids: dict[str, int]) -> None:
        owners, items, seen = [], [], set()
        for row in rows:
            if row.parts.claim and row.parts.policy_id and not row.refused:
                item = ClaimImport(row.parts.policy_id, customer_ids[row.key], *row.parts.claim)
                if (item.policy_id, item.reported_on) in seen:
                    self.counts["claim.unchanged"] += 1
                    continue
                seen.add((item.policy_id, item.reported_on))
                owners.append(row)
                items.append(item)
        result = claims_import(actor=self.actor, items=items)
        self._count("claim", result, len(items))
        self._each_refusal(owners, result, "claim_status")

    def _write_contacts(self, rows: list, customer_ids: dict[str, int]) -> None:
        owners, items = [], []
        for row in rows:
            if row.parts.contact and not row.refused:
                owners.append(row)
                items.append(
                    ContactImport(
                        customer_id=customer_ids[row.key], policy_id=row.parts.policy_id, **row.parts.contact
                    )  # fmt: skip
                )
        result = contacts_import(actor=self.actor, items=items)
        self._count("contact", result, len(items))
        self._each_refusal(owners, result, "contact_date")


def _shown(item: LegacyPolicy, field: str):
    column = COLUMN_OF.get(field, "policy_no")
    value = {
        "policy_no": item.policy_no, "product_name": item.product_name, "sum_insured": item.sum_insured,
        "start_date": item.effective_date, "end_date": item.expiry_date, "pay_mode": item.payment_mode,
        "premium": item.premium,
    }.get(column)  # fmt: skip
    return value
