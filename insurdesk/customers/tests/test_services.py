import datetime

import pytest
from django.db import connection

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.common.errors import Conflict, Duplicate, NotAllowed, NotFound, ValidationFailed
from insurdesk.customers.models import Customer, CustomerRelation
from insurdesk.customers.services import customer_create, customer_update, relation_add


def codes(exc):
    return {(e.field, e.code) for e in exc.value.errors}


def test_create_individual_derives_birth_date_and_gender_and_numbers_the_archive(make_user):
    clerk = make_user("clerk")
    c, warnings = customer_create(
        actor=clerk, kind="individual", data={"name": "王芳", "id_number": "11010519491231002x"}
    )
    assert c.archive_no.startswith("KH") and len(c.archive_no) == 12
    assert c.id_number == "11010519491231002X"
    assert c.birth_date == datetime.date(1949, 12, 31) and c.gender == "F"
    assert c.unit == clerk.unit and c.created_by == clerk
    assert AuditEntry.objects.filter(action="customer.create", target_id=str(c.pk)).exists()


def test_legacy_15_digit_id_is_stored_as_18(make_user):
    c, _ = customer_create(
        actor=make_user("clerk"), kind="individual", data={"name": "老张", "id_number": "110105491231002"}
    )
    assert c.id_number == "11010519491231002X"


def test_wrong_check_digit_is_refused_naming_field_and_rule(make_user):
    with pytest.raises(ValidationFailed) as exc:
        customer_create(
            actor=make_user("clerk"),
            kind="individual",
            data={"name": "王芳", "id_number": "110105199003071238", "mobile": "12345"},
        )
    assert ("id_number", "checksum") in codes(exc)
    assert ("mobile", "format") in codes(exc)
    assert Customer.objects.count() == 0


def test_typed_birth_date_and_gender_must_agree_with_the_id(make_user):
    with pytest.raises(ValidationFailed) as exc:
        customer_create(
            actor=make_user("clerk"),
            kind="individual",
            data={
                "name": "李四",
                "id_number": "110105199003071239",
                "birth_date": datetime.date(1990, 3, 8),
                "gender": "F",
            },
        )
    assert codes(exc) == {("birth_date", "mismatch"), ("gender", "mismatch")}


def test_one_archive_per_identity(make_user, individual_data):
    clerk = make_user("clerk")
    data = individual_data()
    first, _ = customer_create(actor=clerk, kind="individual", data=data)
    with pytest.raises(Duplicate) as exc:
        customer_create(actor=clerk, kind="individual", data={**data, "name": "别名"})
    assert ("id_number", "duplicate") in codes(exc)
    assert exc.value.existing.pk == first.pk and exc.value.existing.visible
    assert first.archive_no in exc.value.errors[0].message


def test_duplicate_outside_scope_does_not_reveal_the_archive(make_user, individual_data):
    data = individual_data()
    customer_create(actor=make_user("clerk", unit="GZ"), kind="individual", data=data)
    with pytest.raises(Duplicate) as exc:
        customer_create(actor=make_user("clerk", unit="SZ"), kind="individual", data=data)
    assert not exc.value.existing.visible
    assert "KH" not in exc.value.errors[0].message


def test_sensitive_fields_are_not_stored_in_plain_text(make_user, individual_data):
    data = individual_data(mobile="13912345678", residence_address="深圳市南山区科技园路1号")
    c, _ = customer_create(actor=make_user("clerk"), kind="individual", data=data)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id_number, mobile, residence_address FROM customers_customer WHERE id = %s", [c.pk]
        )
        row = cur.fetchone()
    blob = b"".join(bytes(v) for v in row)
    assert data["id_number"].encode() not in blob
    assert b"13912345678" not in blob
    assert "科技园".encode() not in blob
    assert Customer.objects.get(pk=c.pk).mobile == "13912345678"


def test_corporate_uscc_is_checked_and_override_needs_role_and_reason(make_user, corporate_data):
    bad = corporate_data(uscc="91350211M0000XUF46")
    with pytest.raises(ValidationFailed) as exc:
        customer_create(actor=make_user("clerk"), kind="corporate", data=bad)
    assert ("uscc", "checksum") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        customer_create(
            actor=make_user("clerk"), kind="corporate", data={**bad, "id_override_reason": "厦门已发证"}
        )
    assert ("uscc", "override_not_allowed") in codes(exc)
    c, warnings = customer_create(
        actor=make_user("reviewer"),
        kind="corporate",
        data={**bad, "id_override_reason": "厦门市监局已核发，见营业执照影像"},
    )
    assert c.id_number == "91350211M0000XUF46" and warnings
    entry = AuditEntry.objects.get(action="customer.create", target_id=str(c.pk))
    assert "厦门市监局" in entry.detail["warnings"][0]


