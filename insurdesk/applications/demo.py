"""Demo new business (演示数据): the starter catalogue and a few applications at each step of double entry.

Called by `insurdesk demo` after the archives are loaded; everything goes through the services, so the
demo's applications obey the same rules as keyed ones.
"""

import datetime
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from insurdesk.applications.models import Application
from insurdesk.applications.services import (
    application_create,
    application_recording_attach,
    application_second_entry,
    application_submit,
    problem_raise,
)
from insurdesk.applications.testing import second_entry_of
from insurdesk.customers.models import Customer, CustomerRelation, Kind
from insurdesk.org.selectors import unit_subtree_ids
from insurdesk.products.catalogue import load_starter_catalogue


@dataclass
class DemoNewBusiness:
    products: int
    applications: int


def _couples(unit_ids: list[int]) -> list[tuple[Customer, Customer]]:
    links = (
        CustomerRelation.objects.filter(
            relation="spouse", from_customer__unit_id__in=unit_ids, from_customer_id__lt=F("to_customer_id")
        )
        .select_related("from_customer", "to_customer")
        .order_by("from_customer_id")
    )
    return [(link.from_customer, link.to_customer) for link in links]


def _life(sum_insured: str, premium: str, rider: tuple[str, str] | None = None) -> tuple[list[dict], str]:
    lines = [
        {"product_code": "L101", "coverage_term": "life", "sum_insured": sum_insured, "premium": premium}
    ]
    total = int(premium)
    if rider:
        lines.append(
            {
                "product_code": "R201",
                "coverage_term": "20y",
                "sum_insured": rider[0],
                "premium": rider[1],
                "rider_of": "L101",
            }
        )
        total += int(rider[1])
    return lines, f"{total}.00"


def load_demo_new_business(*, users: dict, today: datetime.date | None = None) -> DemoNewBusiness:
    """Load the catalogue and six applications in the clerk's branch (深圳分公司)."""
    products = load_starter_catalogue(actor=users["admin"])
    today = today or timezone.localdate()
    clerk, clerk2 = users["clerk"], users["clerk2"]
    scope = unit_subtree_ids(clerk.unit)
    def current(c) -> bool:
        # An expired identity document blocks new business (SPEC §1): the demo applies for current ones.
        return c.id_long_term or c.id_valid_to is None or c.id_valid_to >= today

    couples = [
        (a, b) for a, b in _couples(scope) if a.birth_date and b.birth_date and current(a) and current(b)
    ][:4]
    if len(couples) < 4:
        return DemoNewBusiness(len(products), 0)

    def keyed(husband, wife, *, days: int, lines, total, **extra) -> Application:
        data = {
            "policyholder": {"customer_id": husband.pk},
            "insured": {"customer_id": wife.pk},
            "relationship": "spouse",
            "insured_consent": True,
            "lines": lines,
            "total_premium": total,
            "payment_mode": "annual",
            "payment_term": "20y",
            "business_source": "direct",
            "agent_id": (husband.agent_id or users["agent"].pk),
            "health_details": "无",
            "application_date": today - datetime.timedelta(days=days),
            "beneficiaries": [
                {
                    "order": 1,
                    "name": husband.name,
                    "share": "100",
                    "relationship": "spouse",
                    "id_type": husband.id_type,
                    "id_number": husband.id_number,
                }
            ],
        }
        data.update(extra)
        return application_create(actor=clerk, data=data)[0]

    made = []
    # 1. keyed today, waiting for second entry
    a, b = couples[0]
    made.append(
        keyed(
            a,
            b,
            days=0,
            lines=_life("300000", "8600", ("100000", "2100"))[0],
            total=_life("300000", "8600", ("100000", "2100"))[1],
        )
    )
    # 2. second entry found a typo in a premium: a problem item waits for the reviewer
    a, b = couples[1]
    lines, total = _life("500000", "12000", ("200000", "3000"))
    app = keyed(a, b, days=2, lines=lines, total=total)
    second = second_entry_of(app)
    second["lines"][1]["premium"] = "300"
    application_second_entry(actor=clerk2, application_id=app.pk, data=second)
    made.append(app)
    # 3. both entries agree: ready to go to underwriting
    a, b = couples[2]
    lines, total = _life("200000", "5800")
    app = keyed(
        b,
        a,
        days=3,
        lines=lines,
        total=total,
        payment_term="10y",
        beneficiaries=[{"order": 1, "name": b.name, "share": "100", "relationship": "spouse"}],
    )
    application_second_entry(actor=clerk2, application_id=app.pk, data=second_entry_of(app))
    made.append(app)
    # 4. sold through a bank: needs the sales recording (双录); submitted, recording attached, not checked
    a, b = couples[3]
    lines, total = _life("400000", "9800", ("100000", "2500"))
    app = keyed(
        a,
        b,
        days=5,
        lines=lines,
        total=total,
        business_source="intermediary",
        agency_name="招商银行深圳南山支行",
        agency_kind="bank",
        commission_ratio="12.00",
        bank_name="招商银行",
        bank_account="6225880137654321",
        account_holder=a.name,
    )
    application_second_entry(actor=clerk2, application_id=app.pk, data=second_entry_of(app))
    application_submit(actor=clerk, application_id=app.pk)
    application_recording_attach(actor=app.agent or clerk, application_id=app.pk, reference="SL-2026-110801")
    made.append(app)
    # 5. a one-year medical policy for oneself, with a missing signature sent to the correction desk
    a, _ = couples[0]
    app = application_create(
        actor=clerk,
        data={
            "policyholder": {"customer_id": a.pk},
            "relationship": "self",
            "lines": [
                {"product_code": "H301", "coverage_term": "1y", "sum_insured": "2000000", "premium": "680"}
            ],
            "total_premium": "680",
            "payment_mode": "annual",
            "payment_term": "1y",
            "business_source": "cross_sell",
            "agent_id": a.agent_id or users["agent"].pk,
            "health_details": "无",
            "application_date": today - datetime.timedelta(days=1),
        },
    )[0]
    problem_raise(
        actor=clerk2,
        application_id=app.pk,
        text="投保人签名处空白，请客户补签",
        issue_type="unsigned",
        route="customer",
        arose_at="entry",
    )
    made.append(app)
    # 6. a group accident policy for a company (被保险人清单 follows with the policy)
    company = Customer.objects.filter(kind=Kind.CORPORATE, unit_id__in=scope).order_by("id").first()
    if company is not None:
        made.append(
            application_create(
                actor=clerk,
                data={
                    "policyholder": {"customer_id": company.pk},
                    "relationship": "employer",
                    "lines": [
                        {
                            "product_code": "G801",
                            "coverage_term": "1y",
                            "sum_insured": "300000",
                            "premium": "24600",
                            "plan_level": "B",
                        }
                    ],
                    "total_premium": "24600",
                    "payment_mode": "single",
                    "payment_term": "single",
                    "business_source": "direct",
                    "agent_id": company.agent_id or users["agent"].pk,
                    "health_details": "无",
                    "application_date": today - datetime.timedelta(days=1),
                    "requested_effective_date": today,
                },
            )[0]
        )
    return DemoNewBusiness(len(products), len(made))
