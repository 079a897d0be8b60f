import datetime
from decimal import Decimal

import pytest

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.common.errors import NotAllowed
from insurdesk.customers import bulk
from insurdesk.customers.bulk import BulkInterrupted, customer_bulk_create
from insurdesk.customers.keys import identity_hash
from insurdesk.customers.models import BeneficialOwner, Customer, OtherInsurerPolicy
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id


def refusals(result):
    return {(e.index, e.field, e.code) for e in result.refused}


def test_valid_rows_are_created_with_history_and_one_audit_entry_each(make_user, individual_data):
    clerk = make_user("clerk")
    rows = [individual_data(residence_address="深圳市南山区科技园路1号", postal_code="518057")
            for _ in range(5)]

    result = customer_bulk_create(actor=clerk, kind="individual", rows=rows)

    assert result.created == 5 and result.refused == []
    assert sorted(result.created_ids) == sorted(Customer.objects.values_list("pk", flat=True))
    assert [result.ids_by_index[i] for i in range(5)] == result.created_ids
    for i, pk in enumerate(result.created_ids):
        c = Customer.objects.get(pk=pk)
        assert c.id_number == rows[i]["id_number"] and c.mobile == rows[i]["mobile"]
        assert c.id_hash == identity_hash("resident_id", rows[i]["id_number"]) and c.mobile_hash
        assert c.unit_id == clerk.unit_id and c.created_by == clerk and c.agent_id is None
        assert c.completeness > 0
        history = list(c.history.all())
        assert len(history) == 1 and history[0].history_type == "+" and history[0].history_user == clerk
        assert history[0].id_number == rows[i]["id_number"]
    numbers = sorted(Customer.objects.values_list("archive_no", flat=True))
    assert len(set(numbers)) == 5 and all(n.startswith("KH") and len(n) == 12 for n in numbers)
    entries = AuditEntry.objects.filter(action="customer.create")
    assert sorted(int(e.target_id) for e in entries) == sorted(result.created_ids)
    assert all(e.actor_id == clerk.pk and e.detail["via"] == "bulk" for e in entries)


def test_bad_row_and_in_batch_duplicate_are_refused_while_the_others_go_in(make_user, individual_data):
    clerk = make_user("clerk")
    good = individual_data()
    bad = individual_data()
    bad["id_number"] = bad["id_number"][:17] + ("0" if bad["id_number"][17] != "0" else "1")
    repeat = {**good, "name": "别名", "id_number": " " + good["id_number"].lower() + " "}
    rows = [good, bad, individual_data(), repeat, individual_data(mobile="12345")]

    result = customer_bulk_create(actor=clerk, kind="individual", rows=rows)

    assert result.created == 2 and set(result.ids_by_index) == {0, 2}
    assert refusals(result) == {(1, "id_number", "checksum"), (3, "id_number", "duplicate"),
                                (4, "mobile", "format")}
    assert "第 1 行" in next(e.message for e in result.refused if e.index == 3)
    assert result.refused_rows == [1, 3, 4]
    assert Customer.objects.count() == 2


def test_existing_identity_is_refused_as_duplicate(make_user, individual_data):
    clerk = make_user("clerk")
    data = individual_data()
    existing, _ = customer_create(actor=clerk, kind="individual", data=data)

    result = customer_bulk_create(actor=clerk, kind="individual", rows=[{**data, "name": "另一人"},
                                                                        individual_data()])

    assert result.created == 1
    assert refusals(result) == {(0, "id_number", "duplicate")}
    assert existing.archive_no in result.refused[0].message


def test_a_caller_that_checked_is_still_refused_a_duplicate_archived_meanwhile(make_user, individual_data):
    """`checked`: the import looked the identities up itself; one archived since then fails the unique
    constraint on the first try, and the second try looks and refuses it as a duplicate."""
    clerk = make_user("clerk")
    data = individual_data()
    existing, _ = customer_create(actor=clerk, kind="individual", data=data)  # "meanwhile"

    result = customer_bulk_create(actor=clerk, kind="individual", rows=[{**data, "name": "另一人"},
                                                                        individual_data()], checked=True)

    assert result.created == 1
    assert refusals(result) == {(0, "id_number", "duplicate")}
    assert existing.archive_no in result.refused[0].message
    assert Customer.objects.count() == 2


