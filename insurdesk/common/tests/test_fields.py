import base64
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.db.models import F
from django.forms import TextInput, modelform_factory
from django.test import override_settings
from django.test.utils import isolate_apps
from simple_history.utils import bulk_create_with_history

from insurdesk.common.crypto import CryptoError, DecryptionError, decrypt, encrypt, get_keyring, key_id_of
from insurdesk.common.fields import EncryptedTextField
from insurdesk.common.management.commands import rotate_keys
from insurdesk.common.management.commands.rotate_keys import Command as RotateKeys
from insurdesk.customers.models import BeneficialOwner, Customer
from insurdesk.org.models import OrgUnit

ID_NUMBER = "11010519491231002X"
MOBILE = "13912345678"
HEALTH = "既往症：高血压，2019年确诊，服药控制"

OLD_KEY = base64.b64encode(b"o" * 32).decode()
NEW_KEY = base64.b64encode(b"n" * 32).decode()
INDEX_KEY = base64.b64encode(b"i" * 32).decode()
old_ring = override_settings(INSURDESK_FIELD_KEYS=f"old:{OLD_KEY}", INSURDESK_INDEX_KEY=INDEX_KEY)
new_ring = override_settings(
    INSURDESK_FIELD_KEYS=f"new:{NEW_KEY},old:{OLD_KEY}", INSURDESK_INDEX_KEY=INDEX_KEY
)
new_only = override_settings(INSURDESK_FIELD_KEYS=f"new:{NEW_KEY}", INSURDESK_INDEX_KEY=INDEX_KEY)


def make_customer(n: int = 1, **fields) -> Customer:
    unit, _ = OrgUnit.objects.get_or_create(code="T01", defaults={"name": "测试机构", "path": "/1/"})
    values = {
        "archive_no": f"T{n:08d}",
        "kind": "individual",
        "name": f"测试客户{n}",
        "id_type": "resident_id",
        "id_number": ID_NUMBER,
        "mobile": MOBILE,
        "health_notes": HEALTH,
        "unit": unit,
        **fields,
    }
    return Customer.objects.create(**values)


def raw_column(table: str, column: str, pk: int, pk_column: str = "id") -> bytes | None:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{pk_column}" = %s', [pk])
        value = cursor.fetchone()[0]
    return None if value is None else bytes(value)


def all_customer_blobs() -> list[bytes]:
    blobs = []
    with connection.cursor() as cursor:
        for table in ["customers_customer", "customers_historicalcustomer"]:
            for column in ["id_number", "mobile", "health_notes"]:
                cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
                blobs.extend(bytes(row[0]) for row in cursor.fetchall())
    return blobs


@pytest.mark.django_db
def test_saved_values_read_back_as_text():
    customer = make_customer(residence_address=None)
    customer.refresh_from_db()
    assert customer.id_number == ID_NUMBER
    assert customer.mobile == MOBILE
    assert customer.health_notes == HEALTH
    assert customer.residence_address is None
    assert Customer.objects.values_list("mobile", flat=True).get(pk=customer.pk) == MOBILE


@pytest.mark.django_db
def test_raw_column_holds_ciphertext_bound_to_its_column():
    customer = make_customer()
    raw = raw_column("customers_customer", "id_number", customer.pk)
    assert ID_NUMBER.encode() not in raw
    assert key_id_of(raw) == get_keyring().primary_id
    assert decrypt(raw, aad="customers_customer.id_number") == ID_NUMBER
    with pytest.raises(DecryptionError):
        decrypt(raw, aad="customers_customer.mobile")
    assert HEALTH.encode() not in raw_column("customers_customer", "health_notes", customer.pk)
    assert raw_column("customers_customer", "residence_address", customer.pk) is None


@pytest.mark.django_db
def test_history_stores_ciphertext_under_its_own_table():
    customer = make_customer()
    customer.mobile = "13700000000"
    customer.save()
    record = customer.history.order_by("history_id").first()
    assert record.mobile == MOBILE
    raw = raw_column("customers_historicalcustomer", "mobile", record.history_id, pk_column="history_id")
    assert MOBILE.encode() not in raw
    assert decrypt(raw, aad="customers_historicalcustomer.mobile") == MOBILE


