"""One typed answer at one step of a flow, read the way the sentence parser reads it.

Each function takes what a person typed when asked one question ("how much?", "what price?",
"when?") and returns the value or None. They accept everything :func:`bot.parsing.parse`
understands in a sentence ("1 tan ruoi", "hai tấn rưỡi", "ba mươi lăm nghìn", "tuần sau",
"mùng 1 tháng 8 âm lịch", "BG"), so a value the parser read from a free-text message is also
accepted when the flow asks for it. Pure functions: no database, no clock (``today`` is passed).
"""

from __future__ import annotations

import datetime as dt
import re

from bot.catalog import CATALOG
from bot.parsing.dates import read_dates
from bot.parsing.message import Message
from bot.parsing.numbers import amount_kg, mask_phones, spell_numbers
from bot.parsing.places import read_places
from bot.parsing.prices import amount_vnd_per_kg
from bot.parsing.products import read_grade as _grade_in
from bot.parsing.products import read_product as _product_in
from bot.textnorm import fold

MAX_KG = 10_000_000  # 10.000 tấn: more than that in one lot or order is a typing slip
MAX_VND_PER_KG = 10_000_000

_BARE_GRADES = {"1": "1", "i": "1", "2": "2", "ii": "2", "xo": "xo", "hang xo": "xo", "loai xo": "xo"}
_YES = frozenset(
    {"ok", "oke", "okie", "okay", "oki", "ừ", "ư", "uk", "uh", "ừm", "um", "có", "co", "vâng", "vang", "dạ",
     "da", "được", "dc", "đc", "đồng ý", "dong y", "đúng", "dung", "chuẩn", "chuan", "yes", "y", "xác nhận",
     "xac nhan", "chốt", "chot", "đồng ý nhé", "được rồi", "dc r", "đúng rồi", "ừ đúng", "oce"}
)  # fmt: skip
_NO = frozenset(
    {"không", "khong", "ko", "k", "hông", "hong", "hok", "kh", "no", "n", "thôi", "thoi", "không có", "ko co",
     "k co", "không đồng ý", "khong dong y", "hủy", "huy", "từ chối", "tu choi", "sai", "chưa", "chua", "khỏi",
     "khoi", "không cần", "ko can", "không được", "ko dc", "thôi khỏi", "nope"}
)  # fmt: skip
_FOLDED_YES = frozenset(fold(w) for w in _YES)
_FOLDED_NO = frozenset(fold(w) for w in _NO)
# Words that end an answer without changing it ("ok nhé", "không ạ").
_PARTICLES = frozenset(
    {"nhe", "nha", "a", "ah", "nhé", "ạ", "nhá", "luon", "lun", "roi", "r", "di", "ban", "anh", "chi", "em"}
)
_CUT = re.compile(r"[^\w\s]+")
# Vietnamese mobiles since 2018: 03x (32-39), 05x (52, 55, 56, 58, 59), 07x (70, 76-79), 08x (81-89), 09x.
_MOBILE = re.compile(r"^0(?:3[2-9]|5[25689]|7[06-9]|8[1-9]|9\d)\d{7}$")
PHONE_IN = re.compile(r"(?<![\d])(?:\+\s?84|84|0)(?:[\s.\-()]{0,2}\d){9,10}(?!\d)")


def read_quantity_kg(text: str) -> int | None:
    """Whole kilograms from "1 tan ruoi", "1t5", "hai tấn rưỡi", "15 tạ", "1.500kg", "500" (kg); None if
    unreadable, not positive or above 10.000 tấn."""
    kg = amount_kg(text)
    if kg is None or not 0 < round(kg) <= MAX_KG:
        return None
    return round(kg)


def read_amount_kg(text: str) -> float | None:
    """The amount in kg as typed, sign and size unchecked ("-5 tấn" is -5000, "0" is 0); None if no amount is
    named. For saying why a quantity is refused; :func:`read_quantity_kg` is the answer itself."""
    return amount_kg(text)


def read_amount_vnd_per_kg(text: str, product_code: str | None = None) -> float | None:
    """The price per kg as typed, sign and size unchecked ("-20k" is -20000); None if no price is named. For
    saying why a price is refused; :func:`read_price` is the answer itself."""
    product = CATALOG.get(product_code) if product_code else None
    return amount_vnd_per_kg(text, product)


