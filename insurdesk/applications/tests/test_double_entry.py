"""Double entry (双录入): blind second entry by another user, problem items, resolution, mismatch rates."""

from decimal import Decimal

import pytest

from insurdesk.applications.models import Application, ErrorParty, IssueType, ProblemState, State
from insurdesk.applications.selectors import entry_error_stats, problems_by_owner
from insurdesk.applications.services import (
    application_create,
    application_second_entry,
    application_submit,
    application_update,
    problem_assign,
    problem_raise,
    problem_reply,
    problem_resolve,
    problem_send,
)
from insurdesk.applications.testing import second_entry_of
from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import IllegalTransition, NotAllowed, ValidationFailed


def codes(exc):
    return {(e.field, e.code) for e in exc.value.errors}


@pytest.fixture
def entered(people, app_input):
    """entered(**overrides) -> an application after first entry by the clerk."""

    def make(**overrides):
        return application_create(actor=people["clerk"], data=app_input(**overrides))[0]

    return make


def test_the_same_person_can_never_key_both_entries(people, entered):
    app = entered()
    with pytest.raises(NotAllowed) as exc:
        application_second_entry(actor=people["clerk"], application_id=app.pk, data=second_entry_of(app))
    assert ("", "same_person") in codes(exc) and "初录人" in exc.value.errors[0].message
    app.refresh_from_db()
    assert app.state == State.SECOND_ENTRY and app.second_entry_by is None


def test_an_agreeing_second_entry_moves_on(people, entered):
    app = entered()
    app, problems = application_second_entry(
        actor=people["clerk2"], application_id=app.pk, data=second_entry_of(app)
    )
    assert problems == [] and app.state == State.ENTERED
    assert app.second_entry_by == people["clerk2"] and app.key_field_count == 15
    assert application_submit(actor=people["clerk"], application_id=app.pk).state == State.UNDERWRITING


def test_formatting_differences_are_not_mismatches(people, entered):
    app = entered()
    second = second_entry_of(app)
    second["policyholder"]["id_number"] = second["policyholder"]["id_number"].lower()
    second["policyholder"]["name"] = " 张伟 "
    second["lines"][0]["sum_insured"] = "500,000"
    second["lines"][1]["premium"] = "3000"
    second["payment_term"] = "20Y"
    _, problems = application_second_entry(actor=people["clerk2"], application_id=app.pk, data=second)
    assert problems == []


def test_every_difference_becomes_a_problem_item_with_both_values(people, entered):
    app = entered(bank_account="6222021234567890", bank_name="工商银行", account_holder="张伟")
    second = second_entry_of(app)
    second["insured"]["id_number"] = second["insured"]["id_number"][:-2] + "99"
    second["lines"][1]["sum_insured"] = "20000"
    second["beneficiaries"][0]["share"] = "10"
    second.pop("bank_account")
    app, problems = application_second_entry(actor=people["reviewer"], application_id=app.pk, data=second)
    assert app.state == State.PROBLEMS
    got = {p.field: (p.first_value, p.second_value) for p in problems}
    assert got == {
        "insured.id_number": (people["wife"].id_number, second["insured"]["id_number"]),
        "lines[1].sum_insured": ("200000.00", "20000.00"),
        "bank_account": ("6222021234567890", None),
        "beneficiaries[0].share": ("100.00", "10.00"),
    }
    item = problems[0]
    assert (
        item.serial_no == 1
        and item.field_label == "被保险人证件号码"
        and item.issue_type == IssueType.MISMATCH
    )
    assert item.state == ProblemState.OPEN and item.arose_at == "entry" and item.route == "correction_desk"
    assert [p.serial_no for p in problems] == [1, 2, 3, 4]
    with pytest.raises(IllegalTransition):
        application_submit(actor=people["clerk"], application_id=app.pk)
    # The audit names the fields but never the values keyed.
    entry = AuditEntry.objects.get(action="application.second_entry")
    assert entry.detail["mismatches"] == list(got) and people["wife"].id_number not in str(entry.detail)


