"""Destruction after retention: one person requests, another approves, and nothing identifying remains."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.common.crypto import blind_index
from insurdesk.common.errors import Conflict, IllegalTransition, NotAllowed, NotFound, ValidationFailed
from insurdesk.customers.models import BeneficialOwner, Customer, CustomerRelation, OtherInsurerPolicy
from insurdesk.customers.services import customer_create, customer_update, relation_add
from insurdesk.lifecycle.models import AnonymousStatistic, DestructionRecord, DestructionRequest, RequestState
from insurdesk.lifecycle.selectors import due_customers, retention_status
from insurdesk.lifecycle.services import (
    ANONYMOUS_NAME,
    KEEP,
    anonymised_values,
    destruction_approve,
    destruction_reject,
    destruction_request,
    destruction_withdraw,
)
from insurdesk.lifecycle.tests.conftest import age

REASON = "保存期限届满，客户已无业务往来"


# ---------------------------------------------------------------- retention


def test_a_new_archive_is_kept_ten_years_after_its_last_change(old_customer):
    c = old_customer(years=0)
    status = retention_status(customer=c)
    changed = timezone.localtime(c.updated_at).date()
    assert not status.due and status.binding.rule.code == "aml_identity"
    assert status.ends_on == changed.replace(year=changed.year + 10)
    message = status.refusal()
    assert "客户身份资料" in message and "反洗钱法" in message and status.ends_on.isoformat() in message


def test_the_period_runs_through_its_last_day(old_customer):
    c = old_customer(years=11)
    ends = retention_status(customer=c).ends_on
    assert not retention_status(customer=c, today=ends).due
    assert retention_status(customer=c, today=ends + datetime.timedelta(days=1)).due


def test_a_longer_configured_period_binds(old_customer, settings):
    c = old_customer(years=11)
    settings.INSURDESK_RETENTION_YEARS = "personal_info=12"
    status = retention_status(customer=c)
    assert not status.due and status.binding.rule.code == "personal_info"
    assert "个人信息保护法" in status.refusal()


def test_destruction_is_refused_while_retention_runs_naming_rule_and_date(old_customer, people):
    c = old_customer(years=9)
    with pytest.raises(IllegalTransition) as exc:
        destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    err = exc.value.errors[0]
    ends = retention_status(customer=c).ends_on
    assert (
        err.code == "retention_running" and "客户身份资料" in err.message and ends.isoformat() in err.message
    )
    assert not DestructionRequest.objects.exists()


def test_the_due_list_holds_archives_past_every_period_in_the_viewers_scope(
    old_customer, people, units, individual_data
):
    due = old_customer(years=11)
    old_customer(years=9)
    gz, _ = customer_create(actor=None, kind="individual", data=individual_data(unit_id=units["GZ"].pk))
    age(gz, years=12)
    qs, _ = due_customers(viewer=people.officer)
    assert set(qs.values_list("pk", flat=True)) == {due.pk, gz.pk}
    qs, _ = due_customers(viewer=people.manager)  # 深圳 only
    assert list(qs.values_list("pk", flat=True)) == [due.pk]


# ---------------------------------------------------------------- four eyes


def test_the_requester_can_never_approve(old_customer, people):
    c = old_customer()
    req = destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    with pytest.raises(NotAllowed) as exc:
        destruction_approve(actor=people.officer, request_id=req.pk)
    assert exc.value.errors[0].code == "same_person"
    req.refresh_from_db()
    assert req.state == RequestState.REQUESTED
    assert Customer.objects.get(pk=c.pk).name == c.name


def test_an_admin_requester_cannot_approve_either(old_customer, people, make_user):
    c = old_customer()
    req = destruction_request(actor=people.admin, customer_id=c.pk, reason=REASON)
    with pytest.raises(NotAllowed):
        destruction_approve(actor=people.admin, request_id=req.pk)
    destruction_approve(actor=people.officer, request_id=req.pk)


@pytest.mark.parametrize("role", ["clerk", "reviewer", "agent", "underwriter", "service", "claims", "cs"])
def test_roles_outside_compliance_may_neither_request_nor_approve(old_customer, people, make_user, role):
    c = old_customer()
    user = make_user(role, "SZ")
    with pytest.raises(NotAllowed):
        destruction_request(actor=user, customer_id=c.pk, reason=REASON)
    req = destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    with pytest.raises(NotAllowed):
        destruction_approve(actor=user, request_id=req.pk)


def test_a_manager_may_request_but_not_approve(old_customer, people):
    c = old_customer()
    req = destruction_request(actor=people.manager, customer_id=c.pk, reason=REASON)
    with pytest.raises(NotAllowed):
        destruction_approve(actor=people.manager, request_id=req.pk)
    record = destruction_approve(actor=people.officer, request_id=req.pk)
    assert record.requested_by == people.manager and record.approved_by == people.officer


def test_no_one_decides_outside_their_scope(old_customer, people):
    c = old_customer()  # in 深圳
    req = destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    with pytest.raises(NotFound):
        destruction_approve(actor=people.gz_officer, request_id=req.pk)
    with pytest.raises(NotFound):
        destruction_request(actor=people.gz_officer, customer_id=c.pk, reason=REASON)


def test_a_request_needs_a_reason_and_only_one_may_be_open(old_customer, people):
    c = old_customer()
    with pytest.raises(ValidationFailed):
        destruction_request(actor=people.officer, customer_id=c.pk, reason="  ")
    destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    with pytest.raises(Conflict):
        destruction_request(actor=people.officer2, customer_id=c.pk, reason=REASON)


def test_a_decided_request_cannot_be_decided_again(old_customer, people):
    c = old_customer()
    req = destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    destruction_reject(actor=people.officer2, request_id=req.pk, note="仍有未决投诉")
    with pytest.raises(Conflict):
        destruction_approve(actor=people.admin, request_id=req.pk)
    assert Customer.objects.get(pk=c.pk).name == c.name
    with pytest.raises(ValidationFailed):
        destruction_reject(
            actor=people.officer2,
            request_id=destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON).pk,
            note="",
        )


def test_only_the_requester_withdraws(old_customer, people):
    c = old_customer()
    req = destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    with pytest.raises(NotAllowed):
        destruction_withdraw(actor=people.officer2, request_id=req.pk)
    assert destruction_withdraw(actor=people.officer, request_id=req.pk).state == RequestState.WITHDRAWN


def test_approval_checks_retention_again(old_customer, people):
    c = old_customer()
    req = destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    customer_update(actor=None, customer_id=c.pk, data={"occupation": "教师"})  # the relationship resumed
    with pytest.raises(IllegalTransition) as exc:
        destruction_approve(actor=people.officer2, request_id=req.pk)
    assert exc.value.errors[0].code == "retention_running"
    assert not DestructionRecord.objects.exists()


# ---------------------------------------------------------------- what remains


@pytest.fixture
def destroyed(people, units, corporate_data, individual_data):
    """A company with owners, another insurer's policy, a relation and a changed history, destroyed."""
    spouse, _ = customer_create(actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk))
    data = corporate_data(
        unit_id=units["SZ"].pk,
        mobile="13800138000",
        email="cfo@example.cn",
        tax_account="6222020200112233",
        contact_name="王五",
        contact_mobile="13900139000",
        registered_address="深圳市南山区科技园1号",
        beneficial_owners=[
            {
                "name": "赵六",
                "ownership_kind": "equity",
                "percentage": "60",
                "id_number": individual_data()["id_number"],
                "address": "深圳市福田区1号",
                "phone": "13700137000",
            }
        ],
        other_policies=[{"insurer": "某某人寿", "policy_no": "P-1", "premium": "1000"}],
    )
    company, _ = customer_create(actor=people.clerk, kind="corporate", data=data)
    customer_update(actor=people.clerk, customer_id=company.pk, data={"mobile": "13800138001"})
    relation_add(actor=None, customer_id=company.pk, other_id=spouse.pk, relation="employee")
    age(company)
    before = {
        "name": company.name,
        "uscc": company.id_number,
        "unit": company.unit_id,
        "created": company.created_at,
        "history": company.history.count(),
    }
    req = destruction_request(actor=people.officer, customer_id=company.pk, reason=REASON)
    record = destruction_approve(actor=people.officer2, request_id=req.pk, note="同意")
    return company, record, before


