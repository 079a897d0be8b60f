import datetime
import io
import re

import pytest
from django.core.management import CommandError, call_command

from insurdesk.audit.models import AuditEntry
from insurdesk.audit.services import audit_verify
from insurdesk.customers.keys import identity_hash
from insurdesk.customers.models import BeneficialOwner, Customer, CustomerRelation, OtherInsurerPolicy
from insurdesk.customers.selectors import customer_scope
from insurdesk.demo.data import DEFAULT_PASSWORD, DEMO_USERS, build_plan
from insurdesk.identity.documents import check_document
from insurdesk.identity.uscc import parse_uscc
from insurdesk.org.models import OrgUnit, Role, User
from insurdesk.org.policy import SECOND_FACTOR_ROLES


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 costs ~0.4 s per login on this machine; the demo's behaviour does not depend on the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_demo(**options) -> str:
    out = io.StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_demo_loads_a_usable_archive_and_a_second_run_changes_nothing():
    output = run_demo()

    # the org tree: 总公司 → 2 省公司 → 2–3 分公司 each → 支公司
    hq = OrgUnit.objects.get(parent__isnull=True)
    provinces = list(hq.children.all())
    assert hq.level == "head" and len(provinces) == 2 and all(p.level == "province" for p in provinces)
    for province in provinces:
        branches = list(province.children.all())
        assert 2 <= len(branches) <= 3 and all(b.level == "branch" and b.children.exists() for b in branches)
    # one login per role, a second clerk and agent, all with the demo password, listed in the output
    users = {u.username: u for u in User.objects.select_related("unit")}
    assert {u.role for u in users.values()} == set(Role.values)
    assert users["clerk2"].role == "clerk" and users["agent2"].role == "agent"
    for username, role, _unit, _name in DEMO_USERS:
        assert users[username].check_password(DEFAULT_PASSWORD)
        # The roles that must bind an authenticator say so after the password.
        totp = r"\s+\+ 动态口令 authenticator\*" if role in SECOND_FACTOR_ROLES else ""
        line = rf"^{username}\s+{Role(role).label}\s+{users[username].unit.name}\s+{DEFAULT_PASSWORD}{totp}$"
        assert re.search(line, output, re.M)

    customers = list(Customer.objects.all())
    individuals = [c for c in customers if c.kind == "individual"]
    companies = [c for c in customers if c.kind == "corporate"]
    assert len(individuals) == 300 and len(companies) == 60
    for c in customers:
        assert re.fullmatch(r"KH\d{10}", c.archive_no)
        if c.kind == "individual":
            assert check_document(c.id_type, c.id_number).number == c.id_number
        else:
            assert parse_uscc(c.id_number).code == c.id_number and c.legal_rep_name and c.contact_name
        assert c.id_hash == identity_hash(c.id_type, c.id_number)
    assert len({c.archive_no for c in customers}) == len(customers)

    # variety the later screens need
    types = {c.id_type for c in individuals}
    assert {"resident_id", "passport", "hk_macao_permit"} <= types
    assert sum(1 for c in individuals if "15位" in c.notes) >= 3
    assert len({c.id_number[:6] for c in individuals if c.id_type == "resident_id"}) >= 20
    today = datetime.date.today()
    assert sum(1 for c in individuals if c.id_valid_to and c.id_valid_to < today) >= 3
    assert {c.aml_risk for c in customers} == {"low", "medium", "high"}
    assert all(c.aml_next_review for c in customers)
    assert len({c.occupation_class for c in individuals if c.occupation_class}) >= 4
    assert all(c.mobile_hash for c in individuals if c.birth_date and c.birth_date.year < 2000)
    assert all(c.postal_code and c.residence_address for c in individuals)
    assert BeneficialOwner.objects.values("customer").distinct().count() == 60
    assert OtherInsurerPolicy.objects.exists()
    relations = {r for r in CustomerRelation.objects.values_list("relation", flat=True)}
    assert {"spouse", "child", "parent", "employer", "employee"} <= relations
    # spread across units, and visible to the demo logins
    assert len({c.unit_id for c in customers}) >= 10
    assert 35 <= customer_scope(users["agent"]).count() <= 48
    assert 15 <= customer_scope(users["agent2"]).count() <= 32
    assert customer_scope(users["clerk"]).count() >= 120
    assert audit_verify().ok

    entries = AuditEntry.objects.count()
    again = run_demo()

    assert "未作任何修改" in again
    assert all(re.search(rf"^{name}\s", again, re.M) for name, *_ in DEMO_USERS)
    assert Customer.objects.count() == 360 and AuditEntry.objects.count() == entries
    assert User.objects.count() == len(DEMO_USERS)


@pytest.mark.django_db
def test_customers_option_scales_and_password_option_sets_every_login():
    run_demo(customers=48, password="another-pass-1")

    assert Customer.objects.count() == 48 and Customer.objects.filter(kind="corporate").count() == 8
    assert all(u.check_password("another-pass-1") for u in User.objects.all())
    assert "首次装入时设定" in run_demo()
    assert "another-pass-1" in run_demo(password="another-pass-1")


@pytest.mark.django_db
def test_demo_refuses_a_database_that_already_holds_other_data():
    from insurdesk.org.services import unit_create

    unit_create(actor=None, code="ROOT", name="某保险公司")
    with pytest.raises(CommandError, match="空库"):
        run_demo(customers=12)
    assert Customer.objects.count() == 0 and not User.objects.exists()
    assert "未装入演示数据" in run_demo(customers=12, if_empty=True)
    assert Customer.objects.count() == 0 and not User.objects.exists()


def test_same_seed_draws_the_same_people():
    day = datetime.date(2026, 11, 21)
    first, second = build_plan(120, today=day), build_plan(120, today=day)
    assert first.individuals == second.individuals and first.family == second.family
    assert build_plan(120, seed=1, today=day).individuals != first.individuals
