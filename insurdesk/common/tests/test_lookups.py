"""`__any_of`: the same rows as `__in`, written as `= ANY(%s)` on PostgreSQL (common/lookups.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

NAMES = ["甲组", "乙组", "O'Brien", "a,b", '"q"', "{x}", "back\\slash", "  "]


@pytest.fixture
def groups():
    return [Group.objects.create(name=n).pk for n in NAMES]


def same(model, field: str, values) -> list:
    """The pks `field__any_of=values` finds, after checking `field__in` finds the same."""
    found = sorted(model.objects.filter(**{f"{field}__any_of": values}).values_list("pk", flat=True))
    assert found == sorted(model.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
    return found


def test_text_values_with_quotes_commas_braces_and_chinese_match_as_in(groups):
    assert same(Group, "name", NAMES) == sorted(groups)
    assert same(Group, "name", {"甲组", "missing"}) == [groups[0]]


def test_keys_and_foreign_keys_match_as_in(groups):
    assert same(Group, "pk", [groups[1], groups[2], 10**9]) == [groups[1], groups[2]]
    types = list(Permission.objects.values_list("content_type_id", flat=True).distinct()[:2])
    wanted = sorted(Permission.objects.filter(content_type_id__in=types).values_list("pk", flat=True))
    assert same(Permission, "content_type_id", types) == wanted
    assert same(Permission, "content_type", types) == wanted


def test_empty_lists_and_none_match_nothing(groups):
    assert same(Group, "pk", []) == []
    assert same(Group, "pk", [None]) == []
    assert same(Group, "pk", [None, groups[0]]) == [groups[0]]


def test_a_subquery_is_written_as_in(groups):
    inner = Group.objects.filter(name="乙组").values("pk")
    assert same(Group, "pk", inner) == [groups[1]]


def test_postgresql_gets_one_array_parameter_and_sqlite_in(groups):
    with CaptureQueriesContext(connection) as queries:
        list(Group.objects.filter(pk__any_of=groups))
    sql = queries.captured_queries[-1]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and " IN (" not in sql
    else:
        assert " IN (" in sql


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picked=st.lists(st.sampled_from(NAMES + ["zz", "", "\t"]), max_size=12))
def test_any_list_of_names_finds_what_in_finds(groups, picked):
    same(Group, "name", picked)
