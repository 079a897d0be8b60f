"""The declared retention table: legal sources, the law's minimums, configuration that may only lengthen."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from insurdesk.lifecycle.rules import DECLARED, add_years, parse_overrides, recording_rule, retention_rules


def test_every_rule_names_its_legal_source_and_anchor():
    for rule in DECLARED:
        assert rule.source.startswith("《") and rule.anchor and rule.label and rule.records
        assert rule.years >= rule.minimum_years


def test_the_aml_and_recording_periods_follow_the_law():
    rules = retention_rules("")
    assert rules["aml_identity"].years == rules["aml_transaction"].years == 10
    assert "第三十四条" in rules["aml_identity"].source
    assert recording_rule(rules, long_term=False).years == 5
    assert recording_rule(rules, long_term=True).years == 10
    assert "54号" in rules["sales_recording_short"].source
    assert "第十九条" in rules["personal_info"].source


def test_years_are_counted_by_calendar_day_and_29_february_becomes_28():
    assert add_years(datetime.date(2016, 3, 1), 10) == datetime.date(2026, 3, 1)
    assert add_years(datetime.date(2016, 2, 29), 10) == datetime.date(2026, 2, 28)
    assert add_years(datetime.date(2016, 2, 29), 8) == datetime.date(2024, 2, 29)
    assert add_years(datetime.date(2026, 2, 28), -10) == datetime.date(2016, 2, 28)


def test_configuration_lengthens_a_period_or_shortens_the_pipl_one():
    rules = retention_rules("aml_identity=15, personal_info=2")
    assert rules["aml_identity"].years == 15 and rules["personal_info"].years == 2
    assert retention_rules({"sales_recording_short": 6})["sales_recording_short"].years == 6


@pytest.mark.parametrize(
    "value, message",
    [
        ("aml_identity=9", "shorter than the 10 years"),
        ("sales_recording_long=5", "shorter than the 10 years"),
        ("unknown=3", "unknown rule"),
        ("personal_info=three", "not a whole number"),
        ("personal_info", "not 'rule=years'"),
    ],
)
def test_configuration_below_the_law_or_unreadable_is_refused(value, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        retention_rules(value)


def test_the_system_check_refuses_a_period_shorter_than_the_law(settings):
    settings.INSURDESK_RETENTION_YEARS = "aml_transaction=3"
    with pytest.raises(SystemCheckError, match="lifecycle.E002"):
        call_command("check")


def test_overrides_parse_to_a_dict():
    assert parse_overrides("") == {} and parse_overrides("personal_info=3,") == {"personal_info": 3}
