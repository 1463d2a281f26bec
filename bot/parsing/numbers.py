"""Numbers as people type them (2,5 · 25.000 · hai · nửa), phone numbers, and quantities in kg."""

from __future__ import annotations

import re

from bot.parsing.message import Message

# A digit group with Vietnamese or English separators; which separator means what is decided in parse_number.
NUM = r"\d+(?:[.,]\d+)*"

WORD_NUMBERS: dict[str, float] = {
    "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "sau": 6, "bay": 7,
    "tam": 8, "chin": 9, "muoi": 10, "nua": 0.5,
}  # fmt: skip
_WORD_NUM = "|".join(WORD_NUMBERS)

UNIT_KG: dict[str, int] = {
    "tan": 1000, "t": 1000, "ta": 100, "yen": 10,
    "kg": 1, "kgs": 1, "kilogram": 1, "kilo": 1, "ky": 1, "ki": 1, "can": 1,
}  # fmt: skip
# Longest first so that "kgs" is not read as "kg" + "s".
_UNITS = "|".join(sorted(UNIT_KG, key=len, reverse=True))
_RUOI = r"(?:ruoi|ruoj|rui)"
# Words that take a number before them; a digit followed by one of these is not "3 tạ 5".
_BOUND_WORDS = (
    "ngay|hom|bua|thang|nam|tuan|gio|h|phut|k|nghin|ngan|trieu|tr|d|dong|qua|trai|xe|sao|con|cay|nguoi"
)

# Vietnamese mobiles (0 + 9 digits) and landlines, optionally +84 / 84, grouped with spaces, dots or dashes.
_PHONE = re.compile(r"(?<![\d.,])(?:\+\s?84|84|0)(?:[\s.\-]?\d){8,10}(?![\d])")

_QTY = re.compile(
    rf"(?<![\w.,/])(?P<num>{NUM}|{_WORD_NUM})\s*(?P<unit>{_UNITS})(?![a-z0-9])"
    rf"(?:\s*(?P<ruoi>{_RUOI})(?![a-z]))?"
    # "3 tạ 5" = 3 tạ 5 yến: a lone digit right after a big unit counts in the next unit down.
    rf"(?:\s+(?P<sub>\d)(?!\d|[.,]\d|\s*(?:{_UNITS}|{_BOUND_WORDS})(?![a-z])|\s*[/%]))?"
)
_UNIT_RUOI = re.compile(rf"(?<![\w.,/])(?P<unit>tan|ta|yen)\s+{_RUOI}(?![a-z])")
_NEXT_UNIT_DOWN = {1000: 100, 100: 10, 10: 1}


def parse_number(text: str) -> float | None:
    """A typed number: "25.000" -> 25000, "2,5" -> 2.5, "1.500,5" -> 1500.5, "hai" -> 2."""
    if text in WORD_NUMBERS:
        return WORD_NUMBERS[text]
    parts = re.split(r"[.,]", text)
    if not all(p.isdigit() for p in parts):
        return None
    if len(parts) == 1:
        return float(parts[0])
    head, *rest = parts
    if all(len(p) == 3 for p in rest) and head != "0":
        # "25.000" and "1,500" are thousands; a decimal part of exactly three digits is rare in trade talk.
        return float(head + "".join(rest))
    if len(parts) == 2:
        return float(f"{head}.{rest[0]}")
    return float("".join(parts[:-1]) + "." + parts[-1])


def mask_phones(msg: Message) -> None:
    """Blank phone numbers so that their digits are never read as a quantity or a price."""
    for m in _PHONE.finditer(msg.work):
        msg.mask(m.start(), m.end())


def _as_number(value: float) -> float | int:
    return int(value) if value == int(value) else round(value, 3)


def read_quantity(msg: Message) -> float | int | None:
    """The first quantity in the line, in kg ("2 tạ rưỡi" -> 250, "tấn rưỡi" -> 1500), masked once read."""
    found: list[tuple[int, int, float, int]] = []  # start, end, kg, unit size
    for m in _QTY.finditer(msg.work):
        if len(m["num"]) > 1 and m["num"][0] == "0" and m["num"][1].isdigit():
            continue  # "034" is a variety or a code ("bơ 034"), never an amount
        value = parse_number(m["num"])
        if value is None:
            continue
        unit = UNIT_KG[m["unit"]]
        if m["unit"] == "t" and m.start("unit") != m.end("num"):
            continue  # a lone "t" is a unit only when glued to the number ("3t"); "3 t" is too often "tôi".
        kg = value * unit
        if m["ruoi"]:
            kg += unit / 2
        if m["sub"] and unit in _NEXT_UNIT_DOWN:
            kg += int(m["sub"]) * _NEXT_UNIT_DOWN[unit]
        found.append((m.start(), m.end(), kg, unit))
    for m in _UNIT_RUOI.finditer(msg.work):
        unit = UNIT_KG[m["unit"]]
        found.append((m.start(), m.end(), unit * 1.5, unit))
    if not found:
        return None
    found.sort()
    start, end, kg, unit = found[0]
    # "2 tấn 3 tạ": a following quantity in a smaller unit, with only a space between, adds up.
    for nstart, nend, nkg, nunit in found[1:]:
        if msg.work[end:nstart].strip() or nunit >= unit:
            break
        kg, end, unit = kg + nkg, nend, nunit
    msg.mask(start, end)
    return _as_number(kg) if kg > 0 else None