@pytest.mark.django_db
def test_bulk_create_and_bulk_update_encrypt_like_save():
    unit = make_customer(1).unit
    built = [
        Customer(
            archive_no=f"B{n}",
            kind="individual",
            name="批量",
            id_type="resident_id",
            unit=unit,
            mobile=MOBILE,
        )
        for n in range(3)
    ]
    created = bulk_create_with_history(built, Customer)
    for customer in created:
        customer.mobile = "13600000000"
    Customer.objects.bulk_update(created, ["mobile"])
    for customer in Customer.objects.filter(archive_no__startswith="B"):
        assert customer.mobile == "13600000000"
        assert b"13600000000" not in raw_column("customers_customer", "mobile", customer.pk)
    assert {r.mobile for r in Customer.history.filter(archive_no__startswith="B")} == {MOBILE}


@pytest.mark.django_db
def test_value_copied_to_another_column_refuses_to_read():
    customer = make_customer()
    Customer.objects.filter(pk=customer.pk).update(landline=F("mobile"))
    with pytest.raises(DecryptionError, match="customers_customer.landline"):
        Customer.objects.get(pk=customer.pk)


@pytest.mark.django_db
def test_raw_blob_assigned_to_the_same_column_is_written_unchanged():
    first = make_customer(1)
    blob = raw_column("customers_customer", "mobile", first.pk)
    second = make_customer(2, mobile=blob, id_number=None)
    assert raw_column("customers_customer", "mobile", second.pk) == blob
    second.refresh_from_db()
    assert second.mobile == MOBILE


@pytest.mark.django_db
def test_plain_bytes_are_refused_instead_of_stored():
    with pytest.raises(DecryptionError):
        make_customer(mobile=MOBILE.encode())


@pytest.mark.django_db
def test_only_isnull_lookups_are_allowed():
    make_customer(1)
    make_customer(2, archive_no="T2", id_number=None)
    assert Customer.objects.filter(id_number__isnull=True).count() == 1
    assert Customer.objects.filter(id_number=None).count() == 1
    assert Customer.objects.exclude(id_number=None).count() == 1
    for lookup in [
        "id_number",
        "id_number__exact",
        "id_number__icontains",
        "id_number__in",
        "id_number__lower",
    ]:
        with pytest.raises(FieldError, match="blind index"):
            Customer.objects.filter(**{lookup: ID_NUMBER})


def test_from_db_value_accepts_memoryview_as_postgresql_returns():
    field = Customer._meta.get_field("mobile")
    assert field.from_db_value(memoryview(encrypt(MOBILE, aad=field.aad)), None, connection) == MOBILE
    assert field.from_db_value(None, None, connection) is None


def test_field_is_editable_and_its_form_field_is_a_text_input():
    field = Customer._meta.get_field("id_number")
    assert field.editable
    form_class = modelform_factory(Customer, fields=["id_number", "mobile"])
    form = form_class(data={"id_number": ID_NUMBER, "mobile": ""})
    assert isinstance(form.fields["id_number"].widget, TextInput)
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"id_number": ID_NUMBER, "mobile": None}


def test_deconstruct_rebuilds_an_equal_field_for_migrations():
    for kwargs in [{}, {"null": True, "blank": True}, {"editable": False}, {"max_length": 18}]:
        field = EncryptedTextField("证件号码", **kwargs)
        name, path, args, rebuilt_kwargs = field.deconstruct()
        assert path == "insurdesk.common.fields.EncryptedTextField"
        assert "editable" not in rebuilt_kwargs or rebuilt_kwargs["editable"] is False
        rebuilt = EncryptedTextField(*args, **rebuilt_kwargs)
        assert rebuilt.deconstruct()[1:] == (path, args, rebuilt_kwargs)
        assert rebuilt.editable == kwargs.get("editable", True)


def test_historical_model_copies_the_field():
    historical = Customer.history.model._meta.get_field("id_number")
    assert type(historical) is EncryptedTextField
    assert historical.aad == "customers_historicalcustomer.id_number"


