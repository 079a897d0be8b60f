"""A starter catalogue: one or more products of every line, riders, and two group products with plan levels.

Used by the demo command and by tests (`insurdesk.applications.testing`); loading it twice changes nothing.
"""

from insurdesk.products.models import Product
from insurdesk.products.services import product_create

ID_DOCS = ["投保单", "投保人身份证件", "被保险人身份证件"]


def _cash_values(first: int, step: int, years: int, cap: int = 1000) -> list[str]:
    """A plain cash-value table per 1,000 sum insured: low in year 1, rising each year up to a cap."""
    return [f"{min(cap, first + step * year)}.00" for year in range(years)]


# The servicing tables of the starter products (保全: 现金价值、保单贷款、复效、生存金、满期金); the
# migration that added the fields fills them into catalogues loaded before it.
SERVICING_TABLES: dict[str, dict] = {
    "L101": {
        "cash_values": _cash_values(20, 35, 40, cap=950),
        "loan_share": "80.00",
        "loan_rate": "5.00",
        "reinstatement_health": True,
        "survival_benefit": "20.00",
        "survival_interval": 3,
    },
    "L102": {
        "cash_values": _cash_values(5, 8, 30, cap=200),
        "loan_share": "70.00",
        "loan_rate": "5.50",
        "reinstatement_health": True,
    },
    "U501": {
        "cash_values": _cash_values(600, 40, 10, cap=1000),
        "loan_share": "80.00",
        "loan_rate": "4.50",
        "maturity_benefit": "1000.00",
    },
}

