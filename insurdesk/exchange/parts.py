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

Policyholder (投保人) and insured (被保险人) are the row's customer unless its columns say otherwise:

- 投保人证件号码 / 被保险人证件号码 name another person, read as a resident identity card (居民身份证)
  under the rules of the customer's number (a bad number refuses the row, naming the column) and
  found by its keyed identity hash. A number equal to the row's customer's means the customer.
- A person without an archive gets one, with the name from 投保人姓名 / 被保险人姓名 (or from their own
  row in the same batch), through the import's bulk path (`customer_bulk_create`: validation,
  encryption, history, audit) in the batch's transaction, in the row's unit and agent. Without a
  name the row is refused: "该证件尚无客户档案". An archive outside the importer's scope is refused.
- A name without a number means the row's customer when it is the customer's name; otherwise it is
  refused (a person is told by the number, not the name). A name that differs from the archive of
  its number (or from another row of this batch giving that number) is refused.
- Policyholder and insured cannot both be others: the row's customer is one of them.
- The relationship is "self" for one person, else 被保险人是投保人的 (or 投保人与被保险人关系 /
  与被保险人关系, read the other way round: 父母 and 子女 swap), else "other". Insurable interest
  (保险法 第三十一条) is a rule of new business: a legacy policy is registered as it stands.
- On a policy already registered, an absent column leaves its party as it is; a different person
  given is a change like any other (updated with an audit entry; refused on a policy issued here).

A payment's method (缴费途径) is "unknown" (未载明) unless the table has that column; 缴费方式 is how
often premiums fall due (趸缴/年缴…), not how they were paid.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal

from django.utils import timezone

from insurdesk.care.services import ContactImport, clean_contact, contacts_import
from insurdesk.claims.services import ClaimImport, claims_check, claims_import
from insurdesk.common.errors import FieldError, NotAllowed, ValidationFailed
from insurdesk.customers.bulk import customer_bulk_create
from insurdesk.customers.keys import identity_hash
from insurdesk.customers.models import Customer
from insurdesk.customers.validation import clean_individual
from insurdesk.exchange import normalize as N
from insurdesk.exchange.headers import CLAIM, CONTACT, PAYMENT, POLICY
from insurdesk.exchange.models import IssueLevel
from insurdesk.identity.documents import check_document
from insurdesk.identity.errors import IdentityError
from insurdesk.identity.normalize import clean_code
from insurdesk.org.policy import can
from insurdesk.org.selectors import viewer_unit_ids
from insurdesk.policies.legacy import (
    Catalogue,
    LegacyPayment,
    LegacyPolicy,
    check_existing,
    check_legacy_policy,
    check_parties,
    clean_policy_no,
    mismatch,
    payments_import_legacy,
    policies_import_legacy,
)
from insurdesk.policies.legacy import _changes as policy_changes
from insurdesk.policies.models import PaymentMethod, Policy

