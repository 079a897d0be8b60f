"""The archive table keeps a policy number as written: trimmed, upper-cased, hyphens kept (issue 16)."""

from __future__ import annotations

import pytest

from insurdesk.exchange.normalize import policy_no
from insurdesk.exchange.tests.conftest import write_csv
from insurdesk.exchange.tests.test_archive_parties import FATHER, HEADERS, row
from insurdesk.exchange.tests.test_import import run_import
from insurdesk.policies.models import Policy

pytestmark = pytest.mark.django_db


def test_a_number_is_trimmed_and_upper_cased_with_its_hyphens():
    assert policy_no(" bar-p-002 ") == "BAR-P-002"
    assert policy_no("ＢＡＲ－Ｐ－００２") == "BAR-P-002"
    assert policy_no("BAR P 002") == "BARP002"


def test_an_imported_number_keeps_its_hyphens_and_a_second_import_matches_it(root_unit, tmp_path):
    path = write_csv(tmp_path / "a.csv", HEADERS, [row("李父", FATHER, " bar-p-002 ")])
    assert run_import(path)[0] == 0
    policy = Policy.objects.get()
    assert policy.policy_no == "BAR-P-002" and policy.policy_key == "BARP002"
    assert run_import(write_csv(tmp_path / "b.csv", HEADERS, [row("李父", FATHER, "BAR-P-002")]))[0] == 0
    assert Policy.objects.count() == 1
