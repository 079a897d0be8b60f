"""Every new page and endpoint by every role: the declared action decides 403; scope decides 404."""

import datetime

import pytest
from django.urls import reverse

from insurdesk.applications.services import application_create, application_second_entry, problem_raise
from insurdesk.applications.testing import application_input, second_entry_of
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id
from insurdesk.org.models import Role
from insurdesk.org.policy import API, PAGES, POLICY
from insurdesk.products.tests.apiclient import BASE, as_user

ROLES = list(Role.values)


def allowed(role: str, action: str) -> bool:
    return role in POLICY[action]


@pytest.fixture
def world(people, make_user, units, settings, tmp_path):
    """A user of the role; an entered application in its scope, with a problem item; one in GZ."""
    settings.MEDIA_ROOT = tmp_path

    def build(role: str):
        user = make_user(role, "SZ")
        agent = user if role == "agent" else people["agent"]
        data = application_input(
            policyholder_id=people["husband"].pk, insured_id=people["wife"].pk, agent_id=agent.pk
        )
        app, _ = application_create(actor=people["clerk"], data=data)
        application_second_entry(actor=people["clerk2"], application_id=app.pk, data=second_entry_of(app))
        item = problem_raise(
            actor=people["reviewer"], application_id=app.pk, text="签名待核实", arose_at="review"
        )
        gz_clerk = make_user("clerk", "GZ")
        gz_agent = make_user("agent", "GZ")
        gz_customer, _ = customer_create(
            actor=None,
            kind="individual",
            data={
                "name": "广州客户",
                "id_number": make_resident_id(datetime.date(1979, 1, 1), "M", seq=71),
                "unit_id": units["GZ"].pk,
            },
        )
        gz, _ = application_create(
            actor=gz_clerk,
            data=application_input(policyholder_id=gz_customer.pk, relationship="self", agent_id=gz_agent.pk),
        )
        return {"user": user, "app": app, "item": item, "gz": gz}

    return build


PAGE_GETS = [
    ("applications:list", "application.view", False),
    ("applications:queues", "application.view", False),
    ("applications:create", "application.create", False),
    ("applications:problems", "application.view", False),
    ("applications:entry_errors", "application.stats", False),
    ("products:list", "product.view", False),
    ("products:create", "product.manage", False),
    ("applications:detail", "application.view", True),
    ("applications:edit", "application.change", True),
    ("applications:second_entry", "application.second_entry", True),
    ("applications:recording_file", "application.recording_view", True),
]
PAGE_POSTS = [
    (
        "applications:problem_raise",
        "application.problem_raise",
        {"text": "缺影像", "issue_type": "missing", "route": "correction_desk"},
    ),
    ("applications:recording", "application.recording_attach", {"reference": "SL-9"}),
    ("applications:recording_check", "application.recording_check", {"passed": "1", "note": "合格"}),
    ("applications:submit", "application.submit", {}),
    ("applications:withdraw", "application.withdraw", {"reason": "客户撤回"}),
]


def test_every_page_of_new_business_is_declared():
    for name in (
        [n for n, _, _ in PAGE_GETS]
        + [n for n, _, _ in PAGE_POSTS]
        + [
            "applications:lookup",
            "applications:problem_resolve",
            "applications:problem_assign",
            "applications:problem_send",
            "applications:problem_reply",
            "products:detail",
            "products:edit",
        ]
    ):
        assert name in PAGES, name


@pytest.mark.parametrize("role", ROLES)
def test_every_page_by_role(client, world, role):
    w = world(role)
    client.force_login(w["user"])
    app, item = w["app"], w["item"]
    for name, action, per_app in PAGE_GETS:
        r = client.get(reverse(name, args=[app.pk] if per_app else []))
        expected = {200, 302, 404} if allowed(role, action) else {403}
        assert r.status_code in expected, (name, role, r.status_code)
        if per_app and allowed(role, action):
            assert client.get(reverse(name, args=[w["gz"].pk])).status_code in (404, 403), (name, role)
    r = client.get(reverse("applications:lookup"), {"q": "KH0000000001"})
    assert r.status_code == (200 if allowed(role, "application.create") else 403)
    for name, action, args in (
        ("products:detail", "product.view", ["L101"]),
        ("products:edit", "product.manage", ["L101"]),
    ):
        assert client.get(reverse(name, args=args)).status_code == (200 if allowed(role, action) else 403)
    r = client.get(reverse("applications:problem_resolve", args=[app.pk, item.pk]))
    assert r.status_code == (200 if allowed(role, "application.resolve") else 403)
    r = client.post(reverse("applications:problem_assign", args=[app.pk, item.pk]))
    assert r.status_code == (302 if allowed(role, "application.problem_handle") else 403)
    r = client.post(reverse("applications:problem_send", args=[app.pk, item.pk]))
    assert r.status_code == (302 if allowed(role, "application.problem_handle") else 403)
    r = client.post(
        reverse("applications:problem_reply", args=[app.pk, item.pk]), {"method": "phone", "reply": "已核实"}
    )
    assert r.status_code == (302 if allowed(role, "application.problem_handle") else 403)
    for name, action, data in PAGE_POSTS:
        r = client.post(reverse(name, args=[app.pk]), data)
        assert r.status_code == (302 if allowed(role, action) else 403), (name, role, r.status_code)


