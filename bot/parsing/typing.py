"""How a line was typed, undone before reading: Telex with the input method off, and shorthand.

"caafn bans 3 taj" is "cần bán 3 tạ" typed on a keyboard whose Vietnamese input method was
off; "a/c" is "anh chị". Only words that cannot be Vietnamese as typed and become a valid
syllable once decoded are touched, so "ban", "mua", "kg" or "ship" stay as they are.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Onset, vowel nucleus and final of a Vietnamese syllable (folded, without marks).
_SYLLABLE = re.compile(
    r"^(?:ngh|ch|gh|gi|kh|ng|nh|ph|qu|th|tr|[bcdghklmnpqrstvx])?"
    r"(?:uye|uya|uyu|ieu|yeu|uoi|uou|oai|oay|oao|oeo|uay|uai|uon|"
    r"ia|ie|ua|uo|ue|ui|uy|oa|oe|oi|ai|ao|au|ay|eo|eu|iu|ye|ou|"
    r"[aeiouy])"
    r"(?:ng|nh|ch|[cmnpt]|(?<=[aeiouy])[iyou])?$"
)
_TONE_KEYS = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
# Letters that mark Telex: a doubled vowel or d, a w after a vowel, or a tone key at the end.
_TELEX_HINT = re.compile(r"aa|ee|oo|dd|[aouw]w|^w|[aeiouy][a-z]*[sfrxj][a-z]?[a-z]?$")
_VOWEL_MARK = (("uow", "ươ"), ("aa", "â"), ("aw", "ă"), ("ee", "ê"), ("oo", "ô"), ("ow", "ơ"), ("uw", "ư"),
               ("dd", "đ"), ("w", "ư"))  # fmt: skip
_WORD = re.compile(r"[A-Za-z]+")
# A cheap look at the whole line before decoding word by word.
_TELEX_LINE = re.compile(r"(?i)aa|ee|oo|dd|w|[aeiouy][a-z]?[a-z]?[sfrxj](?![a-z])")
_SHORTHAND = re.compile(r"(?<![\w/])([aAeE])\s?/\s?([cCeE])(?![\w/])")


def _place_tone(word: str, tone: str) -> str:
    """Put a tone mark on the right vowel of a decoded syllable (the usual modern rules)."""
    vowels = [i for i, ch in enumerate(word) if unicodedata.normalize("NFD", ch)[0] in "aeiouy"]
    if word.startswith(("qu", "gi")) and len(vowels) > 1:
        vowels = vowels[1:]
    if not vowels:
        return word
    marked = [i for i in vowels if word[i] in "âăêôơư"]
    if marked:
        at = marked[-1] if word[marked[-1]] == "ơ" else marked[0]
    elif len(vowels) >= 2 and vowels[-1] == len(word) - 1:
        at = vowels[-2]  # "hoà"/"mùa": an open syllable takes the mark on the first of two vowels
    elif len(vowels) >= 2:
        at = vowels[-1] if len(vowels) == 2 and vowels[-1] != len(word) - 1 else vowels[1]
    else:
        at = vowels[0]
    return unicodedata.normalize("NFC", word[: at + 1] + tone + word[at + 1 :])


@lru_cache(maxsize=4096)
def decode_telex(word: str) -> str | None:
    """The Vietnamese syllable a Telex-typed word stands for ("taans" -> "tấn"), or None if it is not one."""
    low = word.lower()
    if len(low) < 2 or _SYLLABLE.match(low) or not _TELEX_HINT.search(low):
        return None
    for at in _tone_positions(low):
        tone, rest = (_TONE_KEYS[low[at]], low[:at] + low[at + 1 :]) if at >= 0 else ("", low)
        bare = rest
        for keys, _letter in _VOWEL_MARK:
            bare = bare.replace(keys, "d" if keys == "dd" else keys[0])
        if not _SYLLABLE.match(bare.replace("w", "u")):
            continue
        out = rest
        for keys, letter in _VOWEL_MARK:
            out = out.replace(keys, letter)
        return _place_tone(out, tone) if tone else out
    return None


def _tone_positions(low: str) -> list[int]:
    """Where a tone key may stand: last letter first, then inside the word after a vowel; -1 for none."""
    first_vowel = next((i for i, ch in enumerate(low) if ch in "aeiouy"), len(low))
    found = [i for i in range(len(low) - 1, first_vowel, -1) if low[i] in _TONE_KEYS]
    return [*found, -1]


def untype(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The line with "a/c", "a/e" joined and Telex words decoded, and the spans of the decoded words.

    Decoded words are spelled with the marks their keys stand for, but people slip on Telex
    ("giaas" for "giá"), so readers treat those spans as typed without marks.
    """
    if "/" in text:
        text = _SHORTHAND.sub(lambda m: m[1] + m[2], text)
    if not text.isascii() or not _TELEX_LINE.search(text):
        return text, []
    words = list(_WORD.finditer(text))
    decoded = [decode_telex(m.group()) for m in words]
    # One decodable word may be an English word or a name; two make the typing clear.
    if sum(d is not None for d in decoded) < 2:
        return text, []
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    at = length = 0
    for m, d in zip(words, decoded, strict=True):
        if d is None:
            continue
        parts.append(text[at : m.start()])
        length += m.start() - at
        parts.append(d)
        spans.append((length, length + len(d)))
        length += len(d)
        at = m.end()
    parts.append(text[at:])
    return "".join(parts), spans