def test_a_missing_or_extra_line_is_a_difference(people, entered):
    app = entered()
    second = second_entry_of(app)
    second["lines"] = second["lines"][:1] + [
        second["lines"][1],
        {"product_code": "A401", "sum_insured": "1", "premium": "1"},
    ]
    _, problems = application_second_entry(actor=people["clerk2"], application_id=app.pk, data=second)
    assert [p.field for p in problems] == [
        "lines[2].product_code",
        "lines[2].sum_insured",
        "lines[2].premium",
    ]
    assert all(p.first_value is None for p in problems)


def test_an_unreadable_amount_in_second_entry_is_refused(people, entered):
    app = entered()
    second = second_entry_of(app)
    second["total_premium"] = "15OOO"
    with pytest.raises(ValidationFailed) as exc:
        application_second_entry(actor=people["clerk2"], application_id=app.pk, data=second)
    assert ("total_premium", "format") in codes(exc)
    assert Application.objects.get(pk=app.pk).state == State.SECOND_ENTRY


def _mismatch(people, app, mutate):
    second = second_entry_of(app)
    mutate(second)
    return application_second_entry(actor=people["clerk2"], application_id=app.pk, data=second)


def test_resolving_with_the_first_value_counts_against_the_second_clerk(people, entered):
    app = entered()
    app, (item,) = _mismatch(people, app, lambda s: s["lines"][1].__setitem__("sum_insured", "20000"))
    item = problem_resolve(
        actor=people["reviewer"],
        application_id=app.pk,
        problem_id=item.pk,
        choice="first",
        note="影像为 200000",
    )
    assert (
        item.state == ProblemState.RESOLVED and item.error_party == ErrorParty.SECOND and item.counts_as_error
    )
    assert (
        item.resolved_by == people["reviewer"] and item.replied_by == people["reviewer"] and item.reply_method
    )
    app.refresh_from_db()
    assert app.state == State.ENTERED and app.lines.get(seq=2).sum_insured == Decimal("200000.00")


def test_resolving_with_the_second_value_writes_it_into_the_application(people, entered):
    app = entered()
    app, (item,) = _mismatch(people, app, lambda s: s["beneficiaries"][0].__setitem__("name", "王晓明"))
    problem_resolve(
        actor=people["reviewer"],
        application_id=app.pk,
        problem_id=item.pk,
        choice="second",
        note="影像为 王晓明",
    )
    app.refresh_from_db()
    assert app.beneficiaries.get().name == "王晓明" and app.state == State.ENTERED
    item.refresh_from_db()
    assert item.error_party == ErrorParty.FIRST


def test_a_corrected_value_is_validated_and_counts_against_both(people, entered):
    app = entered()
    app, (item,) = _mismatch(people, app, lambda s: s.__setitem__("payment_term", "10y"))
    with pytest.raises(ValidationFailed) as exc:
        problem_resolve(
            actor=people["reviewer"],
            application_id=app.pk,
            problem_id=item.pk,
            choice="corrected",
            value="",
            note="x",
        )
    assert ("value", "required") in codes(exc)
    with pytest.raises(ValidationFailed):
        problem_resolve(
            actor=people["reviewer"],
            application_id=app.pk,
            problem_id=item.pk,
            choice="corrected",
            value="forever",
            note="x",
        )
    item = problem_resolve(
        actor=people["reviewer"],
        application_id=app.pk,
        problem_id=item.pk,
        choice="corrected",
        value="10y",
        note="影像为10年交",
        error_party="first",
    )
    assert item.error_party == ErrorParty.FIRST and item.resolved_value == "10y"
    app.refresh_from_db()
    assert app.payment_term == "10y" and app.state == State.ENTERED


def test_only_reviewers_resolve_and_a_note_is_required(people, entered):
    app = entered()
    app, (item,) = _mismatch(people, app, lambda s: s.__setitem__("total_premium", "1500"))
    with pytest.raises(NotAllowed):
        problem_resolve(
            actor=people["clerk"], application_id=app.pk, problem_id=item.pk, choice="first", note="x"
        )
    with pytest.raises(ValidationFailed) as exc:
        problem_resolve(
            actor=people["reviewer"], application_id=app.pk, problem_id=item.pk, choice="first", note=""
        )
    assert ("note", "required") in codes(exc)
    with pytest.raises(ValidationFailed):
        problem_resolve(
            actor=people["reviewer"], application_id=app.pk, problem_id=item.pk, choice="answered", note="x"
        )
    item.refresh_from_db()
    assert item.state == ProblemState.OPEN


