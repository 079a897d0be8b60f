"""The import refuses names and addresses whose look hides what they hold (issue 15.10), row by row."""

import pytest

from insurdesk.customers.models import Customer
from insurdesk.exchange.models import ImportIssue
from insurdesk.exchange.pipeline import import_file
from insurdesk.exchange.tests.conftest import person_id, write_csv

pytestmark = pytest.mark.django_db


def test_a_row_with_a_bidi_control_or_zero_width_space_is_refused_naming_the_column(root_unit, tmp_path):
    path = write_csv(
        tmp_path / "客户.csv",
        ["客户姓名", "身份证号码", "地址"],
        [
            ["张\u202e三gnp.exe", person_id(1), "北京市"],
            ["李\u200b四", person_id(2), "上海市"],
            ["王五", person_id(3), "广州市\u2067天河区"],
            ["赵六", person_id(4), "深圳市"],
        ],
    )
    run = import_file(actor=None, path=path)
    assert (run.created, run.refused) == (2, 2)
    # Zero-width characters pasted into a spreadsheet are dropped by the import's text cleaning, so what
    # is stored is what was seen; direction controls change what is seen, and the row is refused.
    assert sorted(Customer.objects.values_list("name", flat=True)) == sorted(["李四", "赵六"])
    issues = {(i.row, i.column, i.code) for i in ImportIssue.objects.filter(run=run)}
    assert {(2, "客户姓名", "bidi_control"), (4, "地址", "bidi_control")} <= issues