API_CALLS = [
    ("get", "/applications", None, "application.view"),
    ("get", "/applications/stats/entry-errors", None, "application.stats"),
    ("get", "/applications/{id}", None, "application.view"),
    ("get", "/applications/{id}/problems", None, "application.view"),
    ("patch", "/applications/{id}", {"notes": "x"}, "application.change"),
    (
        "post",
        "/applications/{id}/second-entry",
        {"policyholder": {}, "lines": [{}]},
        "application.second_entry",
    ),
    ("post", "/applications/{id}/problems", {"text": "缺影像"}, "application.problem_raise"),
    ("post", "/applications/{id}/problems/{pid}/assign", {"owner_id": None}, "application.problem_handle"),
    ("post", "/applications/{id}/problems/{pid}/send", {}, "application.problem_handle"),
    (
        "post",
        "/applications/{id}/problems/{pid}/reply",
        {"method": "phone", "reply": "电话核实无误"},
        "application.problem_handle",
    ),
    (
        "post",
        "/applications/{id}/problems/{pid}/resolve",
        {"choice": "answered", "note": "已核实"},
        "application.resolve",
    ),
    (
        "post",
        "/applications/{id}/recording/check",
        {"passed": True, "note": "x"},
        "application.recording_check",
    ),
    ("post", "/applications/{id}/submit", None, "application.submit"),
    ("post", "/applications/{id}/withdraw", {"reason": "客户撤回"}, "application.withdraw"),
    ("post", "/applications", {}, "application.create"),
    ("get", "/products", None, "product.view"),
    ("get", "/products/L101", None, "product.view"),
    ("patch", "/products/L101", {"grace_days": 30}, "product.manage"),
    ("post", "/products", {}, "product.manage"),
]


MINE = [
    "GET /products",
    "POST /products",
    "GET /products/{code}",
    "PATCH /products/{code}",
    "GET /applications",
    "POST /applications",
    "GET /applications/stats/entry-errors",
    "GET /applications/{id}",
    "PATCH /applications/{id}",
    "POST /applications/{id}/second-entry",
    "GET /applications/{id}/problems",
    "POST /applications/{id}/problems",
    "POST /applications/{id}/problems/{pid}/resolve",
    "POST /applications/{id}/problems/{pid}/send",
    "POST /applications/{id}/problems/{pid}/reply",
    "POST /applications/{id}/problems/{pid}/assign",
    "POST /applications/{id}/submit",
    "POST /applications/{id}/withdraw",
    "POST /applications/{id}/recording",
    "POST /applications/{id}/recording/check",
]


def test_every_endpoint_of_new_business_is_declared():
    for key in MINE:
        assert key in API, key


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_by_role(world, role):
    w = world(role)
    api = as_user(w["user"])
    for method, path, body, action in API_CALLS:
        url = path.format(id=w["app"].pk, pid=w["item"].pk)
        r = getattr(api, method)(url, body) if body is not None or method != "get" else api.get(url)
        if not allowed(role, action):
            assert r.status_code == 403, (method, path, role, r.status_code)
        else:
            assert r.status_code not in (401, 403, 500), (method, path, role, r.status_code, r.content[:300])
        if "{id}" in path and allowed(role, action):
            r = (
                getattr(api, method)(path.format(id=w["gz"].pk, pid=w["item"].pk), body)
                if method != "get"
                else api.get(path.format(id=w["gz"].pk, pid=w["item"].pk))
            )
            assert r.status_code == 404, (method, path, role, r.status_code)
    seen = {i["id"] for i in api.get("/applications").json()["items"]}
    assert seen == {w["app"].pk}
    r = api.client.post(f"{BASE}/applications/{w['app'].pk}/recording", {"reference": "SL-1"})
    expected = {200, 409} if allowed(role, "application.recording_attach") else {403}
    assert r.status_code in expected, (role, r.status_code)
