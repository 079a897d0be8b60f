"""The policy and payment lists as exports: columns, the viewer's scope, masks, filters, the audit entry."""

from __future__ import annotations

import csv
import datetime
import io
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insurdesk.audit.models import AuditEntry
from insurdesk.customers.services import customer_create
from insurdesk.exchange.exporters import EXPORTERS, PAYMENT_HEADERS, POLICY_HEADERS, export_list
from insurdesk.org.models import Role
from insurdesk.org.policy import can
from insurdesk.org.services import token_issue
from insurdesk.policies.services import payment_record
from insurdesk.policies.testing import issue_policy
from insurdesk.underwriting.testing import individual_input

# The new-business world of the policy tests: users per role in 深圳分公司, a married couple, a company.
from insurdesk.underwriting.tests.fixtures import _fast_passwords, nb  # noqa: F401

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_issue(user=user)}"})


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(content: bytes | str) -> list[list[str]]:
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    return list(csv.reader(io.StringIO(text)))


def read_xlsx(content: bytes) -> list[list]:
    import python_calamine

    return (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    )


def export(viewer, name: str, **params) -> list[list[str]]:
    out = io.StringIO()
    export_list(
        viewer=viewer, name=name, params={k: str(v) for k, v in params.items()}, fmt="csv", target=out
    )
    return csv_rows(out.getvalue())


def last_export() -> AuditEntry:
    return AuditEntry.objects.filter(action="exchange.export").latest("seq")


@pytest.fixture
def book(nb, make_user, individual_data):  # noqa: F811 (nb is the fixture imported above)
    """深圳: 张伟's policy on 李芳 sold by the agent, paid in full by transfer (有效); 李芳's own policy
    sold by another agent, part paid in cash (待生效). 广州: a customer's policy, paid in full in cash."""
    today = timezone.localdate()
    sold = issue_policy(
        clerk=nb.clerk,
        clerk2=nb.clerk2,
        data=individual_input(policyholder=nb.husband, insured=nb.wife, agent=nb.agent),
    )
    other_agent = make_user("agent", "SZ")
    own = issue_policy(
        clerk=nb.clerk, clerk2=nb.clerk2, data=individual_input(policyholder=nb.wife, agent=other_agent)
    )
    gz_clerk, gz_clerk2, gz_agent = (
        make_user("clerk", "GZ"),
        make_user("clerk", "GZ"),
        make_user("agent", "GZ"),
    )
    gz_customer = customer_create(
        actor=None,
        kind="individual",
        data=individual_data(
            name="广州客户",
            unit_id=nb.units["GZ"].pk,
            occupation_class=1,
            id_valid_to=datetime.date(2036, 1, 1),
        ),
    )[0]
    gz = issue_policy(
        clerk=gz_clerk, clerk2=gz_clerk2, data=individual_input(policyholder=gz_customer, agent=gz_agent)
    )
    full, _ = payment_record(
        actor=nb.clerk,
        policy_id=sold.pk,
        amount=sold.premium,
        method="transfer",
        paid_on=today,
        reference="TR-001",
    )
    part, _ = payment_record(actor=nb.clerk, policy_id=own.pk, amount="5000.00", method="cash", paid_on=today)
    gz_paid, _ = payment_record(
        actor=gz_clerk, policy_id=gz.pk, amount=gz.premium, method="cash", paid_on=today
    )
    for p in (sold, own, gz):
        p.refresh_from_db()
    return SimpleNamespace(
        nb=nb,
        other_agent=other_agent,
        today=today,
        sold=sold,
        own=own,
        gz=gz,
        full=full,
        part=part,
        gz_paid=gz_paid,
    )


def numbers(rows: list[list[str]]) -> set[str]:
    return {r[0] for r in rows[1:]}


# --- policies --------------------------------------------------------------------------------------