# Refusals name service fields; these are the columns they came from.
COLUMN_OF = {
    "policy_no": "policy_no", "product": "product_name", "sum_insured": "sum_insured",
    "effective_date": "start_date", "expiry_date": "end_date", "payment_mode": "pay_mode",
    "premium": "premium", "amount": "premium", "paid_on": "paid_date", "policy_id": "policy_no",
    "reported_on": "claim_date", "amount_claimed": "claim_amount", "amount_paid": "claim_amount",
    "state": "claim_status", "claimant_id": "claim_date", "contacted_on": "contact_date",
    "channel": "contact_channel", "content": "contact_content", "follow_up": "follow_up",
    "follow_up_note": "follow_up", "customer_id": "contact_date", "": "policy_no",
    "policyholder_id": "holder_id_number", "insured_id": "insured_id_number", "relationship": "relationship",
    "method": "pay_method",
}  # fmt: skip
ROLES = {"holder": "投保人", "insured": "被保险人"}
RESIDENT_ID = "resident_id"
# Numbers that read as resident IDs but may be archived under the document they really are (FACTS.md).
_OTHER_TYPES = (("810000", "hmt_residence_permit"), ("820000", "hmt_residence_permit"),
                ("830000", "hmt_residence_permit"), ("9", "foreign_permanent_id"))  # fmt: skip


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
# The insured is the policyholder's … (被保险人是投保人的…), as Policy.relationship stores it.
RELATIONSHIP = _table({
    "self": ("本人", "自己", "本身", "同一人", "self"),
    "spouse": ("配偶", "夫妻", "丈夫", "妻子", "夫", "妻", "spouse"),
    "child": ("子女", "儿子", "女儿", "子", "女", "孩子", "child"),
    "parent": ("父母", "父亲", "母亲", "父", "母", "parent"),
    "employer": ("雇员", "员工", "雇佣", "雇佣关系", "职工", "employee", "employer"),
    "other": ("其他", "其它", "祖父母", "外祖父母", "孙子女", "外孙子女", "兄弟姐妹", "兄弟", "姐妹", "亲属",
              "朋友", "other"),
})  # fmt: skip
# The policyholder is the insured's … (投保人与被保险人关系 / 与被保险人关系): the other way round.
HOLDER_RELATIONSHIP = _table({
    "self": ("本人", "自己", "本身", "同一人", "self"),
    "spouse": ("配偶", "夫妻", "丈夫", "妻子", "夫", "妻", "spouse"),
    "parent": ("子女", "儿子", "女儿", "子", "女", "孩子", "child"),
    "child": ("父母", "父亲", "母亲", "父", "母", "parent"),
    "employer": ("雇主", "单位", "雇佣", "雇佣关系", "employer"),
    "other": ("其他", "其它", "祖父母", "外祖父母", "孙子女", "外孙子女", "兄弟姐妹", "兄弟", "姐妹", "亲属",
              "朋友", "other"),
})  # fmt: skip
PAY_METHODS = _table({
    "cash": ("现金", "现金缴费", "现金缴纳", "cash"),
    "transfer": ("转账", "银行转账", "转帐", "汇款", "电汇", "网银", "手机银行", "对公转账", "微信", "支付宝",
                 "transfer"),
    "card": ("刷卡", "pos", "pos机", "银行卡", "借记卡", "信用卡", "card"),
    "withholding": ("银行代扣", "代扣", "自动扣款", "扣款", "划扣", "银行划扣", "批扣", "代收",
                    "withholding"),
    "unknown": ("未知", "不详", "未载明", "unknown"),
})  # fmt: skip
FOLLOW_UP = _table({
    "yes": ("是", "需要", "需", "要", "有", "y", "yes", "√"),
    "no": ("否", "不需要", "无需", "无", "不", "n", "no", "×"),
})  # fmt: skip


def _key(text: str) -> str:
    return clean_code(text).lower()


@dataclass
class Party:
    """A policyholder or insured a row names by number (投保人/被保险人证件号码)."""

    role: str  # "holder" or "insured"
    key: str  # identity hash of the number as a document of its type
    number: str  # cleaned
    name: str | None
    keys: tuple[str, ...]  # the hashes it may be archived under
    id_type: str = "resident_id"  # the row's 投保人/被保险人证件类型, a resident ID when not given


@dataclass
class _Pending:
    """A person to archive with the batch: the first row that needs it and what it is created from."""

    row: int
    name: str
    number: str
    unit_id: int | None
    agent_id: int | None
    id_type: str = "resident_id"


