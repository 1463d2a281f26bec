"""The free-text parser: one typed line in, the eight contract fields (plus a grade guess) out."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from bot.parsing.dates import read_dates
from bot.parsing.intent import off_topic, read_intent
from bot.parsing.message import Message
from bot.parsing.numbers import mask_phones, read_quantity, spell_numbers
from bot.parsing.places import Candidate, read_other_places, read_strong_places, resolve
from bot.parsing.prices import read_price
from bot.parsing.products import read_grade, read_product

_PRICE_WORD = re.compile(r"(?<![a-z])gia(?![a-z])")

FIELDS = (
    "intent",
    "product",
    "quantity_kg",
    "price_vnd_per_kg",
    "date_from",
    "date_to",
    "province_code",
    "ward_code",
)


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What a line says; ``grade`` is an extra guess for the bot, not part of the JSON contract."""

    intent: str
    product: str | None
    quantity_kg: float | int | None
    price_vnd_per_kg: int | None
    date_from: dt.date | None
    date_to: dt.date | None
    province_code: int | None
    ward_code: int | None
    grade: str | None = None

    def to_json_line(self) -> str:
        """``json.dumps(self.to_json(), ensure_ascii=False)``, written out directly (the CLI's hot path)."""

        def val(v: object) -> str:
            if v is None:
                return "null"
            if isinstance(v, str | dt.date):
                return f'"{v}"'
            return str(v)

        return (
            f'{{"intent": "{self.intent}", "product": {val(self.product)}, "quantity_kg": {val(self.quantity_kg)}, '
            f'"price_vnd_per_kg": {val(self.price_vnd_per_kg)}, "date_from": {val(self.date_from)}, '
            f'"date_to": {val(self.date_to)}, "province_code": {val(self.province_code)}, '
            f'"ward_code": {val(self.ward_code)}}}'
        )

    def to_json(self) -> dict[str, Any]:
        """The contract's eight keys in order, dates as ISO strings."""
        return {
            "intent": self.intent,
            "product": self.product,
            "quantity_kg": self.quantity_kg,
            "price_vnd_per_kg": self.price_vnd_per_kg,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "province_code": self.province_code,
            "ward_code": self.ward_code,
        }


def _first_difference(a: str, b: str) -> int:
    """The first index where two equally long strings differ, or -1 (by halving: string compares run in C)."""
    if a == b:
        return -1
    lo, hi = 0, len(a)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def parse(text: str, today: dt.date) -> ParseResult:
    """Read one line typed by a farmer or trader; dates are relative to ``today``."""
    msg = Message(text)
    # Order matters: each reader masks what it understood, so phone digits never become
    # tonnes, "xã Na Sầm" never becomes custard apple and "15/9" never becomes a price.
    mask_phones(msg)
    spell_numbers(msg)
    mentions: list[list[Candidate]] = []
    read_strong_places(msg, mentions)
    before = msg.work
    product = read_product(msg)
    # Where the product was named: "giá na 30k" before it reports a price, "na 30k" after it sells.
    product_at = _first_difference(before, msg.work)
    grade = read_grade(msg)
    read_other_places(msg, mentions)
    date_from, date_to = read_dates(msg, today)
    price = read_price(msg, product)
    quantity = read_quantity(msg)
    place = resolve(mentions)
    offtopic = off_topic(msg)
    if offtopic == "topic":
        price = None  # what is priced is an input, a wage, land, a loan or a ride, not produce
    intent = read_intent(
        msg,
        has_quantity=quantity is not None,
        has_price=price is not None,
        has_product=product is not None,
        offtopic=offtopic,
        price_first=product_at >= 0 and bool(_PRICE_WORD.search(msg.folded, 0, product_at)),
    )
    return ParseResult(
        intent=intent.value,
        product=product.code if product else None,
        quantity_kg=quantity,
        price_vnd_per_kg=price,
        date_from=date_from,
        date_to=date_to,
        province_code=place.province_code,
        ward_code=place.ward_code,
        grade=grade,
    )