def test_a_policy_export_has_the_branchs_policies_in_csv_and_xlsx(book):
    clerk = book.nb.clerk  # 深圳分公司, sees identity numbers

    response = login(clerk).get("/exchange/export/download/?list=policies&format=csv")

    assert response.status_code == 200 and "text/csv" in response["Content-Type"]
    assert "filename*=UTF-8''%E4%BF%9D%E5%8D%95-" in response["Content-Disposition"]  # 保单-…
    rows = csv_rows(body(response))
    assert tuple(rows[0]) == POLICY_HEADERS
    assert numbers(rows) == {book.sold.policy_no, book.own.policy_no}  # not 广州's
    sold = next(r for r in rows[1:] if r[0] == book.sold.policy_no)
    p, husband = book.sold, book.nb.husband
    assert sold == [
        p.policy_no, p.product.name, "张伟", "居民身份证", husband.id_number, "李芳", "有效",
        p.application_date.isoformat(), p.effective_date.isoformat(), "",  # 终身: no expiry
        "年交", str(p.premium), str(p.sum_insured), p.paid_to.isoformat(), "深圳分公司", str(book.nb.agent),
    ]  # fmt: skip
    own = next(r for r in rows[1:] if r[0] == book.own.policy_no)
    assert (own[2], own[5], own[6], own[15]) == ("李芳", "李芳", "待生效", str(book.other_agent))

    xlsx = login(clerk).get("/exchange/export/download/?list=policies&format=xlsx")
    sheet = read_xlsx(body(xlsx))
    assert tuple(sheet[0]) == POLICY_HEADERS and len(sheet) == 3
    row = next(r for r in sheet[1:] if r[0] == book.sold.policy_no)
    assert row[4] == husband.id_number and isinstance(row[4], str)  # the digits kept as text
    assert row[7] == p.application_date and row[11] == float(p.premium)  # dates and money stay typed
    entry = last_export()
    assert entry.actor_id == clerk.pk and entry.at is not None
    assert entry.detail == {"list": "policies", "format": "xlsx", "filter": {}, "rows": 2}


def test_a_policy_export_masks_the_policyholders_id_number_for_a_role_without_sensitive_data(book):
    manager = book.nb.manager  # 机构负责人: may export, sees masks
    rows = csv_rows(body(login(manager).get("/exchange/export/download/?list=policies&format=csv")))
    ids = [r[4] for r in rows[1:]]
    assert len(ids) == 2 and all("*" in v for v in ids)
    assert book.nb.husband.id_number not in {v for r in rows for v in r}
    assert (last_export().actor_id, last_export().detail["rows"]) == (manager.pk, 2)


def test_the_head_office_exports_every_branchs_policies_and_a_branch_only_its_own(book, make_user):
    assert numbers(export(make_user("clerk", "HQ"), "policies")) == {
        book.sold.policy_no,
        book.own.policy_no,
        book.gz.policy_no,
    }
    assert numbers(export(make_user("service", "GZ"), "policies")) == {book.gz.policy_no}
    assert numbers(export(book.nb.service, "policies")) == {book.sold.policy_no, book.own.policy_no}


def test_a_policy_export_applies_the_filters_and_records_only_those_it_applied(book):
    staff, sold, own = book.nb, book.sold.policy_no, book.own.policy_no
    cases = [
        ({"state": "in_force"}, {sold}, {"state": "in_force"}),
        ({"state": "nonsense"}, {sold, own}, {}),
        ({"q": sold.lower()}, {sold}, {"q": sold}),
        ({"agent": staff.agent.pk}, {sold}, {"agent_id": staff.agent.pk}),
        ({"customer": staff.husband.pk}, {sold}, {"customer_id": staff.husband.pk}),
        (
            {"customer": staff.wife.pk},
            {sold, own},
            {"customer_id": staff.wife.pk},
        ),  # insured of one, holder of both
        ({"customer": "-3"}, {sold, own}, {}),
        ({"unit": staff.units["NS"].pk}, set(), {"unit_id": staff.units["NS"].pk}),  # a unit below the branch
        ({"unit": staff.units["GZ"].pk}, {sold, own}, {}),  # outside the scope: dropped, never widened
        ({"product_code": book.sold.product.code}, {sold, own}, {"product_code": book.sold.product.code}),
        ({"product_code": "NOPE"}, {sold, own}, {}),
        ({"application": book.own.application_id}, {own}, {"application_id": book.own.application_id}),
        ({"state": "pending", "q": "zz"}, set(), {"state": "pending", "q": "ZZ"}),
    ]
    for params, expected, recorded in cases:
        assert numbers(export(staff.clerk, "policies", **params)) == expected, params
        assert last_export().detail["filter"] == recorded, params
        assert last_export().detail["rows"] == len(expected), params