def test_duplicate_outside_scope_does_not_reveal_the_archive_number(make_user, individual_data):
    data = individual_data()
    customer_create(actor=make_user("clerk", unit="GZ"), kind="individual", data=data)

    result = customer_bulk_create(actor=make_user("clerk", unit="SZ"), kind="individual", rows=[data])

    assert refusals(result) == {(0, "id_number", "duplicate")}
    assert "KH" not in result.refused[0].message


def test_audit_chain_still_verifies_after_bulk_and_single_creates(make_user, individual_data):
    clerk = make_user("clerk")
    customer_create(actor=clerk, kind="individual", data=individual_data())
    customer_bulk_create(actor=clerk, kind="individual", rows=[individual_data() for _ in range(7)],
                         batch_size=3)
    customer_create(actor=clerk, kind="individual", data=individual_data())

    verdict = audit_verify()

    assert verdict.ok, verdict.problem
    assert AuditEntry.objects.filter(action="customer.create").count() == 9


def test_each_batch_commits_and_reports_progress(make_user, individual_data):
    seen = []
    result = customer_bulk_create(actor=make_user("clerk"), kind="individual",
                                  rows=[individual_data() for _ in range(5)], batch_size=2,
                                  progress=lambda done, total: seen.append((done, total)))
    assert result.created == 5
    assert seen == [(2, 5), (4, 5), (5, 5)]
    numbers = [Customer.objects.get(pk=pk).archive_no for pk in result.created_ids]
    assert numbers == sorted(numbers)


def test_a_failing_batch_loses_only_itself_never_half_a_row(make_user, individual_data, monkeypatch):
    real = bulk.audit_log_many
    calls = {"n": 0}

    def fail_on_second_batch(pending):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(pending)

    monkeypatch.setattr(bulk, "audit_log_many", fail_on_second_batch)
    with pytest.raises(BulkInterrupted) as exc:
        customer_bulk_create(actor=make_user("clerk"), kind="individual",
                             rows=[individual_data() for _ in range(6)], batch_size=2)

    assert exc.value.batch_start == 2 and exc.value.result.created == 2
    assert sorted(Customer.objects.values_list("pk", flat=True)) == sorted(exc.value.result.created_ids)
    assert Customer.history.count() == 2
    assert audit_verify().ok


def test_wrong_types_and_overlong_values_refuse_the_row_not_the_batch(make_user, individual_data):
    rows = [individual_data(occupation_class="abc"), individual_data(name="张" * 201),
            individual_data(id_valid_to="2031-02-30"), individual_data(marital_status="complicated"),
            individual_data(id_valid_to="2031-02-28", annual_income="120000.50"), "not a row"]

    result = customer_bulk_create(actor=make_user("clerk"), kind="individual", rows=rows)

    assert result.created == 1 and result.refused_rows == [0, 1, 2, 3, 5]
    assert {(e.index, e.field) for e in result.refused if e.index in (1, 2, 3)} == {
        (1, "name"), (2, "id_valid_to"), (3, "marital_status")}
    c = Customer.objects.get(pk=result.ids_by_index[4])
    assert c.id_valid_to == datetime.date(2031, 2, 28) and c.annual_income == Decimal("120000.50")


def test_agent_owns_what_it_enters_and_a_clerk_cannot_set_the_aml_risk(make_user, individual_data):
    agent = make_user("agent")
    clerk = make_user("clerk")

    by_agent = customer_bulk_create(actor=agent, kind="individual", rows=[individual_data()])
    by_clerk = customer_bulk_create(actor=clerk, kind="individual",
                                    rows=[individual_data(aml_risk="high", source_of_funds="工资")])

    assert Customer.objects.get(pk=by_agent.created_ids[0]).agent_id == agent.pk
    c = Customer.objects.get(pk=by_clerk.created_ids[0])
    assert c.aml_risk == "low" and c.source_of_funds == "工资"


