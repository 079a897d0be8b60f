"""Masking, tested from its declaration: no role without customer.see_sensitive meets a raw value anywhere.

The fields come from the masking declaration (insurdesk/customers/selectors.py MASKERS): every field
named there is planted with a distinctive value in every record that stores it (an individual and a
corporate archive, a beneficial owner, an application, an issued policy), then changed once so the
history holds before and after values. The places come from the route and export declarations: every
page (insurdesk/org/policy.py PAGES), every GET operation of the API (API) and every registered export
(insurdesk/exchange/exporters.py EXPORTERS, and the customer's whole file) that the role may open for
those records. A field, a page, an operation or an export added later is covered without a new test.

For each role that may not see sensitive data, no raw value appears in any answer. For a role that
may, every planted value appears in at least one answer: the check is not passing because the values
are shown nowhere.
"""

import datetime
import html
import io
import json
import re
import zipfile

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import NoReverseMatch, reverse

from insurdesk.customers.selectors import MASKERS
from insurdesk.customers.services import CORPORATE_FIELDS, INDIVIDUAL_FIELDS
from insurdesk.identity.testing import make_resident_id
from insurdesk.org.models import Role
from insurdesk.org.policy import API, PAGES, POLICY, Scope, allows
from insurdesk.org.services import token_issue
from tests.test_access_policy import OPERATIONS

pytestmark = pytest.mark.django_db

SENSITIVE_ROLES = POLICY["customer.see_sensitive"]
MASKED_ROLES = sorted(set(Role.values) - SENSITIVE_ROLES)

# Distinctive, valid values for the declared fields; a field declared later without a value here takes
# the value the test data gives it (individual_data), or fails naming itself.
SAMPLES = {
    "mobile": ("13911112222", "13933334444"),
    "landline": ("0755-83216789", "020-87654321"),
    "email": ("planted.mail@example.cn", "changed.mail@example.cn"),
    "residence_address": (
        "广东省深圳市南山区科技园路一号海岸大厦二三零一室",
        "广东省深圳市宝安区新安街道二号甲座九楼",
    ),
    "mailing_address": (
        "广东省深圳市福田区深南大道六零零八号报业大厦一八零八室",
        "广东省深圳市罗湖区东门路三号乙座五楼",
    ),
    "health_notes": ("高血压两年药物控制平稳", "甲状腺结节随访中无需治疗"),
    "contact_mobile": ("13987654321", "13976543210"),
    "contact_id_number": (
        make_resident_id(datetime.date(1982, 7, 9), "F"),
        make_resident_id(datetime.date(1983, 8, 10), "M"),
    ),
    "tax_account": ("6222021234567890123", "6222029876543210987"),
    "address": ("广东省广州市天河区体育西路一九一号中石化大厦B座", ""),
    "phone": ("13712345678", ""),
}
# Where a declared masker also masks a value stored under another name: the application's health
# disclosure is shown as the archive's health_notes are (shown(viewer, "health_notes", ...)).
ALIASES = {"health_notes": [("applications.Application", "health_details")]}
APPLICATION_HEALTH = "两年前胆囊切除手术已康复无复发"
BO_ID = make_resident_id(datetime.date(1970, 2, 3), "M")


def _digits(text: str) -> str:
    return re.sub(r"[\s\-]", "", text)


