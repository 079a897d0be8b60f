import base64
import re

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.common import crypto
from insurdesk.common.crypto import (
    CryptoError,
    DecryptionError,
    KeyRing,
    blind_index,
    decrypt,
    encrypt,
    generate_key,
    generate_keyring_entry,
    get_keyring,
    key_id_of,
)

KEY_1 = base64.b64encode(bytes(range(32))).decode()
KEY_2 = base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip("=")
OTHER_KEY_1 = base64.b64encode(bytes(range(1, 33))).decode()
INDEX_KEY = base64.b64encode(b"i" * 32).decode()
OTHER_INDEX_KEY = base64.b64encode(b"j" * 32).decode()
AAD = "customers_customer.id_number"

ring_k1 = override_settings(INSURDESK_FIELD_KEYS=f"k1:{KEY_1}", INSURDESK_INDEX_KEY=INDEX_KEY)
ring_k2_k1 = override_settings(INSURDESK_FIELD_KEYS=f"k2:{KEY_2},k1:{KEY_1}", INSURDESK_INDEX_KEY=INDEX_KEY)


@ring_k1
def test_round_trip_keeps_text_and_names_the_key():
    blob = encrypt("110101199003077777", aad=AAD)
    assert decrypt(blob, aad=AAD) == "110101199003077777"
    assert key_id_of(blob) == "k1"


@ring_k1
def test_blob_layout_is_version_kid_nonce_ciphertext_tag():
    blob = encrypt("abc", aad=AAD)
    assert blob[:4] == b"\x01\x02k1"
    assert len(blob) == 1 + 1 + 2 + 12 + len("abc") + 16


@ring_k1
def test_same_text_encrypts_differently_each_time():
    assert encrypt("13800138000", aad=AAD) != encrypt("13800138000", aad=AAD)


@given(text=st.text())
def test_any_text_round_trips_including_chinese(text):
    with ring_k1:
        assert decrypt(encrypt(text, aad=AAD), aad=AAD) == text


@ring_k1
def test_chinese_and_empty_text_round_trip():
    for text in ["", "北京市朝阳区建国路88号 3单元 1201室", "既往症：高血压（2019年确诊）", "𠮷野家"]:
        assert decrypt(encrypt(text, aad=AAD), aad=AAD) == text


@ring_k1
def test_value_moved_to_another_column_fails_to_decrypt():
    blob = encrypt("13800138000", aad="customers_customer.mobile")
    with pytest.raises(DecryptionError, match="customers_customer.landline"):
        decrypt(blob, aad="customers_customer.landline")


def test_same_key_id_with_other_key_material_fails_to_decrypt():
    with ring_k1:
        blob = encrypt("secret", aad=AAD)
    with (
        override_settings(INSURDESK_FIELD_KEYS=f"k1:{OTHER_KEY_1}"),
        pytest.raises(DecryptionError, match="'k1'"),
    ):
        decrypt(blob, aad=AAD)


def test_unknown_key_id_fails_with_a_clear_message():
    with override_settings(INSURDESK_FIELD_KEYS=f"k0:{OTHER_KEY_1}"):
        blob = encrypt("secret", aad=AAD)
    with ring_k1, pytest.raises(DecryptionError, match="key id 'k0' is not in INSURDESK_FIELD_KEYS"):
        decrypt(blob, aad=AAD)


@given(data=st.data())
def test_any_flipped_byte_fails_to_decrypt(data):
    with ring_k1:
        blob = encrypt("110101199003077777", aad=AAD)
        position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        flip = data.draw(st.integers(min_value=1, max_value=255))
        tampered = bytearray(blob)
        tampered[position] ^= flip
        with pytest.raises(DecryptionError):
            decrypt(bytes(tampered), aad=AAD)


@ring_k1
@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02\x02k1" + b"\x00" * 40, b"\x01\x00" + b"\x00" * 40])
def test_malformed_blobs_are_refused(blob):
    with pytest.raises(DecryptionError):
        decrypt(blob, aad=AAD)


@ring_k1
def test_truncated_blob_is_refused():
    blob = encrypt("abc", aad=AAD)
    for cut in range(len(blob)):
        with pytest.raises(DecryptionError):
            decrypt(blob[:cut], aad=AAD)


@ring_k1
def test_plaintext_in_place_of_a_blob_is_refused_not_returned():
    with pytest.raises(DecryptionError, match="plaintext"):
        decrypt("13800138000", aad=AAD)  # type: ignore[arg-type]
    with pytest.raises(DecryptionError):
        decrypt(b"13800138000", aad=AAD)


@ring_k1
def test_memoryview_blob_decrypts():
    blob = encrypt("abc", aad=AAD)
    assert decrypt(memoryview(blob), aad=AAD) == "abc"


