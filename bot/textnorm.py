"""Vietnamese text folding: the one place that decides how typed text is compared."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Stroked d is a separate letter, not a combining mark, so NFD leaves it alone.
_TRANSLATE = str.maketrans({"đ": "d", "Đ": "d"})


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese tone and vowel marks ("Hồng Vành Khuyên" -> "Hong Vanh Khuyen")."""
    decomposed = unicodedata.normalize("NFD", text.translate(_TRANSLATE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lower-case, diacritic-free, single-spaced form used for matching typed names."""
    return _SPACES.sub(" ", strip_diacritics(text).lower()).strip()


def nfc(text: str) -> str:
    """Canonical composed form, so the same word typed on two keyboards compares equal."""
    return unicodedata.normalize("NFC", text)
