"""The encrypted container: what goes in comes out; a changed, cut or reordered byte is refused by name."""

import io
import os

import pytest

from insurdesk.lifecycle.archive import (
    CHUNK_BYTES,
    MAGIC,
    BackupError,
    DecryptingReader,
    EncryptingWriter,
    decode_key,
    key_fingerprint,
)

KEY = os.urandom(32)


def seal(data: bytes, key: bytes = KEY, *, pieces: int = 7) -> bytes:
    out = io.BytesIO()
    writer = EncryptingWriter(out, key)
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        writer.write(data[i : i + step])
    writer.close()
    return out.getvalue()


def open_all(blob: bytes, key: bytes = KEY) -> bytes:
    reader = DecryptingReader(io.BufferedReader(io.BytesIO(blob)), key)
    data = reader.read()
    assert reader.finished
    return data


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17])
def test_what_goes_in_comes_out(size):
    data = os.urandom(size)
    blob = seal(data)
    assert blob.startswith(MAGIC)
    if size >= 64:
        assert data[:64] not in blob
    assert open_all(blob) == data


def test_two_backups_of_the_same_data_differ():
    data = b"same" * 1000
    assert seal(data) != seal(data)


def test_a_changed_byte_is_refused_naming_the_chunk():
    blob = bytearray(seal(os.urandom(2 * CHUNK_BYTES + 10)))
    blob[CHUNK_BYTES + CHUNK_BYTES // 2] ^= 1
    with pytest.raises(BackupError, match=r"chunk 1 \(bytes \d+–\d+\) failed authentication"):
        open_all(bytes(blob))


def test_a_changed_header_is_refused():
    blob = seal(b"x" * 100)
    at = blob.index(b'"created_at":"') + 16
    changed = blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1 :]
    with pytest.raises(BackupError):
        open_all(changed)


@pytest.mark.parametrize("cut", [1, 100, CHUNK_BYTES + 20])
def test_a_cut_file_is_refused_as_truncated(cut):
    blob = seal(os.urandom(3 * CHUNK_BYTES))
    with pytest.raises(BackupError, match="truncated"):
        open_all(blob[:-cut])


def test_a_file_cut_exactly_between_chunks_is_truncated_not_valid():
    data = os.urandom(3 * CHUNK_BYTES)
    blob = seal(data)
    first_chunk_end = (
        blob.index(MAGIC) + len(MAGIC) + 4 + int.from_bytes(blob[len(MAGIC) : len(MAGIC) + 4], "big")
    )
    first_chunk_end += 4 + CHUNK_BYTES + 16
    with pytest.raises(BackupError, match="truncated"):
        open_all(blob[:first_chunk_end])


def test_swapped_chunks_are_refused():
    blob = seal(os.urandom(3 * CHUNK_BYTES))
    head_len = len(MAGIC) + 4 + int.from_bytes(blob[len(MAGIC) : len(MAGIC) + 4], "big")
    size = 4 + CHUNK_BYTES + 16
    a, b = blob[head_len : head_len + size], blob[head_len + size : head_len + 2 * size]
    swapped = blob[:head_len] + b + a + blob[head_len + 2 * size :]
    with pytest.raises(BackupError, match="chunk 0"):
        open_all(swapped)


def test_another_key_is_named_not_called_damage():
    other = os.urandom(32)
    with pytest.raises(BackupError, match=f"backup key {key_fingerprint(KEY)}.*key {key_fingerprint(other)}"):
        open_all(seal(b"data"), other)


def test_a_file_that_is_not_a_backup_is_refused():
    with pytest.raises(BackupError, match="not an insurdesk backup"):
        open_all(b"PK\x03\x04 something else")


def test_the_key_setting_must_be_32_bytes_of_base64():
    with pytest.raises(BackupError, match="not set"):
        decode_key("")
    with pytest.raises(BackupError, match="32 bytes"):
        decode_key("c2hvcnQ=")
    with pytest.raises(BackupError, match="base64"):
        decode_key("***")
    import base64

    assert decode_key(base64.urlsafe_b64encode(KEY).decode().rstrip("=")) == KEY
