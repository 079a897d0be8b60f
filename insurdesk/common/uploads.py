"""What every uploaded file passes before it is stored: its type read from its bytes, its size, its name.

The client's Content-Type and the extension prove nothing; the first bytes (magic numbers) and, for
zip-based formats, the names inside the zip decide the type, and the extension must agree with it.
A name is only ever shown, never used as a path: separators, "..", drive letters, NTFS streams,
control and bidirectional-override characters, Windows device names (CON, NUL, COM1…), trailing dots
and spaces, and a known extension hidden before the last one ("报告.pdf.exe", "a.php.jpg") are
refused. Store the file under a name of your own (e.g. its SHA-256); keep ``name`` for display.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from insurdesk.common.errors import FieldError, ValidationFailed

__all__ = ["TYPES", "CheckedUpload", "check_filename", "check_spreadsheet_size", "check_upload", "sniff"]

HEAD_BYTES = 8192
MAX_NAME_CHARS = 200


def _ftyp(head: bytes, brands: Iterable[bytes]) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in tuple(brands)


def _mp3(head: bytes) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _text(head: bytes) -> bool:
    """Plain text in UTF-8 (BOM allowed) or GB18030, without NUL or other control characters."""
    if not head:
        return False
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            # The head may end inside a multi-byte character: only a complete file must end cleanly.
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=len(head) < HEAD_BYTES)
        except UnicodeDecodeError:
            continue
        return not any(ord(ch) < 32 and ch not in "\t\r\n\f" or ord(ch) == 127 for ch in text)
    return False


_MOV_BRANDS = (b"qt  ",)
_M4A_BRANDS = (b"M4A ", b"M4B ")
_MP4_BRANDS = (
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"M4V ",
    b"dash",
    b"MSNV",
)


@dataclass(frozen=True)
class FileType:
    key: str
    label: str
    content_type: str
    extensions: tuple[str, ...]
    head: Callable[[bytes], bool]
    zip_member: str = ""  # zip-based formats: a member only this format has

    def matches(self, head: bytes, zip_names: frozenset[str] | None) -> bool:
        if self.zip_member:
            return zip_names is not None and self.zip_member in zip_names
        return self.head(head)


TYPES: dict[str, FileType] = {
    t.key: t
    for t in (
        FileType("pdf", "PDF", "application/pdf", (".pdf",), lambda h: h.startswith(b"%PDF-")),
        FileType(
            "jpeg", "JPEG 图片", "image/jpeg", (".jpg", ".jpeg"), lambda h: h.startswith(b"\xff\xd8\xff")
        ),
        FileType("png", "PNG 图片", "image/png", (".png",), lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
        FileType("gif", "GIF 图片", "image/gif", (".gif",), lambda h: h[:6] in (b"GIF87a", b"GIF89a")),
        FileType(
            "tiff", "TIFF 图片", "image/tiff", (".tif", ".tiff"), lambda h: h[:4] in (b"II*\x00", b"MM\x00*")
        ),
        FileType(
            "webp", "WebP 图片", "image/webp", (".webp",), lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"
        ),
        FileType("mp4", "MP4 视频", "video/mp4", (".mp4", ".m4v"), lambda h: _ftyp(h, _MP4_BRANDS)),
        FileType("mov", "QuickTime 视频", "video/quicktime", (".mov",), lambda h: _ftyp(h, _MOV_BRANDS)),
        FileType("m4a", "M4A 音频", "audio/mp4", (".m4a",), lambda h: _ftyp(h, _M4A_BRANDS)),
        FileType("webm", "WebM 视频", "video/webm", (".webm",), lambda h: h.startswith(b"\x1aE\xdf\xa3")),
        FileType("mp3", "MP3 音频", "audio/mpeg", (".mp3",), _mp3),
        FileType(
            "wav", "WAV 音频", "audio/wav", (".wav",), lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE"
        ),
        FileType("amr", "AMR 音频", "audio/amr", (".amr",), lambda h: h.startswith(b"#!AMR")),
        FileType(
            "xlsx",
            "Excel 工作簿",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            (".xlsx",),
            lambda h: False,
            zip_member="xl/workbook.xml",
        ),
        FileType(
            "docx",
            "Word 文档",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (".docx",),
            lambda h: False,
            zip_member="word/document.xml",
        ),
        FileType("ofd", "OFD 版式文件", "application/ofd", (".ofd",), lambda h: False, zip_member="OFD.xml"),
        FileType("csv", "CSV 表格", "text/csv", (".csv",), _text),
        FileType("txt", "文本", "text/plain", (".txt",), _text),
    )
}
# Extensions that must never hide inside a name ("a.php.jpg"): every known type's and the runnable ones.
DANGEROUS_EXTENSIONS = frozenset(
    {
        ".exe",
        ".com",
        ".bat",
        ".cmd",
        ".scr",
        ".pif",
        ".msi",
        ".dll",
        ".cpl",
        ".lnk",
        ".jar",
        ".js",
        ".jse",
        ".vbs",
        ".vbe",
        ".wsf",
        ".ps1",
        ".sh",
        ".php",
        ".phtml",
        ".php5",
        ".asp",
        ".aspx",
        ".jsp",
        ".cgi",
        ".pl",
        ".py",
        ".html",
        ".htm",
        ".xhtml",
        ".svg",
        ".hta",
        ".xml",
        ".zip",
        ".rar",
        ".7z",
        ".doc",
        ".xls",
        ".docm",
        ".xlsm",
        ".iso",
        ".apk",
    }
)
KNOWN_EXTENSIONS = DANGEROUS_EXTENSIONS | {ext for t in TYPES.values() for ext in t.extensions}
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³]|CONIN\$|CONOUT\$)$", re.IGNORECASE)


@dataclass(frozen=True)
class CheckedUpload:
    name: str  # the client's name, normalised (NFC), for display only
    kind: str  # a key of TYPES
    content_type: str  # from the content, never from the client
    size: int
    sha256: str


def _refuse(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(FieldError(field, code, message))


def check_filename(name, *, allowed_types: Iterable[str] | None = None, field: str = "file") -> str:
    """Return the name in NFC when it is a plain file name with one allowed extension; refuse otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise _refuse(field, "name_required", "文件名不能为空")
    name = unicodedata.normalize("NFC", name)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise _refuse(field, "name_control", "文件名含有控制字符或不可见字符")
    if any(sep in name for sep in ("/", "\\", ":")) or name in (".", ".."):
        raise _refuse(field, "name_path", "文件名不能包含路径（/、\\、:、..）")
    if name != name.strip(" .") or name.startswith("-"):
        raise _refuse(field, "name_edge", "文件名不能以点、空格或减号开头或结尾")
    if len(name) > MAX_NAME_CHARS:
        raise _refuse(field, "name_too_long", f"文件名不能超过 {MAX_NAME_CHARS} 个字符")
    parts = name.split(".")
    if _RESERVED.match(parts[0].strip()):
        raise _refuse(field, "name_reserved", f"文件名 {parts[0]} 是 Windows 保留的设备名")
    if len(parts) < 2:
        raise _refuse(field, "name_extension", "文件名须带扩展名")
    extension = "." + parts[-1].lower()
    hidden = [p for p in parts[1:-1] if "." + p.lower().strip() in KNOWN_EXTENSIONS]
    if hidden:
        raise _refuse(
            field, "double_extension", f"文件名含有双重扩展名（.{hidden[0]}{extension}），请改名后上传"
        )
    if allowed_types is not None:
        allowed = [TYPES[k] for k in allowed_types]
        if not any(extension in t.extensions for t in allowed):
            names = "、".join(ext for t in allowed for ext in t.extensions)
            raise _refuse(field, "extension", f"不接受 {extension} 文件，只接受：{names}")
    return name


