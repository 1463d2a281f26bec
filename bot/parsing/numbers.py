"""Numbers as people type and say them (2,5 · 25.000 · hai · ba mươi lăm · 1t5), phones, and quantities in kg.

This module holds the one unit table and the one number grammar of the bot: the sentence parser
and every flow step that asks for a quantity or a price read through it.
"""

from __future__ import annotations

import re
from itertools import pairwise

from bot.parsing.message import Message, Token, tone_key

# A digit group with Vietnamese or English separators; which separator means what is decided in parse_number.
NUM = r"\d+(?:[.,]\d+)*"

UNIT_KG: dict[str, int] = {
    "tan": 1000, "t": 1000, "ta": 100, "yen": 10,
    "kg": 1, "kgs": 1, "kilogram": 1, "kilo": 1, "ky": 1, "ki": 1, "can": 1,
}  # fmt: skip
MONEY: dict[str, int] = {
    "k": 1000, "nghin": 1000, "ngan": 1000, "ngin": 1000, "ng": 1000,
    "d": 1, "dong": 1, "vnd": 1, "tr": 1_000_000, "trieu": 1_000_000, "cu": 1_000_000,
}  # fmt: skip
# Longest first so that "kgs" is not read as "kg" + "s".
UNITS_RE = "|".join(sorted(UNIT_KG, key=len, reverse=True))
MONEY_RE = "|".join(sorted(MONEY, key=len, reverse=True))
RUOI = r"(?:ruoi|ruoj|rui)"
# "/quả", "1 trái", "mỗi thùng", "/ngày": priced or sized per item or per day, not per weight.
PER_COUNT = re.compile(
    r"\s*(?:/|1|mot|moi)\s*(?:qua|trai|cay|con|thung|bao|sot|tui|hop|buong|nai|chai|ngay|cong|thang|sao|ha)(?![a-z])"
)
# Words that take a number before them; a digit followed by one of these is not "3 tạ 5".
_BOUND_WORDS = (
    "ngay|hom|bua|thang|nam|tuan|gio|h|phut|k|nghin|ngan|trieu|tr|d|dong|qua|trai|xe|sao|con|cay|nguoi"
)

# Vietnamese mobiles (0 + 9 digits) and landlines, optionally +84 / 84, grouped with spaces, dots or dashes.
_PHONE = re.compile(r"(?<![\d.,])(?:\+\s?84|84|0)(?:[\s.\-]?\d){8,10}(?![\d])")

_QTY = re.compile(
    rf"(?<![\w.,/])(?P<num>{NUM})(?:\s*(?:-|–|~|den|toi)\s*{NUM})?\s*(?P<unit>{UNITS_RE})(?![a-z0-9])"
    rf"(?:\s*(?P<ruoi>{RUOI})(?![a-z]))?"
    # "3 tạ 5" = 3 tạ 5 yến: a lone digit right after a big unit counts in the next unit down.
    rf"(?:\s+(?P<sub>\d)(?!\d|[.,]\d|\s*(?:{UNITS_RE}|{_BOUND_WORDS})(?![a-z])|\s*[/%]))?"
)
# "1t5" = 1,5 tấn, "2ta5" = 2,5 tạ: the digit glued after the unit is the next unit down.
_GLUED = re.compile(r"(?<![\w.,/])(?P<num>\d+)(?P<unit>tan|ta|t)(?P<sub>\d)(?![\w.,])")
_UNIT_RUOI = re.compile(rf"(?<![\w.,/])(?P<unit>tan|ta|yen)\s+{RUOI}(?![a-z])")
_NEXT_UNIT_DOWN = {1000: 100, 100: 10, 10: 1}
# Words that may stand around a quantity typed as an answer ("khoảng 2 tấn thôi", "sl: 5 tạ").
_FILLERS = frozenset(
    {"khoang", "tam", "chung", "do", "hon", "gan", "tren", "duoi", "nhe", "nha", "a", "thoi", "thui", "roi",
     "co", "la", "tong", "cong", "so", "luong", "sl", "het", "ca", "e", "em", "minh", "lo", "nay", "duoc", "dc"}
)  # fmt: skip
_ANY_DIGIT = re.compile(r"\d")
_SIGNED = re.compile(rf"^\s*(?P<neg>[-−])?\s*(?P<num>{NUM})\s*\.?\s*$")

