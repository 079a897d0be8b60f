"""Builders for tests, the browser test and the bench: applications brought to underwriting the real way."""

from __future__ import annotations

from insurdesk.applications.models import Application
from insurdesk.applications.services import application_create, application_second_entry, application_submit
from insurdesk.applications.testing import application_input, second_entry_of


def submit_application(*, clerk, clerk2, data: dict) -> Application:
    """Enter (初录), re-enter identically (二次录入) and submit (提交核保) an application."""
    app, _ = application_create(actor=clerk, data=data)
    application_second_entry(actor=clerk2, application_id=app.pk, data=second_entry_of(app))
    return application_submit(actor=clerk, application_id=app.pk)


def individual_input(*, policyholder, insured=None, agent=None, **overrides) -> dict:
    """Return a valid first entry (安享终身寿险 with a critical-illness rider) for two archives."""
    return application_input(
        policyholder_id=policyholder.pk,
        insured_id=insured.pk if insured is not None else None,
        agent_id=agent.pk if agent is not None else None,
        **({"relationship": "self"} if insured is None else {}) | overrides,
    )


def group_input(*, company, agent=None, application_date, level="B", members: int = 10, **overrides) -> dict:
    """Return a valid group first entry (团体意外伤害保险 G801, single premium) dated the eve of its start."""
    from datetime import timedelta
    from decimal import Decimal

    from insurdesk.products.models import PlanLevel

    plan = PlanLevel.objects.get(product__code="G801", code=level)
    premium = plan.premium_per_member * members
    data = application_input(
        policyholder_id=company.pk,
        agent_id=agent.pk if agent is not None else None,
        relationship="employer",
        lines=[
            {
                "product_code": "G801",
                "coverage_term": "1y",
                "sum_insured": str(plan.sum_insured * members),
                "premium": str(premium),
                "plan_level": level,
            }
        ],
        total_premium=str(Decimal(premium)),
        payment_mode="single",
        payment_term="single",
        application_date=application_date,
        requested_effective_date=application_date + timedelta(days=1),
        beneficiary_legal=True,
        beneficiaries=[],
    )
    data.update(overrides)
    return data