def test_anonymisation_clears_every_identifying_column(destroyed):
    company, record, before = destroyed
    c = Customer.objects.get(pk=company.pk)
    assert c.name == ANONYMOUS_NAME and c.archive_no == company.archive_no and c.unit_id == before["unit"]
    for f in Customer._meta.concrete_fields:
        if f.name in KEEP or f.name == "name":
            continue
        value = getattr(c, f.attname)
        assert value in (None, "", False, 0, f.get_default()), (f.name, value)
    for name in (
        "id_number",
        "id_hash",
        "mobile",
        "mobile_hash",
        "email",
        "tax_account",
        "contact_mobile",
        "legal_rep_id_number",
        "registered_address",
        "legal_rep_name",
        "contact_name",
    ):
        assert getattr(c, name) in (None, ""), name
    assert c.created_at == before["created"]


def test_no_ciphertext_or_name_is_left_in_the_tables(destroyed):
    company, _, before = destroyed
    history = Customer.history.model
    cols = [f.column for f in history._meta.concrete_fields if f.get_internal_type() == "BinaryField"]
    assert {"id_number", "mobile", "tax_account"} <= set(cols)
    with connection.cursor() as cur:
        for table in (Customer._meta.db_table, history._meta.db_table):
            cur.execute(
                f"SELECT {', '.join(cols)}, name, id_hash, mobile_hash FROM {table} WHERE id = %s",
                [company.pk],
            )
            for row in cur.fetchall():
                assert all(v is None for v in row[: len(cols)]), table
                assert row[len(cols)] == ANONYMOUS_NAME and row[-2] is None and row[-1] is None
    assert not Customer.objects.filter(
        id_hash=blind_index(f"uscc:{before['uscc']}", purpose="identity")
    ).exists()