# --- numbers said in words ("ba mươi lăm", "bốn chục", "một trăm hai", "nửa") ------------------

# folded word -> (value, the spellings that may be typed with marks)
_DIGITS: dict[str, tuple[int, tuple[str, ...]]] = {
    "mot": (1, ("một", "mốt")), "hai": (2, ("hai",)), "ba": (3, ("ba",)), "bon": (4, ("bốn",)),
    "tu": (4, ("tư",)), "nam": (5, ("năm",)), "sau": (6, ("sáu",)), "bay": (7, ("bảy", "bẩy")),
    "tam": (8, ("tám",)), "chin": (9, ("chín",)),
}  # fmt: skip
# Second digits that only follow a tens word, or stand for it ("ba lăm" = 35, "hai mốt" = 21).
_SECOND: dict[str, tuple[int, tuple[str, ...]]] = {
    "lam": (5, ("lăm",)), "nham": (5, ("nhăm",)), "mot": (1, ("mốt",)), "tu": (4, ("tư",)),
}  # fmt: skip
_TENS: dict[str, tuple[str, ...]] = {"muoi": ("mười", "mươi"), "chuc": ("chục",)}
_OTHER: dict[str, tuple[str, ...]] = {"tram": ("trăm",), "linh": ("linh",), "le": ("lẻ",), "nua": ("nửa",)}
NUMBER_WORDS = frozenset({*_DIGITS, *_SECOND, *_TENS, *_OTHER})
_AFTER_NUMBER = frozenset({*UNIT_KG, "nghin", "ngan", "ngin", "trieu", "tr"}) - {"t", "can"}
_TAIL_AFTER = frozenset({"nghin", "ngan", "trieu", "tr", "tan", "ta", "cu"})
_DATE_BEFORE = frozenset({"mung", "mong", "ngay", "thang", "ram"})
# Bare words that are more often something else ("sau" after, "nam" year, "tu" from, "mot" the day
# after tomorrow, "tam" about, "chin" ripe, "nua" more): numbers only where a unit follows them.
_AMBIGUOUS_BARE = frozenset({"sau", "nam", "tu", "mot", "bay", "tam", "chin", "lam", "nua", "le", "ba"})
_END = re.compile(r"\s*(?:$|[,.;!?)\n]|(?:1|mot|moi)\s*(?:kg|ky|ki|can|ta|tan|yen)(?![a-z]))")


def _spelled(msg: Message, token: Token, spellings: tuple[str, ...]) -> bool:
    """Whether a token typed with marks is spelled as one of these (a bare token always is)."""
    return not msg.has_marks(token.start, token.end) or tone_key(msg.typed(token)) in {
        tone_key(s) for s in spellings
    }


def _word(
    msg: Message, tokens: list[Token], i: int, table: dict[str, tuple[int, tuple[str, ...]]]
) -> int | None:
    if i >= len(tokens):
        return None
    entry = table.get(tokens[i].text)
    return entry[0] if entry and _spelled(msg, tokens[i], entry[1]) else None


def _is(msg: Message, tokens: list[Token], i: int, table: dict[str, tuple[str, ...]], word: str) -> bool:
    return i < len(tokens) and tokens[i].text == word and _spelled(msg, tokens[i], table[word])


