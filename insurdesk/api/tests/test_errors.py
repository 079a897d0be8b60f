"""Translating request-check errors into the API's {field, code, message} entries."""

import pytest

from insurdesk.api.errors import field_path, pydantic_error


@pytest.mark.parametrize(
    "loc, path",
    [
        (("body", "payload", "name"), "name"),
        (("body", "payload", "corporate", "legal_representative", "name"), "legal_representative.name"),
        (
            ("body", "payload", "corporate", "beneficial_owners", 0, "id_number"),
            "beneficial_owners[0].id_number",
        ),
        (("body", "payload"), ""),
        (("query", "page_size"), "page_size"),
        (("path", "id"), "id"),
    ],
)
def test_field_path_drops_source_parameter_and_union_tag(loc, path):
    assert field_path(loc) == path


@pytest.mark.parametrize(
    "err, entry",
    [
        (
            {"type": "missing", "loc": ("body", "payload", "individual", "name"), "msg": "Field required"},
            ("name", "required"),
        ),
        (
            {"type": "string_type", "loc": ("body", "payload", "individual", "id_number"), "msg": "..."},
            ("id_number", "type"),
        ),
        ({"type": "union_tag_not_found", "loc": ("body", "payload"), "msg": "..."}, ("kind", "required")),
        ({"type": "union_tag_invalid", "loc": ("body", "payload"), "msg": "..."}, ("kind", "choice")),
        (
            {
                "type": "literal_error",
                "loc": ("body", "payload", "individual", "gender"),
                "msg": "...",
                "ctx": {"expected": "'M' or 'F'"},
            },
            ("gender", "choice"),
        ),
        (
            {"type": "extra_forbidden", "loc": ("body", "payload", "individual", "x"), "msg": "..."},
            ("x", "unknown_field"),
        ),
        (
            {
                "type": "string_too_long",
                "loc": ("body", "payload", "individual", "name"),
                "msg": "...",
                "ctx": {"max_length": 200},
            },
            ("name", "too_long"),
        ),
        (
            {"type": "less_than_equal", "loc": ("query", "page_size"), "msg": "...", "ctx": {"le": 200}},
            ("page_size", "range"),
        ),
        (
            {
                "type": "date_from_datetime_parsing",
                "loc": ("body", "payload", "individual", "birth_date"),
                "msg": "...",
            },
            ("birth_date", "format"),
        ),
        ({"type": "model_attributes_type", "loc": ("body", "payload"), "msg": "..."}, ("", "type")),
    ],
)
def test_pydantic_errors_get_stable_codes_and_chinese_messages(err, entry):
    out = pydantic_error(err)
    assert (out["field"], out["code"]) == entry
    assert out["message"] and not out["message"].startswith("Field required")


def test_messages_name_the_limit():
    out = pydantic_error(
        {"type": "string_too_long", "loc": ("body", "p", "name"), "msg": "", "ctx": {"max_length": 9}}
    )
    assert "9" in out["message"]
    out = pydantic_error(
        {"type": "greater_than_equal", "loc": ("query", "page"), "msg": "", "ctx": {"ge": 1}}
    )
    assert out["message"] == "查询参数：应不小于 1"