class Planted:
    """The records, and every raw value of a declared field they hold (now and in their history)."""

    def __init__(self, units, make_user, individual_data, corporate_data):
        from insurdesk.applications.services import application_create
        from insurdesk.applications.testing import application_input
        from insurdesk.customers.models import BeneficialOwner, Customer
        from insurdesk.customers.services import customer_create, customer_update
        from insurdesk.policies.services import policy_issue
        from insurdesk.products.catalogue import load_starter_catalogue
        from insurdesk.underwriting.services import underwriting_open
        from insurdesk.underwriting.testing import individual_input, submit_application

        load_starter_catalogue()
        self.users = {role: make_user(role, "SZ", username=f"mask_{role}") for role in Role.values}
        agent = self.users["agent"]  # owns every record, so the agent may open them all
        clerk, clerk2 = self.users["clerk"], make_user("clerk", "SZ", username="mask_clerk2")
        self.raw: dict[str, set[str]] = {field: set() for field in MASKERS}
        customer_fields = {f.name: f for f in Customer._meta.concrete_fields}
        unknown = [
            f
            for f in MASKERS
            if f not in customer_fields
            and f not in {x.name for x in BeneficialOwner._meta.concrete_fields}
            and f not in ALIASES
        ]
        assert not unknown, f"MASKERS declares {unknown}: say in ALIASES where such values are stored"

        person = individual_data(
            unit_id=units["SZ"].pk,
            agent_id=agent.pk,
            occupation_class=1,
            id_valid_to=datetime.date(2036, 1, 1),
        )
        company = {
            **corporate_data(unit_id=units["SZ"].pk, agent_id=agent.pk),
            "contact_name": "周经办",
            "contact_id_type": "resident_id",
        }
        changes = {"individual": {}, "corporate": {}}
        planted = set()
        for field in MASKERS:
            if field not in customer_fields:
                continue
            for kind, data, allowed in (
                ("individual", person, INDIVIDUAL_FIELDS),
                ("corporate", company, CORPORATE_FIELDS),
            ):
                if field not in allowed and field not in data:
                    continue
                first, second = SAMPLES.get(field, (data.get(field), None))
                if first is None:
                    continue
                data[field] = first
                planted.add(field)
                if second:
                    changes[kind][field] = second
        unplanted = [f for f in MASKERS if f in customer_fields and f not in planted]
        assert not unplanted, f"MASKERS declares {unplanted}: add distinctive values for them to SAMPLES"
        company["beneficial_owners"] = [
            {
                "name": "赵受益",
                "ownership_kind": "control",
                "id_type": "resident_id",
                "id_number": BO_ID,
                "address": SAMPLES["address"][0],
                "phone": SAMPLES["phone"][0],
            }
        ]
        self.person = customer_create(actor=None, kind="individual", data=person)[0]
        self.company = customer_create(actor=None, kind="corporate", data=company)[0]
        for c in (self.person, self.company):
            self._collect(c)
        # Changed once: the history shows before and after.
        for c, kind in ((self.person, "individual"), (self.company, "corporate")):
            change = changes[kind]
            if "contact_id_number" in change:
                change["contact_id_type"] = "resident_id"
            customer_update(actor=None, customer_id=c.pk, data=change)
            c.refresh_from_db()
            self._collect(c)
        for bo in self.company.beneficial_owners.all():
            self._collect(bo)

        # An application with a health disclosure (it waits for manual underwriting), and a policy.
        self.application = application_create(
            actor=clerk,
            data=application_input(
                policyholder_id=self.person.pk,
                agent_id=agent.pk,
                relationship="self",
                health_disclosure=True,
                health_details=APPLICATION_HEALTH,
            ),
        )[0]
        self._collect(self.application)
        app = submit_application(
            clerk=clerk, clerk2=clerk2, data=individual_input(policyholder=self.person, agent=agent)
        )
        underwriting_open(actor=None, application_id=app.pk)
        self.policy = policy_issue(actor=clerk, application_id=app.pk)
        self.issued_application = app

    def _collect(self, record):
        label = record._meta.label
        names = {f.name for f in record._meta.concrete_fields}
        if getattr(record, "kind", None) == "corporate":
            names.discard("id_number")  # a company's id_number is its USCC, public by law (shown as uscc)
        for field in MASKERS:
            stored = [field] if field in names else []
            stored += [attr for model, attr in ALIASES.get(field, []) if model == label]
            for attr in stored:
                value = getattr(record, attr)
                if value not in (None, ""):
                    self.raw[field].add(str(value))

    def found(self, text: str) -> dict[str, set[str]]:
        """The raw values the text holds, by field (numbers also written with spaces or dashes)."""
        compact = _digits(text)
        out = {}
        for field, values in self.raw.items():
            hits = {
                v
                for v in values
                if v in text or (len(_digits(v)) >= 7 and _digits(v).isdigit() and _digits(v) in compact)
            }
            if hits:
                out[field] = hits
        return out


