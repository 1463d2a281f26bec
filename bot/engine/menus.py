"""Typed answers to the options a person actually received.

When the outbox delivers a message with options, it records them as the chat's *menu* (labels,
payloads, synonyms). A typed "2", "Thương lái", "thuong lai", "✅ Đồng ý" or a synonym like
"ok" then means that option — of the last message the person saw, not of one still queued.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from bot.textnorm import fold

# "2", "2.", "(2)", "số 2", "chọn 2", "#2" (after answer_key has dropped the punctuation)
_NUMBER = re.compile(r"(?:so|chon|muc)?(\d{1,3})")


def answer_key(text: str) -> str:
    """How a label or a typed answer is compared: folded, without emoji, symbols or punctuation."""
    kept = "".join(ch if unicodedata.category(ch)[0] in "LN" or ch.isspace() else " " for ch in fold(text))
    return " ".join(kept.split())


MenuEntry = Sequence[Any]  # [label, payload, synonyms]


def resolve(text: str, entries: Sequence[MenuEntry], *, by_number: bool) -> str | None:
    """The payload of the option ``text`` names in a delivered menu, or None.

    Labels and synonyms first (so a menu of trucks "1".."4" reads "2" as the label "2"), then
    the option's number where options are shown numbered (``by_number``).
    """
    options = [
        (str(e[0]), str(e[1]), [str(s) for s in (e[2] if len(e) > 2 else ())]) for e in entries if e[1]
    ]
    if not options:
        return None
    key = answer_key(text)
    if not key:
        return None
    labelled = {payload for label, payload, _syn in options if answer_key(label) == key}
    if len(labelled) == 1:
        return labelled.pop()
    if labelled:
        return None  # two options with the same label: ask rather than guess
    said = {payload for _label, payload, synonyms in options if key in {answer_key(s) for s in synonyms}}
    if len(said) == 1:
        return said.pop()
    if by_number and (m := _NUMBER.fullmatch(key.replace(" ", ""))):
        n = int(m.group(1))
        if 1 <= n <= len(options):
            return options[n - 1][1]
    return None
