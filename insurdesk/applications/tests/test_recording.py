"""Sales recording (双录): the rules flag the sale; issue waits for an attached and checked recording."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from insurdesk.applications.models import State
from insurdesk.applications.services import (
    application_create,
    application_lock,
    application_recording_attach,
    application_recording_check,
    application_second_entry,
    application_submit,
    application_transition,
)
from insurdesk.applications.testing import second_entry_of
from insurdesk.common.errors import IllegalTransition, NotAllowed, ValidationFailed
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def codes(exc):
    return {(e.field, e.code) for e in exc.value.errors}


MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def video(name="sale.mp4", content_type="video/mp4", size=64, content=None):
    """An upload whose bytes are an MP4's (or `content`), whatever it claims to be."""
    body = content if content is not None else (MP4_HEAD + b"\x00" * size)[:size]
    return SimpleUploadedFile(name, body, content_type=content_type)


@pytest.fixture
def senior(people):
    """A policyholder aged 60 or more, insuring himself."""
    born = datetime.date.today().replace(year=datetime.date.today().year - 65, month=1, day=1)
    c, _ = customer_create(
        actor=None,
        kind="individual",
        data={
            "name": "陈老伯",
            "id_number": make_resident_id(born, "M", seq=51),
            "unit_id": people["clerk"].unit_id,
            "agent_id": people["agent"].pk,
        },
    )
    return c


def test_a_senior_policyholder_on_a_long_policy_needs_a_recording(people, app_input, senior):
    lines = [{"product_code": "L102", "coverage_term": "20y", "sum_insured": "100000", "premium": "3000"}]
    data = app_input(
        policyholder_id=senior.pk,
        insured_id=None,
        relationship="self",
        lines=lines,
        total_premium="3000",
        payment_term="10y",
    )
    app, _ = application_create(actor=people["clerk"], data=data)
    # L102's age limit is 55: a warning for underwriting, the recording rule regardless.
    assert app.recording_required and app.recording_reasons == ["senior"] and not app.recording_ok
    short = [{"product_code": "A401", "coverage_term": "1y", "sum_insured": "100000", "premium": "300"}]
    app2, _ = application_create(
        actor=people["clerk"],
        data={
            **data,
            "lines": short,
            "total_premium": "300",
            "payment_mode": "single",
            "payment_term": "single",
        },
    )
    assert not app2.recording_required and app2.recording_ok


def test_bank_channel_and_unit_linked_sales_need_a_recording(people, app_input):
    app, _ = application_create(
        actor=people["clerk"],
        data=app_input(
            business_source="intermediary",
            agency_name="工商银行深圳分行",
            agency_kind="bank",
            commission_ratio="5",
        ),
    )
    assert app.recording_reasons == ["channel"]
    lines = [{"product_code": "U501", "coverage_term": "10y", "sum_insured": "100000", "premium": "50000"}]
    app, _ = application_create(
        actor=people["clerk"],
        data=app_input(lines=lines, total_premium="50000", payment_mode="single", payment_term="single"),
    )
    assert app.recording_reasons == ["unit_linked"]


def test_the_file_must_be_audio_or_video_of_a_bounded_size(people, app_input, settings):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    with pytest.raises(ValidationFailed) as exc:
        application_recording_attach(
            actor=people["clerk"], application_id=app.pk, file=video("form.pdf", "application/pdf")
        )
    assert codes(exc) & {("file", "content_type"), ("file", "extension")}
    # A file that only claims to be a video is told by its bytes.
    with pytest.raises(ValidationFailed) as exc:
        application_recording_attach(
            actor=people["clerk"], application_id=app.pk, file=video(content=b"MZ\x90\x00" + b"\x00" * 60)
        )
    assert ("file", "content_type") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        application_recording_attach(actor=people["clerk"], application_id=app.pk, file=video(size=0))
    assert ("file", "empty") in codes(exc)
    settings.INSURDESK_RECORDING_MAX_BYTES = 100
    with pytest.raises(ValidationFailed) as exc:
        application_recording_attach(actor=people["clerk"], application_id=app.pk, file=video(size=101))
    assert ("file", "too_large") in codes(exc)
    with pytest.raises(ValidationFailed) as exc:
        application_recording_attach(actor=people["clerk"], application_id=app.pk)
    assert ("file", "required") in codes(exc)
    app.refresh_from_db()
    assert not app.has_recording
    app = application_recording_attach(
        actor=people["clerk"], application_id=app.pk, file=video("录像.MP4", size=100)
    )
    assert app.recording_content_type == "video/mp4" and app.recording_size == 100
    assert app.recording_file.name.startswith("recordings/") and app.recording_attached_by == people["clerk"]


def test_who_checked_the_recording_and_when(people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    with pytest.raises(IllegalTransition):
        application_recording_check(actor=people["reviewer"], application_id=app.pk)
    application_recording_attach(actor=people["agent"], application_id=app.pk, reference="SL2026-000123")
    with pytest.raises(NotAllowed):
        application_recording_check(actor=people["agent"], application_id=app.pk)
    with pytest.raises(ValidationFailed):
        application_recording_check(actor=people["compliance"], application_id=app.pk, passed=False)
    app = application_recording_check(
        actor=people["compliance"], application_id=app.pk, passed=False, note="未出示身份证件"
    )
    assert app.recording_checked_at is None and "不通过" in app.recording_check_note
    app = application_recording_check(actor=people["compliance"], application_id=app.pk, note="完整清晰")
    assert app.recording_checked_by == people["compliance"] and app.recording_checked_at
    # A new recording needs a new check.
    app = application_recording_attach(
        actor=people["clerk"], application_id=app.pk, reference="SL2026-000124"
    )
    assert app.recording_checked_at is None


def test_the_uploader_cannot_check_their_own_recording(people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    application_recording_attach(actor=people["reviewer"], application_id=app.pk, reference="SL1")
    with pytest.raises(NotAllowed) as exc:
        application_recording_check(actor=people["reviewer"], application_id=app.pk)
    assert ("", "same_person") in codes(exc)


def _accepted(people, app):
    application_second_entry(actor=people["clerk2"], application_id=app.pk, data=second_entry_of(app))
    application_submit(actor=people["clerk"], application_id=app.pk)
    with transaction.atomic():
        application_transition(actor=people["admin"], application=application_lock(app.pk), name="accept")


def test_issue_waits_for_a_checked_recording(people, app_input, senior):
    lines = [{"product_code": "L101", "coverage_term": "life", "sum_insured": "100000", "premium": "3000"}]
    app, _ = application_create(
        actor=people["clerk"],
        data=app_input(
            policyholder_id=senior.pk, insured_id=None, relationship="self", lines=lines, total_premium="3000"
        ),
    )
    _accepted(people, app)
    with pytest.raises(IllegalTransition) as exc, transaction.atomic():
        application_transition(actor=people["admin"], application=application_lock(app.pk), name="issue")
    assert ("recording", "recording_required") in codes(exc)
    application_recording_attach(actor=people["clerk"], application_id=app.pk, file=video())
    application_recording_check(actor=people["compliance"], application_id=app.pk)
    with transaction.atomic():
        app = application_transition(
            actor=people["admin"], application=application_lock(app.pk), name="issue"
        )
    assert app.state == State.ISSUED and app.recording_ok


def test_an_application_without_the_rule_issues_without_a_recording(people, app_input):
    app, _ = application_create(actor=people["clerk"], data=app_input())
    _accepted(people, app)
    with transaction.atomic():
        app = application_transition(
            actor=people["admin"], application=application_lock(app.pk), name="issue"
        )
    assert app.state == State.ISSUED
