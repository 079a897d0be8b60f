"""Claim pages: the queue's order and flags, the forms a role sees, the printable notices."""

import datetime

from insurdesk.claims import handling
from insurdesk.claims.models import Claim
from insurdesk.claims.tests.conftest import report_data

TODAY = datetime.date.today()


def test_the_queue_puts_overdue_claims_first_and_flags_them(cw, client):
    first = handling.claim_report(actor=cw.cs, data=report_data(cw.health))
    late = handling.claim_report(actor=cw.cs, data=report_data(cw.health))
    Claim.objects.filter(pk=late.pk).update(
        next_deadline=TODAY - datetime.timedelta(days=2), deadline_kind="decision"
    )
    client.force_login(cw.handler)
    page = client.get("/claims/").content.decode()
    assert page.index(late.claim_no) < page.index(first.claim_no)
    assert page.count("已超时限") == 1
    only = client.get("/claims/", {"overdue": "on"}).content.decode()
    assert late.claim_no in only and first.claim_no not in only


def test_customer_service_finds_the_policy_by_identity_number_and_sees_no_handling_forms(cw, client):
    client.force_login(cw.cs)
    found = client.get("/claims/report/", {"find": cw.person.id_number}).content.decode()
    assert "PL0001" in found and "PH0001" in found
    claim = handling.claim_report(actor=cw.cs, data=report_data(cw.health))
    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert "登记资料" not in page and "作出结论" not in page
    assert client.post(f"/claims/{claim.pk}/documents/", {}).status_code == 403


def test_the_notices_print_with_every_missing_document_and_the_refusal_reasons(cw, client):
    claim = handling.claim_report(actor=cw.cs, data=report_data(cw.health))
    client.force_login(cw.handler)
    client.post(
        f"/claims/{claim.pk}/documents/", {"docs-received": ["claim_form"], "docs-notify_missing": "on"}
    )
    notice = claim.notices.get()
    printed = client.get(f"/claims/{claim.pk}/notices/{notice.pk}/").content.decode()
    assert (
        "第二十二条" in printed
        and "医疗费用发票" in printed
        and "理赔申请书" not in printed.split("notice-items")[1]
    )
    codes = [d["code"] for d in Claim.objects.get(pk=claim.pk).documents]
    handling.claim_documents(actor=cw.handler, claim_id=claim.pk, received=codes)
    handling.claim_assess(actor=cw.handler, claim_id=claim.pk, data={"findings": "既往症"})
    client.post(f"/claims/{claim.pk}/decide/", {"decide-decision": "decline", "decide-reasons": "既往症除外"})
    refusal = claim.notices.get(kind="refusal")
    printed = client.get(f"/claims/{claim.pk}/notices/{refusal.pk}/").content.decode()
    assert "拒绝赔付通知书" in printed and "既往症除外" in printed and "第二十四条" in printed
