"""`insurdesk aml rate` and `insurdesk compliance check` from the command line."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from insurdesk.compliance.models import AmlAssessment, Finding
from insurdesk.customers.models import Customer

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_rate_all_shows_progress_and_rows_per_second(person):
    person(pep=True)
    person(occupation="典当")
    person()
    out, err = run("aml", "rate", "--all", "--batch", "2")
    assert "rows/s" in err and "3/3" in err
    assert (
        "rated 3 customers" in out and "rows/s" in out and "高 1" in out and "中 1" in out and "低 1" in out
    )
    assert AmlAssessment.objects.count() == 3


def test_rate_some_customers_by_archive_number(person, officer):
    a, b = person(pep=True), person(pep=True)
    out, _ = run("aml", "rate", "--customer", a.archive_no, "--actor", "officer")
    assert "rated 1 customers" in out
    assert (
        Customer.objects.get(pk=a.pk).aml_risk == "high" and Customer.objects.get(pk=b.pk).aml_risk == "low"
    )
    assert AmlAssessment.objects.get().rated_by == officer


def test_rate_refuses_unknown_archives_and_actors(person):
    with pytest.raises(CommandError, match="KH0000009999"):
        run("aml", "rate", "--customer", "KH0000009999")
    with pytest.raises(CommandError, match="nobody"):
        run("aml", "rate", "--all", "--actor", "nobody")
    with pytest.raises(CommandError):
        run("aml", "rate")


def test_a_role_without_the_right_cannot_rate_from_the_command_line(person, make_user):
    make_user("clerk", username="zhang")
    with pytest.raises(CommandError, match="forbidden"):
        run("aml", "rate", "--all", "--actor", "zhang")


def test_compliance_check_prints_counts_and_is_idempotent(person):
    person(pep=True)
    out, err = run("compliance", "check")
    assert "pep_not_high" in out and "new 1" in out and "ok: run" in out and "政治公众人物" in err
    out, _ = run("compliance", "check", "--check", "pep_not_high")
    assert "found 1, new 0" in out
    assert Finding.objects.filter(check_code="pep_not_high").count() == 1