def _zip_names(fh) -> frozenset[str] | None:
    try:
        with zipfile.ZipFile(fh) as z:
            return frozenset(z.namelist()[:10000])
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        fh.seek(0)


def sniff(fh, allowed: Iterable[FileType]) -> list[FileType]:
    """Return the allowed types the content matches (text matches both csv and txt)."""
    fh.seek(0)
    head = fh.read(HEAD_BYTES)
    fh.seek(0)
    allowed = list(allowed)
    names = _zip_names(fh) if head.startswith(b"PK\x03\x04") and any(t.zip_member for t in allowed) else None
    return [t for t in allowed if t.matches(head, names)]


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_SHEET_XML = re.compile(r"xl/(?:worksheets/[^/]+|sharedStrings)\.xml", re.IGNORECASE)


def check_spreadsheet_size(
    fh,
    *,
    kind: str,
    max_xml_bytes: int,
    max_rows: int,
    field: str = "file",
    settings_prefix: str = "INSURDESK",
) -> int:
    """Refuse a spreadsheet whose sheets expand past max_xml_bytes or hold more than max_rows rows.

    Runs before any spreadsheet library reads the file, so a small file that expands to gigabytes of
    XML (a "zip bomb") or millions of rows costs at most max_xml_bytes of decompression, in 1 MB pieces,
    and no memory: first the sizes the zip declares, then the bytes it really expands to (a zip may
    lie about them), counting the <row> elements on the way. CSV: the lines are counted. Returns the
    rows found (xlsx: row elements, the header included).
    """
    fh.seek(0)
    rows = 0
    limit = _size_label(max_xml_bytes)
    too_many = _refuse(
        field, "too_many_rows", f"文件超过 {max_rows} 行的上限（{settings_prefix}_MAX_ROWS），请分批导入"
    )
    too_big = f"超过上限 {limit}（{settings_prefix}_MAX_XML_BYTES）"
    try:
        if kind == "csv":
            while chunk := fh.read(1 << 20):
                rows += chunk.count(b"\n")
                if rows > max_rows + 1:  # the header line
                    raise too_many
            return rows
        if kind != "xlsx":
            return 0
        with zipfile.ZipFile(fh) as z:
            sheets = [i for i in z.infolist() if _SHEET_XML.fullmatch(i.filename)]
            declared = sum(i.file_size for i in sheets)
            if declared > max_xml_bytes:
                raise _refuse(
                    field, "too_expanded",
                    f"工作表解压后为 {_size_label(declared)}，{too_big}",
                )  # fmt: skip
            expanded = 0
            for info in sheets:
                counting = info.filename.lower().startswith("xl/worksheets/")
                tail = b""
                with z.open(info) as member:
                    while chunk := member.read(1 << 20):
                        expanded += len(chunk)
                        if expanded > max_xml_bytes:
                            raise _refuse(
                                field, "too_expanded",
                                f"工作表解压后{too_big}（压缩包申报的大小不实）",
                            )  # fmt: skip
                        if counting:
                            window = tail + chunk
                            rows += len(_ROW_TAG.findall(window)) - len(_ROW_TAG.findall(tail))
                            tail = window[-32:]
                            if rows > max_rows + 1:
                                raise too_many
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise _refuse(field, "content_type", f"Excel 文件已损坏，无法读取（{type(exc).__name__}）") from None
    finally:
        fh.seek(0)
    return rows


