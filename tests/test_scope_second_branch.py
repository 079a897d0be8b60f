"""A second branch (广州分公司 GZ beside 深圳分公司 SZ) tries every way into the other's archives (issue 15).

Imports (point 1), assignment (point 3) and payments (point 4): each refusal is the one a user of
that branch would see, and nothing is written for it.
"""

import csv
import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from insurdesk.api.tests.client import as_user, error_codes
from insurdesk.audit.services import audit_verify
from insurdesk.care.models import ContactLog
from insurdesk.claims.models import Claim
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_create
from insurdesk.identity.testing import make_resident_id
from insurdesk.policies.models import Payment, Policy
from insurdesk.policies.tests.conftest import issued  # noqa: F401 (a fixture)
from insurdesk.underwriting.tests.fixtures import _fast_passwords, nb, submitted  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
GZ_ID = make_resident_id(datetime.date(1975, 3, 4), "M", seq=21)
HEADERS = ["客户姓名", "身份证号码", "保单号", "保险产品名称", "保险金额", "保险起始日期", "保险到期日期",
           "缴费方式", "缴费金额", "缴费日期", "缴费状态", "理赔申请日期", "理赔金额", "理赔状态", "沟通日期",
           "沟通方式", "沟通内容", "后续跟进"]  # fmt: skip
ROW = ["王刚", GZ_ID, "GZ0000001", "人寿险", "100000", "2024-01-01", "2025-01-01", "年缴", "1000",
       "2024-01-01", "已缴费", "2024-06-01", "5000", "待审核", "2024-05-01", "电话", "询问保单",
       "否"]  # fmt: skip


@pytest.fixture
def branches(nb, units, make_user):  # noqa: F811 (the fixture imported above)
    """nb's SZ users and archives, and in GZ a clerk, an agent and a customer of that agent."""
    from insurdesk.exchange.tests.conftest import ARCHIVE_PRODUCTS
    from insurdesk.products.services import product_create

    for spec in ARCHIVE_PRODUCTS:
        product_create(actor=None, data=dict(spec))
    gz_clerk = make_user("clerk", "GZ", username="gz_clerk")
    gz_agent = make_user("agent", "GZ", username="gz_agent")
    gz_customer, _ = customer_create(
        actor=None,
        kind="individual",
        data={"name": "王刚", "id_number": GZ_ID, "unit_id": units["GZ"].pk, "agent_id": gz_agent.pk},
    )
    nb.gz_clerk, nb.gz_agent, nb.gz_customer = gz_clerk, gz_agent, gz_customer
    nb.hq_admin = make_user("admin", "HQ", username="hq_admin")
    return nb


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