@isolate_apps("insurdesk.common")
def test_unique_or_db_default_encrypted_field_fails_the_system_check():
    class Probe(models.Model):
        unique_secret = EncryptedTextField(unique=True)
        defaulted_secret = EncryptedTextField(db_default="x")
        indexed_secret = EncryptedTextField(db_index=True)
        plain_secret = EncryptedTextField(default="x")

        def __str__(self) -> str:
            return "probe"

    def ids(name):
        return {error.id for error in Probe._meta.get_field(name).check()}

    assert "insurdesk_crypto.E001" in ids("unique_secret")
    assert "insurdesk_crypto.E002" in ids("defaulted_secret")
    assert "insurdesk_crypto.W001" in ids("indexed_secret")
    assert ids("plain_secret") == set()


def test_non_str_values_become_text():
    field = Customer._meta.get_field("mobile")
    assert field.to_python(13912345678) == MOBILE
    assert field.to_python(None) is None


@pytest.mark.django_db
def test_rotate_keys_moves_every_value_to_the_new_primary_key():
    with old_ring:
        customers = [make_customer(n) for n in range(1, 6)]
        customers[0].mobile = "13700000000"
        customers[0].save()
        BeneficialOwner.objects.create(
            customer=customers[0], name="张三", ownership_kind="equity", id_number=ID_NUMBER, phone=None
        )

    with new_ring:
        make_customer(6)  # already under the new key: left alone
        dry = StringIO()
        call_command("rotate_keys", "--dry-run", "--batch-size", "2", stdout=dry)
        assert "would re-encrypt 5 (old keys old: 5)" in dry.getvalue()
        assert key_id_of(raw_column("customers_customer", "mobile", customers[1].pk)) == "old"

        out = StringIO()
        call_command("rotate_keys", "--batch-size", "2", stdout=out)
        report = out.getvalue()
        assert "customers.Customer.id_number: re-encrypted 5 (old keys old: 5)" in report
        assert "customers.HistoricalCustomer.mobile: re-encrypted 6 (old keys old: 6)" in report
        assert "customers.BeneficialOwner.id_number: re-encrypted 1" in report

        again = StringIO()
        call_command("rotate_keys", stdout=again)
        assert "re-encrypted 0 value(s) in 0 model(s)" in again.getvalue()

    with new_only:
        for customer in customers:
            customer.refresh_from_db()
            assert customer.id_number == ID_NUMBER
            assert customer.health_notes == HEALTH
        assert customers[0].mobile == "13700000000"
        assert {r.mobile for r in customers[0].history.all()} == {MOBILE, "13700000000"}
        assert BeneficialOwner.objects.get().id_number == ID_NUMBER
        with connection.cursor() as cursor:
            for table, column in [
                ("customers_customer", "id_number"),
                ("customers_customer", "mobile"),
                ("customers_historicalcustomer", "health_notes"),
                ("customers_beneficialowner", "id_number"),
            ]:
                cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
                assert {key_id_of(bytes(row[0])) for row in cursor.fetchall()} == {"new"}


@pytest.mark.django_db
def test_rotate_keys_never_overwrites_a_value_saved_while_it_runs(monkeypatch):
    with old_ring:
        customer = make_customer()
    real = RotateKeys._decrypt_old

    def save_meanwhile(blob, aad, primary, pk, tally):
        text = real(blob, aad, primary, pk, tally)
        if aad == "customers_customer.mobile":
            Customer.objects.filter(pk=customer.pk).update(mobile="13500000000")
        return text

    monkeypatch.setattr(RotateKeys, "_decrypt_old", staticmethod(save_meanwhile))
    with new_ring:
        out = StringIO()
        call_command("rotate_keys", stdout=out)
        assert "1 value(s) were rewritten by others meanwhile" in out.getvalue()
        customer.refresh_from_db()
        assert customer.mobile == "13500000000"
        assert customer.id_number == ID_NUMBER