def test_history_keeps_its_rows_and_dates_but_not_the_values(destroyed):
    company, record, before = destroyed
    rows = list(Customer.history.model.objects.filter(id=company.pk).order_by("history_id"))
    assert len(rows) == before["history"] + 1 == record.counts["history_rows"]
    assert (
        rows[-1].history_change_reason == "档案销毁（匿名化）"
        and rows[-1].history_user_id == record.approved_by_id
    )
    assert all(r.name == ANONYMOUS_NAME and r.mobile is None and r.contact_name == "" for r in rows)


def test_relations_owners_and_other_policies_are_deleted(destroyed):
    company, record, _ = destroyed
    assert not CustomerRelation.objects.filter(from_customer=company).exists()
    assert not CustomerRelation.objects.filter(to_customer=company).exists()
    assert not BeneficialOwner.objects.filter(customer=company).exists()
    assert not OtherInsurerPolicy.objects.filter(customer=company).exists()
    assert record.counts["relations"] == 2 and record.counts["beneficial_owners"] == 1
    assert record.counts["other_policies"] == 1


def test_the_record_the_statistic_and_the_audit_entry_remain(destroyed, people):
    company, record, before = destroyed
    assert record.requested_by == people.officer and record.approved_by == people.officer2
    assert record.rule == "aml_identity" and record.kind == "corporate" and record.reason == REASON
    assert record.retention_ended_on < timezone.localdate()
    assert DestructionRequest.objects.get(pk=record.request_id).state == RequestState.DONE
    stat = AnonymousStatistic.objects.get()
    assert (stat.kind, stat.unit_id, stat.destroyed_on) == ("corporate", before["unit"], timezone.localdate())
    assert stat.created_on == timezone.localtime(before["created"]).date() and stat.birth_year_from is None
    entry = AuditEntry.objects.get(action="lifecycle.destroy")
    assert entry.target_id == str(company.pk) and entry.actor_id == people.officer2.pk
    assert entry.detail["requested_by"] == "officer" and entry.detail["counts"] == record.counts
    assert before["name"] not in str(entry.detail) and audit_verify().ok


def test_a_destroyed_archive_leaves_the_due_list_and_cannot_be_destroyed_twice(destroyed, people):
    company, _, _ = destroyed
    qs, _ = due_customers(viewer=people.admin)
    assert company.pk not in set(qs.values_list("pk", flat=True))
    status = retention_status(customer=company)
    assert status.destroyed and not status.due
    with pytest.raises(IllegalTransition):
        destruction_request(actor=people.admin, customer_id=company.pk, reason=REASON)


def test_an_individual_keeps_only_birth_year_bucket_and_gender_in_the_statistic(old_customer, people):
    c = old_customer()
    req = destruction_request(actor=people.officer, customer_id=c.pk, reason=REASON)
    destruction_approve(actor=people.officer2, request_id=req.pk)
    stat = AnonymousStatistic.objects.get()
    assert stat.birth_year_from == c.birth_date.year // 5 * 5 and stat.gender == c.gender
    assert stat.birth_years == f"{stat.birth_year_from}–{stat.birth_year_from + 4}"
    fresh = Customer.objects.get(pk=c.pk)
    assert fresh.birth_date is None and fresh.gender == "" and fresh.version == c.version + 1


def test_every_customer_column_has_an_anonymous_value():
    values = anonymised_values(Customer)
    assert set(values) | {f.name for f in Customer._meta.concrete_fields if f.name in KEEP} >= {
        f.attname for f in Customer._meta.concrete_fields if f.name not in KEEP
    }
    assert values["name"] == ANONYMOUS_NAME and values["id_number"] is None and values["agent_id"] is None
