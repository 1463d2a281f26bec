"""The rules every lot and order shares (sane quantities, plausible prices, windows not in the
past), raising :class:`RuleError` with an explanation; and the few readings of typed answers
the flows need beyond a value ("Nguyễn Văn A 500", "VietGAP, OCOP 4 sao", a growing-area code).

Every number, price, date and grade is read by :mod:`bot.parsing.answers` (one number grammar,
one unit table for the sentence parser and every step); the ``parse_*`` names below only pass
through to it.
"""

from __future__ import annotations

import datetime as dt
import re

from bot import formatting as fmt
from bot.catalog import Product
from bot.i18n import _
from bot.parsing import answers
from bot.parsing.numbers import parse_number
from bot.services.users import clean_name
from bot.textnorm import fold

MAX_KG = answers.MAX_KG
MAX_DAYS_AHEAD = 365

_AREA_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_/ ]{2,39}$")

__all__ = [
    "CERT_CODES",
    "MAX_DAYS_AHEAD",
    "MAX_KG",
    "RuleError",
    "check_price",
    "check_quantity",
    "check_window",
    "parse_area_code",
    "parse_certs",
    "parse_grade",
    "parse_number",
    "parse_price",
    "parse_quantity_kg",
    "parse_share_line",
    "parse_window",
]


class RuleError(ValueError):
    """A value breaks a rule. ``message`` explains it to the person; ``field`` names the step to ask again."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- reading typed answers (all through bot.parsing) ------------------------------------------


def parse_quantity_kg(text: str) -> float | None:
    """Kilograms from "2,5 tấn", "3 tạ", "hai tấn rưỡi", "1t5", "1500kg", "1.500" (a bare number is kg).

    Zero and negative numbers are returned as such so the rule check can say what is wrong.
    """
    return answers.read_amount_kg(text)


def parse_price(text: str, product: Product | None = None) -> float | None:
    """VND per kg from "25k", "25.000", "25000đ", "25 nghìn/kg", "ba mươi lăm nghìn", "1tr2/tạ";
    a bare number under 1000 means thousands."""
    return answers.read_amount_vnd_per_kg(text, product.code if product else None)


def parse_window(text: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """A window of days from "hôm nay", "mai", "15/9", "15-20/9", "từ 15 đến 20/9", "tuần sau", "rằm tháng 8";
    "từ 15/9" alone is that one day, "trước 20/9" alone runs from today."""
    period = answers.read_period(text, today)
    if period is None:
        return None
    start, end = period
    if start is None:
        start = min(today, end) if end is not None else today
    return start, end if end is not None else start


def parse_grade(text: str) -> str | None:
    """ "1" / "2" / "xo" from "loại 1", "l2", "hàng xô"..."""
    return answers.read_grade(text)


CERT_CODES = ("vietgap", "globalgap", "ocop3", "ocop4", "ocop5")


def parse_certs(text: str) -> set[str]:
    """Certificates named in typed text: "VietGAP, OCOP 4 sao" -> {"vietgap", "ocop4"}."""
    t = fold(text).replace("-", " ")
    found = {code for code in ("vietgap", "globalgap") if code in t.replace(" ", "")}
    found |= {f"ocop{n}" for n in re.findall(r"ocop\s*([345])", t)}
    return found


def parse_area_code(text: str) -> str | None:
    """A growing-area code as typed (kept as written, upper-cased); None if it cannot be one."""
    code = re.sub(r"(?i)^\s*(m[aã]\s*(s[oố]\s*)?v[uù]ng(\s*tr[oồ]ng)?|msvt)\s*[:\-]?\s*", "", text).strip()
    return code.upper() if _AREA_CODE.match(code) else None


def parse_share_line(line: str) -> tuple[str, str | None, float] | None:
    """(household, phone, kg) from "Nguyễn Văn A 500", "0912345678 300", "Lê B: 3 tạ"; None if unreadable."""
    words = line.strip().split()
    for tail in (2, 1):  # "3 tạ" is two words, "500" or "500kg" one
        if len(words) <= tail:
            continue
        kg = parse_quantity_kg(" ".join(words[-tail:]))
        if kg is None:
            continue
        who = " ".join(words[:-tail]).strip(" :-–,")
        phone_match = answers.PHONE_IN.search(who)
        phone = answers.read_phone(phone_match.group(0)) if phone_match else None
        name = clean_name(answers.PHONE_IN.sub("", who).strip(" :-–,")) if who else None
        if phone_match and phone is None:
            return None
        household = name or phone
        return (household, phone, kg) if household else None
    return None


# --- rules shared by lots and orders ---------------------------------------------------------


def check_quantity(kg: float | None, field: str = "quantity") -> int:
    """Whole kilograms, more than zero and at most 10.000 tấn; otherwise a RuleError saying why."""
    if kg is None:
        raise RuleError(_("Tôi chưa hiểu khối lượng. Ví dụ: 2,5 tấn · 3 tạ · 1500 kg."), field)
    if round(kg) <= 0:
        raise RuleError(_("Khối lượng phải lớn hơn 0."), field)
    if kg > MAX_KG:
        raise RuleError(
            _("Khối lượng quá lớn: tối đa {max} (10.000 tấn) cho một lô hoặc một đơn.").format(
                max=fmt.kg(MAX_KG)
            ),
            field,
        )
    return round(kg)


def check_price(product: Product, price: float | None, field: str = "price") -> int:
    """A price inside the product's plausible range (catalog price_min..price_max)."""
    if price is None:
        raise RuleError(_("Tôi chưa hiểu giá. Ví dụ: 25k · 25.000 · 25000đ."), field)
    if price <= 0:
        raise RuleError(_("Giá phải lớn hơn 0."), field)
    if not product.price_min <= price <= product.price_max:
        raise RuleError(
            _("Giá {price} không hợp lý cho {product}: giá thường từ {low} đến {high}.").format(
                price=fmt.price_per_kg(price),
                product=product.name_vi,
                low=fmt.price_per_kg(product.price_min),
                high=fmt.price_per_kg(product.price_max),
            ),
            field,
        )
    return round(price)


def check_window(start: dt.date, end: dt.date, today: dt.date, field: str = "window") -> None:
    """A window that has not ended, starts no earlier than today, and ends after it starts."""
    if end < start:
        raise RuleError(_("Ngày kết thúc phải sau ngày bắt đầu."), field)
    if start < today:
        raise RuleError(
            _("Ngày {day} đã qua. Vui lòng chọn từ hôm nay ({today}) trở đi.").format(
                day=fmt.date(start), today=fmt.date(today)
            ),
            field,
        )
    if (end - today).days > MAX_DAYS_AHEAD:
        raise RuleError(_("Thời gian quá xa: tối đa một năm kể từ hôm nay."), field)
