"""The OpenAPI description is true (issue 15.13): one schema per name, strict ISO dates.

The finding: schemas with the same name overwrote each other (PartyOut, LineOut, DuePage, RuleOut, …),
so /payments/due was documented with another module's DueOut; {"occurred_on": 0} became 1970-01-01.
"""

import pytest
from ninja.openapi.schema import OpenAPISchema

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.api.urls import api as the_api


def schema_name_clashes(api) -> dict[str, int]:
    """Build the description and return every schema name given to more than one different schema."""
    clashes: dict[str, int] = {}

    class Recording(OpenAPISchema):
        def add_schema_definitions(self, definitions):
            for name, schema in definitions.items():
                if name in self.schemas and self.schemas[name] != schema:
                    clashes[name] = clashes.get(name, 1) + 1
            super().add_schema_definitions(definitions)

    Recording(api, "/api/v1/")
    return clashes


def test_no_two_schemas_share_a_name():
    assert schema_name_clashes(the_api) == {}


def test_the_payment_due_list_is_documented_with_its_own_items(client):
    schema = client.get("/api/v1/openapi.json").json()
    ok = schema["paths"]["/api/v1/payments/due"]["get"]["responses"]["200"]["content"]["application/json"]
    page = schema["components"]["schemas"][ok["schema"]["$ref"].rsplit("/", 1)[1]]
    item = schema["components"]["schemas"][page["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert {"due_date", "outstanding", "days_overdue", "policy_no"} <= set(item["properties"])


@pytest.fixture
def officer(make_user):
    return as_user(make_user("compliance", "HQ"))


@pytest.mark.parametrize("value", [0, 1700000000, "0", "1700000000", "2024-1-1", "20240101", True, 1.5])
def test_a_date_in_a_body_must_be_iso_text(officer, individual_data, units, value):
    from insurdesk.customers.services import customer_create

    customer, _ = customer_create(actor=None, kind="individual", data=individual_data(unit_id=units["SZ"].pk))
    body = {"customer_id": customer.pk, "kind": "large_cash", "amount": "20000.00", "reason": "大额现金交易"}
    r = officer.post("/compliance/flags", {**body, "occurred_on": value})
    assert r.status_code == 422, r.content
    assert ("occurred_on", "format") in error_codes(r)
    good = officer.post("/compliance/flags", {**body, "occurred_on": "2024-01-01", "reference": "R1"})
    assert good.status_code == 201 and good.json()["occurred_on"] == "2024-01-01"


@pytest.mark.parametrize("value", ["0", "1700000000"])
def test_a_date_in_a_query_must_be_iso_text(make_user, value):
    r = as_user(make_user("clerk")).get("/payments/due", {"due_from": value})
    assert r.status_code == 422 and ("due_from", "format") in error_codes(r)
