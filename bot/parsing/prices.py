"""Prices in VND per kg: "25k", "25.000đ/kg", "18 triệu/tấn", "1tr2 một tạ", "sáu nghìn rưỡi", "giá 18"."""

from __future__ import annotations

import re

from bot.catalog import Product
from bot.parsing.message import Message
from bot.parsing.numbers import (
    MONEY,
    MONEY_RE,
    NUM,
    PER_COUNT,
    RUOI,
    UNIT_KG,
    UNITS_RE,
    parse_number,
    spell_numbers,
)

# "/kg", "1 kg", "một cân", "mỗi tạ", "/1 tấn".
_PER = rf"\s*(?:/\s*(?:1\s*)?|(?:1|mot|moi|per|cho\s+1)\s*)(?P<per>{UNITS_RE})(?![a-z0-9])"
_PRICE = re.compile(
    rf"(?<![\w.,/])(?P<num>{NUM})(?:\s*(?:-|den|toi|~)\s*{NUM})?\s*(?P<money>{MONEY_RE})"
    rf"(?:(?P<tail>\d)|\s+(?P<ruoi>{RUOI})|\s+(?P<spaced>\d)(?!\d|[.,]\d|\s*(?:{UNITS_RE})(?![a-z])))?(?![a-z0-9])"
    rf"(?:\s*dong(?![a-z]))?(?:{_PER})?"
)
# "giá 18", "giá thu mua 18-20": a bare number after "giá" is thousands per kg when small.
_AFTER_GIA = re.compile(
    rf"(?<![a-z])gia(?:\s+(?:ban|mua|thu mua|chot|tam|khoang|la|tu|chi|co|dao dong|tai vuon|tai ruong|cao|tot|hom nay))*"
    rf"\s*[:=]?\s*(?P<num>{NUM})(?:\s*(?:-|den|toi|~)\s*{NUM})?(?![\d.,]|\s*[a-z/%])(?:{_PER})?"
)
# "bao nhiêu 1 kg": the "1 kg" names the unit priced, not a quantity.
_ASKED_PER = re.compile(rf"(?:\bbn|bao nhieu|bao nhiu|bnhieu|\bnhieu|\bbnh)(?:\s+tien)?(?P<asked>{_PER})")
# A spaced "k" or "đ" is money only where nothing word-like follows ("25 k/kg", "25 k." at the end).
_ANY_DIGIT = re.compile(r"\d")
_LOOSE_END = re.compile(r"\s*(?:$|[/,.;!?)]|1\s*(?:kg|ky|can)|mot|moi)")


def per_kg(value: float, per: str | None, money: str, product: Product | None) -> int:
    """A price in VND for the unit named (or guessed from the product's price range) turned into VND per kg."""
    if per:
        return round(value / UNIT_KG[per])
    # No unit priced: millions are per tonne unless the product's price range says per quintal or per kg.
    order = (1000, 100, 1) if MONEY[money] == 1_000_000 else (1, 100, 1000)
    if product is not None:
        for div in order:
            if product.price_min <= value / div <= product.price_max:
                return round(value / div)
    return round(value / order[0])


def read_price(msg: Message, product: Product | None) -> int | None:
    """The first price in the line, in VND per kg, masked once read."""
    # Every pattern but the question needs a digit: a line without one is done at once.
    work = msg.work
    if "bn" in work or "nhi" in work:
        for m in _ASKED_PER.finditer(work):
            msg.mask(m.start("asked"), m.end())
    if not _ANY_DIGIT.search(work):
        return None
    for m in _PRICE.finditer(msg.work):
        money = m["money"]
        if (
            money in {"k", "d", "ng"}
            and m.start("money") != m.end("num")
            and not _LOOSE_END.match(msg.work, m.end("money"))
        ):
            continue
        if not m["per"] and PER_COUNT.match(msg.work, m.end()):
            continue  # "30k/quả" is per fruit, "300k/ngày" a day's wage: not per kg
        value = parse_number(m["num"])
        if value is None:
            continue
        unit = MONEY[money]
        value *= unit
        tail = m["tail"] or m["spaced"]
        if tail:
            # "1tr2" = 1.2 million, "25k5" = 25,500, "bảy nghìn tám" = 7,800.
            value += int(tail) * unit / 10
        if m["ruoi"]:
            value += unit / 2  # "sáu nghìn rưỡi" = 6,500
        msg.mask(m.start(), m.end())
        price = per_kg(value, m["per"], money, product)
        return price if price > 0 else None
    bare = _AFTER_GIA.search(msg.work)
    if bare is None:
        return None
    value = parse_number(bare["num"])
    if value is None or value == 0:
        return None
    money = "k" if value < 1000 else "d"
    msg.mask(bare.start("num"), bare.end())
    return per_kg(value * MONEY[money], bare["per"], money, product) or None


def amount_vnd_per_kg(text: str, product: Product | None = None) -> float | None:
    """A price typed as the whole answer ("25k", "25.000", "ba mươi lăm nghìn", "1tr2/tạ"); a bare number
    under 1000 is thousands. The sign is kept so that a rule check can say what is wrong."""
    stripped = text.strip()
    negative = stripped[:1] in ("-", "−")
    msg = Message(stripped.lstrip("-−").replace("₫", "đ"))
    spell_numbers(msg)
    bare = re.fullmatch(
        rf"\s*(?P<num>{NUM})\s*(?:d|dong|vnd)?\s*(?:/\s*(?:1\s*)?(?P<per>{UNITS_RE}))?\s*\.?\s*", msg.work
    )
    if bare:
        value = parse_number(bare["num"])
        if value is None:
            return None
        if value < 1000:
            value *= 1000  # traders say "18" for 18.000 ₫/kg; nobody prices produce under 1.000 ₫/kg
        if bare["per"]:
            value /= UNIT_KG[bare["per"]]
    else:
        price = read_price(msg, product)
        if price is None or re.search(r"\d", msg.work):
            return None
        value = float(price)
    return -value if negative else value