def test_a_policy_export_reads_its_rows_in_a_fixed_number_of_queries(book, make_user):
    clerk = make_user("clerk", "HQ")
    with CaptureQueriesContext(connection) as one:
        assert len(export(clerk, "policies", state="pending")) == 2
    with CaptureQueriesContext(connection) as three:
        assert len(export(clerk, "policies")) == 4
    assert len(three) == len(one)


# --- payments --------------------------------------------------------------------------------------


def test_a_payment_export_has_the_branchs_payments_in_csv_and_xlsx(book):
    clerk = book.nb.clerk

    response = login(clerk).get("/exchange/export/download/?list=payments&format=csv")

    assert response.status_code == 200
    rows = csv_rows(body(response))
    assert tuple(rows[0]) == PAYMENT_HEADERS
    assert numbers(rows) == {book.sold.policy_no, book.own.policy_no}
    full = book.full
    by_policy = {r[0]: r for r in rows[1:]}
    assert by_policy[book.sold.policy_no] == [
        book.sold.policy_no, "张伟", "收费", book.today.isoformat(), str(full.amount), "转账", "1",
        full.instalment.due_date.isoformat(), full.period_start.isoformat() if full.period_start else "",
        full.period_end.isoformat() if full.period_end else "", "已缴", "TR-001", "深圳分公司",
        str(book.nb.agent), str(clerk), timezone.localtime(full.created_at).strftime("%Y-%m-%d %H:%M:%S"),
    ]  # fmt: skip
    own = by_policy[book.own.policy_no]
    assert (own[1], own[4], own[5], own[6], own[10]) == ("李芳", "5000.00", "现金", "1", "部分")
    assert own[13] == str(book.other_agent)

    sheet = read_xlsx(body(login(clerk).get("/exchange/export/download/?list=payments&format=xlsx")))
    assert tuple(sheet[0]) == PAYMENT_HEADERS and len(sheet) == 3
    row = next(r for r in sheet[1:] if r[0] == book.own.policy_no)
    assert row[3] == book.today and row[4] == 5000.0 and row[6] == 1.0
    assert last_export().detail == {"list": "payments", "format": "xlsx", "filter": {}, "rows": 2}


def test_a_payment_export_holds_only_the_viewers_scope(book, make_user):
    assert numbers(export(make_user("clerk", "HQ"), "payments")) == {
        book.sold.policy_no,
        book.own.policy_no,
        book.gz.policy_no,
    }
    assert numbers(export(make_user("manager", "GZ"), "payments")) == {book.gz.policy_no}


