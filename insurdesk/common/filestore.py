"""Uploaded files at rest: 0600 files in 0700 folders, encrypted with the field keys, read back decrypted.

An import file or a sales recording holds as much personal data as the rows it becomes, so it is kept
like them: encrypted under the primary key of ``INSURDESK_FIELD_KEYS`` (AES-256-GCM, the key id in the
file), in pieces of 1 MB so that a file of hundreds of megabytes never sits whole in memory. Each piece
is sealed with the file's purpose, its position and whether it is the last, so pieces cannot be
reordered, dropped or cut off at the end without the decryption failing. A decrypted copy exists only
while a reader needs it, in a private temporary folder, and is deleted afterwards.

Layout: b"IDF1" | len(key id) | key id | then pieces: length (4 bytes, big-endian) | nonce (12) | sealed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from insurdesk.common.crypto import DecryptionError, get_keyring

MAGIC = b"IDF1"
PIECE = 1 << 20
FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | os.PathLike) -> Path:
    """Create the folder (and its parents) if needed and make it readable by this user only."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def _open_private(path: Path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.chmod(path, FILE_MODE)  # an existing file keeps its mode through O_CREAT
    return os.fdopen(fd, "wb")


def _aad(purpose: str, index: int, last: bool) -> bytes:
    return f"{purpose}|{index}|{int(last)}".encode()


def write_encrypted(source, dest: str | os.PathLike, *, purpose: str) -> int:
    """Encrypt a binary file object into dest (written whole, then renamed); return the plain size."""
    ring = get_keyring()
    kid = ring.primary_id
    cipher = ring.key(kid)
    dest = Path(dest)
    private_dir(dest.parent)
    partial = dest.with_name(dest.name + ".part")
    size = 0
    with _open_private(partial) as out:
        out.write(MAGIC + bytes([len(kid)]) + kid.encode())
        index, piece = 0, source.read(PIECE)
        while True:
            following = source.read(PIECE)
            last = not following
            nonce = secrets.token_bytes(12)
            sealed = cipher.encrypt(nonce, piece, _aad(purpose, index, last))
            out.write(struct.pack(">I", len(sealed)) + nonce + sealed)
            size += len(piece)
            if last:
                break
            index, piece = index + 1, following
        out.flush()
        os.fsync(out.fileno())
    partial.replace(dest)
    return size


def iter_decrypted(path: str | os.PathLike, *, purpose: str) -> Iterator[bytes]:
    """Yield the plain pieces of an encrypted file; raise DecryptionError if it was altered or cut."""
    ring = get_keyring()
    with open(path, "rb") as f:
        head = f.read(5)
        if head[:4] != MAGIC:
            raise DecryptionError(f"{path} is not an encrypted upload")
        kid = f.read(head[4]).decode()
        if kid not in ring:
            raise DecryptionError(f"{path}: key id {kid!r} is not in INSURDESK_FIELD_KEYS")
        cipher = ring.key(kid)
        index = 0
        while True:
            raw = f.read(4)
            if len(raw) < 4:
                raise DecryptionError(f"{path} ends before its last piece")
            (length,) = struct.unpack(">I", raw)
            nonce, sealed = f.read(12), f.read(length)
            last = not f.peek(1) if hasattr(f, "peek") else False
            try:
                yield cipher.decrypt(nonce, sealed, _aad(purpose, index, last))
            except Exception:  # noqa: BLE001 -- InvalidTag: any alteration
                raise DecryptionError(f"{path}: piece {index} does not decrypt") from None
            if last:
                return
            index += 1


@contextlib.contextmanager
def decrypted_copy(path: str | os.PathLike, *, purpose: str, suffix: str = "") -> Iterator[Path]:
    """Give a reader a decrypted copy in a private temporary folder, deleted when the reader is done."""
    work = private_dir(Path(settings.DATA_DIR) / "tmp")
    with tempfile.TemporaryDirectory(dir=work) as folder:
        os.chmod(folder, DIR_MODE)
        plain = Path(folder) / f"plain{suffix}"
        with _open_private(plain) as out:
            for piece in iter_decrypted(path, purpose=purpose):
                out.write(piece)
        yield plain


def is_encrypted(path: str | os.PathLike) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == MAGIC


def protect_sqlite_files(sender, connection, **kwargs) -> None:
    """Keep the SQLite database, its write-ahead log and shared memory readable by this user only."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for path in (name, name + "-wal", name + "-shm"):
        with contextlib.suppress(OSError):
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, FILE_MODE)
