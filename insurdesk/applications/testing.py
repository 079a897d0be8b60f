"""Builders for tests (this app's and those built on it): valid first-entry input and its second entry."""

import datetime

from django.utils import timezone


def application_input(
    *,
    policyholder_id: int,
    insured_id: int | None = None,
    agent_id: int | None = None,
    relationship: str = "spouse",
    **overrides,
) -> dict:
    """Return a valid first entry: 安享终身寿险 L101 with the critical-illness rider R201, one beneficiary."""
    data = {
        "policyholder": {"customer_id": policyholder_id},
        "insured": {"customer_id": insured_id} if insured_id is not None else None,
        "relationship": relationship,
        "insured_consent": True,
        "lines": [
            {"product_code": "L101", "coverage_term": "life", "sum_insured": "500000", "premium": "12000.00"},
            {
                "product_code": "R201",
                "coverage_term": "20y",
                "sum_insured": "200000",
                "premium": "3000.00",
                "rider_of": "L101",
            },
        ],
        "total_premium": "15000.00",
        "payment_mode": "annual",
        "payment_term": "20y",
        "business_source": "direct",
        "agent_id": agent_id,
        "application_date": timezone.localdate() - datetime.timedelta(days=1),
        "health_details": "无",
        "beneficiaries": [{"order": 1, "name": "王小明", "share": "100", "relationship": "child"}],
    }
    if insured_id is None:
        data.pop("insured")
    data.update(overrides)
    return data


def second_entry_of(app) -> dict:
    """Return a second entry that agrees with the application in every key field."""
    from insurdesk.applications.entry import first_entry_values

    values = first_entry_values(app)
    out: dict = {
        "policyholder": {"name": values["policyholder.name"], "id_number": values["policyholder.id_number"]},
        "total_premium": values["total_premium"],
        "payment_mode": values["payment_mode"],
        "payment_term": values["payment_term"],
        "lines": [],
        "beneficiaries": [],
    }
    if "insured.name" in values:
        out["insured"] = {"name": values["insured.name"], "id_number": values["insured.id_number"]}
    if "bank_account" in values:
        out["bank_account"] = values["bank_account"]
    i = 0
    while f"lines[{i}].product_code" in values:
        out["lines"].append(
            {k: values[f"lines[{i}].{k}"] for k in ("product_code", "sum_insured", "premium")}
        )
        i += 1
    i = 0
    while f"beneficiaries[{i}].name" in values:
        out["beneficiaries"].append({k: values[f"beneficiaries[{i}].{k}"] for k in ("name", "share")})
        i += 1
    return out
