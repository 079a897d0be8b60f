"""Field encryption (AES-256-GCM with a key id per value) and blind indexes (HMAC-SHA256).

A stored value is a self-describing blob::

    b"\\x01" | len(key id) (1 byte) | key id (ASCII) | nonce (12 bytes) | ciphertext || tag (16 bytes)

The associated data is the column ("customers_customer.id_number"), so a blob copied into another
column fails to decrypt. The key ring comes from ``settings.INSURDESK_FIELD_KEYS``
("kid2:BASE64,kid1:BASE64", newest first): new values use the first key, old values keep decrypting
while their key stays in the ring, and ``insurdesk rotate_keys`` moves them to the newest key.
Searching goes through ``blind_index`` with the separate ``settings.INSURDESK_INDEX_KEY``, so a
rotation of the field keys leaves every search hash as it was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import threading
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = [
    "CryptoError",
    "DecryptionError",
    "KeyRing",
    "blind_index",
    "decrypt",
    "encrypt",
    "generate_key",
    "generate_keyring_entry",
    "get_keyring",
    "key_id_of",
]

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
BLIND_INDEX_HEX_CHARS = 32

_VERSION_BYTE = bytes([VERSION])
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_SETTING_NAMES = frozenset({"INSURDESK_FIELD_KEYS", "INSURDESK_INDEX_KEY"})


class CryptoError(Exception):
    """Encryption is misconfigured or was misused."""


class DecryptionError(CryptoError):
    """A stored value cannot be decrypted: unknown key id, wrong column, wrong key or tampered data."""


def _decode_key(text: str, *, what: str) -> bytes:
    """Decode a 32-byte key written in standard or URL-safe base64, padding optional."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(f"{what} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise CryptoError(f"{what} must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def _check_kid(kid: str) -> str:
    if not isinstance(kid, str) or not _KID_RE.fullmatch(kid):
        raise CryptoError(f"key id {kid!r} must be 1-16 characters of A-Z a-z 0-9 _ -")
    return kid


@dataclass(frozen=True)
class KeyRing:
    """Field keys by id, newest (primary) first; the key bytes never appear in repr."""

    ids: tuple[str, ...]
    _ciphers: dict[str, AESGCM] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Parse "kid2:BASE64KEY,kid1:BASE64KEY" (newest first) into a ring."""
        if not isinstance(text, str) or not text.strip():
            raise CryptoError("INSURDESK_FIELD_KEYS is empty; expected 'kid:base64key[,kid:base64key...]'")
        ids: list[str] = []
        ciphers: dict[str, AESGCM] = {}
        for position, entry in enumerate(text.split(","), start=1):
            entry = entry.strip()
            kid, sep, encoded = entry.partition(":")
            kid = kid.strip()
            if not sep or not kid or not encoded.strip():
                raise CryptoError(f"INSURDESK_FIELD_KEYS entry {position} is not 'kid:base64key'")
            _check_kid(kid)
            if kid in ciphers:
                raise CryptoError(f"INSURDESK_FIELD_KEYS names key id {kid!r} twice")
            ciphers[kid] = AESGCM(_decode_key(encoded, what=f"INSURDESK_FIELD_KEYS key {kid!r}"))
            ids.append(kid)
        return cls(ids=tuple(ids), _ciphers=ciphers)

    @property
    def primary_id(self) -> str:
        return self.ids[0]

    def key(self, kid: str) -> AESGCM:
        try:
            return self._ciphers[kid]
        except KeyError:
            raise CryptoError(f"key id {kid!r} is not in INSURDESK_FIELD_KEYS") from None

    def __contains__(self, kid: object) -> bool:
        return kid in self._ciphers


_lock = threading.Lock()
_keyring: KeyRing | None = None
_index_key: bytes | None = None


def _setting(name: str) -> str:
    value = getattr(settings, name, None)
    if not value:
        raise CryptoError(f"settings.{name} is not set")
    return value


def get_keyring() -> KeyRing:
    """Return the ring built from settings.INSURDESK_FIELD_KEYS, parsed once until settings change."""
    global _keyring
    ring = _keyring
    if ring is None:
        with _lock:
            if _keyring is None:
                _keyring = KeyRing.parse(_setting("INSURDESK_FIELD_KEYS"))
            ring = _keyring
    return ring


def _get_index_key() -> bytes:
    global _index_key
    key = _index_key
    if key is None:
        with _lock:
            if _index_key is None:
                _index_key = _decode_key(_setting("INSURDESK_INDEX_KEY"), what="INSURDESK_INDEX_KEY")
            key = _index_key
    return key


@receiver(setting_changed)
def _reset_on_setting_changed(*, setting: str, **kwargs) -> None:
    global _keyring, _index_key
    if setting in _SETTING_NAMES:
        with _lock:
            _keyring = None
            _index_key = None


def encrypt(plaintext: str, *, aad: str) -> bytes:
    """Encrypt text under the primary key, bound to the column named by aad."""
    if not isinstance(plaintext, str):
        raise TypeError(f"encrypt() takes str, not {type(plaintext).__name__}")
    ring = get_keyring()
    kid = ring.primary_id.encode("ascii")
    # A random 96-bit nonce is safe for about 2**32 values per key (NIST SP 800-38D §8.3); rotation
    # gives each key a fresh budget long before a back office comes near it.
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.key(ring.primary_id).encrypt(nonce, plaintext.encode("utf-8"), _aad_bytes(aad))
    return b"".join((_VERSION_BYTE, bytes([len(kid)]), kid, nonce, sealed))


def _aad_bytes(aad: str) -> bytes:
    if not isinstance(aad, str) or not aad:
        raise CryptoError("aad must be a non-empty str naming the column, e.g. 'app_model.column'")
    return aad.encode("utf-8")


def _split(blob: bytes | bytearray | memoryview) -> tuple[str, bytes, bytes]:
    """Return (key id, nonce, ciphertext||tag) of a blob, refusing anything malformed."""
    if isinstance(blob, memoryview | bytearray):
        blob = bytes(blob)
    if not isinstance(blob, bytes):
        raise DecryptionError(
            f"expected an encrypted blob (bytes), got {type(blob).__name__}; the column may hold plaintext"
        )
    if len(blob) < 2 or blob[0] != VERSION:
        version = blob[0] if blob else "none"
        raise DecryptionError(f"not an encrypted value: format version {version}, expected {VERSION}")
    kid_end = 2 + blob[1]
    if blob[1] == 0 or len(blob) < kid_end + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("encrypted value is truncated or malformed")
    try:
        kid = blob[2:kid_end].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError("encrypted value has a malformed key id") from None
    return kid, blob[kid_end : kid_end + NONCE_BYTES], blob[kid_end + NONCE_BYTES :]


def key_id_of(blob: bytes | bytearray | memoryview) -> str:
    """Return the id of the key that encrypted blob."""
    return _split(blob)[0]


def decrypt(blob: bytes | bytearray | memoryview, *, aad: str) -> str:
    """Decrypt a blob made by encrypt() for the same column; refuse rather than return ciphertext."""
    kid, nonce, sealed = _split(blob)
    ring = get_keyring()
    if kid not in ring:
        known = ", ".join(ring.ids)
        raise DecryptionError(
            f"cannot decrypt {aad}: key id {kid!r} is not in INSURDESK_FIELD_KEYS ({known})"
        )
    try:
        data = ring.key(kid).decrypt(nonce, sealed, _aad_bytes(aad))
    except InvalidTag:
        raise DecryptionError(
            f"cannot decrypt {aad} with key {kid!r}: wrong key material, value from another column, "
            "or tampered data"
        ) from None
    return data.decode("utf-8")


def blind_index(value: str, *, purpose: str) -> str:
    """Return a keyed hash of value for equality search; the caller normalises value first."""
    if not isinstance(value, str):
        raise TypeError(f"blind_index() takes str, not {type(value).__name__}")
    if not isinstance(purpose, str) or not purpose or "\x00" in purpose:
        raise CryptoError("purpose must be a non-empty str without NUL, e.g. 'customer.id_number'")
    digest = hmac.new(
        _get_index_key(), purpose.encode("utf-8") + b"\x00" + value.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    # Truncating to 128 bits is safe here: the index only answers "equal or not" and is never used
    # as a MAC, and an accidental collision among even 10**12 values has probability about 2**-49;
    # one would cost an extra candidate row, which comparing the decrypted value weeds out.
    return digest[:BLIND_INDEX_HEX_CHARS]


def generate_key() -> str:
    """Return a new 32-byte key in standard base64."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def generate_keyring_entry(kid: str) -> str:
    """Return "kid:base64key", ready to put first in INSURDESK_FIELD_KEYS."""
    return f"{_check_kid(kid)}:{generate_key()}"
