"""Compliance checks (合规检查): no duplicate findings, closing what no longer holds, tasks to closure."""

from datetime import timedelta

import pytest
from django.utils import timezone

from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import Conflict, IllegalTransition, NotAllowed, NotFound, ValidationFailed
from insurdesk.compliance.checks import CHECKS
from insurdesk.compliance.models import Finding, RectificationTask, TaskState
from insurdesk.compliance.selectors import TaskFilters, task_list, tasks_by_owner
from insurdesk.compliance.services import (
    compliance_check_run,
    task_assign,
    task_note_add,
    task_transition,
    transaction_flag_raise,
)
from insurdesk.compliance.tests.conftest import OWNER
from insurdesk.customers.services import customer_update

pytestmark = pytest.mark.django_db


def open_findings(code=None):
    qs = Finding.objects.filter(resolved_at__isnull=True)
    return qs.filter(check_code=code) if code else qs


def test_every_check_runs_on_an_empty_archive():
    run = compliance_check_run(actor=None)
    assert set(run.counts) == {c.code for c in CHECKS} and run.finished_at is not None
    assert AuditEntry.objects.filter(action="compliance.check_run").count() == 1


def test_each_check_finds_what_it_declares(person, company, officer):
    yesterday = timezone.localdate() - timedelta(days=1)
    sparse = person()  # no occupation, address, mobile, validity
    expired = person(
        id_valid_to=yesterday, occupation="教师", residence_address="深圳市南山区", mobile="13800138000"
    )
    no_owner = company(legal_rep_id_valid_to=yesterday)
    with_owner = company(owners=[OWNER])
    pep = person(pep=True)
    high = person()
    customer_update(actor=None, customer_id=high.pk, data={"aml_risk": "high"})
    overdue = person()
    customer_update(actor=None, customer_id=overdue.pk, data={"aml_next_review": yesterday})
    flagged = person()
    flag, _ = transaction_flag_raise(actor=None, customer_id=flagged.pk, kind="other", reason="异常")
    type(flag).objects.filter(pk=flag.pk).update(raised_at=timezone.now() - timedelta(days=10))

    compliance_check_run(actor=officer)

    def found(code):
        return set(open_findings(code).values_list("customer_id", flat=True))

    assert (
        sparse.pk in found("kyc_missing")
        and "职业" in open_findings("kyc_missing").get(customer=sparse).detail
    )
    assert found("id_expired") == {expired.pk}
    assert found("legal_rep_id_expired") == {no_owner.pk}
    assert found("bo_missing") == {no_owner.pk} and with_owner.pk not in found("bo_missing")
    assert found("pep_not_high") == {pep.pk}
    assert found("high_risk_unreviewed") == {high.pk}
    assert found("review_overdue") == {overdue.pk}
    assert found("flag_unreviewed") == {flagged.pk}


def test_every_finding_becomes_a_task_with_the_agent_as_owner_and_a_due_date(person, make_user, units):
    agent = make_user("agent", "SZ")
    c = person(pep=True, agent_id=agent.pk)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    task = RectificationTask.objects.get(customer=c)
    assert task.owner == agent and task.state == TaskState.OPEN
    assert task.due_on == timezone.localdate() + timedelta(days=5)
    assert task.notes.count() == 1 and "政治公众人物" in task.notes.get().text


def test_running_again_does_not_duplicate_open_findings(person):
    person(pep=True)
    first = compliance_check_run(actor=None, codes=["pep_not_high"])
    second = compliance_check_run(actor=None, codes=["pep_not_high"])
    assert first.counts["pep_not_high"] == {"found": 1, "new": 1, "closed": 0, "reopened": 0}
    assert second.counts["pep_not_high"] == {"found": 1, "new": 0, "closed": 0, "reopened": 0}
    assert Finding.objects.count() == 1 and RectificationTask.objects.count() == 1


def test_a_finding_that_no_longer_holds_is_closed_and_its_task_awaits_verification(person):
    c = person(pep=True)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    customer_update(actor=None, customer_id=c.pk, data={"aml_risk": "high"})
    run = compliance_check_run(actor=None, codes=["pep_not_high"])
    assert run.counts["pep_not_high"]["closed"] == 1
    finding = Finding.objects.get()
    assert finding.resolved_at is not None and finding.task.state == TaskState.DONE


def test_a_problem_that_comes_back_is_a_new_finding(person):
    c = person(pep=True)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    customer_update(actor=None, customer_id=c.pk, data={"aml_risk": "high"})
    compliance_check_run(actor=None, codes=["pep_not_high"])
    customer_update(actor=None, customer_id=c.pk, data={"aml_risk": "low"})
    compliance_check_run(actor=None, codes=["pep_not_high"])
    assert Finding.objects.count() == 2 and open_findings().count() == 1