def read_price(text: str, product_code: str | None = None) -> int | None:
    """VND per kg from "18k", "18.000", "18", "ba mươi lăm nghìn", "1tr2/tạ" (per tạ, converted); the product's
    price range decides what a bare "2 triệu" is priced per. None if unreadable or not positive."""
    product = CATALOG.get(product_code) if product_code else None
    price = amount_vnd_per_kg(text, product)
    if price is None or not 0 < round(price) <= MAX_VND_PER_KG:
        return None
    return round(price)


def read_period(text: str, today: dt.date) -> tuple[dt.date | None, dt.date | None] | None:
    """(first day, last day) from "mai", "tuan sau", "15-20/9", "từ mùng 10" (no last day), "trước 20/9" (no
    first day), "rằm tháng 8"; None if no date is named. A range typed backwards comes back backwards."""
    msg = Message(text)
    spell_numbers(msg)
    start, end = read_dates(msg, today, reversed_ranges=True)
    if start is None and end is None:
        return None
    return start, end


def read_grade(text: str) -> str | None:
    """ "1", "2" or "xo" from "loai1", "loại 2", "l1", "hàng xô", "xo", "1"; None otherwise."""
    key = " ".join(_CUT.sub(" ", fold(text)).split())
    if key in _BARE_GRADES:
        return _BARE_GRADES[key]
    return _grade_in(Message(text))


def read_place(text: str) -> tuple[int | None, int | None]:
    """(province code, ward code) of the 2025 map from "lang son", "xa Van Lang", "BG", "Bảo Lộc" (an old city:
    its province), "xã Tân Mộc, Lục Ngạn" (an old commune: its ward); (None, None) if no place is named."""
    msg = Message(text)
    found = read_places(msg)
    if found.province_code is None:
        # A one-word answer ("Huế", "Lào Cai" typed as "laocai") is a place because the step asks for one.
        found = read_places(Message("ở " + text))
    return found.province_code, found.ward_code


def read_product(text: str) -> str | None:
    """The catalog code of the product named ("na", "mang cau", "vair thieeuf", "#caphe"); None if none is."""
    msg = Message(text)
    mask_phones(msg)
    product = _product_in(msg)
    return product.code if product else None


def read_yes_no(text: str) -> bool | None:
    """True for "ok", "ừ", "uk", "đồng ý", "có"; False for "ko", "không có", "k", "thôi", "hủy"; None otherwise.

    A number makes it something else: "có 2" is a quantity, "đồng ý 12" answers proposal #12.
    """
    if any(ch.isdigit() for ch in text):
        return None
    words = _CUT.sub(" ", fold(text)).split()
    while words and words[-1] in _PARTICLES and len(words) > 1:
        words.pop()
    while words and words[0] in ("da", "vang", "ma") and len(words) > 1 and " ".join(words[1:]) in _FOLDED_NO:
        words.pop(0)  # "dạ không" is a polite no
    key = " ".join(words)
    if not key:
        return None
    if key in _FOLDED_NO:
        return False
    if key in _FOLDED_YES:
        return True
    if words[0] in _FOLDED_NO or " ".join(words[:2]) in _FOLDED_NO:
        return False
    if words[0] in _FOLDED_YES or " ".join(words[:2]) in _FOLDED_YES:
        return True
    return None


def read_phone(text: str) -> str | None:
    """A Vietnamese mobile number as 0XXXXXXXXX from "0912 345 678", "0912.345.678", "+84 912 345 678",
    "84912345678", "sdt e 0912345678 nhé"; None if there is none or the prefix is not a mobile one."""
    for m in PHONE_IN.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if m.group().lstrip().startswith("+") or (digits.startswith("84") and len(digits) == 11):
            digits = "0" + digits[2:]
        if _MOBILE.match(digits):
            return digits
    return None


_CODE = re.compile(r"(?<![\d])(\d{3})[\s.\-]?(\d{3})(?![\d])")


def read_code(text: str) -> str | None:
    """A six-digit one-time code from "123456", "123 456", "mã là 123-456"; None if there is not exactly one."""
    found = _CODE.findall(text)
    return "".join(found[0]) if len(found) == 1 else None