def run_import(path, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import", str(path), *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()


def written() -> tuple[int, int, int, int]:
    return Policy.objects.count(), Payment.objects.count(), Claim.objects.count(), ContactLog.objects.count()


# ---------------------------------------------------------------- point 1: imports respect scope


@pytest.mark.parametrize("name", ["王刚", ""])
@pytest.mark.parametrize("dry_run", [False, True])
def test_an_import_row_naming_another_branchs_customer_is_refused_and_writes_nothing(
    branches, tmp_path, name, dry_run
):
    """Issue 15.1: the run said "unchanged" and wrote a policy, payment, claim and contact on GZ's archive."""
    before = written()
    path = write_csv(tmp_path / "archive.csv", HEADERS, [[name, *ROW[1:]]])

    code, out, err = run_import(path, "--user", branches.clerk.username, *(["--dry-run"] if dry_run else []))

    assert code == 1, (out, err)
    assert "duplicate_out_of_scope" in err and "[身份证号码]" in err and "不在您的管辖范围内" in err
    assert "拒绝 1" in out and "未变化 0" in out
    assert written() == before
    assert not Policy.objects.filter(policy_no="GZ0000001").exists()
    assert audit_verify().ok


def test_the_same_row_imported_by_the_customers_own_branch_goes_in(branches, tmp_path):
    path = write_csv(tmp_path / "archive.csv", HEADERS, [ROW])

    code, out, err = run_import(path, "--user", branches.gz_clerk.username)

    assert code == 0, err
    policy = Policy.objects.get(policy_no="GZ0000001")
    assert policy.policyholder == branches.gz_customer and policy.payments.count() == 1


def test_an_out_of_scope_row_does_not_stop_the_rows_of_its_batch(branches, tmp_path):
    own = ["李明", make_resident_id(datetime.date(1990, 1, 2), "M", seq=31), "SZ0000001", *ROW[3:]]
    path = write_csv(tmp_path / "archive.csv", HEADERS, [ROW, own])

    code, out, _ = run_import(path, "--user", branches.clerk.username)

    assert code == 1 and "新建 1" in out and "拒绝 1" in out
    assert Policy.objects.filter(policy_no="SZ0000001").exists()
    assert not Policy.objects.filter(policy_no="GZ0000001").exists()


# ---------------------------------------------------------------- point 3: assignment stays in scope


def test_patching_an_archive_to_another_branchs_agent_is_refused(branches):
    """Issue 15.3: PATCH {"agent_id": …} accepted another branch's agent, who could then read the archive."""
    for actor in (branches.clerk, branches.hq_admin):
        r = as_user(actor).patch(f"/customers/{branches.wife.pk}", {"agent_id": branches.gz_agent.pk})
        assert r.status_code == 422 and error_codes(r) == {("agent_id", "agent_out_of_scope")}
    assert Customer.objects.get(pk=branches.wife.pk).agent_id is None
    assert as_user(branches.gz_agent).get(f"/customers/{branches.wife.pk}").status_code == 404


def test_an_agent_cannot_hand_its_own_customer_to_another_branchs_agent(branches):
    r = as_user(branches.agent).patch(f"/customers/{branches.husband.pk}", {"agent_id": branches.gz_agent.pk})
    assert r.status_code == 422 and error_codes(r) == {("agent_id", "agent_out_of_scope")}
    assert Customer.objects.get(pk=branches.husband.pk).agent == branches.agent


def test_an_agent_of_the_customers_unit_subtree_is_accepted(branches, make_user):
    below = make_user("agent", "NS", username="ns_agent")
    r = as_user(branches.clerk).patch(f"/customers/{branches.wife.pk}", {"agent_id": below.pk})
    assert r.status_code == 200, r.json()
    assert Customer.objects.get(pk=branches.wife.pk).agent == below


def test_creating_an_archive_for_another_branchs_agent_is_refused(branches):
    body = {
        "kind": "individual",
        "name": "赵敏",
        "id_type": "resident_id",
        "id_number": make_resident_id(datetime.date(1991, 2, 3), "F", seq=42),
        "agent_id": branches.gz_agent.pk,
    }
    r = as_user(branches.clerk).post("/customers", body)
    assert r.status_code == 422 and error_codes(r) == {("agent_id", "agent_out_of_scope")}
    r = as_user(branches.hq_admin).post("/customers", {**body, "unit_id": branches.units["SZ"].pk})
    assert r.status_code == 422 and error_codes(r) == {("agent_id", "agent_out_of_scope")}
    assert not Customer.objects.filter(name="赵敏").exists()
    r = as_user(branches.hq_admin).post("/customers", {**body, "unit_id": branches.units["GZ"].pk})
    assert r.status_code == 201, r.json()


def test_the_edit_form_refuses_another_branchs_agent(branches, client):
    client.force_login(branches.hq_admin)
    url = reverse("customers:edit", args=[branches.wife.pk])
    page = client.get(url)
    form = page.context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, (list, dict))}
    data = {
        k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in data.items() if k in form.fields
    }
    data.update({"agent": branches.gz_agent.pk, "version": branches.wife.version})
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "不属于该客户所属机构" in html
    assert Customer.objects.get(pk=branches.wife.pk).agent_id is None


@pytest.mark.parametrize("existing", [True, False])
def test_the_import_refuses_another_branchs_agent_in_the_agent_column(branches, tmp_path, existing):
    if existing:
        row = [branches.wife.name, branches.wife.id_number, "gz_agent"]
    else:
        row = ["赵敏", make_resident_id(datetime.date(1991, 2, 3), "F", seq=42), "gz_agent"]
    path = write_csv(tmp_path / "list.csv", ["客户姓名", "身份证号码", "业务员"], [row])
    customers = Customer.objects.count()

    code, out, err = run_import(path, "--user", branches.clerk.username)

    assert code == 1 and "agent_out_of_scope" in err, (out, err)
    assert Customer.objects.count() == customers
    assert Customer.objects.get(pk=branches.wife.pk).agent_id is None


# ---------------------------------------------------------------- point 4: payments, across branches


def test_another_branch_cannot_record_a_payment_on_a_policy_it_cannot_see(branches, issued):  # noqa: F811
    policy = issued()
    body = {"policy_id": policy.pk, "amount": "100", "method": "cash", "paid_on": TODAY.isoformat()}
    r = as_user(branches.gz_clerk).post("/payments", {**body, "reference": "GZ-1"})
    assert r.status_code == 404
    assert not Payment.objects.filter(policy=policy).exists()
    r = as_user(branches.service).post("/payments", {**body, "reference": "SZ-1"})
    assert r.status_code == 201, r.json()
