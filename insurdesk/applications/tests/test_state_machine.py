"""Random action sequences by random users never reach an illegal state; a refused action changes nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurdesk.applications.models import Application, ProblemItem, ProblemState, State
from insurdesk.applications.services import (
    application_create,
    application_lock,
    application_recording_attach,
    application_recording_check,
    application_second_entry,
    application_submit,
    application_transition,
    application_withdraw,
    problem_resolve,
)
from insurdesk.applications.testing import second_entry_of
from insurdesk.applications.workflow import OPEN_PROBLEM_STATES
from insurdesk.common.errors import DomainError

ACTIONS = (
    "second_entry",
    "second_entry_typo",
    "resolve",
    "submit",
    "withdraw",
    "attach",
    "check",
    "accept",
    "decline",
    "postpone",
    "request_evidence",
    "evidence_received",
    "issue",
)
# What each state may become, read from the transitions on Application.
ALLOWED = {
    State.SECOND_ENTRY: {State.SECOND_ENTRY, State.ENTERED, State.PROBLEMS, State.WITHDRAWN},
    State.PROBLEMS: {State.PROBLEMS, State.ENTERED, State.WITHDRAWN},
    State.ENTERED: {State.ENTERED, State.UNDERWRITING, State.WITHDRAWN},
    State.UNDERWRITING: {
        State.UNDERWRITING,
        State.EVIDENCE,
        State.ACCEPTED,
        State.POSTPONED,
        State.DECLINED,
        State.WITHDRAWN,
    },
    State.EVIDENCE: {State.EVIDENCE, State.UNDERWRITING, State.WITHDRAWN},
    State.ACCEPTED: {State.ACCEPTED, State.ISSUED, State.WITHDRAWN},
    State.POSTPONED: {State.POSTPONED},
    State.DECLINED: {State.DECLINED},
    State.ISSUED: {State.ISSUED},
    State.WITHDRAWN: {State.WITHDRAWN},
}


# The moves that fit each state, so that sequences also travel the whole way to issue.
FITTING = {
    State.SECOND_ENTRY: ("second_entry", "second_entry_typo", "attach"),
    State.PROBLEMS: ("resolve", "attach"),
    State.ENTERED: ("submit", "attach", "check"),
    State.UNDERWRITING: ("accept", "request_evidence", "decline", "postpone", "check"),
    State.EVIDENCE: ("evidence_received",),
    State.ACCEPTED: ("issue", "attach", "check"),
}


def snapshot(app_id: int) -> tuple:
    app = Application.objects.get(pk=app_id)
    items = tuple(
        ProblemItem.objects.filter(application_id=app_id)
        .order_by("serial_no")
        .values_list("serial_no", "state", "resolution")
    )
    lines = tuple(app.lines.order_by("seq").values_list("product_id", "sum_insured", "premium"))
    return (
        app.state,
        app.version,
        app.second_entry_by_id,
        app.total_premium,
        app.payment_term,
        app.recording_attached_at,
        app.recording_checked_at,
        items,
        lines,
    )


def run(action: str, actor, app: Application, data) -> None:
    if action in ("second_entry", "second_entry_typo"):
        second = second_entry_of(app) if app.lines.exists() else {}
        if action == "second_entry_typo" and second:
            second["total_premium"] = "1.00"
        application_second_entry(actor=actor, application_id=app.pk, data=second)
    elif action == "resolve":
        items = list(app.problems.all())
        item = data.draw(st.sampled_from(items)) if items else None
        problem_resolve(
            actor=actor,
            application_id=app.pk,
            problem_id=item.pk if item else 0,
            choice=data.draw(st.sampled_from(["first", "second", "corrected", "answered"])),
            value=data.draw(st.sampled_from(["", "15000.00", "x"])),
            note="核对影像",
        )
    elif action == "submit":
        application_submit(actor=actor, application_id=app.pk)
    elif action == "withdraw":
        application_withdraw(actor=actor, application_id=app.pk, reason="客户撤回")
    elif action == "attach":
        upload = SimpleUploadedFile("sale.mp4", b"\x00\x00\x00\x18ftypmp42", content_type="video/mp4")
        application_recording_attach(actor=actor, application_id=app.pk, file=upload)
    elif action == "check":
        application_recording_check(actor=actor, application_id=app.pk, passed=True, note="清晰完整")
    else:
        with transaction.atomic():
            application_transition(
                actor=actor, application=application_lock(app.pk, actor=actor), name=action
            )


@pytest.fixture
def cast(people, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return [
        people["clerk"],
        people["clerk2"],
        people["reviewer"],
        people["admin"],
        people["agent"],
        make_user("underwriter"),
        make_user("cs"),
        people["compliance"],
    ]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_actions_never_reach_an_illegal_state(cast, people, app_input, data):
    senior = data.draw(st.booleans())
    app, _ = application_create(actor=people["clerk"], data=app_input())
    if senior:
        Application.objects.filter(pk=app.pk).update(recording_required=True, recording_reasons=["senior"])
    for _ in range(data.draw(st.integers(min_value=1, max_value=30))):
        app = Application.objects.get(pk=app.pk)
        guided = app.state in FITTING and data.draw(st.booleans())
        action = data.draw(st.sampled_from(FITTING[app.state] if guided else ACTIONS))
        actor = data.draw(st.sampled_from(cast))
        before = snapshot(app.pk)
        try:
            with transaction.atomic():
                run(action, actor, app, data)
        except DomainError:
            assert snapshot(app.pk) == before, (
                f"{action} by {actor.role} was refused but changed the application"
            )
            continue
        after = Application.objects.get(pk=app.pk)
        assert after.state in ALLOWED[before[0]], f"{action}: {before[0]} -> {after.state}"
        open_entry = after.problems.filter(arose_at="entry", state__in=OPEN_PROBLEM_STATES).exists()
        if after.state == State.PROBLEMS:
            assert open_entry
        if after.state not in (State.SECOND_ENTRY, State.PROBLEMS, State.WITHDRAWN):
            assert after.second_entry_by_id and after.second_entry_by_id != after.first_entry_by_id
            assert not open_entry
        if after.state == State.ISSUED:
            assert after.recording_ok
        if after.state == State.WITHDRAWN:
            assert not after.problems.filter(state__in=OPEN_PROBLEM_STATES).exists()
        assert all(p.state in ProblemState.values for p in after.problems.all())


def test_an_illegal_transition_changes_nothing(people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    before = snapshot(app.pk)
    for name in ("submit", "accept", "issue", "problems_cleared", "evidence_received"):
        with pytest.raises(DomainError), transaction.atomic():
            application_transition(actor=people["admin"], application=application_lock(app.pk), name=name)
    assert snapshot(app.pk) == before


def test_the_state_field_cannot_be_assigned(people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    with pytest.raises(AttributeError):
        app.state = State.ISSUED