@ring_k1
def test_encrypt_refuses_non_text_and_empty_aad():
    with pytest.raises(TypeError):
        encrypt(b"bytes", aad=AAD)  # type: ignore[arg-type]
    with pytest.raises(CryptoError):
        encrypt("x", aad="")


def test_old_key_values_still_decrypt_after_a_new_primary_key_is_added():
    with ring_k1:
        old = encrypt("老的值", aad=AAD)
    with ring_k2_k1:
        new = encrypt("新的值", aad=AAD)
        assert key_id_of(old) == "k1"
        assert key_id_of(new) == "k2"
        assert decrypt(old, aad=AAD) == "老的值"
        assert decrypt(new, aad=AAD) == "新的值"
    with override_settings(INSURDESK_FIELD_KEYS=f"k2:{KEY_2}"), pytest.raises(DecryptionError, match="'k1'"):
        decrypt(old, aad=AAD)


def test_keyring_is_cached_and_rebuilt_when_settings_change():
    with ring_k1:
        assert get_keyring() is get_keyring()
        assert get_keyring().primary_id == "k1"
        with ring_k2_k1:
            assert get_keyring().primary_id == "k2"
        assert get_keyring().primary_id == "k1"


def test_missing_settings_raise_crypto_error():
    with override_settings(INSURDESK_FIELD_KEYS=""), pytest.raises(CryptoError, match="INSURDESK_FIELD_KEYS"):
        encrypt("x", aad=AAD)
    with override_settings(INSURDESK_INDEX_KEY=None), pytest.raises(CryptoError, match="INSURDESK_INDEX_KEY"):
        blind_index("x", purpose="mobile")


def test_keyring_parse_reads_newest_first_and_accepts_both_base64_alphabets():
    ring = KeyRing.parse(f" k2:{KEY_2} , k1:{KEY_1} ")
    assert ring.ids == ("k2", "k1")
    assert ring.primary_id == "k2"
    assert "k1" in ring
    assert ring.key("k1") is not ring.key("k2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("k1", "not 'kid:base64key'"),
        (f"k1:{KEY_1},", "entry 2"),
        (f":{KEY_1}", "entry 1"),
        (f"k1:{KEY_1},k1:{KEY_2}", "twice"),
        (f"bad id:{KEY_1}", "key id"),
        (f"{'k' * 17}:{KEY_1}", "key id"),
        (f"密钥:{KEY_1}", "key id"),
        ("k1:not*base64", "base64"),
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "32 bytes, got 16"),
    ],
)
def test_keyring_parse_refuses_malformed_text(text, message):
    with pytest.raises(CryptoError, match=re.escape(message)):
        KeyRing.parse(text)


def test_keyring_repr_shows_ids_but_no_key_material():
    ring = KeyRing.parse(f"k1:{KEY_1}")
    assert "k1" in repr(ring)
    assert KEY_1 not in repr(ring)


def test_unknown_key_lookup_is_an_error():
    with pytest.raises(CryptoError):
        KeyRing.parse(f"k1:{KEY_1}").key("k9")


@ring_k1
def test_blind_index_is_deterministic_32_hex_and_separated_by_purpose():
    first = blind_index("13800138000", purpose="mobile")
    assert first == blind_index("13800138000", purpose="mobile")
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != blind_index("13800138000", purpose="identity")
    assert first != blind_index("13800138001", purpose="mobile")


def test_blind_index_depends_on_the_index_key_only():
    with ring_k1:
        before = blind_index("110101199003077777", purpose="identity")
    with ring_k2_k1:
        assert blind_index("110101199003077777", purpose="identity") == before
    with override_settings(INSURDESK_INDEX_KEY=OTHER_INDEX_KEY):
        assert blind_index("110101199003077777", purpose="identity") != before


@ring_k1
def test_blind_index_refuses_an_ambiguous_purpose():
    with pytest.raises(CryptoError):
        blind_index("x", purpose="a\x00b")
    with pytest.raises(CryptoError):
        blind_index("x", purpose="")


def test_generated_keys_are_32_bytes_and_make_a_valid_ring():
    assert len(base64.b64decode(generate_key())) == 32
    assert generate_key() != generate_key()
    entry = generate_keyring_entry("2026a")
    assert entry.startswith("2026a:")
    assert KeyRing.parse(f"{entry},k1:{KEY_1}").primary_id == "2026a"
    with pytest.raises(CryptoError):
        generate_keyring_entry("no spaces")


def test_project_settings_provide_a_working_ring():
    blob = crypto.encrypt("x", aad=AAD)
    assert crypto.decrypt(blob, aad=AAD) == "x"
