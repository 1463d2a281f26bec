"""What a person types in one step of a flow: "2,5 tấn", "25k", "15-20/9", "Nguyễn Văn A 500".

Small and focused on a single answer each; whole sentences are the free-text parser's job
(``bot.parsing``). The rules every lot and order shares (sane quantities, plausible prices,
windows not in the past) live here too, raising :class:`RuleError` with an explanation.
"""

from __future__ import annotations

import datetime as dt
import re

from bot import formatting as fmt
from bot.catalog import Product
from bot.i18n import _
from bot.services.users import clean_name, normalize_phone
from bot.textnorm import fold

MAX_KG = 10_000_000  # 10.000 tấn: more than that in one lot or order is a typing slip
MAX_DAYS_AHEAD = 365

UNIT_KG = {
    "tan": 1000, "t": 1000, "ta": 100, "yen": 10,
    "kg": 1, "kgs": 1, "ky": 1, "ki": 1, "kilo": 1, "can": 1,
}  # fmt: skip
_NUM = r"\d+(?:[.,]\d+)*"
_QTY = re.compile(rf"^(?P<neg>[-−])?\s*(?P<num>{_NUM})\s*(?P<unit>[a-z]+)?\.?$")
_PRICE = re.compile(
    rf"^(?P<neg>[-−])?\s*(?P<num>{_NUM})\s*(?P<mult>k|nghin|ngan|ng|tr|trieu)?\s*"
    r"(?:d|dong|vnd|₫)?\s*(?:/\s*(?:kg|ky|ki|1\s*kg|can))?$"
)
_DAY_MONTH = r"(?P<{p}d>\d{{1,2}})(?:\s*/\s*(?P<{p}m>\d{{1,2}})(?:\s*/\s*(?P<{p}y>\d{{2}}|\d{{4}}))?)?"
_ONE_DAY = re.compile(r"^(?:ngay\s+)?" + _DAY_MONTH.format(p="a") + "$")
_RANGE = re.compile(
    r"^(?:tu\s+)?(?:ngay\s+)?"
    + _DAY_MONTH.format(p="a")
    + r"\s*(?:-|–|den|toi)\s*(?:ngay\s+)?"
    + _DAY_MONTH.format(p="b")
    + "$"
)
_RELATIVE = {"hom nay": 0, "nay": 0, "ngay mai": 1, "mai": 1, "ngay kia": 2, "ngay mot": 2, "mot": 2}
_PHONE_IN = re.compile(r"(?:\+?84|0)(?:[\s.]?\d){9}")
_AREA_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_/ ]{2,39}$")


class RuleError(ValueError):
    """A value breaks a rule. ``message`` explains it to the person; ``field`` names the step to ask again."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- reading typed answers -------------------------------------------------------------------


def parse_number(text: str) -> float | None:
    """Vietnamese-style numbers: "2,5" -> 2.5, "1.500" -> 1500, "1.500,5" -> 1500.5, "2.5" -> 2.5."""
    if not re.fullmatch(_NUM, text):
        return None
    if "," in text and "." in text:  # 1.500,5: dots group thousands, the comma is the decimal mark
        head, _sep, tail = text.rpartition(",")
        return float(head.replace(".", "") + "." + tail)
    for mark in (".", ","):
        parts = text.split(mark)
        if len(parts) == 1:
            continue
        if mark == "," and len(parts) == 2 and len(parts[1]) != 3:
            return float(f"{parts[0]}.{parts[1]}")  # 2,5 tấn
        if all(len(p) == 3 for p in parts[1:]) and parts[0] != "0":
            return float("".join(parts))  # 1.500 / 1,500,000
        if len(parts) == 2:
            return float(f"{parts[0]}.{parts[1]}")
        return None
    return float(text)


def parse_quantity_kg(text: str) -> float | None:
    """Kilograms from "2,5 tấn", "3 tạ", "1500kg", "1.500" (a bare number is kg); None if unreadable.

    Zero and negative numbers are returned as such so the rule check can say what is wrong.
    """
    m = _QTY.match(fold(text))
    if not m:
        return None
    value = parse_number(m.group("num"))
    unit = m.group("unit") or "kg"
    if value is None or unit not in UNIT_KG:
        return None
    kg = value * UNIT_KG[unit]
    return -kg if m.group("neg") else kg


def parse_price(text: str) -> float | None:
    """VND per kg from "25k", "25.000", "25000đ", "25 nghìn/kg"; a bare number under 1000 means thousands."""
    m = _PRICE.match(fold(text).replace("₫", "d"))
    if not m:
        return None
    value = parse_number(m.group("num"))
    if value is None:
        return None
    mult = m.group("mult")
    if mult in ("tr", "trieu"):
        value *= 1_000_000
    elif mult or value < 1000:
        # Traders say "18" or "18k" for 18.000 ₫/kg; nobody prices produce under 1.000 ₫/kg.
        value *= 1000
    return -value if m.group("neg") else value


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    year = int(raw)
    return year + 2000 if year < 100 else year


def _date(today: dt.date, day: int, month: int, year: int | None) -> dt.date | None:
    try:
        found = dt.date(year or today.year, month, day)
    except ValueError:
        return None
    if year is None and found < today - dt.timedelta(days=180):
        # "5/1" typed in December means next January, not last.
        found = found.replace(year=found.year + 1)
    return found


def parse_window(text: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """A window of days from "hôm nay", "mai", "15/9", "15-20/9", "từ 15 đến 20/9", "15/9 - 2/10"."""
    t = fold(text).replace(".", "/").strip()
    if t in _RELATIVE:
        day = today + dt.timedelta(days=_RELATIVE[t])
        return day, day
    single = _ONE_DAY.match(t)
    if single and single.group("am"):
        one = _date(today, int(single.group("ad")), int(single.group("am")), _year(single.group("ay")))
        return (one, one) if one else None
    m = _RANGE.match(t)
    if not m or not m.group("bm"):
        return None
    end_year = _year(m.group("by"))
    end = _date(today, int(m.group("bd")), int(m.group("bm")), end_year)
    start_month = int(m.group("am") or m.group("bm"))
    start_year = _year(m.group("ay")) or (end.year if end else None)
    start = _date(today, int(m.group("ad")), start_month, start_year)
    if start is None or end is None:
        return None
    if start.month > end.month and m.group("ay") is None:  # "28/12 - 3/1": the start is in the year before
        start = start.replace(year=start.year - 1)
    return start, end


def parse_grade(text: str) -> str | None:
    """ "1" / "2" / "xo" from "loại 1", "l2", "hàng xô"..."""
    t = fold(text).replace("hang ", "").replace("loai ", "").strip()
    return {"1": "1", "i": "1", "l1": "1", "2": "2", "ii": "2", "l2": "2", "xo": "xo", "loai xo": "xo"}.get(t)


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
        phone_match = _PHONE_IN.search(who)
        phone = normalize_phone(phone_match.group(0)) if phone_match else None
        name = clean_name(_PHONE_IN.sub("", who).strip(" :-–,")) if who else None
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


def grade_label(code: str) -> str:
    """Loại 1 / Loại 2 / Xô."""
    return {"1": _("Loại 1"), "2": _("Loại 2"), "xo": _("Xô")}.get(code, code)
