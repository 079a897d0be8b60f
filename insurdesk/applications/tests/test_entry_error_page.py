"""The entry-error-rate page (录入差错率) shows the figures a supervisor would count by hand.

Three applications, each with 15 key fields (投保人 2, 被保险人 2, two product lines × 3, total,
mode and term 3, one beneficiary × 2). Clerk 甲 keys all three first; 乙 re-keys two (one typo in
a sum insured, the first entry was right: 乙's error); 丙 re-keys one with two differences: one where
the second entry was right (甲's error) and one both got wrong (corrected: an error of each).
By hand: 甲 2 errors of 45 fields = 4.44%, 乙 1 of 30 = 3.33%, 丙 1 of 15 = 6.67%.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from insurdesk.applications.models import ProblemItem
from insurdesk.applications.problems import problem_resolve
from insurdesk.applications.services import application_create, application_second_entry
from insurdesk.applications.testing import second_entry_of

pytestmark = pytest.mark.django_db


def _cells(html: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_page_shows_each_clerks_hand_counted_figures(people, app_input, make_user):
    jia, yi, bing = people["clerk"], people["clerk2"], make_user("clerk", username="clerk_bing")
    reviewer = people["reviewer"]
    apps = [application_create(actor=jia, data=app_input())[0] for _ in range(3)]
    assert [a.pk for a in apps]

    def second(app, clerk, change=None):
        data = second_entry_of(app)
        if change:
            change(data)
        application_second_entry(actor=clerk, application_id=app.pk, data=data)

    second(apps[0], yi, lambda d: d["lines"][0].update(sum_insured="50000"))
    second(apps[1], yi)
    second(
        apps[2], bing, lambda d: (d.update(payment_term="10y"), d["beneficiaries"][0].update(name="王小名"))
    )
    for app in apps:
        app.refresh_from_db()
        assert app.key_field_count == 2 + 2 + 2 * 3 + 3 + 2  # the hand count of key fields

    def resolve(app, field, choice, **kw):
        item = ProblemItem.objects.get(application=app, field=field)
        problem_resolve(
            actor=reviewer, application_id=app.pk, problem_id=item.pk, choice=choice, note="核对影像", **kw
        )

    resolve(apps[0], "lines[0].sum_insured", "first")  # 乙 typed it wrong
    resolve(apps[2], "payment_term", "second")  # 甲 typed it wrong
    resolve(apps[2], "beneficiaries[0].name", "corrected", value="王晓明")  # both wrong

    client = Client()
    client.force_login(reviewer)
    response = client.get(reverse("applications:entry_errors"))
    assert response.status_code == 200
    rows = _cells(response.content.decode())
    # 录入人员, 投保单数, 关键字段数, 差错数, 差错率 — highest rate first.
    assert [row[1:] for row in rows] == [
        ["1", "15", "1", "6.67%"],  # 丙
        ["3", "45", "2", "4.44%"],  # 甲
        ["2", "30", "1", "3.33%"],  # 乙
    ]
    assert [row[0] for row in rows] == [str(bing), str(jia), str(yi)]

    # The same figures through the API.
    from insurdesk.api.tests.client import as_user

    body = as_user(reviewer).get("/applications/stats/entry-errors").json()
    items = body["items"] if isinstance(body, dict) else body
    assert [(r["fields"], r["errors"], str(r["rate"])) for r in items] == [
        (15, 1, "6.67"),
        (45, 2, "4.44"),
        (30, 1, "3.33"),
    ]