def _below_hundred(msg: Message, tokens: list[Token], i: int) -> tuple[int, int] | None:
    """(value, tokens used) of 1-99 said in words at token i."""
    if _is(msg, tokens, i, _TENS, "muoi"):  # "mười", "mười lăm"
        unit = _word(msg, tokens, i + 1, _DIGITS)
        unit = unit if unit is not None else _word(msg, tokens, i + 1, _SECOND)
        return (10 + unit, 2) if unit is not None else (10, 1)
    digit = _word(msg, tokens, i, _DIGITS)
    if digit is None:
        return None
    if _is(msg, tokens, i + 1, _TENS, "muoi") or _is(msg, tokens, i + 1, _TENS, "chuc"):
        unit = _word(msg, tokens, i + 2, _SECOND)
        unit = unit if unit is not None else _word(msg, tokens, i + 2, _DIGITS)
        return (digit * 10 + unit, 3) if unit is not None else (digit * 10, 2)
    if digit >= 2 and i + 1 < len(tokens) and tokens[i + 1].text in _SECOND:
        second = tokens[i + 1]
        entry = _SECOND[second.text]
        # "ba lăm" = 35; a bare "mot" after a digit is "một" ("tám một ký"), not "mốt".
        if (msg.has_marks(second.start, second.end) or second.text in ("lam", "nham", "tu")) and _spelled(
            msg, second, entry[1]
        ):
            return digit * 10 + entry[0], 2
    return digit, 1


def _number_words(msg: Message, tokens: list[Token], i: int) -> tuple[float, int] | None:
    """(value, tokens used) of a number said in words at token i, below a thousand, or "nửa"."""
    if _is(msg, tokens, i, _OTHER, "nua"):
        return 0.5, 1
    head = _below_hundred(msg, tokens, i)
    if head is None:
        return None
    value, n = head
    if n == 1 and value < 10 and _is(msg, tokens, i + 1, _OTHER, "tram"):
        value, n = value * 100, 2
        j = i + 2
        if _is(msg, tokens, j, _OTHER, "linh") or _is(msg, tokens, j, _OTHER, "le"):
            unit = _word(msg, tokens, j + 1, _DIGITS)
            if unit is not None:
                return value + unit, n + 2
        rest = _below_hundred(msg, tokens, j)
        if rest is not None:
            extra, m = rest
            # "một trăm hai" = 120: a lone digit after "trăm" counts in tens.
            return value + (extra * 10 if m == 1 else extra), n + m
    return value, n


def spell_numbers(msg: Message) -> None:
    """Rewrite numbers said in words as digits where a unit, a price word or a date word shows them to be numbers.

    "bốn chục tấn" -> "40 tấn", "ba lăm nghìn" -> "35 nghìn", "bảy nghìn tám" -> "7 nghìn 8",
    "mùng mười" -> "mùng 10"; "bà con", "tầm 5 tấn" and "từ mai" stay as they are.
    """
    tokens = msg.tokens()
    if not any(t.text in NUMBER_WORDS for t in tokens):
        return
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        if tokens[i].text not in NUMBER_WORDS:
            i += 1
            continue
        read = _number_words(msg, tokens, i)
        if read is None:
            i += 1
            continue
        value, n = read
        span = tokens[i : i + n]
        if any(not msg.adjacent(a, b) for a, b in pairwise(span)):
            i += 1
            continue
        nxt = tokens[i + n] if i + n < len(tokens) and msg.adjacent(span[-1], tokens[i + n]) else None
        prev = tokens[i - 1].text if i > 0 and msg.adjacent(tokens[i - 1], span[0]) else ""
        before_unit = nxt is not None and (
            nxt.text in _AFTER_NUMBER or (nxt.text == "can" and msg.has_marks(nxt.start, nxt.end))
        )
        # Where no unit follows, a bare word that is more often something else is not read as a number.
        sure = not any(t.text in _AMBIGUOUS_BARE and not msg.has_marks(t.start, t.end) for t in span)
        tail = (
            prev in _TAIL_AFTER
            and n == 1
            and 1 <= value <= 9
            and (sure or bool(_END.match(msg.work, span[-1].end)))
        )
        dated = prev in _DATE_BEFORE and sure and span[0].text != "nua"
        if before_unit or tail or dated:
            text = f"{value:g}"
            if len(text) <= span[-1].end - span[0].start:
                edits.append((span[0].start, span[-1].end, text))
        i += n
    for start, end, text in edits:
        msg.rewrite(start, end, text)


# --- typed numbers, phones, quantities --------------------------------------------------------


