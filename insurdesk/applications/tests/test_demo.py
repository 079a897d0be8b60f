import pytest

from insurdesk.applications.models import Application, State
from insurdesk.demo.data import load_demo
from insurdesk.products.models import Line, Product


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_the_demo_has_products_of_every_line_and_applications_at_each_step():
    load_demo(customers=120)
    assert {p.line for p in Product.objects.all()} == set(Line.values)
    assert Product.objects.filter(is_group=True, plan_levels__isnull=False).distinct().count() == 2
    group = {p.code: p for p in Product.objects.filter(is_group=True).prefetch_related("plan_levels")}
    assert "意外" in group["G801"].name and "医疗" in group["G802"].name  # group accident, group medical
    assert all(len(p.plan_levels.all()) >= 2 for p in group.values())
    states = set(Application.objects.values_list("state", flat=True))
    assert {State.SECOND_ENTRY, State.PROBLEMS, State.ENTERED, State.UNDERWRITING} <= states
    assert Application.objects.filter(recording_required=True).exists()
    assert Application.objects.filter(insured__isnull=True).exists()