STARTER_PRODUCTS: list[dict] = [
    {
        "code": "L101",
        "name": "安享终身寿险",
        "line": "life",
        "coverage_terms": ["life"],
        "payment_modes": ["single", "annual"],
        "payment_terms": ["single", "10y", "20y"],
        "min_age": 0,
        "max_age": 60,
        "min_sum_insured": "50000",
        "max_sum_insured": "5000000",
        "cooling_off_days": 15,
        "required_documents": [*ID_DOCS, "健康告知书"],
        "occupation_classes": [1, 2, 3, 4],
        "death_cover": True,
    },
    {
        "code": "L102",
        "name": "守护定期寿险",
        "line": "life",
        "coverage_terms": ["20y", "30y", "to60"],
        "payment_modes": ["annual", "monthly"],
        "payment_terms": ["10y", "20y"],
        "min_age": 18,
        "max_age": 55,
        "min_sum_insured": "100000",
        "max_sum_insured": "3000000",
        "cooling_off_days": 15,
        "required_documents": ID_DOCS,
        "occupation_classes": [1, 2, 3],
        "death_cover": True,
    },
    {
        "code": "R201",
        "name": "附加重大疾病保险",
        "line": "health",
        "is_rider": True,
        "attaches_to": ["L101", "L102"],
        "coverage_terms": ["20y", "30y", "life"],
        "payment_modes": ["annual"],
        "payment_terms": ["10y", "20y"],
        "min_age": 0,
        "max_age": 55,
        "min_sum_insured": "50000",
        "max_sum_insured": "1000000",
        "cooling_off_days": 15,
        "required_documents": [*ID_DOCS, "健康告知书"],
        "occupation_classes": [1, 2, 3, 4],
    },
    {
        "code": "R202",
        "name": "附加投保人豁免保险费",
        "line": "health",
        "is_rider": True,
        "attaches_to": ["L101"],
        "coverage_terms": ["20y", "life"],
        "payment_modes": ["annual"],
        "payment_terms": ["10y", "20y"],
        "min_age": 18,
        "max_age": 55,
        "cooling_off_days": 15,
        "required_documents": ID_DOCS,
    },
    {
        "code": "H301",
        "name": "百万医疗保险",
        "line": "health",
        "coverage_terms": ["1y"],
        "payment_modes": ["annual", "monthly"],
        "payment_terms": ["1y"],
        "min_age": 0,
        "max_age": 65,
        "min_sum_insured": "1000000",
        "max_sum_insured": "6000000",
        "cooling_off_days": 0,
        "required_documents": [*ID_DOCS, "健康告知书"],
        "occupation_classes": [1, 2, 3, 4],
    },
    {
        "code": "A401",
        "name": "综合意外伤害保险",
        "line": "accident",
        "coverage_terms": ["1y", "6m"],
        "payment_modes": ["single"],
        "payment_terms": ["single"],
        "min_age": 16,
        "max_age": 70,
        "min_sum_insured": "10000",
        "max_sum_insured": "2000000",
        "cooling_off_days": 0,
        "required_documents": ID_DOCS,
        "occupation_classes": [1, 2, 3, 4, 5],
        "death_cover": True,
    },
    {
        "code": "U501",
        "name": "稳健投资连结保险",
        "line": "life",
        "coverage_terms": ["10y", "life"],
        "payment_modes": ["single", "annual"],
        "payment_terms": ["single", "5y", "10y"],
        "min_age": 18,
        "max_age": 70,
        "min_sum_insured": "10000",
        "cooling_off_days": 15,
        "required_documents": [*ID_DOCS, "风险测评问卷", "产品说明书签收"],
        "death_cover": True,
        "unit_linked": True,
    },
    {
        "code": "P601",
        "name": "家庭财产综合保险",
        "line": "property",
        "coverage_terms": ["1y"],
        "payment_modes": ["single"],
        "payment_terms": ["single"],
        "min_age": 18,
        "max_age": 100,
        "min_sum_insured": "10000",
        "max_sum_insured": "5000000",
        "cooling_off_days": 0,
        "required_documents": ["投保单", "房产证明"],
    },
    {
        "code": "C701",
        "name": "机动车商业保险",
        "line": "auto",
        "coverage_terms": ["1y"],
        "payment_modes": ["single"],
        "payment_terms": ["single"],
        "min_age": 18,
        "max_age": 100,
        "min_sum_insured": "10000",
        "max_sum_insured": "3000000",
        "cooling_off_days": 0,
        "required_documents": ["投保单", "行驶证", "驾驶证"],
    },
    {
        "code": "G801",
        "name": "团体意外伤害保险",
        "line": "group",
        "is_group": True,
        "coverage_terms": ["1y"],
        "payment_modes": ["single", "annual"],
        "payment_terms": ["single", "1y"],
        "min_age": 16,
        "max_age": 65,
        "cooling_off_days": 0,
        "required_documents": ["投保单", "营业执照", "被保险人清单"],
        "occupation_classes": [1, 2, 3, 4],
        "death_cover": True,
        "plan_levels": [
            {"code": "A", "name": "管理人员", "sum_insured": "500000", "premium_per_member": "300.00"},
            {"code": "B", "name": "办公室职员", "sum_insured": "300000", "premium_per_member": "150.00"},
            {"code": "C", "name": "一线员工", "sum_insured": "200000", "premium_per_member": "260.00"},
        ],
    },
    {
        "code": "G802",
        "name": "团体补充医疗保险",
        "line": "group",
        "is_group": True,
        "coverage_terms": ["1y"],
        "payment_modes": ["single", "annual"],
        "payment_terms": ["single", "1y"],
        "min_age": 0,
        "max_age": 65,
        "cooling_off_days": 0,
        "required_documents": ["投保单", "营业执照", "被保险人清单", "健康告知书"],
        "plan_levels": [
            {
                "code": "A",
                "name": "高端计划",
                "sum_insured": "100000",
                "premium_per_member": "1200.00",
                "description": "门急诊与住院，免赔额 0",
            },
            {
                "code": "B",
                "name": "标准计划",
                "sum_insured": "50000",
                "premium_per_member": "600.00",
                "description": "住院，免赔额 500 元",
            },
        ],
    },
]


def load_starter_catalogue(*, actor=None) -> list[Product]:
    """Create the starter products that do not exist yet (mains before riders); return all of them."""
    existing = set(Product.objects.values_list("code", flat=True))
    for spec in sorted(STARTER_PRODUCTS, key=lambda s: s.get("is_rider", False)):
        if spec["code"] not in existing:
            spec = {**spec, **SERVICING_TABLES.get(spec["code"], {})}
            product_create(actor=actor, data=spec)
    return list(Product.objects.filter(code__in=[s["code"] for s in STARTER_PRODUCTS]).order_by("code"))
