"""Search by pinyin and initials: every reading of a name is indexed, on write and by the migration."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.customers.models import CustomerNameKey
from insurdesk.customers.pinyin import name_keys, query_key
from insurdesk.customers.selectors import customer_list
from insurdesk.customers.services import customer_create, customer_update


def test_a_name_has_its_full_pinyin_and_initials():
    keys = name_keys("王建国")
    assert {"wangjianguo", "wjg"} <= keys


@pytest.mark.parametrize(
    ("name", "surname_reading"),
    [
        ("单雄信", "shan"),
        ("曾国藩", "zeng"),
        ("仇英", "qiu"),
        ("解缙", "xie"),
        ("朴槿惠", "piao"),
        ("区志强", "ou"),
    ],
)
def test_the_surname_readings_pypinyin_gets_wrong_are_indexed_too(name, surname_reading):
    keys = name_keys(name)
    assert any(k.startswith(surname_reading) for k in keys)
    assert any(k.startswith(surname_reading[0]) and len(k) == len(name) for k in keys)


@given(st.text(max_size=40))
def test_keys_are_short_lowercase_letters_whatever_the_name(name):
    keys = name_keys(name)
    assert len(keys) <= 64
    assert all(k.isascii() and k.isalpha() and k.islower() and len(k) <= 60 for k in keys)


def test_a_search_entry_is_pinyin_only_when_it_is_letters():
    assert query_key("WJG") == "wjg"
    assert query_key("wang jianguo") == "wangjianguo"
    assert query_key("王") is None and query_key("KH0000000001") is None and query_key("w") is None


@pytest.fixture
def wang(units, make_user, individual_data):
    data = individual_data(name="王建国", unit_id=units["SZ"].pk)
    return customer_create(actor=None, kind="individual", data=data)[0]


def test_initials_and_full_pinyin_find_the_customer(wang, make_user):
    clerk = make_user("clerk", "SZ")
    for q in ("wjg", "WJG", "wangjianguo", "wangjian", "wj"):
        assert wang in customer_list(viewer=clerk, query=q), q
    assert wang not in customer_list(viewer=clerk, query="ljg")


def test_a_renamed_customer_is_found_by_its_new_name_only(wang, make_user):
    clerk = make_user("clerk", "SZ")
    customer_update(actor=clerk, customer_id=wang.pk, data={"name": "林晓燕"})
    assert wang not in customer_list(viewer=clerk, query="wjg")
    assert customer_list(viewer=clerk, query="lxy").filter(pk=wang.pk).exists()


def test_the_search_outside_the_scope_finds_nothing(wang, make_user):
    assert not customer_list(viewer=make_user("clerk", "GZ"), query="wjg").exists()


def test_the_search_by_pinyin_reads_the_key_index(wang, make_user, django_assert_max_num_queries):
    from django.db import connection

    clerk = make_user("clerk", "SZ")
    qs = customer_list(viewer=clerk, query="wjg")
    with connection.cursor() as cur:
        sql, params = qs.query.sql_with_params()
        cur.execute(("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql, params)
        plan = " ".join(str(r) for r in cur.fetchall())
    assert "customer_name_key" in plan, plan
    assert CustomerNameKey.objects.filter(customer=wang).count() >= 2
