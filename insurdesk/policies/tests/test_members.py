"""Group policies: the application date rule, the member list by hand and from xlsx or csv with row errors."""

import datetime
import io

import pytest
import xlsxwriter
from django.utils import timezone

from insurdesk.common.errors import IllegalTransition, ValidationFailed
from insurdesk.identity.testing import make_resident_id
from insurdesk.policies.members import member_add, member_remove, members_import
from insurdesk.policies.models import GroupMember
from insurdesk.policies.selectors import customer_policies
from insurdesk.policies.services import policy_issue
from insurdesk.underwriting.services import underwriting_open
from insurdesk.underwriting.testing import group_input, submit_application

TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)


@pytest.fixture
def group_policy(nb):
    app = submit_application(
        clerk=nb.clerk,
        clerk2=nb.clerk2,
        data=group_input(company=nb.company, agent=nb.agent, application_date=YESTERDAY),
    )
    underwriting_open(actor=None, application_id=app.pk)
    return policy_issue(actor=nb.clerk, application_id=app.pk)


def rid(year: int, seq: int, gender: str = "M") -> str:
    return make_resident_id(datetime.date(year, 3, 4), gender, seq=seq)


def xlsx(rows: list[list], *, number_ids: bool = False) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("被保险人清单")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if number_ids and r > 0 and c == 2 and isinstance(value, str) and value.isdigit():
                sheet.write_number(r, c, int(value))
            else:
                sheet.write_string(r, c, "" if value is None else str(value))
    book.close()
    return out.getvalue()


HEADER = ["姓名", "证件类型", "证件号码", "性别", "出生日期", "职业类别", "人员类别", "等级"]


def test_a_group_policy_takes_effect_the_day_after_its_application_date(nb, group_policy):
    assert group_policy.is_group and group_policy.insured is None and group_policy.policyholder == nb.company
    assert group_policy.application_date == YESTERDAY and group_policy.effective_date == TODAY
    assert group_policy.payment_mode == "single" and group_policy.instalment_total == 1


def test_a_group_application_dated_otherwise_is_referred_and_issued_dated_the_day_before(nb):
    requested = TODAY + datetime.timedelta(days=10)
    data = group_input(
        company=nb.company, agent=nb.agent, application_date=YESTERDAY, requested_effective_date=requested
    )
    app = submit_application(clerk=nb.clerk, clerk2=nb.clerk2, data=data)
    case = underwriting_open(actor=None, application_id=app.pk)
    rule = case.rule_results.get(code="group_dates")
    assert case.state == "referred" and rule.outcome == "refer" and "前一日" in rule.reason
    from insurdesk.underwriting.services import underwriting_decide

    underwriting_decide(actor=nb.underwriter, application_id=app.pk, decision="standard", reasons="同意")
    policy = policy_issue(actor=nb.clerk, application_id=app.pk)
    # 投保日期 = 生效日期前一日: the policy carries the day before the accepted effective date.
    assert policy.effective_date == requested
    assert policy.application_date == requested - datetime.timedelta(days=1)


def test_members_are_imported_from_xlsx(nb, group_policy):
    content = xlsx(
        [
            HEADER,
            ["王强", "居民身份证", rid(1985, 11), "男", "1985-03-04", "1", "员工", "A"],
            ["赵敏", "", rid(1990, 12, "F"), "", "", "2", "", "b"],
            ["张伟", "居民身份证", nb.husband.id_number, "男", "", "1", "员工", "C"],
        ]
    )
    result = members_import(actor=nb.clerk, policy_id=group_policy.pk, filename="清单.xlsx", content=content)
    assert result.ok and result.created == 3 and result.rows == 3
    members = list(GroupMember.objects.filter(policy=group_policy).order_by("seq"))
    assert [(m.seq, m.name, m.plan_level.code, m.gender) for m in members] == [
        (1, "王强", "A", "M"),
        (2, "赵敏", "B", "F"),
        (3, "张伟", "C", "M"),
    ]
    assert members[1].birth_date == datetime.date(1990, 3, 4)  # taken from the identity number
    assert members[2].customer == nb.husband  # linked to the existing archive
    assert [r["roles"] for r in customer_policies(customer_id=nb.husband.pk, viewer=nb.clerk)] == [
        ["被保险人（团体）"]
    ]


