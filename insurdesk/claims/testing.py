"""Build a policy claims can be made on, for tests, the site-wide access test and the browser test."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from insurdesk.policies.models import Policy

PRODUCTS = {
    "life": ("L900", "人寿险（理赔测试）"),
    "health": ("H900", "医疗险（理赔测试）"),
    "accident": ("A900", "意外险（理赔测试）"),
}


def product(line: str = "life"):
    from insurdesk.products.models import Product
    from insurdesk.products.services import product_create

    code, name = PRODUCTS[line]
    found = Product.objects.filter(code=code).first()
    if found is not None:
        return found
    return product_create(
        actor=None,
        data={"code": code, "name": name, "line": line, "coverage_terms": ["1y"], "payment_modes": ["annual"],
              "payment_terms": ["1y"]},
    )  # fmt: skip


def claim_policy(
    *,
    customer,
    policy_no: str,
    line: str = "life",
    sum_insured: Decimal | str = "100000",
    effective: datetime.date | None = None,
    expiry: datetime.date | None = None,
    actor=None,
) -> Policy:
    """Register an in-force policy on the customer (as an archive table would), by default in force
    since 400 days and for 1,000 more."""
    from insurdesk.policies.legacy import LegacyPolicy, policy_import_legacy

    today = timezone.localdate()
    p = product(line)
    return policy_import_legacy(
        actor=actor,
        item=LegacyPolicy(
            policy_no=policy_no,
            customer_id=customer.pk,
            product_name=p.name,
            sum_insured=Decimal(str(sum_insured)),
            effective_date=effective or today - datetime.timedelta(days=400),
            expiry_date=expiry or today + datetime.timedelta(days=1000),
            payment_mode="annual",
            premium=Decimal("1000"),
        ),
    )