def parse_number(text: str) -> float | None:
    """A typed number: "25.000" -> 25000, "2,5" -> 2.5, "1.500,5" -> 1500.5."""
    parts = re.split(r"[.,]", text)
    if not all(p.isdigit() for p in parts):
        return None
    if len(parts) == 1:
        return float(parts[0])
    head, *rest = parts
    if "," in text and "." in text and text.rfind(",") > text.rfind("."):
        # 1.500,5: dots group thousands, the comma is the decimal mark.
        return float("".join(parts[:-1]) + "." + parts[-1])
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


def as_number(value: float) -> float | int:
    """An int when the value is whole (JSON shows 1500, not 1500.0)."""
    return int(value) if value == int(value) else round(value, 3)


def read_quantity(msg: Message, *, allow_zero: bool = False) -> float | int | None:
    """The first quantity in the line, in kg ("2 tạ rưỡi" -> 250, "tấn rưỡi" -> 1500), masked once read."""
    found: list[tuple[int, int, float, int]] = []  # start, end, kg, unit size
    # Only "tấn rưỡi" needs no digit; a line without one skips the other patterns.
    digits = bool(_ANY_DIGIT.search(msg.work))
    for m in _QTY.finditer(msg.work) if digits else ():
        if len(m["num"]) > 1 and m["num"][0] == "0" and m["num"][1].isdigit():
            continue  # "034" is a variety or a code ("bơ 034"), never an amount
        value = parse_number(m["num"])
        if value is None:
            continue
        unit = UNIT_KG[m["unit"]]
        if m["unit"] == "t" and m.start("unit") != m.end("num"):
            continue  # a lone "t" is a unit only when glued to the number ("3t"); "3 t" is too often "tôi".
        if unit <= 10 and PER_COUNT.match(msg.work, m.end()):
            continue  # "1,5-2 kg/trái" is the size of one fruit, not an amount
        kg = value * unit
        if m["ruoi"]:
            kg += unit / 2
        if m["sub"] and unit in _NEXT_UNIT_DOWN:
            kg += int(m["sub"]) * _NEXT_UNIT_DOWN[unit]
        found.append((m.start(), m.end(), kg, unit))
    for m in _GLUED.finditer(msg.work) if digits else ():
        unit = UNIT_KG[m["unit"]]
        found.append((m.start(), m.end(), int(m["num"]) * unit + int(m["sub"]) * _NEXT_UNIT_DOWN[unit], unit))
    for m in _UNIT_RUOI.finditer(msg.work) if "ru" in msg.work else ():
        unit = UNIT_KG[m["unit"]]
        found.append((m.start(), m.end(), unit * 1.5, unit))
    if not found:
        return None
    found.sort()
    start, end, kg, unit = found[0]
    # "2 tấn 3 tạ": a following quantity in a smaller unit, with only a space between, adds up.
    for nstart, nend, nkg, nunit in found[1:]:
        if nstart < end:
            continue
        if msg.work[end:nstart].strip() or nunit >= unit:
            break
        kg, end, unit = kg + nkg, nend, nunit
    msg.mask(start, end)
    return as_number(kg) if kg > 0 or (allow_zero and kg == 0) else None


def amount_kg(text: str) -> float | None:
    """A quantity typed as the whole answer ("2,5 tấn", "hai tạ rưỡi", "1t5", "1.500"); a bare number is kg.

    The sign is kept ("-5 tấn" -> -5000.0) so that a rule check can say what is wrong.
    """
    stripped = text.strip()
    negative = stripped[:1] in ("-", "−")
    msg = Message(stripped.lstrip("-−"))
    spell_numbers(msg)
    bare = _SIGNED.match(msg.work)
    if bare:
        value = parse_number(bare["num"])
    else:
        kg = read_quantity(msg, allow_zero=True)
        if kg is None or any(w not in _FILLERS for w in re.findall(r"[a-z0-9]+", msg.work)):
            return None  # "Mai: 400kg" is a name and a quantity, not a quantity
        value = float(kg)
    if value is None:
        return None
    return -value if negative else value
