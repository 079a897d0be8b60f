"""The encrypted backup container: one file, AES-256-GCM in chunks; a cut, moved or altered chunk is refused.

Layout::

    MAGIC | header length (4 bytes, big-endian) | header (JSON) | chunk | chunk | ...
    chunk = sealed length (4 bytes, big-endian) | ciphertext || GCM tag (16 bytes)

Each file has its own key, HKDF-SHA256 of the backup key (``INSURDESK_BACKUP_KEY``) with a random salt
from the header. Chunk i is sealed with nonce = nonce prefix (7 bytes) | i (4 bytes) | last (1 byte)
and the whole header as associated data: the STREAM construction (Hoang, Reyhanitabar, Rogaway and
Vizár, 2015), so a chunk altered, dropped, repeated or moved, a file cut at any byte (even between
chunks) and a header changed all fail to open. The header carries a fingerprint of the backup key,
never the key, so a backup made under another key is named as such rather than called damaged.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import io
import json
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"INSURDESK-BACKUP\n"
FORMAT = 1
CHUNK_BYTES = 1 << 20
TAG_BYTES = 16
PREFIX_BYTES = 7
MAX_HEADER_BYTES = 64 * 1024
_LEN = struct.Struct(">I")


class BackupError(Exception):
    """A backup cannot be written, read or trusted; the message says which and where."""


def decode_key(text: str) -> bytes:
    """Return the 32-byte backup key from its base64 text (standard or URL-safe, padding optional)."""
    if not text:
        raise BackupError(
            "INSURDESK_BACKUP_KEY is not set: backups are encrypted under it. Generate one with "
            '`python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"` and keep a '
            "copy away from the backups."
        )
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        key = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise BackupError("INSURDESK_BACKUP_KEY is not valid base64") from None
    if len(key) != 32:
        raise BackupError(f"INSURDESK_BACKUP_KEY must be 32 bytes, got {len(key)}")
    return key


def key_fingerprint(key: bytes) -> str:
    """Return a public name for a key (an HMAC of a constant; it reveals nothing of the key)."""
    return hmac.new(key, b"insurdesk backup key fingerprint", hashlib.sha256).hexdigest()[:16]


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"insurdesk backup v1")
    return AESGCM(hkdf.derive(key))


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= 2**32:
        raise BackupError("backup too large for one file (over 4 PiB)")
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


class EncryptingWriter(io.RawIOBase):
    """A write-only binary stream that encrypts into `fh`; close() seals the final chunk."""

    def __init__(self, fh, key: bytes):
        super().__init__()
        self._fh = fh
        salt, self._prefix = os.urandom(32), os.urandom(PREFIX_BYTES)
        header = {
            "format": FORMAT,
            "cipher": "AES-256-GCM",
            "kdf": "HKDF-SHA256",
            "chunk_bytes": CHUNK_BYTES,
            "salt": base64.b64encode(salt).decode(),
            "nonce_prefix": base64.b64encode(self._prefix).decode(),
            "key_fingerprint": key_fingerprint(key),
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        self._header = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        self._aead = _file_key(key, salt)
        self._buffer = bytearray()
        self._index = 0
        fh.write(MAGIC + _LEN.pack(len(self._header)) + self._header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK_BYTES:
            self._seal(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]
        return len(data)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), plain, self._header)
        self._fh.write(_LEN.pack(len(sealed)) + sealed)
        self._index += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


class DecryptingReader(io.RawIOBase):
    """A read-only binary stream of the plaintext; raises BackupError at the first chunk that fails.

    ``chunk`` is the number of chunks opened so far; ``finished`` is True once the final chunk was
    opened and nothing follows it.
    """

    def __init__(self, fh, key: bytes):
        super().__init__()
        self._fh = fh
        if fh.read(len(MAGIC)) != MAGIC:
            raise BackupError("not an insurdesk backup (the file does not start with the backup signature)")
        raw = fh.read(_LEN.size)
        (length,) = _LEN.unpack(raw) if len(raw) == _LEN.size else (0,)
        if not 0 < length <= MAX_HEADER_BYTES:
            raise BackupError("the backup header is damaged")
        self._header = fh.read(length)
        try:
            header = json.loads(self._header)
            salt = base64.b64decode(header["salt"])
            self._prefix = base64.b64decode(header["nonce_prefix"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise BackupError("the backup header is damaged") from None
        if header.get("format") != FORMAT or len(self._prefix) != PREFIX_BYTES:
            raise BackupError(
                f"unknown backup format {header.get('format')!r} (this insurdesk reads {FORMAT})"
            )
        mine = key_fingerprint(key)
        if header.get("key_fingerprint") != mine:
            raise BackupError(
                f"the backup was made under backup key {header.get('key_fingerprint')}, but "
                f"INSURDESK_BACKUP_KEY is key {mine}: set the key the backup was made with"
            )
        self.header = header
        self._aead = _file_key(key, salt)
        self._plain = b""
        self._pos = 0
        self.chunk = 0
        self.offset = len(MAGIC) + _LEN.size + length  # where the next chunk starts in the file
        self.finished = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._pos >= len(self._plain):
            if self.finished or not self._next_chunk():
                return 0
        n = min(len(buffer), len(self._plain) - self._pos)
        buffer[:n] = self._plain[self._pos : self._pos + n]
        self._pos += n
        return n

    def _next_chunk(self) -> bool:
        raw = self._fh.read(_LEN.size)
        if not raw:
            raise BackupError(
                f"the backup is truncated: it ends after chunk {self.chunk} (byte {self.offset}) without its "
                "final chunk"
            )
        (length,) = _LEN.unpack(raw) if len(raw) == _LEN.size else (0,)
        if not TAG_BYTES <= length <= CHUNK_BYTES + TAG_BYTES:
            raise BackupError(f"chunk {self.chunk} at byte {self.offset} is damaged (impossible length)")
        sealed = self._fh.read(length)
        if len(sealed) < length:
            raise BackupError(f"the backup is truncated inside chunk {self.chunk} (byte {self.offset})")
        last = not self._fh.peek(1)[:1] if hasattr(self._fh, "peek") else self._at_end()
        try:
            self._plain = self._aead.decrypt(_nonce(self._prefix, self.chunk, last), sealed, self._header)
        except InvalidTag:
            if last and self._opens_as_middle(sealed):
                raise BackupError(
                    f"the backup is truncated: it ends after chunk {self.chunk} "
                    f"(byte {self.offset + 4 + length}) without its final chunk"
                ) from None
            raise BackupError(
                f"chunk {self.chunk} (bytes {self.offset}–{self.offset + 4 + length}) failed authentication: "
                "the backup was altered or damaged"
            ) from None
        self._pos = 0
        self.offset += _LEN.size + length
        self.chunk += 1
        self.finished = last
        return True

    def _opens_as_middle(self, sealed: bytes) -> bool:
        try:
            self._aead.decrypt(_nonce(self._prefix, self.chunk, False), sealed, self._header)
        except InvalidTag:
            return False
        return True

    def _at_end(self) -> bool:
        here = self._fh.tell()
        more = self._fh.read(1)
        self._fh.seek(here)
        return not more