def test_update_keeps_history_and_refuses_stale_version(make_user, individual_data):
    clerk = make_user("clerk")
    c, _ = customer_create(actor=clerk, kind="individual", data=individual_data(mobile="13800000001"))
    c2, _ = customer_update(
        actor=clerk, customer_id=c.pk, data={"mobile": "138-0000-0002"}, expected_version=1
    )
    assert c2.mobile == "13800000002" and c2.version == 2
    latest, previous = list(c2.history.order_by("-history_id")[:2])
    delta = latest.diff_against(previous)
    assert [(d.field, d.old, d.new) for d in delta.changes] == [("mobile", "13800000001", "13800000002")]
    assert latest.history_user == clerk
    entry = AuditEntry.objects.filter(action="customer.change").last()
    assert entry.detail == {"fields": {"mobile": {"changed": True}}}
    with pytest.raises(Conflict):
        customer_update(actor=clerk, customer_id=c.pk, data={"mobile": "13800000003"}, expected_version=1)
    assert Customer.objects.get(pk=c.pk).mobile == "13800000002"


def test_aml_fields_need_the_compliance_role(make_user, individual_data):
    clerk = make_user("clerk")
    c, _ = customer_create(actor=clerk, kind="individual", data=individual_data())
    with pytest.raises(NotAllowed):
        customer_update(actor=clerk, customer_id=c.pk, data={"aml_risk": "high"})
    customer_update(actor=make_user("compliance"), customer_id=c.pk, data={"aml_risk": "high", "pep": True})
    assert Customer.objects.get(pk=c.pk).aml_risk == "high"


def test_roles_without_the_action_cannot_create(make_user, individual_data):
    with pytest.raises(NotAllowed):
        customer_create(actor=make_user("underwriter"), kind="individual", data=individual_data())


def test_update_outside_scope_is_not_found(make_user, individual_data):
    c, _ = customer_create(actor=make_user("clerk", unit="GZ"), kind="individual", data=individual_data())
    with pytest.raises(NotFound):
        customer_update(actor=make_user("clerk", unit="SZ"), customer_id=c.pk, data={"name": "改名"})


def test_agent_creates_customers_it_owns(make_user, individual_data):
    agent = make_user("agent")
    c, _ = customer_create(actor=agent, kind="individual", data=individual_data())
    assert c.agent == agent


def test_completeness_rises_as_fields_are_filled(make_user, individual_data):
    clerk = make_user("clerk")
    c, _ = customer_create(actor=clerk, kind="individual", data=individual_data())
    before = c.completeness
    c, _ = customer_update(
        actor=clerk,
        customer_id=c.pk,
        data={
            "occupation": "教师",
            "occupation_class": 1,
            "employer": "深圳中学",
            "marital_status": "married",
            "annual_income": "180000",
            "education": "bachelor",
            "health_status": "good",
            "postal_code": "518000",
            "residence_address": "深圳市南山区",
            "id_long_term": True,
            "source_channel": "direct",
        },
    )
    assert 0 < before < c.completeness == 100


def test_relation_is_written_both_ways(make_user, individual_data):
    clerk = make_user("clerk")
    a, _ = customer_create(actor=clerk, kind="individual", data=individual_data())
    b, _ = customer_create(actor=clerk, kind="individual", data=individual_data())
    relation_add(actor=clerk, customer_id=a.pk, other_id=b.pk, relation="parent")
    assert CustomerRelation.objects.get(from_customer=b, to_customer=a).relation == "child"


def test_beneficial_owner_below_threshold_is_refused(make_user, corporate_data):
    with pytest.raises(ValidationFailed) as exc:
        customer_create(
            actor=make_user("clerk"),
            kind="corporate",
            data=corporate_data(
                beneficial_owners=[
                    {
                        "name": "赵大",
                        "ownership_kind": "equity",
                        "percentage": "10",
                        "id_type": "passport",
                        "id_number": "E12345678",
                    }
                ]
            ),
        )
    assert ("beneficial_owners[0].percentage", "threshold") in codes(exc)


def test_every_write_keeps_the_audit_chain_intact(make_user, individual_data):
    clerk = make_user("clerk")
    for _ in range(3):
        c, _ = customer_create(actor=clerk, kind="individual", data=individual_data())
        customer_update(actor=clerk, customer_id=c.pk, data={"occupation": "工程师"})
    assert audit_verify().ok