def test_a_task_marked_done_while_the_problem_remains_is_reopened_by_the_next_run(person, officer):
    person(pep=True)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    task = RectificationTask.objects.get()
    task_transition(actor=officer, task_id=task.pk, name="complete", note="已调整")
    run = compliance_check_run(actor=None, codes=["pep_not_high"])
    task.refresh_from_db()
    assert run.counts["pep_not_high"]["reopened"] == 1 and task.state == TaskState.IN_PROGRESS
    assert "仍然存在" in task.notes.last().text


def test_the_task_lifecycle_to_verification(person, officer):
    c = person(pep=True)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    task = RectificationTask.objects.get()
    task = task_transition(actor=officer, task_id=task.pk, name="start")
    assert task.state == TaskState.IN_PROGRESS
    task = task_transition(actor=officer, task_id=task.pk, name="complete", note="已上调")
    assert task.state == TaskState.DONE and task.done_at
    with pytest.raises(IllegalTransition) as exc:
        task_transition(actor=officer, task_id=task.pk, name="verify")
    assert exc.value.errors[0].code == "still_holds"
    customer_update(actor=None, customer_id=c.pk, data={"aml_risk": "high"})
    task = task_transition(actor=officer, task_id=task.pk, name="verify", note="复核无误")
    assert task.state == TaskState.VERIFIED and task.verified_by == officer
    assert task.finding.resolved_at is not None
    assert [n.state_to for n in task.notes.all()] == ["open", "in_progress", "done", "verified"]
    with pytest.raises(IllegalTransition):
        task_transition(actor=officer, task_id=task.pk, name="reopen", note="x")
    assert AuditEntry.objects.filter(action="compliance.task", target_id=str(c.pk)).count() == 3


def test_reopen_needs_a_reason_and_a_stale_version_is_a_conflict(person, officer):
    person(pep=True)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    task = RectificationTask.objects.get()
    task_transition(actor=officer, task_id=task.pk, name="complete")
    with pytest.raises(ValidationFailed):
        task_transition(actor=officer, task_id=task.pk, name="reopen")
    with pytest.raises(Conflict):
        task_transition(actor=officer, task_id=task.pk, name="reopen", note="x", expected_version=1)
    with pytest.raises(ValidationFailed):
        task_transition(actor=officer, task_id=task.pk, name="fly")


def test_assigning_owner_and_due_date_and_adding_notes(person, officer, make_user):
    person(pep=True)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    task = RectificationTask.objects.get()
    clerk = make_user("clerk")
    due = timezone.localdate() + timedelta(days=20)
    task = task_assign(actor=officer, task_id=task.pk, owner_id=clerk.pk, due_on=due, note="请补充")
    assert task.owner == clerk and task.due_on == due and "责任人" in task.notes.last().text
    task_note_add(actor=officer, task_id=task.pk, text="已电话联系客户")
    assert task.notes.count() == 3
    with pytest.raises(ValidationFailed):
        task_assign(actor=officer, task_id=task.pk, due_on=timezone.localdate() - timedelta(days=30))
    with pytest.raises(ValidationFailed):
        task_assign(actor=officer, task_id=task.pk, owner_id=999999)


def test_open_and_overdue_tasks_by_owner(person, officer, make_user):
    agent = make_user("agent", "SZ")
    person(pep=True, agent_id=agent.pk)
    person(pep=True)
    compliance_check_run(actor=None, codes=["pep_not_high"])
    RectificationTask.objects.filter(owner=agent).update(due_on=timezone.localdate() - timedelta(days=1))
    rows = tasks_by_owner(viewer=officer)
    assert rows[0]["owner_id"] == agent.pk and rows[0]["overdue"] == 1
    assert {r["owner_id"] for r in rows} == {agent.pk, None}
    assert task_list(viewer=officer, filters=TaskFilters(overdue=True)).count() == 1
    assert task_list(viewer=officer, filters=TaskFilters(unassigned=True)).count() == 1


def test_tasks_are_scoped_and_roles_are_checked(person, make_user):
    person(pep=True, unit="GZ")
    compliance_check_run(actor=None, codes=["pep_not_high"])
    task = RectificationTask.objects.get()
    sz = make_user("compliance", "SZ")
    assert task_list(viewer=sz).count() == 0
    with pytest.raises(NotFound):
        task_transition(actor=sz, task_id=task.pk, name="start")
    with pytest.raises(NotAllowed):
        task_transition(actor=make_user("clerk", "HQ"), task_id=task.pk, name="start")
    with pytest.raises(NotAllowed):
        compliance_check_run(actor=make_user("manager", "HQ"))


def test_unknown_checks_are_refused():
    with pytest.raises(ValidationFailed):
        compliance_check_run(actor=None, codes=["nope"])