def test_unit_and_agent_are_checked_against_the_actors_scope(make_user, units, individual_data):
    clerk = make_user("clerk", unit="SZ")
    agent = make_user("agent", unit="NS")
    rows = [individual_data(unit_id=units["NS"].pk, agent_id=agent.pk),
            individual_data(unit_id=units["GZ"].pk), individual_data(agent_id=clerk.pk)]

    result = customer_bulk_create(actor=clerk, kind="individual", rows=rows)

    assert refusals(result) == {(1, "unit_id", "not_found"), (2, "agent_id", "not_found")}
    c = Customer.objects.get(pk=result.ids_by_index[0])
    assert (c.unit_id, c.agent_id) == (units["NS"].pk, agent.pk)


def test_companies_are_created_with_beneficial_owners_and_other_insurer_policies(make_user, corporate_data):
    admin = make_user("admin", unit="HQ")
    owner_id = make_resident_id(datetime.date(1970, 3, 4), "F", region="440305")
    row = corporate_data(beneficial_owners=[{"name": "陈红", "ownership_kind": "equity", "percentage": "60",
                                             "id_type": "resident_id", "id_number": owner_id}],
                         other_policies=[{"insurer": "中国人寿", "line": "团体意外险", "premium": "12000"}])
    bad = corporate_data(beneficial_owners=[{"name": "赵六", "ownership_kind": "equity", "percentage": "10"}])

    result = customer_bulk_create(actor=admin, kind="corporate", rows=[row, bad])

    assert refusals(result) == {(1, "beneficial_owners[0].percentage", "threshold")}
    c = Customer.objects.get(pk=result.created_ids[0])
    assert c.kind == "corporate" and c.id_type == "uscc" and c.id_number == row["uscc"]
    bo = BeneficialOwner.objects.get(customer=c)
    assert bo.id_number == owner_id and bo.birth_date == datetime.date(1970, 3, 4) and bo.gender == "F"
    assert OtherInsurerPolicy.objects.get(customer=c).insurer == "中国人寿"
    single, _ = customer_create(actor=admin, kind="corporate",
                                data={**corporate_data(), "beneficial_owners": row["beneficial_owners"]})
    assert c.completeness == single.completeness


def test_a_role_that_may_not_create_is_refused_outright(make_user, individual_data):
    with pytest.raises(NotAllowed):
        customer_bulk_create(actor=make_user("underwriter"), kind="individual", rows=[individual_data()])
    assert Customer.objects.count() == 0


def test_the_fast_insert_stores_archives_and_history_as_bulk_create_with_history_does(
    make_user, individual_data
):
    # Given two archives that differ only in their identity, one written by insert_many_with_history
    # and one by simple-history's bulk_create_with_history
    from simple_history.utils import bulk_create_with_history

    from insurdesk.common.bulk import insert_many_with_history

    clerk = make_user("clerk")
    ctx = bulk._Context(clerk)
    data = individual_data()
    other = dict(data, id_number=make_resident_id(data["birth_date"], data["gender"], region="310104"))
    fast = bulk._prepare_row(ctx, "individual", 0, dict(data)).customer
    slow = bulk._prepare_row(ctx, "individual", 1, other).customer
    fast.archive_no, slow.archive_no = "T0000000001", "T0000000002"

    insert_many_with_history([fast], user=ctx.user)
    bulk_create_with_history([slow], Customer, default_user=ctx.user)

    # Then both read back the same, field by field, and so do their history rows
    assert fast.pk and slow.pk and fast.pk != slow.pk
    differ = {"id", "archive_no", "id_number", "id_hash", "created_at", "updated_at"}
    a, b = Customer.objects.get(pk=fast.pk), Customer.objects.get(pk=slow.pk)
    assert a.id_number == data["id_number"]
    for f in Customer._meta.concrete_fields:
        if f.name not in differ:
            assert getattr(a, f.attname) == getattr(b, f.attname), f.name
    ha, hb = Customer.history.get(id=fast.pk), Customer.history.get(id=slow.pk)
    assert ha.id_number == data["id_number"] and ha.history_user_id == clerk.pk
    for f in Customer.history.model._meta.concrete_fields:
        if f.name not in differ | {"history_id", "history_date"}:
            assert getattr(ha, f.attname) == getattr(hb, f.attname), f.name