@pytest.fixture
def planted(units, make_user, individual_data, corporate_data, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return Planted(units, make_user, individual_data, corporate_data)


def _text(response) -> str | None:
    """What the user gets, as text: HTML and JSON decoded, CSV, and every cell of an xlsx download."""
    kind = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if "json" in kind:
        return json.dumps(json.loads(body or b"null"), ensure_ascii=False)
    if "spreadsheetml" in kind or body[:2] == b"PK":
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        except zipfile.BadZipFile:
            return None
        return "\n".join(
            " ".join("" if v is None else str(v) for v in row)
            for sheet in book
            for row in sheet.iter_rows(values_only=True)
        )
    if kind.startswith("text/"):
        return html.unescape(body.decode("utf-8-sig", errors="replace"))
    return None  # a PDF: its text is drawn from the print page, checked as HTML


def _records(p: Planted) -> dict[str, list[int]]:
    return {
        Scope.CUSTOMER: [p.person.pk, p.company.pk],
        Scope.APPLICATION: [p.application.pk, p.issued_application.pk],
        Scope.POLICY: [p.policy.pk],
    }


def _page_urls(p: Planted, user) -> list[str]:
    records = _records(p)
    urls = []
    for name, access in PAGES.items():
        if name.endswith(":*") or not allows(user, access) or name in ("logout",):
            continue
        if access.scope == Scope.LIST:
            try:
                urls.append(reverse(name))
            except NoReverseMatch:
                continue
        for pk in records.get(access.scope, []):
            try:
                urls.append(reverse(name, kwargs={"pk": pk}))
            except NoReverseMatch:
                continue
    return urls


def _api_urls(p: Planted, user) -> list[str]:
    from insurdesk.exchange.exporters import EXPORTERS

    records = _records(p)
    urls = []
    for op in OPERATIONS:
        access = API[op.key]
        if op.method != "GET" or not allows(user, access):
            continue
        if op.params == ():
            urls.append(op.path)
        elif op.params == ("id",):
            urls += [op.path.replace("{id}", str(pk)) for pk in records.get(access.scope, [])]
        elif op.key == "GET /exports/{name}":
            for name in EXPORTERS:
                urls += [f"/exports/{name}?format=csv", f"/exports/{name}?format=xlsx"]
    return [u + ("&" if "?" in u else "?") + "reference=PI-1" if "/file" in u else u for u in urls]


def _answers(p: Planted, role: str):
    """Yield (what, text) for every page, API answer and export the role may open."""
    user = p.users[role]
    client = Client()
    client.force_login(user)
    for url in _page_urls(p, user):
        r = client.get(url)
        if r.status_code == 200 and (text := _text(r)) is not None:
            yield url, text
    api = Client(headers={"Authorization": f"Bearer {token_issue(user=user)}"})
    for url in _api_urls(p, user):
        r = api.get("/api/v1" + url)
        if r.status_code == 200 and (text := _text(r)) is not None:
            yield "API " + url, text


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_a_role_that_may_not_see_sensitive_data_meets_no_raw_value_anywhere(planted, role):
    seen, leaks = 0, []
    for what, text in _answers(planted, role):
        seen += 1
        for field, values in planted.found(text).items():
            leaks.append(f"{what}: {field} unmasked ({sorted(values)[0]!r})")
    assert seen >= 10, f"{role} opened only {seen} pages: the walk is broken"
    assert not leaks, f"{role} sees raw values:\n" + "\n".join(leaks)


def test_a_role_that_may_see_sensitive_data_meets_every_planted_value_somewhere(planted):
    role = "clerk"
    assert role in SENSITIVE_ROLES
    missing = {field: set(values) for field, values in planted.raw.items()}
    for _, text in _answers(planted, role):
        for field, values in planted.found(text).items():
            missing[field] -= values
    missing = {f: v for f, v in missing.items() if v}
    assert not missing, (
        f"planted values shown nowhere to {role} (the masking check would prove nothing): {missing}"
    )


def test_every_declared_field_is_planted(planted):
    assert all(planted.raw[field] for field in MASKERS), {f: v for f, v in planted.raw.items() if not v}
    assert set(MASKERS) >= {"residence_address", "landline", "email", "health_notes"}
    assert isinstance(
        apps.get_model("applications.Application")._meta.get_field("health_details"), models.Field
    )