@pytest.mark.django_db
def test_rotate_keys_stopped_midway_finishes_on_the_next_run(monkeypatch):
    with old_ring:
        customers = [make_customer(n) for n in range(1, 6)]
    calls = {"n": 0}

    def dying_encrypt(plaintext, *, aad):
        calls["n"] += 1
        if calls["n"] > 4:
            raise KeyboardInterrupt
        return encrypt(plaintext, aad=aad)

    with new_ring:
        monkeypatch.setattr(rotate_keys, "encrypt", dying_encrypt)
        with pytest.raises(KeyboardInterrupt):
            call_command("rotate_keys", "--batch-size", "2", stdout=StringIO())
        kids = Counter(key_id_of(blob) for blob in all_customer_blobs())
        # Batches finished before the stop stay committed; the one that died wrote nothing.
        assert 0 < kids["new"] <= 4
        assert kids["old"] > 0

        monkeypatch.setattr(rotate_keys, "encrypt", encrypt)
        call_command("rotate_keys", "--batch-size", "2", stdout=StringIO())
    with new_only:
        for customer in customers:
            customer.refresh_from_db()
            assert (customer.id_number, customer.mobile) == (ID_NUMBER, MOBILE)


@pytest.mark.django_db
def test_rotate_keys_reports_values_it_cannot_decrypt_and_leaves_them():
    with old_ring:
        customer = make_customer()
    with override_settings(INSURDESK_FIELD_KEYS=f"new:{NEW_KEY}"):
        err = StringIO()
        with pytest.raises(CommandError, match="could not be decrypted"):
            call_command("rotate_keys", stdout=StringIO(), stderr=err)
        assert "'old' is not in INSURDESK_FIELD_KEYS" in err.getvalue()
    assert key_id_of(raw_column("customers_customer", "id_number", customer.pk)) == "old"


SQLITE_PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from insurdesk.customers.models import Customer
    from insurdesk.org.models import OrgUnit

    call_command("migrate", verbosity=0)
    unit = OrgUnit.objects.create(code="F01", name="文件库机构", path="/1/")
    customer = Customer.objects.create(
        archive_no="F00000001", kind="individual", name="文件库客户甲", id_type="resident_id",
        id_number=sys.argv[1], mobile=sys.argv[2], health_notes=sys.argv[3], unit=unit,
    )
    customer.mobile = sys.argv[2]
    customer.save()
    db = Path(connection.settings_dict["NAME"])
    wal = db.with_name(db.name + "-wal")
    snapshot = {"db": db.read_bytes().hex(), "wal": wal.read_bytes().hex() if wal.exists() else ""}
    connection.close()
    snapshot["db_after_close"] = db.read_bytes().hex()
    print(json.dumps(snapshot))
    """
)


def test_sqlite_file_and_wal_never_hold_the_plaintext(tmp_path: Path):
    if connection.vendor != "sqlite":
        pytest.skip("the probe runs on its own SQLite file; once per suite is enough")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "INSURDESK_PRODUCTION"}}
    env.update(
        DJANGO_SETTINGS_MODULE="insurdesk.settings",
        INSURDESK_DATA_DIR=str(tmp_path),
        INSURDESK_FIELD_KEYS=f"new:{NEW_KEY}",
        INSURDESK_INDEX_KEY=INDEX_KEY,
    )
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_PROBE, ID_NUMBER, MOBILE, HEALTH],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    files = {name: bytes.fromhex(data) for name, data in json.loads(done.stdout.splitlines()[-1]).items()}
    assert files["wal"], "the database should have been in WAL mode with writes pending"
    # The probe would see plaintext if it were there: the unencrypted name is.
    assert "文件库客户甲".encode() in files["db"] + files["wal"]
    for name, data in files.items():
        for secret in (ID_NUMBER, MOBILE, HEALTH):
            assert secret.encode() not in data, f"{secret} found in {name}"
            assert secret.encode("utf-16-le") not in data, f"{secret} found in {name}"


def test_a_field_outside_a_model_cannot_encrypt():
    with pytest.raises(CryptoError, match="not attached"):
        EncryptedTextField().get_prep_value("x")