def test_a_resolved_item_cannot_be_resolved_again(people, entered):
    app = entered()
    app, (item,) = _mismatch(people, app, lambda s: s.__setitem__("total_premium", "1500"))
    problem_resolve(
        actor=people["reviewer"], application_id=app.pk, problem_id=item.pk, choice="first", note="x"
    )
    with pytest.raises(IllegalTransition):
        problem_resolve(
            actor=people["reviewer"], application_id=app.pk, problem_id=item.pk, choice="second", note="y"
        )


def test_the_application_waits_for_every_entry_item(people, entered):
    app = entered()

    def two(s):
        s["total_premium"] = "1500"
        s["payment_mode"] = "monthly"

    app, (a, b) = _mismatch(people, app, two)
    problem_resolve(
        actor=people["reviewer"], application_id=app.pk, problem_id=a.pk, choice="first", note="x"
    )
    app.refresh_from_db()
    assert app.state == State.PROBLEMS
    problem_resolve(
        actor=people["reviewer"], application_id=app.pk, problem_id=b.pk, choice="first", note="x"
    )
    app.refresh_from_db()
    assert app.state == State.ENTERED


def test_a_resolution_that_breaks_the_total_raises_a_new_item(people, entered):
    app = entered()
    app, (item,) = _mismatch(people, app, lambda s: s["lines"][0].__setitem__("premium", "12500"))
    problem_resolve(
        actor=people["reviewer"],
        application_id=app.pk,
        problem_id=item.pk,
        choice="second",
        note="影像为 12500",
    )
    app.refresh_from_db()
    assert app.state == State.PROBLEMS
    new = app.problems.get(serial_no=2)
    assert new.issue_type == IssueType.INCONSISTENT and new.field == "total_premium"
    assert (new.first_value, new.second_value) == ("15000.00", "15500.00")
    problem_resolve(
        actor=people["reviewer"],
        application_id=app.pk,
        problem_id=new.pk,
        choice="second",
        note="合计按各险种之和",
        error_party="none",
    )
    app.refresh_from_db()
    assert app.state == State.ENTERED and app.total_premium == Decimal("15500.00")


def test_a_name_fixed_on_a_new_archive_corrects_the_archive(people, app_input):
    import datetime

    from insurdesk.identity.testing import make_resident_id

    data = app_input(
        insured={
            "new": {
                "kind": "individual",
                "name": "李方",
                "id_number": make_resident_id(datetime.date(1985, 1, 1), "F", seq=30),
            }
        }
    )
    app, _ = application_create(actor=people["clerk"], data=data)
    app, (item,) = _mismatch(people, app, lambda s: s["insured"].__setitem__("name", "李芳芳"))
    problem_resolve(
        actor=people["reviewer"], application_id=app.pk, problem_id=item.pk, choice="second", note="x"
    )
    app.refresh_from_db()
    assert app.insured_name == "李芳芳" and app.insured.name == "李芳芳"


def test_a_name_that_disagrees_with_an_existing_archive_is_refused(people, entered):
    app = entered()
    app, (item,) = _mismatch(people, app, lambda s: s["insured"].__setitem__("name", "李方"))
    with pytest.raises(ValidationFailed) as exc:
        problem_resolve(
            actor=people["reviewer"], application_id=app.pk, problem_id=item.pk, choice="second", note="x"
        )
    assert ("value", "archive_mismatch") in codes(exc)
    item.refresh_from_db()
    app.refresh_from_db()
    assert item.state == ProblemState.OPEN and app.insured_name == "李芳"