def test_an_import_with_errors_writes_nothing_and_reports_each_cell(nb, group_policy):
    good = rid(1985, 11)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    content = xlsx(
        [
            HEADER,
            ["王强", "居民身份证", good, "男", "", "1", "员工", "A"],
            ["", "居民身份证", rid(1986, 13), "男", "", "1", "员工", "A"],
            ["李四", "居民身份证", bad_check, "男", "", "1", "员工", "A"],
            ["王五", "居民身份证", rid(1987, 15), "女", "", "9", "员工", "Z"],
            ["赵六", "居民身份证", good, "男", "", "1", "员工", "A"],
            ["孙七", "居民身份证", rid(1950, 17), "男", "", "1", "员工", "A"],
        ]
    )
    result = members_import(actor=nb.clerk, policy_id=group_policy.pk, filename="清单.xlsx", content=content)
    assert not result.ok and result.created == 0 and not GroupMember.objects.exists()
    errors = {(e.row, e.column, e.rule) for e in result.errors}
    assert (3, "姓名", "required") in errors
    assert (4, "证件号码", "checksum") in {(e.row, e.column, e.rule) for e in result.errors if e.row == 4}
    assert (5, "性别", "mismatch") in errors
    assert (5, "职业类别", "format") in errors
    assert (5, "等级", "choice") in errors
    assert (6, "证件号码", "duplicate") in errors
    assert (7, "出生日期", "age") in errors
    for e in result.errors:
        assert e.message and "*" in e.value if e.column == "证件号码" else True
    row4 = next(e for e in result.errors if e.row == 4)
    assert row4.value != bad_check and row4.value.startswith(bad_check[:6])  # masked


def test_identity_numbers_stored_as_numbers_are_refused(nb, group_policy):
    content = xlsx(
        [HEADER, ["王强", "居民身份证", "110105198503040011", "男", "", "1", "员工", "A"]], number_ids=True
    )
    result = members_import(actor=nb.clerk, policy_id=group_policy.pk, filename="清单.xlsx", content=content)
    assert [e.rule for e in result.errors] == ["stored_as_number"]


def test_members_are_imported_from_csv_in_utf8_or_gb18030(nb, group_policy):
    text = "姓名,证件号码,等级\n王强,{},A\n赵敏,{},B\n".format(rid(1985, 11), rid(1990, 12, "F"))
    result = members_import(
        actor=nb.clerk, policy_id=group_policy.pk, filename="a.csv", content=text.encode("gb18030")
    )
    assert result.created == 2
    dry = members_import(
        actor=nb.clerk,
        policy_id=group_policy.pk,
        filename="b.csv",
        dry_run=True,
        content=f"姓名,证件号码,等级\n钱八,{rid(1991, 19)},A\n".encode(),
    )
    assert dry.ok and dry.created == 0 and GroupMember.objects.count() == 2


def test_a_file_without_the_required_columns_is_refused(nb, group_policy):
    with pytest.raises(ValidationFailed) as exc:
        members_import(
            actor=nb.clerk,
            policy_id=group_policy.pk,
            filename="a.csv",
            content="姓名,等级\n王强,A\n".encode(),
        )
    assert "证件号码" in exc.value.errors[0].message
    with pytest.raises(ValidationFailed):
        members_import(actor=nb.clerk, policy_id=group_policy.pk, filename="a.pdf", content=b"%PDF")


def test_members_are_added_and_removed_by_hand(nb, group_policy):
    member = member_add(
        actor=nb.service,
        policy_id=group_policy.pk,
        data={"name": "王强", "id_number": rid(1985, 11), "plan_level": "A"},
    )
    assert member.seq == 1 and member.birth_date == datetime.date(1985, 3, 4)
    with pytest.raises(ValidationFailed) as exc:
        member_add(
            actor=nb.service,
            policy_id=group_policy.pk,
            data={"name": "王强", "id_number": rid(1985, 11), "plan_level": "A"},
        )
    assert exc.value.errors[0].code == "duplicate"
    removed = member_remove(actor=nb.service, policy_id=group_policy.pk, member_id=member.pk)
    assert removed.status == "removed" and removed.left_on == TODAY
    with pytest.raises(IllegalTransition):
        member_remove(actor=nb.service, policy_id=group_policy.pk, member_id=member.pk)
    again = member_add(
        actor=nb.service,
        policy_id=group_policy.pk,
        data={"name": "王强", "id_number": rid(1985, 11), "plan_level": "B"},
    )
    assert again.seq == 2


def test_an_individual_policy_has_no_member_list(nb, issued):
    with pytest.raises(IllegalTransition):
        member_add(
            actor=nb.service,
            policy_id=issued().pk,
            data={"name": "王强", "id_number": rid(1985, 11), "plan_level": "A"},
        )


@pytest.mark.parametrize(
    "filename, content",
    [
        ("清单.xlsx", b"MZ\x90\x00" + b"\x00" * 200),  # a program renamed to .xlsx
        ("清单.csv", b"PK\x03\x04" + b"\x00" * 200),  # a zip renamed to .csv
        ("../../清单.xlsx", b"PK\x03\x04"),  # a path in the name
    ],
)
def test_a_member_file_is_checked_like_every_upload(nb, group_policy, filename, content):
    with pytest.raises(ValidationFailed) as exc:
        members_import(actor=nb.clerk, policy_id=group_policy.pk, filename=filename, content=content)
    assert {e.field for e in exc.value.errors} == {"file"}
    assert not GroupMember.objects.exists()
