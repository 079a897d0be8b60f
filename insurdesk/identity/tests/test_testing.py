import datetime
import random

import phonenumbers

from insurdesk.identity.phones import normalize_mobile
from insurdesk.identity.resident_id import parse_resident_id
from insurdesk.identity.testing import make_mobile, make_resident_id, make_uscc
from insurdesk.identity.uscc import parse_uscc


def test_generators_are_reproducible_with_a_seeded_rng():
    assert make_uscc(random.Random(7)) == make_uscc(random.Random(7))
    assert make_mobile(random.Random(7)) == make_mobile(random.Random(7))


def test_generated_values_are_valid():
    rng = random.Random(1)
    for _ in range(500):
        number = make_resident_id(datetime.date(1985, 6, 15), rng.choice("MF"), rng=rng)
        assert parse_resident_id(number).region_known
        assert parse_uscc(make_uscc(rng)).org_type == "91"
        mobile = make_mobile(rng)
        assert normalize_mobile(mobile) == mobile
        assert phonenumbers.is_valid_number(phonenumbers.parse(mobile, "CN"))