def test_a_payment_export_applies_the_filters_and_records_only_those_it_applied(book):
    staff, sold, own = book.nb, book.sold.policy_no, book.own.policy_no
    today, tomorrow = book.today.isoformat(), (book.today + datetime.timedelta(days=1)).isoformat()
    cases = [
        ({"method": "cash"}, {own}, {"method": "cash"}),
        ({"method": "cheque"}, {sold, own}, {}),
        ({"policy_no": sold.lower()}, {sold}, {"policy_no": sold}),
        ({"policy_no": book.gz.policy_no}, set(), {"policy_no": book.gz.policy_no}),  # outside the scope
        ({"paid_from": today, "paid_to": today}, {sold, own}, {"paid_from": today, "paid_to": today}),
        ({"paid_from": tomorrow}, set(), {"paid_from": tomorrow}),
        ({"paid_to": "2024-02-30"}, {sold, own}, {}),
        ({"kind": "refund"}, set(), {"kind": "refund"}),
        ({"kind": "individual"}, {sold, own}, {}),  # the customer list's kind means nothing here
        ({"agent": staff.agent.pk}, {sold}, {"agent_id": staff.agent.pk}),
        ({"unit": staff.units["GZ"].pk}, {sold, own}, {}),
    ]
    for params, expected, recorded in cases:
        assert numbers(export(staff.clerk, "payments", **params)) == expected, params
        assert last_export().detail["filter"] == recorded, params
        assert last_export().detail["rows"] == len(expected), params


def test_a_payment_export_reads_its_rows_in_a_fixed_number_of_queries(book, make_user):
    clerk = make_user("clerk", "HQ")
    with CaptureQueriesContext(connection) as one:
        assert len(export(clerk, "payments", method="transfer")) == 2
    with CaptureQueriesContext(connection) as three:
        assert len(export(clerk, "payments")) == 4
    assert len(three) == len(one)


# --- the API and the page ------------------------------------------------------------------------


def test_policy_and_payment_exports_through_the_api_are_filtered_masked_and_recorded(book):
    manager = book.nb.manager
    client = api(manager)

    response = client.get("/api/v1/exports/policies", {"format": "csv", "state": "in_force"})

    assert response.status_code == 200
    rows = csv_rows(body(response))
    assert numbers(rows) == {book.sold.policy_no} and "*" in rows[1][4]
    entry = last_export()
    assert entry.actor_id == manager.pk
    assert entry.detail == {"list": "policies", "format": "csv", "filter": {"state": "in_force"}, "rows": 1}

    today = book.today.isoformat()
    response = client.get("/api/v1/exports/payments", {"method": "cash", "paid_from": today})
    sheet = read_xlsx(body(response))
    assert response.status_code == 200 and [r[0] for r in sheet[1:]] == [book.own.policy_no]
    assert last_export().detail == {
        "list": "payments",
        "format": "xlsx",
        "filter": {"method": "cash", "paid_from": today},
        "rows": 1,
    }
    assert client.get("/api/v1/exports/payments", {"paid_from": "yesterday"}).status_code == 422


@pytest.mark.parametrize(
    ("name", "params", "recorded"),
    [
        ("claims", {"state": "reviewing", "channel": "phone"}, {"state": "reviewing"}),
        (
            "contacts",
            {"channel": "phone", "follow_up": "1", "state": "x"},
            {"channel": "phone", "follow_up": "1"},
        ),
        ("policies", {"state": "lapsed", "kind": "refund"}, {"state": "lapsed"}),
        ("payments", {"kind": "refund", "state": "lapsed"}, {"kind": "refund"}),
    ],
)
def test_the_api_hands_each_list_its_own_filters(make_user, name, params, recorded):
    response = api(make_user("clerk", "HQ")).get(f"/api/v1/exports/{name}", {"format": "csv", **params})
    assert response.status_code == 200
    assert last_export().detail["filter"] == recorded


# Every list by every role, from the policy table: the page download and the API answer alike.
ROLE_LISTS = [
    (role, name)
    for name in ("customers", "policies", "payments", "claims", "contacts")
    for role in Role.values
]


@pytest.mark.parametrize(("role", "name"), ROLE_LISTS, ids=[f"{n}-{r}" for r, n in ROLE_LISTS])
def test_each_list_is_exported_by_exactly_the_roles_the_policy_allows(make_user, role, name):
    assert name in EXPORTERS
    user = make_user(role, "HQ")
    allowed = can(user, "exchange.export") and can(user, EXPORTERS[name].action)

    page = login(user).get(f"/exchange/export/download/?list={name}&format=csv&state=in_force")
    through_api = api(user).get(f"/api/v1/exports/{name}", {"format": "csv"})

    assert (page.status_code, through_api.status_code) == ((200, 200) if allowed else (403, 403))
    assert AuditEntry.objects.filter(action="exchange.export").count() == (2 if allowed else 0)


