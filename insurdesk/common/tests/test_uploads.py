"""Uploads: the type comes from the bytes, the size is capped, and a file name is never a path."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st

from insurdesk.common.errors import ValidationFailed
from insurdesk.common.uploads import TYPES, check_filename, check_upload

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64
HTML = b"<html><script>alert(1)</script></html>"


def zipped(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return buf.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def code_of(exc_info) -> str:
    return exc_info.value.errors[0].code


@pytest.mark.parametrize(
    "name, content, kinds, kind",
    [
        ("保单扫描件.pdf", PDF, ["pdf", "jpeg"], "pdf"),
        ("身份证正面.JPG", JPEG, ["pdf", "jpeg"], "jpeg"),
        ("截图.png", PNG, ["png"], "png"),
        ("双录.mp4", MP4, ["mp4", "mov", "mp3", "wav"], "mp4"),
        ("双录.wav", WAV, ["mp4", "wav"], "wav"),
        ("名单.xlsx", zipped("[Content_Types].xml", "xl/workbook.xml"), ["xlsx", "csv"], "xlsx"),
        ("说明.docx", zipped("[Content_Types].xml", "word/document.xml"), ["docx"], "docx"),
        ("名单.csv", "姓名,证件号码\n张三,110105199003071239\n".encode(), ["xlsx", "csv"], "csv"),
        ("名单.csv", "姓名,证件号码\n张三\n".encode("gb18030"), ["csv", "txt"], "csv"),
        ("备注.txt", "备注".encode(), ["csv", "txt"], "txt"),
    ],
)
def test_allowed_files_pass_with_the_type_their_bytes_show(name, content, kinds, kind):
    checked = check_upload(upload(name, content, "text/html"), allowed_types=kinds, max_bytes=10_000)
    assert checked.kind == kind and checked.content_type == TYPES[kind].content_type
    assert checked.size == len(content) and len(checked.sha256) == 64 and checked.name == name


@pytest.mark.parametrize(
    "name, content, code",
    [
        ("invoice.pdf", EXE, "content_type"),  # an executable renamed
        ("photo.jpg", HTML, "content_type"),  # a page renamed, sent as image/jpeg
        ("scan.jpg", PDF, "extension_mismatch"),  # a real PDF with the wrong extension
        ("名单.xlsx", zipped("evil.sh"), "content_type"),  # any zip is not a workbook
        ("名单.pdf", b"", "empty"),
    ],
)
def test_content_decides_not_the_client(name, content, code):
    with pytest.raises(ValidationFailed) as exc:
        check_upload(
            upload(name, content, "application/pdf"), allowed_types=["pdf", "jpeg", "xlsx"], max_bytes=10_000
        )
    assert code_of(exc) == code


def test_an_oversize_body_is_refused_before_and_while_reading():
    with pytest.raises(ValidationFailed) as exc:
        check_upload(upload("a.pdf", PDF + b"0" * 2000), allowed_types=["pdf"], max_bytes=1000)
    assert code_of(exc) == "too_large" and "1000 字节" in exc.value.errors[0].message

    class Lying(io.BytesIO):
        name = "a.pdf"
        size = 10  # what a client claimed

    with pytest.raises(ValidationFailed) as exc:
        check_upload(Lying(PDF + b"0" * 5000), allowed_types=["pdf"], max_bytes=4096)
    assert code_of(exc) == "too_large"


def test_a_spooled_temporary_upload_is_read_from_disk():
    f = TemporaryUploadedFile("big.pdf", "application/pdf", 0, None)
    f.write(PDF + b"x" * 300_000)
    f.size = f.tell()
    try:
        assert check_upload(f, allowed_types=["pdf"], max_bytes=1 << 20).size == f.size
    finally:
        f.close()


@pytest.mark.parametrize(
    "name, code",
    [
        ("../../etc/passwd.pdf", "name_path"),
        ("/etc/passwd.pdf", "name_path"),
        ("C:\\Windows\\win.ini.pdf", "name_path"),
        ("..\\..\\boot.pdf", "name_path"),
        ("report.pdf:evil.exe", "name_path"),  # NTFS alternate data stream
        ("..", "name_path"),
        ("a\x00.pdf", "name_control"),
        ("invoice\u202efdp.exe", "name_control"),  # right-to-left override: shows as invoiceexe.pdf
        ("CON.pdf", "name_reserved"),
        ("nul.pdf", "name_reserved"),
        ("com1.pdf", "name_reserved"),
        ("LPT9.tar.pdf", "name_reserved"),
        ("report.pdf.", "name_edge"),
        ("report.pdf ", "name_edge"),
        (".htaccess", "name_edge"),
        ("合同.pdf.exe", "double_extension"),
        ("avatar.php.jpg", "double_extension"),
        ("a.html.pdf", "double_extension"),
        ("noextension", "name_extension"),
        ("setup.exe", "extension"),
        ("", "name_required"),
        ("x" * 300 + ".pdf", "name_too_long"),
    ],
)
def test_names_with_path_tricks_are_refused(name, code):
    with pytest.raises(ValidationFailed) as exc:
        check_filename(name, allowed_types=["pdf", "jpeg"])
    assert code_of(exc) == code


@pytest.mark.parametrize("name", ["张三 身份证.jpg", "2024.03 保单.pdf", "v1.2 说明.pdf", "Ａ.pdf"])
def test_ordinary_names_with_dots_and_spaces_pass(name):
    assert check_filename(name, allowed_types=["pdf", "jpeg"])


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=60), content=st.binary(max_size=200))
def test_any_name_and_content_give_a_result_or_a_refusal(name, content):
    try:
        checked = check_upload(upload_safe(name, content), allowed_types=list(TYPES), max_bytes=150)
    except ValidationFailed as exc:
        assert exc.errors[0].field == "file" and exc.errors[0].message
    else:
        assert "/" not in checked.name and "\\" not in checked.name and checked.name != ".."


def upload_safe(name: str, content: bytes):
    class Raw(io.BytesIO):
        pass

    f = Raw(content)
    f.name = name
    return f


def test_unknown_types_are_a_programming_error():
    with pytest.raises(ValueError):
        check_upload(upload("a.pdf", PDF), allowed_types=["exe"], max_bytes=100)
