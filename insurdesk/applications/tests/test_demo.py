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
    states = set(Application.objects.values_list("state", flat=True))
    assert {State.SECOND_ENTRY, State.PROBLEMS, State.ENTERED, State.UNDERWRITING} <= states
    assert Application.objects.filter(recording_required=True).exists()
    assert Application.objects.filter(insured__isnull=True).exists()