def test_the_export_page_offers_the_policy_and_payment_lists_with_their_filters(book):
    page = login(book.nb.clerk).get("/exchange/export/").content.decode()

    assert "保单清单" in page and "缴费清单" in page and "客户清单" in page
    policies = page[page.index('id="export-policies"') : page.index('id="export-payments"')]
    assert 'name="list" value="policies"' in policies
    for field in ("q", "state", "unit", "agent", "product_code"):
        assert f'name="{field}"' in policies, field
    assert 'name="customer"' not in policies and 'name="application"' not in policies  # empty hidden ones
    assert ">有效<" in policies and book.sold.product.code in policies
    payments = page[page.index('id="export-payments"') :]
    payments = payments[: payments.index("</section>")]
    for field in ("policy_no", "paid_from", "paid_to", "method", "kind", "unit", "agent"):
        assert f'name="{field}"' in payments, field
    assert 'id="policies_unit"' in page and 'id="payments_unit"' in page  # one page, distinct ids
    assert 'id="customers_unit"' in page and 'id="id_unit"' not in page

    refilled = login(book.nb.clerk).get("/exchange/export/?list=policies&state=lapsed").content.decode()
    policies = refilled[refilled.index('id="export-policies"') : refilled.index('id="export-payments"')]
    assert '<option value="lapsed" selected>' in policies

    english = login(book.nb.clerk)
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = english.get("/exchange/export/").content.decode()
    assert "Paid from" in page and "Paid to" in page and "Main plan" in page


def test_the_export_page_offers_the_claim_and_contact_lists_with_the_filters_of_their_pages(make_user):
    clerk = make_user("clerk", "HQ")
    page = login(clerk).get("/exchange/export/?list=claims&state=reviewing&q=PA").content.decode()

    claims = page[page.index('id="export-claims"') :]
    claims = claims[: claims.index("</section>")]
    assert 'name="q"' in claims and 'value="PA"' in claims
    assert '<option value="reviewing" selected>' in claims
    contacts = page[page.index('id="export-contacts"') :]
    contacts = contacts[: contacts.index("</section>")]
    assert 'name="channel"' in contacts and 'name="follow_up"' in contacts
    assert "selected>" not in contacts.replace('<option value="" selected>', "")  # opened for claims only
    assert 'id="claims_state"' in page and 'id="contacts_channel"' in page


@pytest.mark.parametrize(
    ("path", "name", "query"),
    [
        ("/customers/", "customers", "kind=individual"),
        ("/policies/", "policies", "state=in_force"),
        ("/claims/", "claims", "state=reviewing"),
        ("/care/contacts/", "contacts", "channel=phone"),
    ],
)
def test_a_list_page_links_to_its_export_with_its_filters_for_roles_that_may_export(
    make_user, path, name, query
):
    clerk, agent = make_user("clerk", "HQ"), make_user("agent", "HQ")
    response = login(clerk).get(f"{path}?{query}&page=1")
    assert response.status_code == 200, path
    link = f'href="/exchange/export/?list={name}&amp;{query.replace("&", "&amp;")}#export-{name}"'
    assert link in response.content.decode()
    # The export page the link opens has the list's form filled in with those filters.
    key, value = query.split("=")
    opened = login(clerk).get(f"/exchange/export/?list={name}&{query}").content.decode()
    section = opened[opened.index(f'id="export-{name}"') :]
    assert f'<option value="{value}" selected>' in section[: section.index("</section>")]

    assert can(agent, "exchange.export") is False
    page = login(agent).get(f"{path}?{query}")
    assert "/exchange/export/" not in page.content.decode()
