"""First entry and the rules it checks: parties, insurable interest, lines, totals, beneficiaries, sources."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from insurdesk.applications.models import Application, State
from insurdesk.applications.services import (
    application_create,
    application_lock,
    application_submit,
    application_transition,
    application_update,
    application_withdraw,
)
from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import Duplicate, IllegalTransition, NotAllowed, ValidationFailed
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id, make_uscc


def codes(exc):
    return {(e.field, e.code) for e in exc.value.errors}


def test_first_entry_keeps_the_parties_as_written_and_numbers_the_application(people, app_input):
    app, warnings = application_create(actor=people["clerk"], data=app_input())
    assert app.application_no == "TB0000000001" and app.state == State.SECOND_ENTRY
    assert app.policyholder == people["husband"] and app.insured == people["wife"]
    assert app.policyholder_name == "张伟" and app.insured_id_number == people["wife"].id_number
    assert app.first_entry_by == people["clerk"] and app.unit == people["clerk"].unit
    assert app.agent == people["agent"] and app.total_premium == Decimal("15000.00")
    lines = list(app.lines.order_by("seq"))
    assert [line.product.code for line in lines] == ["L101", "R201"] and lines[1].rider_of == lines[0]
    assert app.beneficiaries.get().share == Decimal("100.00")
    assert warnings == [] and not app.recording_required
    assert AuditEntry.objects.filter(action="application.create", target_id=str(app.pk)).exists()


def test_a_printed_application_number_is_kept_and_used_once(people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input(application_no="ab123456"))
    assert app.application_no == "AB123456"
    with pytest.raises(Duplicate):
        application_create(actor=people["clerk"], data=app_input(application_no="AB123456"))


def test_new_parties_are_created_through_the_archive_rules(people, app_input):
    data = app_input(
        policyholder={
            "new": {
                "kind": "individual",
                "name": "王强",
                "id_number": make_resident_id(datetime.date(1970, 1, 2), "M", seq=21),
            }
        },
        insured={
            "new": {
                "kind": "individual",
                "name": "王小丽",
                "id_number": make_resident_id(datetime.date(2015, 6, 1), "F", seq=22),
            }
        },
        relationship="child",
        insured_consent=False,
    )
    app, warnings = application_create(actor=people["clerk"], data=data)
    assert app.policyholder_created and app.insured_created
    assert app.insured.birth_date == datetime.date(2015, 6, 1) and app.insured.archive_no.startswith("KH")
    # A parent insures a minor child without a separate consent (保险法 §34).
    assert not app.insured_consent


def test_a_bad_new_party_rolls_everything_back_and_names_the_field(people, app_input):
    before = Customer.objects.count()
    data = app_input(
        policyholder={
            "new": {
                "kind": "individual",
                "name": "王强",
                "id_number": make_resident_id(datetime.date(1970, 1, 2), "M", seq=21),
            }
        },
        insured={"new": {"kind": "individual", "name": "", "id_number": "110105199003071238"}},
    )
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=data)
    assert {("insured.name", "required"), ("insured.id_number", "checksum")} <= codes(exc)
    assert Customer.objects.count() == before and not Application.objects.exists()


def test_a_new_party_whose_identity_has_an_archive_is_a_duplicate(people, app_input):
    data = app_input(
        insured={"new": {"kind": "individual", "name": "李芳", "id_number": people["wife"].id_number}}
    )
    with pytest.raises(Duplicate) as exc:
        application_create(actor=people["clerk"], data=data)
    assert ("insured.id_number", "duplicate") in codes(exc)
    assert exc.value.existing.pk == people["wife"].pk


def test_required_fields_may_not_be_blank_but_wu_is_a_value(people, app_input):
    with pytest.raises(ValidationFailed) as exc:
        application_create(
            actor=people["clerk"],
            data=app_input(health_details=" ", payment_mode="", business_source=None, relationship=""),
        )
    assert {
        ("health_details", "required"),
        ("payment_mode", "required"),
        ("business_source", "required"),
        ("relationship", "required"),
    } <= codes(exc)
    app, _ = application_create(actor=people["clerk"], data=app_input(health_details="无"))
    assert app.health_details == "无"


def test_a_disclosure_must_say_what_it_is(people, app_input):
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(health_disclosure=True, health_details="无"))
    assert ("health_details", "required") in codes(exc)


def test_the_total_must_equal_the_sum_of_the_lines(people, app_input):
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(total_premium="15000.01"))
    assert ("total_premium", "total_mismatch") in codes(exc)
    assert "15000.00" in exc.value.errors[0].message


def test_amounts_are_decimal_to_the_cent(people, app_input):
    lines = app_input()["lines"]
    lines[0]["premium"] = "12000.005"
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(lines=lines))
    assert ("lines[0].premium", "format") in codes(exc)


def test_beneficiary_shares_total_100_within_each_order(people, app_input):
    bad = [
        {"order": 1, "name": "甲", "share": "60"},
        {"order": 1, "name": "乙", "share": "30"},
        {"order": 2, "name": "丙", "share": "100"},
    ]
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(beneficiaries=bad))
    assert codes(exc) == {("beneficiaries", "share_total")} and "第 1 受益顺序" in exc.value.errors[0].message
    good = [
        {"order": 1, "name": "甲", "share": "33.33"},
        {"order": 1, "name": "乙", "share": "66.67"},
        {"order": 2, "name": "丙", "share": "100"},
    ]
    app, _ = application_create(actor=people["clerk"], data=app_input(beneficiaries=good))
    assert app.beneficiaries.count() == 3


def test_death_cover_needs_beneficiaries_or_legal_heirs_explicitly(people, app_input):
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(beneficiaries=[]))
    assert ("beneficiaries", "required") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(beneficiary_legal=True))
    assert ("beneficiary_legal", "conflict") in codes(exc)
    app, _ = application_create(
        actor=people["clerk"], data=app_input(beneficiaries=[], beneficiary_legal=True)
    )
    assert app.beneficiary_legal and not app.beneficiaries.exists()


def test_a_beneficiary_with_an_archive_is_linked(people, app_input):
    ben = [
        {
            "order": 1,
            "name": "李芳",
            "share": "100",
            "id_type": "resident_id",
            "id_number": people["wife"].id_number.lower(),
        }
    ]
    app, _ = application_create(
        actor=people["clerk"],
        data=app_input(insured_id=None, insured=None, relationship="self", beneficiaries=ben),
    )
    assert app.beneficiaries.get().customer == people["wife"]


def test_insurable_interest_article_31(people, app_input):
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(relationship="other", insured_consent=False))
    assert ("relationship", "insurable_interest") in codes(exc)
    app, _ = application_create(
        actor=people["clerk"], data=app_input(relationship="other", insured_consent=True)
    )
    assert app.relationship == "other"


def test_death_cover_needs_the_insureds_consent_article_34(people, app_input):
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(insured_consent=False))
    assert codes(exc) == {("insured_consent", "consent_required")}
    # Without death cover (medical insurance) a spouse needs no consent.
    lines = [{"product_code": "H301", "coverage_term": "1y", "sum_insured": "2000000", "premium": "600"}]
    app, _ = application_create(
        actor=people["clerk"],
        data=app_input(
            insured_consent=False, lines=lines, total_premium="600", payment_term="1y", beneficiaries=[]
        ),
    )
    assert not app.insured_consent


def test_self_means_one_customer(people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input(insured_id=None, relationship="self"))
    assert app.insured == app.policyholder == people["husband"]
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(relationship="self"))
    assert ("relationship", "self_mismatch") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        application_create(
            actor=people["clerk"],
            data=app_input(insured={"customer_id": people["husband"].pk}, relationship="spouse"),
        )
    assert ("relationship", "self_mismatch") in codes(exc)


def test_lines_follow_the_products_options(people, app_input):
    lines = [
        {"product_code": "L101", "coverage_term": "20y", "sum_insured": "500000", "premium": "12000"},
        {
            "product_code": "R202",
            "coverage_term": "20y",
            "sum_insured": "1",
            "premium": "0",
            "rider_of": "L102",
        },
        {"product_code": "NOPE", "coverage_term": "1y", "sum_insured": "1", "premium": "0"},
        {"product_code": "L101", "coverage_term": "life", "sum_insured": "0", "premium": "0"},
    ]
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(lines=lines, total_premium="12000"))
    assert {
        ("lines[0].coverage_term", "not_offered"),
        ("lines[1].rider_of", "not_found"),
        ("lines[2].product_code", "not_found"),
        ("lines[3].product_code", "duplicate"),
        ("lines[3].sum_insured", "range"),
    } <= codes(exc)


def test_a_rider_attaches_to_an_allowed_main_line(people, app_input):
    only_rider = [{"product_code": "R201", "coverage_term": "20y", "sum_insured": "100000", "premium": "10"}]
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(lines=only_rider, total_premium="10"))
    assert {("lines", "no_main"), ("lines[0].rider_of", "required")} <= codes(exc)
    lines = app_input()["lines"]
    lines[1].pop("rider_of")  # one eligible main line: attached to it
    app, _ = application_create(actor=people["clerk"], data=app_input(lines=lines))
    assert app.lines.get(seq=2).rider_of.product.code == "L101"
    wrong = [
        {"product_code": "L102", "coverage_term": "20y", "sum_insured": "200000", "premium": "100"},
        {
            "product_code": "R202",
            "coverage_term": "20y",
            "sum_insured": "1",
            "premium": "0",
            "rider_of": "L102",
        },
    ]
    with pytest.raises(ValidationFailed) as exc:
        application_create(
            actor=people["clerk"], data=app_input(lines=wrong, total_premium="100", payment_term="10y")
        )
    assert ("lines[1].rider_of", "not_allowed") in codes(exc)


def test_payment_mode_and_term_must_be_offered(people, app_input):
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(payment_mode="monthly", payment_term="to60"))
    assert {("lines[0].product_code", "payment_mode"), ("lines[0].product_code", "payment_term")} <= codes(
        exc
    )
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(payment_mode="single", payment_term="20y"))
    assert ("payment_term", "single") in codes(exc)


def test_product_limits_are_warnings_for_underwriting(people, app_input):
    lines = app_input()["lines"]
    lines[0]["sum_insured"] = "6000000"
    app, warnings = application_create(actor=people["clerk"], data=app_input(lines=lines))
    assert any("高于最高保额" in w for w in warnings)


def test_an_intermediary_needs_agency_and_commission(people, app_input):
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(business_source="intermediary"))
    assert {
        ("agency_name", "required"),
        ("agency_kind", "required"),
        ("commission_ratio", "required"),
    } <= codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        application_create(
            actor=people["clerk"],
            data=app_input(
                business_source="intermediary",
                agency_name="某银行",
                agency_kind="bank",
                commission_ratio="100.01",
            ),
        )
    assert ("commission_ratio", "range") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(commission_ratio="5"))
    assert ("business_source", "not_intermediary") in codes(exc)
    app, _ = application_create(
        actor=people["clerk"],
        data=app_input(
            business_source="intermediary",
            agency_name="招商银行深圳分行",
            agency_kind="bank",
            commission_ratio="8.5",
        ),
    )
    assert app.commission_ratio == Decimal("8.50")


def test_the_agent_defaults_to_the_archives_and_must_be_an_agent(people, app_input):
    data = app_input()
    data.pop("agent_id")
    app, _ = application_create(actor=people["clerk"], data=data)
    assert app.agent == people["agent"]
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(agent_id=people["clerk2"].pk))
    assert ("agent_id", "not_found") in codes(exc)


def test_dates(people, app_input):
    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as exc:
        application_create(
            actor=people["clerk"], data=app_input(application_date=today + datetime.timedelta(days=1))
        )
    assert ("application_date", "future") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        application_create(
            actor=people["clerk"],
            data=app_input(
                application_date=today, requested_effective_date=today - datetime.timedelta(days=1)
            ),
        )
    assert ("requested_effective_date", "date_order") in codes(exc)


def test_bank_account_is_digits_with_bank_and_holder(people, app_input):
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(bank_account="6222 abc"))
    assert ("bank_account", "format") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(bank_account="6222 0212 3456 7890"))
    assert {("bank_name", "required"), ("account_holder", "required")} <= codes(exc)
    app, _ = application_create(
        actor=people["clerk"],
        data=app_input(bank_account="6222-0212-3456-7890", bank_name="工商银行", account_holder="张伟"),
    )
    assert app.bank_account == "6222021234567890"


def test_group_application_names_no_insured(people, app_input, units):
    company, _ = customer_create(
        actor=None,
        kind="corporate",
        data={
            "name": "深圳前海科技有限公司",
            "uscc": make_uscc(),
            "legal_rep_name": "李强",
            "unit_id": units["SZ"].pk,
        },
    )
    lines = [
        {
            "product_code": "G801",
            "coverage_term": "1y",
            "sum_insured": "300000",
            "premium": "15000",
            "plan_level": "b",
        }
    ]
    data = app_input(
        insured_id=None,
        relationship="employer",
        lines=lines,
        payment_mode="single",
        payment_term="single",
        beneficiaries=[],
        policyholder={"customer_id": company.pk},
    )
    data.pop("insured", None)
    app, _ = application_create(actor=people["clerk"], data=data)
    assert app.is_group and app.insured is None and app.lines.get().plan_level.code == "B"
    with pytest.raises(ValidationFailed) as exc:
        application_create(
            actor=people["clerk"], data={**data, "policyholder": {"customer_id": people["husband"].pk}}
        )
    assert ("policyholder", "group_corporate") in codes(exc)
    mixed = [
        *lines,
        {"product_code": "A401", "coverage_term": "1y", "sum_insured": "100000", "premium": "100"},
    ]
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data={**data, "lines": mixed, "total_premium": "15100"})
    assert ("lines", "mixed_group") in codes(exc)


@pytest.mark.parametrize(
    "role", ["reviewer", "agent", "underwriter", "service", "claims", "cs", "compliance", "manager"]
)
def test_only_clerks_and_admins_key_applications(people, app_input, make_user, role):
    with pytest.raises(NotAllowed):
        application_create(actor=make_user(role), data=app_input())


def test_before_second_entry_only_the_first_clerk_edits(people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    with pytest.raises(NotAllowed) as exc:
        application_update(actor=people["clerk2"], application_id=app.pk, data={"notes": "x"})
    assert ("", "not_first_entry") in codes(exc)
    lines = app_input()["lines"]
    lines[0]["premium"] = "11000"
    app, _ = application_update(
        actor=people["clerk"],
        application_id=app.pk,
        data={"lines": lines, "total_premium": "14000"},
        expected_version=1,
    )
    assert app.total_premium == Decimal("14000.00") and app.lines.get(seq=1).premium == Decimal("11000.00")
    assert app.version == 2


def test_withdraw_and_submit_follow_the_states(people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    with pytest.raises(IllegalTransition):
        application_submit(actor=people["clerk"], application_id=app.pk)
    with pytest.raises(ValidationFailed):
        application_withdraw(actor=people["clerk"], application_id=app.pk, reason=" ")
    app = application_withdraw(actor=people["clerk"], application_id=app.pk, reason="客户撤回")
    assert app.state == State.WITHDRAWN and app.closed_reason == "客户撤回"
    with pytest.raises(IllegalTransition):
        application_withdraw(actor=people["clerk"], application_id=app.pk, reason="再次撤回")


def test_the_transition_helper_for_underwriting_refuses_illegal_moves(people, app_input):
    from django.db import transaction

    app, _ = application_create(actor=people["clerk"], data=app_input())
    with transaction.atomic():
        locked = application_lock(app.pk)
        with pytest.raises(IllegalTransition) as exc:
            application_transition(actor=people["reviewer"], application=locked, name="accept")
        assert ("state", "illegal_transition") in codes(exc)
    app.refresh_from_db()
    assert app.state == State.SECOND_ENTRY and app.version == 1


def test_relationship_is_one_of_the_six_of_the_form(people, app_input):
    from insurdesk.applications.models import Relationship

    assert [(c.value, c.label) for c in Relationship] == [
        ("self", "本人"),
        ("spouse", "配偶"),
        ("child", "子女"),
        ("parent", "父母"),
        ("employer", "雇佣"),
        ("other", "其他"),
    ]
    for rel in ("spouse", "child", "parent", "employer", "other"):
        app, _ = application_create(
            actor=people["clerk"], data=app_input(relationship=rel, insured_consent=True)
        )
        assert app.relationship == rel and app.get_relationship_display() == dict(Relationship.choices)[rel]
    with pytest.raises(ValidationFailed) as exc:
        application_create(actor=people["clerk"], data=app_input(relationship="cousin"))
    assert ("relationship", "choice") in codes(exc)