def check_upload(
    file,
    *,
    allowed_types: Iterable[str],
    max_bytes: int,
    field: str = "file",
    max_rows: int | None = None,
    max_xml_bytes: int | None = None,
    settings_prefix: str = "INSURDESK",
) -> CheckedUpload:
    """Check an uploaded file (Django UploadedFile or any binary file with .name) before storing it.

    Refuses, with a ValidationFailed naming `field`: a bad name, a size over max_bytes or zero, and
    content that is none of allowed_types (keys of TYPES) or disagrees with the extension. With
    max_rows, a spreadsheet (xlsx, csv) is also checked for its expanded size and row count
    (check_spreadsheet_size) before anything reads it.
    """
    allowed_types = list(allowed_types)
    unknown = [k for k in allowed_types if k not in TYPES]
    if unknown or not allowed_types:
        raise ValueError(f"unknown upload types {unknown}; known: {', '.join(TYPES)}")
    name = check_filename(getattr(file, "name", None), allowed_types=allowed_types, field=field)
    limit = _size_label(max_bytes)
    declared = getattr(file, "size", None)
    if isinstance(declared, int) and declared > max_bytes:
        raise _refuse(field, "too_large", f"文件过大（{_size_label(declared)}），不能超过 {limit}")
    fh = getattr(file, "file", file)
    if not (hasattr(fh, "seek") and hasattr(fh, "read")):
        fh = io.BytesIO(file.read())
    fh.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := fh.read(1 << 20):
        size += len(chunk)
        if size > max_bytes:
            fh.seek(0)
            raise _refuse(field, "too_large", f"文件过大，不能超过 {limit}")
        digest.update(chunk)
    if size == 0:
        raise _refuse(field, "empty", "文件是空的")
    allowed = [TYPES[k] for k in allowed_types]
    matches = sniff(fh, allowed)
    if not matches:
        labels = "、".join(t.label for t in allowed)
        raise _refuse(field, "content_type", f"文件内容不是允许的类型（{labels}），可能已损坏或被改名")
    extension = "." + name.rsplit(".", 1)[-1].lower()
    found = next((t for t in matches if extension in t.extensions), None)
    if found is None:
        raise _refuse(field, "extension_mismatch", f"扩展名 {extension} 与文件内容（{matches[0].label}）不符")
    if max_rows is not None and found.key in ("xlsx", "csv"):
        check_spreadsheet_size(
            fh,
            kind=found.key,
            max_rows=max_rows,
            max_xml_bytes=max_xml_bytes or max_bytes * 100,
            field=field,
            settings_prefix=settings_prefix,
        )
    return CheckedUpload(
        name=name, kind=found.key, content_type=found.content_type, size=size, sha256=digest.hexdigest()
    )


def _size_label(n: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}".replace(".0 ", " ")
    return f"{n} 字节"
