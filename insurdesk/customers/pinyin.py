"""Pinyin keys of a name, for search by full pinyin ("wangjianguo") or initials ("wjg").

pypinyin reads several surnames wrong (单 shan, 曾 zeng, 仇 qiu, 解 xie, 朴 piao, 区 ou — STACK.md), and
a given name may use any reading of a character, so every reading is indexed (heteronym=True), up
to MAX_READINGS combinations a name; a company name is indexed in its first reading only.
"""

import itertools
import re

from pypinyin import Style, pinyin

MAX_READINGS = 32
MAX_KEY = 60
_LETTERS = re.compile(r"[a-z]+")
PINYIN_QUERY = re.compile(r"^[A-Za-z][A-Za-z ']{0,59}$")


def _readings(name: str, every: bool) -> list[list[str]]:
    out = []
    for options in pinyin(name, style=Style.NORMAL, heteronym=every, errors="ignore", strict=False):
        letters = []
        for option in options:
            word = "".join(_LETTERS.findall(option.lower()))
            if word and word not in letters:
                letters.append(word)
        if letters:
            out.append(letters if every else letters[:1])
    return out


def name_keys(name: str, *, every: bool = True) -> set[str]:
    """Return the full-pinyin and initials keys of a name ("王建国" -> {"wangjianguo", "wjg", …})."""
    chars = _readings(name or "", every)
    if not chars:
        return set()
    keys: set[str] = set()
    for combo in itertools.islice(itertools.product(*chars), MAX_READINGS):
        keys.add("".join(combo)[:MAX_KEY])
        keys.add("".join(word[0] for word in combo)[:MAX_KEY])
    return keys


def query_key(q: str) -> str | None:
    """Return the key a search box entry stands for, when it is pinyin letters ("Wang JG" -> "wangjg")."""
    q = (q or "").strip()
    if len(q) < 2 or not PINYIN_QUERY.match(q):
        return None
    return re.sub(r"[ ']", "", q).lower()