@dataclass
class RowParts:
    """What one row carries besides its customer, read into the services' terms.

    While the batch is checked, the policy's `customer_id`, `policyholder_id` and `insured_id` hold
    identity hashes; they become archive ids when the batch is written.
    """

    policy: LegacyPolicy | None = None
    payment: tuple[Decimal, object, str] | None = None  # (amount, paid_on, method)
    claim: tuple[object, Decimal, str] | None = None  # (reported_on, amount, state)
    contact: dict | None = None
    policy_id: int | None = None
    parties: list[Party] = field(default_factory=list)
    relationship_column: str = "relationship"


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
        self.found: dict[str, int] = {}  # identity hash -> archive of a party, for the batch being written
        self.pending: dict[str, _Pending] = {}  # identity hash -> a party to archive with the batch
        # A dry run's batches are rolled back: the persons its earlier batches archived (as a row's
        # customer or as a party) are not found again, so they are counted once from here.
        self.dry_archived: set[str] = set()
        self._unit_ids: list[int] | None | bool = False  # the actor's units, looked up once
        self._policy_no_index: int | None | bool = False  # the policy number's column, looked up once

    # -- the pre-pass: which policy numbers repeat --

    def prepass(self, cells: list) -> None:
        index = self._policy_no_index
        if index is False:  # not looked up yet: once, not once a row
            index = self._policy_no_index = self.importer.mapping.index_of("policy_no")
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
        if parts.policy is not None:
            self._read_parties(row, policy, parts)
        self._read_payment(row, payment, parts)
        self._read_claim(row, claim, parts)
        self._read_contact(row, contact, parts)
        return parts

    def _read_parties(self, row, policy: dict, parts: RowParts) -> None:
        """Read the policyholder and insured the row's columns name (their identity hashes), if any."""
        own_name = row.data.get("name")
        named: dict[str, str] = {}
        for role, label in ROLES.items():
            name, number = policy.get(f"{role}_name"), policy.get(f"{role}_id_number")
            id_type = policy.get(f"{role}_id_type") or RESIDENT_ID
            if number is None:
                if name is None:
                    continue
                if own_name is not None and name == own_name and row.key is not None:
                    named[role] = row.key
                else:
                    self._issue(
                        row, f"{role}_name", name, "required",
                        f"{label}不是本行客户时须同时填写{label}证件号码（{label}以证件号码认定）",
                    )  # fmt: skip
                continue
            try:
                number = check_document(id_type, number).number
            except IdentityError as exc:
                self._issue(row, f"{role}_id_number", number, exc.code, f"{label}证件号码：{exc.message}")
                continue
            key = identity_hash(id_type, number)
            if key == row.key and name is not None and own_name is not None and name != own_name:
                self._issue(
                    row, f"{role}_name", name, "mismatch",
                    f"{label}证件号码与本行客户相同，{label}姓名却与客户姓名不一致",
                )  # fmt: skip
                continue
            others = ()
            if id_type == RESIDENT_ID:  # read as a resident ID, it may be archived as what it really is
                others = tuple(
                    identity_hash(t, number) for prefix, t in _OTHER_TYPES if number.startswith(prefix)
                )
            parts.parties.append(Party(role, key, number, name, (key, *others), id_type))
            named[role] = key
        parts.policy.policyholder_id = named.get("holder")
        parts.policy.insured_id = named.get("insured")
        given = []
        for column, table in (("relationship", RELATIONSHIP), ("holder_relationship", HOLDER_RELATIONSHIP)):
            text = policy.get(column)
            if not text:
                continue
            value = table.get(_key(text))
            if value is None:
                offered = (
                    "本人/配偶/子女/父母/雇员/其他"
                    if column == "relationship"
                    else "本人/配偶/父母/子女/雇主/其他"
                )
                self._issue(row, column, text, "choice", f"关系应为 {offered} 等")
                return
            given.append((column, value))
        if len(given) == 2 and given[0][1] != given[1][1]:
            self._issue(
                row, "holder_relationship", policy.get("holder_relationship"), "ambiguous",
                "与“被保险人是投保人的”列不一致（两列方向相反：一列写父母，另一列应写子女）",
            )  # fmt: skip
            return
        if given:
            parts.relationship_column, parts.policy.relationship = given[0]

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
        method_text = payment.get("pay_method")
        method = PAY_METHODS.get(_key(method_text)) if method_text else PaymentMethod.UNKNOWN
        if method is None:
            self._issue(row, "pay_method", method_text, "choice", "缴费途径应为 现金/转账/刷卡/银行代扣 之一")
            return
        parts.payment = (amount, day, method)

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

    def read_rows(self, rows: list) -> None:
        for row in rows:
            row.parts = self.read(row)

    def prepare(self, rows: list, *, read: bool = True) -> None:
        """Refuse the rows whose parts cannot go in, before the batch writes anything.

        `read`: read the rows' parts first; False when read_rows has.
        """
        live = []
        self.found, self.pending = {}, {}
        if read:
            self.read_rows(rows)
        for row in rows:
            if row.parts is not None and not row.refused and row.key is not None:
                live.append(row)
        if not live:
            return
        self._check_parties(live)
        numbers = {r.parts.policy.policy_no for r in live if r.parts.policy and r.parts.policy.policy_no}
        existing = {p.policy_no: p for p in Policy.objects.filter(policy_no__any_of=numbers)}
        owners = dict(
            Customer.objects.filter(
                pk__any_of={i for p in existing.values() for i in (p.policyholder_id, p.insured_id) if i}
            ).values_list("id_hash", "pk")
        )
        # Identities as the services compare them: archive ids, or a stand-in for one not archived yet.
        stand_in: dict[str, int] = {}

        def as_id(key: str | None) -> int | None:
            if key is None:
                return None
            known = self.found.get(key) or owners.get(key)
            return known if known is not None else stand_in.setdefault(key, -1 - len(stand_in))

        merged: dict[str, tuple[int, LegacyPolicy]] = {}
        today = timezone.localdate()  # once for the batch: about 2 % of the import when asked per row
        for row in live:
            item = row.parts.policy
            if item is None or not item.policy_no or row.refused:
                continue
            product = self.catalogue.find(item.product_name) if item.product_name else None
            policy = existing.get(item.policy_no)
            earlier = merged.get(item.policy_no)
            creating = policy is None and earlier is None
            # A later row of a policy registered in this run means the parties the earlier rows named.
            before = earlier[1] if earlier is not None else item
            compared = None  # without parties named, the row's customer is both: nothing to compare
            if _names_parties(item) or _names_parties(before):
                compared = replace(
                    item,
                    customer_id=as_id(row.key),
                    policyholder_id=as_id(item.policyholder_id or before.policyholder_id),
                    insured_id=as_id(item.insured_id or before.insured_id),
                    relationship=item.relationship or before.relationship,
                )
            errors = check_legacy_policy(item, product=product, creating=creating, today=today)
            if not errors and policy is not None:
                refusal = check_existing(self.actor, policy, customer_id=owners.get(row.key)) or mismatch(
                    policy, compared or item, product
                )
                errors = [refusal] if refusal else check_parties(compared, policy) if compared else []
                first = self.first_row.get(item.policy_no)
                if (
                    not errors
                    and first is not None
                    and first < row.number
                    and policy_changes(policy, compared or item, product)
                ):
                    errors = [self._conflict(first)]
            elif not errors and compared is not None:
                errors = check_parties(compared)
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
                self._policy_refused(row, errors)
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

    def _policy_refused(self, row, errors: list[FieldError]) -> None:
        """Name each refusal of a row's policy on the column it came from, with the cell shown."""
        item = row.parts.policy
        for e in errors:
            column = COLUMN_OF.get(e.field, "policy_no")
            if column == "relationship":
                column = row.parts.relationship_column
            if e.field in ("policyholder_id", "insured_id"):
                role = "holder" if e.field == "policyholder_id" else "insured"
                party = next((p for p in row.parts.parties if p.role == role), None)
                shown = party.number if party is not None else None
                if party is None:  # the row's customer by name only, or the other party is the one named
                    column = next((f"{p.role}_id_number" for p in row.parts.parties), column)
                    shown = next((p.number for p in row.parts.parties), None)
            else:
                shown = _shown(item, e.field)
            self._issue(row, column, shown, e.code, e.message)

    # -- the policyholder and insured a row names --

    def _sees(self, unit_id: int, agent_id: int | None) -> bool:
        """Tell whether the importer may see an archive (and so put it on a policy)."""
        actor = self.actor
        if actor is None or actor.is_superuser:
            return True
        if actor.effective_role == "agent":
            return agent_id == actor.pk
        if self._unit_ids is False:
            self._unit_ids = viewer_unit_ids(actor)
        return self._unit_ids is None or unit_id in self._unit_ids

    def _check_parties(self, live: list) -> None:
        """Find the persons the rows name; refuse a contradicting name and a person who cannot be archived."""
        named = [(row, p) for row in live for p in row.parts.parties]
        if not named:
            return
        keys = sorted({k for _, p in named for k in p.keys})
        archived: dict[str, tuple] = {}
        for i in range(0, len(keys), 500):
            for found in Customer.objects.filter(id_hash__any_of=keys[i : i + 500]).values_list(
                "id_hash", "pk", "name", "unit_id", "agent_id"
            ):
                archived[found[0]] = found
        batch: dict[str, tuple[int, str | None]] = {}  # the customers of this batch's rows
        for row in live:
            batch.setdefault(row.key, (row.number, row.data.get("name")))
        may_create = self.actor is None or can(self.actor, "customer.create")
        for row, p in named:
            label = ROLES[p.role]
            name_column, number_column = f"{p.role}_name", f"{p.role}_id_number"
            found = next((archived[k] for k in p.keys if k in archived), None)
            if found is not None:
                _, pk, name, unit_id, agent_id = found
                if not self._sees(unit_id, agent_id):
                    self._issue(
                        row, number_column, p.number, "out_of_scope",
                        f"{label}证件号码：该证件的客户档案不在您的管辖范围内，请联系档案所属机构",
                    )  # fmt: skip
                elif p.name is not None and p.name != N.name(name):
                    self._issue(
                        row, name_column, p.name, "mismatch", f"{label}姓名与该证件已有客户档案的姓名不一致"
                    )
                else:
                    self.found[p.key] = pk
                continue
            first, own_name = batch.get(p.key, (None, None))
            if p.name is not None and own_name is not None and p.name != own_name:
                self._issue(
                    row, name_column, p.name, "mismatch",
                    f"{label}姓名与第 {first} 行该证件客户的姓名不一致",
                )  # fmt: skip
                continue
            earlier = self.pending.get(p.key)
            if earlier is not None:
                if p.name is not None and p.name != earlier.name:
                    self._issue(
                        row, name_column, p.name, "conflict",
                        f"与第 {earlier.row} 行同一证件的姓名不同；同一个人的姓名须一致",
                    )  # fmt: skip
                continue
            name = p.name or own_name
            if name is None:
                self._issue(
                    row, number_column, p.number, "not_found",
                    f"{label}证件号码：该证件尚无客户档案，请填写{label}姓名以新建档案，或先导入该客户",
                )  # fmt: skip
                continue
            if not may_create:
                self._issue(
                    row, number_column, p.number, "forbidden",
                    f"{label}证件号码：该证件尚无客户档案，您的角色无权新建客户档案",
                )  # fmt: skip
                continue
            try:
                clean_individual({"name": name, "id_type": p.id_type, "id_number": p.number}, creating=True)
            except ValidationFailed as exc:
                for e in exc.errors:
                    column = name_column if e.field == "name" else number_column
                    self._issue(row, column, None, e.code, f"{label}：{e.message}")
                continue
            self.pending[p.key] = _Pending(
                row.number, name, p.number, row.data.get("unit_id"), row.data.get("agent_id"), p.id_type
            )

    def _archive_parties(self, rows: list, customer_ids: dict[str, int]) -> None:
        """Archive the persons the written rows name who have none yet; refuse the rows when that fails."""
        wanted: dict[str, _Pending] = {}
        for row in rows:
            for p in row.parts.parties:
                if p.key not in customer_ids and p.key not in self.found:
                    wanted.setdefault(p.key, self.pending[p.key])
        if not wanted:
            return
        keys = list(wanted)
        payload = [
            {"name": w.name, "id_type": w.id_type, "id_number": w.number}
            | {k: v for k, v in (("unit_id", w.unit_id), ("agent_id", w.agent_id)) if v is not None}
            for w in wanted.values()
        ]
        try:
            result = customer_bulk_create(
                actor=self.actor, kind="individual", rows=payload, batch_size=len(payload)
            )
        except NotAllowed as exc:
            refused = {k: exc.errors for k in keys}
        else:
            refused: dict[str, list[FieldError]] = {}
            for e in result.refused:
                refused.setdefault(keys[e.index], []).append(FieldError(e.field, e.code, e.message))
            for index, pk in result.ids_by_index.items():
                self.found[keys[index]] = pk
            created = result.created
            if self.importer.run_record.dry_run:
                new = {keys[index] for index in result.ids_by_index} - self.dry_archived
                created = len(new)
                self.dry_archived |= new
            self.counts["party.created"] += created
        for row in rows:
            for p in row.parts.parties:
                for e in refused.get(p.key, ()):
                    column = f"{p.role}_name" if e.field == "name" else f"{p.role}_id_number"
                    self._issue(row, column, p.number, e.code, f"{ROLES[p.role]}：{e.message}")

    @staticmethod
    def _conflict(first_row: int, field: str = "policy_no", other_customer: bool = False):
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
        if self.importer.run_record.dry_run:
            self.dry_archived.update(customer_ids)
        if not rows:
            return
        self._archive_parties(rows, customer_ids)
        rows = [r for r in rows if not r.refused]

        def archive_of(key: str | None) -> int | None:
            return None if key is None else customer_ids.get(key) or self.found.get(key)

        # Policies: one item per number, the rows' values merged (prepare refused contradictions).
        by_no: dict[str, LegacyPolicy] = {}
        for row in rows:
            item = row.parts.policy
            if item is None or not item.policy_no:
                continue
            if item.policy_no not in by_no:
                by_no[item.policy_no] = replace(
                    item,
                    customer_id=customer_ids[row.key],
                    policyholder_id=archive_of(item.policyholder_id),
                    insured_id=archive_of(item.insured_id),
                )
            else:
                kept = by_no[item.policy_no]
                for f in fields(LegacyPolicy):
                    if getattr(kept, f.name) in (None, ""):
                        value = getattr(item, f.name)
                        setattr(kept, f.name, archive_of(value) if f.name in _PARTY_FIELDS else value)
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
                self._policy_refused(row, refusals[item.policy_no])
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
                amount, day, method = row.parts.payment
                owners.append(row)
                items.append(
                    LegacyPayment(policy_id=row.parts.policy_id, amount=amount, paid_on=day, method=method)
                )
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


_PARTY_FIELDS = ("policyholder_id", "insured_id")


def _names_parties(item: LegacyPolicy) -> bool:
    return item.policyholder_id is not None or item.insured_id is not None or bool(item.relationship)


def _shown(item: LegacyPolicy, field: str):
    column = COLUMN_OF.get(field, "policy_no")
    value = {
        "policy_no": item.policy_no, "product_name": item.product_name, "sum_insured": item.sum_insured,
        "start_date": item.effective_date, "end_date": item.expiry_date, "pay_mode": item.payment_mode,
        "premium": item.premium,
    }.get(column)  # fmt: skip
    return value