def test_an_id_number_resolved_to_another_archive_relinks_the_party(people, entered, make_user):
    import datetime

    from insurdesk.customers.services import customer_create
    from insurdesk.identity.testing import make_resident_id

    other, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "李芳",
            "id_number": make_resident_id(datetime.date(1982, 7, 8), "F", seq=40),
            "unit_id": people["clerk"].unit_id,
        },
    )
    app = entered()
    app, (item,) = _mismatch(people, app, lambda s: s["insured"].__setitem__("id_number", other.id_number))
    problem_resolve(
        actor=people["reviewer"], application_id=app.pk, problem_id=item.pk, choice="second", note="x"
    )
    app.refresh_from_db()
    assert app.insured == other and app.insured_id_number == other.id_number


def test_key_fields_are_locked_after_second_entry(people, entered):
    app = entered()
    app, _ = application_second_entry(
        actor=people["clerk2"], application_id=app.pk, data=second_entry_of(app)
    )
    with pytest.raises(ValidationFailed) as exc:
        application_update(actor=people["clerk"], application_id=app.pk, data={"total_premium": "1"})
    assert ("total_premium", "key_field_locked") in codes(exc)
    app, _ = application_update(actor=people["clerk"], application_id=app.pk, data={"notes": "补充说明"})
    assert app.notes == "补充说明"


def test_problem_items_can_go_to_the_customer_and_come_back(people, entered):
    app = entered()
    item = problem_raise(
        actor=people["clerk2"],
        application_id=app.pk,
        text="投保人未签名",
        issue_type="unsigned",
        route="customer",
        arose_at="entry",
    )
    assert item.serial_no == 1 and item.created_by == people["clerk2"]
    item = problem_send(actor=people["clerk2"], application_id=app.pk, problem_id=item.pk)
    assert item.state == ProblemState.SENT and item.sent_at
    with pytest.raises(IllegalTransition):
        problem_send(actor=people["clerk2"], application_id=app.pk, problem_id=item.pk)
    item = problem_reply(
        actor=people["clerk2"],
        application_id=app.pk,
        problem_id=item.pk,
        method="customer",
        reply="客户已补签",
    )
    assert item.state == ProblemState.REPLIED and item.replied_by == people["clerk2"]
    # An open entry item keeps a matching second entry out of `entered`.
    app, problems = application_second_entry(
        actor=people["reviewer"], application_id=app.pk, data=second_entry_of(app)
    )
    assert problems == [] and app.state == State.PROBLEMS
    item = problem_resolve(
        actor=people["reviewer"],
        application_id=app.pk,
        problem_id=item.pk,
        choice="answered",
        note="补签件已核对",
    )
    assert (
        item.reply_text == "客户已补签" and item.error_party == ErrorParty.NONE and not item.counts_as_error
    )
    app.refresh_from_db()
    assert app.state == State.ENTERED


def test_problem_items_by_owner(people, entered):
    app = entered()
    app, items = _mismatch(
        people, app, lambda s: (s.__setitem__("total_premium", "1"), s.__setitem__("payment_mode", "monthly"))
    )
    problem_assign(
        actor=people["reviewer"],
        application_id=app.pk,
        problem_id=items[0].pk,
        owner_id=people["reviewer"].pk,
    )
    rows = {
        (r["owner"].username if r["owner"] else None): r["count"]
        for r in problems_by_owner(viewer=people["reviewer"])
    }
    assert rows == {people["reviewer"].username: 1, None: 1}


def test_mismatch_rates_count_each_clerks_errors_over_fields_keyed(people, entered):
    a = entered()
    a, (item,) = _mismatch(people, a, lambda s: s.__setitem__("total_premium", "1500"))
    problem_resolve(
        actor=people["reviewer"], application_id=a.pk, problem_id=item.pk, choice="first", note="x"
    )
    b = entered()
    application_second_entry(actor=people["clerk2"], application_id=b.pk, data=second_entry_of(b))
    stats = {r["user"].username: r for r in entry_error_stats(viewer=people["reviewer"])}
    first, second = stats[people["clerk"].username], stats[people["clerk2"].username]
    assert (first["entries"], first["fields"], first["errors"], first["rate"]) == (2, 30, 0, Decimal("0.00"))
    assert (second["entries"], second["fields"], second["errors"], second["rate"]) == (
        2,
        30,
        1,
        Decimal("3.33"),
    )
