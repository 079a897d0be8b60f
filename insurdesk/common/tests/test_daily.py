"""`insurdesk daily`: each duty once a day, missed days caught up, a failing duty leaves no record."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from insurdesk.common import daily
from insurdesk.common.models import DailyRun

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def only(monkeypatch):
    """Replace the registry with the duties a test declares."""
    monkeypatch.setattr(daily, "_DUTIES", {})
    calls = []

    def add(name, order=1, fail_on=None):
        @daily.duty(name, order=order, title=name)
        def run(day):
            if day == fail_on:
                raise RuntimeError("boom")
            calls.append((name, day))
            return {"done": 1}

    return add, calls


def run(day):
    out = StringIO()
    call_command("daily", "--date", day.isoformat(), stdout=out)
    return out.getvalue()


def test_the_installed_apps_register_lapse_and_maturity():
    names = [d.name for d in daily.duties()]
    assert names.index("lapse") < names.index("maturity")


def test_a_second_run_on_the_same_day_does_nothing(only):
    add, calls = only
    add("a", order=1)
    add("b", order=2)
    assert "2026-12-08 a: done 1" in run(D(2026, 12, 8))
    assert calls == [("a", D(2026, 12, 8)), ("b", D(2026, 12, 8))]
    assert "already run" in run(D(2026, 12, 8))
    assert len(calls) == 2


def test_missed_days_are_caught_up_in_order(only):
    add, calls = only
    add("a")
    run(D(2026, 12, 1))
    run(D(2026, 12, 4))
    assert [day for _, day in calls] == [D(2026, 12, 1), D(2026, 12, 2), D(2026, 12, 3), D(2026, 12, 4)]


def test_a_long_gap_is_caught_up_for_a_month_at_most(only):
    add, calls = only
    add("a")
    run(D(2026, 1, 1))
    run(D(2026, 6, 1))
    assert len(calls) == 1 + daily_max()
    assert calls[1][1] == D(2026, 6, 1) - datetime.timedelta(days=daily_max() - 1)


def daily_max():
    from insurdesk.common.management.commands.daily import MAX_CATCH_UP_DAYS

    return MAX_CATCH_UP_DAYS


def test_a_failing_duty_records_nothing_and_runs_again_next_time(only):
    add, calls = only
    add("a", order=1)
    add("b", order=2, fail_on=D(2026, 12, 8))
    with pytest.raises(RuntimeError):
        run(D(2026, 12, 8))
    assert set(DailyRun.objects.values_list("duty", flat=True)) == {"a"}
    daily._DUTIES.clear()
    add("a", order=1)
    add("b", order=2)
    run(D(2026, 12, 8))
    assert calls.count(("a", D(2026, 12, 8))) == 1
    assert ("b", D(2026, 12, 8)) in calls


def test_a_bad_date_is_refused_with_its_rule():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("daily", "--date", "08/12/2026")
