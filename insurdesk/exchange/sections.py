"""The archive table's other parts (policy, payment, claim, contact): what can be done with them today.

Policies and payments have models (issue 3) but no service that registers a policy issued before
the system (a policy without an application and underwriting case); payments are recorded only
against such a policy. So their columns are read and checked under the products' rules — an unknown
product is reported, never created — and reported as not imported; claims and contact logs have no
models yet and are only reported. docs/design/exchange.md lists the service this waits for.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Q

from insurdesk.exchange.headers import CLAIM, CONTACT, PAYMENT, POLICY, SECTION_LABELS

# Sections whose cells are read and checked (as notices) although nothing is written for them yet.
CHECKED = frozenset({POLICY, PAYMENT}) if apps.is_installed("insurdesk.policies") else frozenset()
NOT_IMPORTED_REASON = {
    POLICY: "保单模块尚无登记历史保单（非本系统承保出单）的服务，本列已校验但未导入",
    PAYMENT: "缴费只能记入系统中已有的保单，本列已校验但未导入",
    CLAIM: "系统中还没有理赔模块，本列未导入",
    CONTACT: "系统中还没有沟通记录模块，本列未导入",
}


def not_imported_message(section: str) -> str:
    return NOT_IMPORTED_REASON.get(section, f"{SECTION_LABELS[section]}尚不能导入，本列未导入")


class PolicyCheck:
    """Check a row's policy and payment cells against the product catalogue; return (key, code, message)."""

    def __init__(self):
        self._products: dict[str, object] = {}

    def product(self, name: str):
        if name not in self._products:
            from insurdesk.products.models import Product

            self._products[name] = (
                Product.objects.filter(Q(name=name) | Q(code=name.upper())).order_by("id").first()
            )
        return self._products[name]

    def check(self, parts: dict) -> list[tuple[str, str, str]]:
        policy, payment = parts.get(POLICY, {}), parts.get(PAYMENT, {})
        problems = []
        if (policy or payment) and not policy.get("policy_no"):
            problems.append(("policy_no", "required", "有保单或缴费信息时须填写保单号（本行保单未导入）"))
        product = None
        name = policy.get("product_name")
        if name:
            product = self.product(name)
            if product is None:
                problems.append(
                    (
                        "product_name",
                        "unknown_product",
                        f"险种“{name}”不在产品目录中；导入不会新建产品，请先在险种管理中建立或改用目录中的名称",
                    )
                )
        elif policy:
            problems.append(("product_name", "required", "须填写保险产品名称"))
        start, end = policy.get("start_date"), policy.get("end_date")
        if start and end and end <= start:
            problems.append(("end_date", "date_order", "保险到期日期应晚于起始日期"))
        mode = payment.get("pay_mode")
        if product is not None and mode and product.payment_modes and mode not in product.payment_modes:
            problems.append(("pay_mode", "choice", f"险种“{product.name}”不接受这种缴费方式"))
        return problems
