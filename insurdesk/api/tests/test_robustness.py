"""Whatever a client sends, the API answers with a declared status and never a server error."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurdesk.api.tests.client import as_user
from insurdesk.customers.api import CorporateIn, CustomerPatch, IndividualIn

FIELDS = sorted(
    set(IndividualIn.model_fields) | set(CorporateIn.model_fields) | set(CustomerPatch.model_fields)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "individual",
            "corporate",
            "resident_id",
            "M",
            "F",
            "1990-03-07",
            "110105199003071239",
            "91110108MA01ABCD5T",
            "13812345678",
            "low",
            "high",
            "equity",
            "2040-02-30",
            "\x00",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "id_type", "id_number", "mobile", "ownership_kind", "insurer", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=8,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), values, max_size=8)
RELAXED = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def api(make_user):
    return as_user(make_user("admin"))


@RELAXED
@given(body=bodies, kind=st.sampled_from(["individual", "corporate", None]))
def test_create_never_fails_on_the_server(api, body, kind):
    if kind is not None:
        body = {**body, "kind": kind}
    r = api.post("/customers", body)
    assert r.status_code in (201, 400, 403, 409, 422), r.content
    json.loads(r.content)


@RELAXED
@given(body=bodies)
def test_patch_never_fails_on_the_server(api, body):
    created = api.post(
        "/customers",
        {
            "kind": "corporate",
            "name": "某公司",
            "uscc": "91110108MA01ABCD5T",
            "legal_representative": {"name": "李强"},
        },
    )
    pk = created.json()["id"] if created.status_code == 201 else created.json()["existing"]["id"]
    r = api.patch(f"/customers/{pk}", body)
    assert r.status_code in (200, 400, 403, 404, 409, 422), r.content


@RELAXED
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "kind", "unit_id", "agent_id", "aml_risk", "page", "page_size", "other"]),
        st.text(max_size=30),
        max_size=5,
    )
)
def test_list_never_fails_on_the_server(api, params):
    r = api.get("/customers", params)
    assert r.status_code in (200, 422), r.content
