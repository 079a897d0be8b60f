"""Text is what it looks like: no hidden direction changes, no invisible characters, reasons with words.

A name such as "张\\u202e三gnp.exe" shows as something else than it is (U+202E turns the rest
around), and a reveal reason of four zero-width spaces looks filled in while saying nothing. Every way
in (forms, API, import) runs names, addresses, free text and reasons through these checks, and a
refusal names the field and the character.

Refused everywhere: Unicode format characters (category Cf: the bidirectional controls U+200E/F,
U+202A–202E, U+2066–2069, U+061C; zero-width U+200B–200D, U+2060–2064, U+FEFF, U+180E, the soft
hyphen U+00AD, tag characters…), control characters other than tab and line breaks (those only in
multi-line text), and characters that draw as blank while not being spaces (Hangul fillers, the blank
Braille pattern).
"""

from __future__ import annotations

import unicodedata

from insurdesk.common.errors import FieldError, ValidationFailed

__all__ = [
    "BIDI_CONTROLS","REASON_MIN_VISIBLE", "check_reason", "check_text", "hidden_character", "visible_length"]

REASON_MIN_VISIBLE = 4
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\n\r")


def hidden_character(value: str, *, multiline: bool = False) -> str | None:
    """Return the first character that hides what the text says, or None."""
    for ch in value:
        if ch in BIDI_CONTROLS or ch in _BLANK_LOOKING:
            return ch
        category = unicodedata.category(ch)
        if category == "Cf":
            return ch
        if category == "Cc" and ch != "\t" and not (multiline and ch in _LINE_BREAKS):
            return ch
    return None


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def check_text(value, *, field: str, label: str, multiline: bool = False) -> None:
    """Refuse text holding a bidirectional control or an invisible character, naming the field."""
    if not isinstance(value, str) or not value:
        return
    ch = hidden_character(value, multiline=multiline)
    if ch is None:
        return
    if ch in BIDI_CONTROLS:
        code, what = "bidi_control", "文字方向控制字符"
    else:
        code, what = "invisible_character", "不可见字符"
    raise ValidationFailed(
        FieldError(
            field, code, f"{label}含有{what}（{_describe(ch)}），显示的内容与实际不符，请删除后重新输入"
        )
    )


def visible_length(value: str) -> int:
    """Count the characters that draw something: no spaces, no format or control characters."""
    return sum(
        1
        for ch in value
        if not ch.isspace() and unicodedata.category(ch)[0] not in "CZ" and ch not in _BLANK_LOOKING
    )


def check_reason(
    value,
    *,
    field: str = "reason",
    label: str = "原因",
    min_visible: int = REASON_MIN_VISIBLE,
    max_length: int | None = None,
) -> str:
    """Return the reason with its spaces collapsed; refuse one that is hidden, too short or only punctuation.

    A reason needs at least `min_visible` visible characters, and some of them must be letters, digits
    or ideographs: "....", "！！！！" or four zero-width spaces say nothing.
    """
    text = " ".join(value.split()) if isinstance(value, str) else ""
    check_text(text, field=field, label=label)
    if visible_length(text) < min_visible:
        raise ValidationFailed(
            FieldError(field, "required", f"请填写{label}（至少 {min_visible} 个可见的字）")
        )
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise ValidationFailed(FieldError(field, "meaningless", f"{label}须写明实际内容，不能只有标点或符号"))
    if max_length is not None and len(text) > max_length:
        raise ValidationFailed(FieldError(field, "too_long", f"{label}不能超过 {max_length} 个字"))
    return text
