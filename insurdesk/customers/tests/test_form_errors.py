"""Five mistakes on the new-customer form come back together, at their fields and in a summary."""

import datetime
import re

from django.urls import reverse

from insurdesk.customers.models import Customer
from insurdesk.identity.resident_id import check_char
from insurdesk.identity.testing import make_resident_id


def test_five_mistakes_show_at_once_with_a_summary_and_nothing_typed_is_lost(client, make_user):
    client.force_login(make_user("clerk", "SZ"))
    good = make_resident_id(datetime.date(1988, 8, 8), "F", region="440305", seq=124)
    wrong = good[:17] + ("1" if check_char(good[:17]) != "1" else "2")
    data = {
        "name": "林晓燕",
        "id_type": "resident_id",
        "id_number": wrong,  # 1: check digit
        "birth_date": "1988-02-30",  # 2: no such day (the form's own check)
        "mobile": "1351234",  # 3: too short
        "email": "lin@",  # 4: not an address
        "postal_code": "5180",  # 5: six digits
        "nationality": "CHN",
    }
    response = client.post(reverse("customers:create_individual"), data)
    html = response.content.decode()
    assert not Customer.objects.exists()
    fields = {"id_number", "birth_date", "mobile", "email", "postal_code"}
    assert fields <= set(response.context["form"].errors), response.context["form"].errors
    summary = re.search(r'<div class="alert alert-error error-summary".*?</div>', html, re.S).group(0)
    assert "有 5 处需要更正" in summary
    for name in fields:
        assert f'href="#id_{name}"' in summary
    assert "校验码错误" in html
    assert 'value="林晓燕"' in html and 'value="1351234"' in html
