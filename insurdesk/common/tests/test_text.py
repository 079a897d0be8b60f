"""Text is what it looks like: the hidden-character and reason checks (property tests)."""

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from insurdesk.common.errors import ValidationFailed
from insurdesk.common.text import BIDI_CONTROLS, check_reason, check_text, hidden_character, visible_length

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
HIDDEN = sorted(BIDI_CONTROLS) + list(ZERO_WIDTH) + ["\u00ad", "\u3164", "\x07"]
hidden = st.sampled_from(HIDDEN)
# Text as people type it: letters, digits, ideographs, punctuation, spaces.
plain = st.text(
    alphabet=st.characters(
        categories=["L", "N", "P", "S", "Zs"], exclude_characters="\u3164\u115f\u1160\uffa0\u2800"
    ),
    max_size=40,
)


def refusal(fn, *args, **kwargs):
    with pytest.raises(ValidationFailed) as info:
        fn(*args, **kwargs)
    [error] = info.value.errors
    return error


@given(plain)
def test_plain_text_passes(text):
    check_text(text, field="name", label="姓名")
    assert hidden_character(text) is None


@given(plain, hidden, plain)
@example("张", "\u202e", "三gnp.exe")
@example("张", "\u200b", "三")
def test_a_hidden_character_anywhere_is_refused_naming_the_field_and_the_character(before, ch, after):
    error = refusal(check_text, before + ch + after, field="name", label="姓名")
    assert error.field == "name"
    assert error.code == ("bidi_control" if ch in BIDI_CONTROLS else "invisible_character")
    assert f"U+{ord(ch):04X}" in error.message and "姓名" in error.message


@given(st.characters(categories=["Cf"]))
def test_every_format_character_is_hidden(ch):
    assert hidden_character(f"a{ch}b") == ch


def test_line_breaks_only_in_multi_line_text():
    assert hidden_character("第一行\n第二行", multiline=True) is None
    assert hidden_character("第一行\n第二行") == "\n"
    assert hidden_character("列\t值") is None


@given(st.text(alphabet=st.sampled_from(ZERO_WIDTH + " \u3000"), max_size=12))
def test_a_reason_of_invisible_characters_is_refused(text):
    error = refusal(check_reason, text, field="reason", label="查看原因")
    assert error.field == "reason" and error.code in ("required", "invisible_character")


@given(st.text(alphabet=st.characters(categories=["P", "S"]), min_size=4, max_size=20))
@example("....")
@example("！！！！")
def test_a_reason_of_only_punctuation_is_refused(text):
    assert refusal(check_reason, text, field="reason", label="查看原因").code == "meaningless"


@given(plain)
def test_a_reason_with_four_visible_characters_and_a_word_passes(text):
    visible = visible_length(text)
    has_word = any(unicodedata.category(c)[0] in "LN" for c in text)
    if visible >= 4 and has_word:
        assert check_reason(text, field="reason", label="原因") == " ".join(text.split())
    else:
        assert refusal(check_reason, text, field="reason", label="原因").code in ("required", "meaningless")


@pytest.mark.parametrize("reason", ["\u200b\u200b\u200b\u200b", "....", "ab", "   核对  "])
def test_the_findings_are_refused(reason):
    with pytest.raises(ValidationFailed):
        check_reason(reason, field="reason", label="查看原因")


def test_a_real_reason_passes():
    assert check_reason("  客户来电  核对身份 ", field="reason", label="查看原因") == "客户来电 核对身份"
