"""Prices in VND per kg: "25k", "25.000đ/kg", "18 triệu/tấn", "1tr2 một tạ", "giá 18"."""

from __future__ import annotations

import re

from bot.catalog import Product
from bot.parsing.message import Message
from bot.parsing.numbers import NUM, UNIT_KG, parse_number

_MONEY = {"k": 1000, "nghin": 1000, "ngan": 1000, "ngin": 1000, "ng": 1000,
          "d": 1, "dong": 1, "vnd": 1, "tr": 1_000_000, "trieu": 1_000_000, "cu": 1_000_000}  # fmt: skip
_MONEY_WORDS = "|".join(sorted(_MONEY, key=len, reverse=True))
_PER_UNITS = "|".join(sorted(UNIT_KG, key=len, reverse=True))
# "/kg", "1 kg", "một cân", "mỗi tạ", "/1 tấn".
_PER = rf"\s*(?:/\s*(?:1\s*)?|(?:1|mot|moi|per|cho\s+1)\s*)(?P<per>{_PER_UNITS})(?![a-z0-9])"
_PRICE = re.compile(
    rf"(?<![\w.,/])(?P<num>{NUM})(?:\s*(?:-|den|toi|~)\s*{NUM})?\s*(?P<money>{_MONEY_WORDS})(?P<tail>\d)?(?![a-z0-9])"
    rf"(?:\s*dong(?![a-z]))?(?:{_PER})?"
)
# "giá 18", "giá thu mua 18-20": a bare number after "giá" is thousands per kg when small.
_AFTER_GIA = re.compile(
    rf"(?<![a-z])gia(?:\s+(?:ban|mua|thu mua|chot|tam|khoang|la|tu|chi|co|dao dong|tai vuon|tai ruong|cao|tot|hom nay))*"
    rf"\s*[:=]?\s*(?P<num>{NUM})(?:\s*(?:-|den|toi|~)\s*{NUM})?(?![\d.,]|\s*[a-z/%])(?:{_PER})?"
)
# "bao nhiêu 1 kg": the "1 kg" names the unit priced, not a quantity.
_ASKED_PER = re.compile(rf"(?:\bbn|bao nhieu|bao nhiu|bnhieu|\bnhieu|\bbnh)(?:\s+tien)?(?P<asked>{_PER})")
_PER_COUNT = re.compile(r"\s*(?:/|1|mot|moi)\s*(?:qua|trai|cay|con|thung|bao|sot|tui|hop|buong|nai)(?![a-z])")
# A spaced "k" or "đ" is money only where nothing word-like follows ("25 k/kg", "25 k." at the end).
_LOOSE_END = re.compile(r"\s*(?:$|[/,.;!?)]|1\s*(?:kg|ky|can)|mot|moi)")


def _per_kg(value: float, per: str | None, money: str, product: Product | None) -> int:
    if per:
        return round(value / UNIT_KG[per])
    # No unit priced: millions are per tonne unless the product's price range says per quintal or per kg.
    order = (1000, 100, 1) if _MONEY[money] == 1_000_000 else (1, 100, 1000)
    if product is not None:
        for div in order:
            if product.price_min <= value / div <= product.price_max:
                return round(value / div)
    return round(value / order[0])


def read_price(msg: Message, product: Product | None) -> int | None:
    """The first price in the line, in VND per kg, masked once read."""
    for m in _ASKED_PER.finditer(msg.work):
        msg.mask(m.start("asked"), m.end())
    for m in _PRICE.finditer(msg.work):
        money = m["money"]
        if (
            money in {"k", "d", "ng"}
            and m.start("money") != m.end("num")
            and not _LOOSE_END.match(msg.work, m.end("money"))
        ):
            continue
        if not m["per"] and _PER_COUNT.match(msg.work, m.end()):
            continue  # "30k/quả" is per fruit, not per kg
        value = parse_number(m["num"])
        if value is None:
            continue
        value *= _MONEY[money]
        if m["tail"]:
            # "1tr2" = 1.2 million, "25k5" = 25,500.
            value += int(m["tail"]) * _MONEY[money] / 10
        msg.mask(m.start(), m.end())
        price = _per_kg(value, m["per"], money, product)
        return price if price > 0 else None
    bare = _AFTER_GIA.search(msg.work)
    if bare is None:
        return None
    value = parse_number(bare["num"])
    if value is None or value == 0:
        return None
    money = "k" if value < 1000 else "d"
    msg.mask(bare.start("num"), bare.end())
    return _per_kg(value * _MONEY[money], bare["per"], money, product) or None
