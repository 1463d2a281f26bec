"""One typed answer per flow step: what a farmer or trader types when the bot asks one question.

Every table row is something people type; the property tests check that any amount written the
usual ways reads back, that no text makes a reader raise, and that what comes out is bounded.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.parsing import parse
from bot.parsing.answers import (
    MAX_KG,
    MAX_VND_PER_KG,
    read_grade,
    read_period,
    read_phone,
    read_place,
    read_price,
    read_product,
    read_quantity_kg,
    read_yes_no,
)
from bot.parsing.dates import lunar_day

THU = dt.date(2026, 9, 10)  # Thursday; lunar 29/7/2026


def d(month: int, day: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, day)


@pytest.mark.parametrize(
    ("typed", "kg"),
    [
        ("1 tan ruoi", 1500), ("1t5", 1500), ("hai tấn rưỡi", 2500), ("15 tạ", 1500), ("1.500kg", 1500),
        ("1500", 1500), ("2,5 tấn", 2500), ("3 yến", 30), ("tấn rưỡi", 1500), ("nửa tấn", 500),
        ("bảy tạ", 700), ("bốn chục tấn", 40000), ("năm chục ký", 50), ("một tấn hai", 1200),
        ("khoảng 2 tấn", 2000), ("tầm 5 tạ thôi", 500), ("2 tấn 3 tạ", 2300), ("1 ta 5", 150),
        ("0 kg", None), ("-5 tấn", None), ("20000 tấn", None), ("vài xe", None), ("5 con", None),
        ("nhiều lắm", None), ("", None), ("Mai: 400kg", None),
    ],
)  # fmt: skip
def test_quantities(typed: str, kg: int | None) -> None:
    assert read_quantity_kg(typed) == kg


@pytest.mark.parametrize(
    ("typed", "product", "vnd"),
    [
        ("18k", None, 18000), ("18", None, 18000), ("18.000", None, 18000), ("18.000đ/kg", None, 18000),
        ("25 nghìn/kg", None, 25000), ("ba mươi lăm nghìn", None, 35000), ("sáu nghìn rưỡi", None, 6500),
        ("bảy nghìn tám", None, 7800), ("1tr2/tạ", None, 12000), ("1tr2 1 tạ", None, 12000),
        ("18 triệu/tấn", None, 18000), ("2 triệu", "vai_thieu", 20000), ("25k5", None, 25500),
        ("25.000 ₫/kg", None, 25000), ("hai lăm nghìn", None, 25000), ("rẻ", None, None), ("0", None, None),
        ("30k/quả", None, None),
    ],
)  # fmt: skip
def test_prices(typed: str, product: str | None, vnd: int | None) -> None:
    assert read_price(typed, product) == vnd


@pytest.mark.parametrize(
    ("typed", "start", "end"),
    [
        ("mai", d(9, 11), d(9, 11)),
        ("tuan sau", d(9, 14), d(9, 20)),
        ("15-20/9", d(9, 15), d(9, 20)),
        ("từ 15 đến 20/9", d(9, 15), d(9, 20)),
        ("từ mùng 10", d(9, 10), None),
        ("từ mùng 5", d(10, 5), None),
        ("trước 20/9", None, d(9, 20)),
        ("hôm kia", d(9, 8), d(9, 8)),
        ("đầu tuần sau", d(9, 14), d(9, 16)),
        ("mùng 1 tháng 8 âm lịch", d(9, 11), d(9, 11)),
        ("rằm tháng 8", d(9, 25), d(9, 25)),
        ("rằm tháng tám", d(9, 25), d(9, 25)),
        ("23 tháng chạp", d(1, 30, 2027), d(1, 30, 2027)),
        ("tháng 10 âm lịch", d(11, 9), d(12, 8)),
        ("20-15/9", d(9, 20), d(9, 15)),  # backwards, so the step can say so
    ],
)
def test_periods(typed: str, start: dt.date | None, end: dt.date | None) -> None:
    assert read_period(typed, THU) == (start, end)


def test_no_period() -> None:
    assert read_period("ngày nào đó", THU) is None
    assert read_period("", THU) is None


@pytest.mark.parametrize(
    ("typed", "grade"),
    [("loai1", "1"), ("loại 2", "2"), ("l1", "1"), ("xô", "xo"), ("xo", "xo"), ("hàng xô", "xo"), ("1", "1"),
     ("II", "2"), ("loai xo", "xo"), ("chất lượng cao", None)],
)  # fmt: skip
def test_grades(typed: str, grade: str | None) -> None:
    assert read_grade(typed) == grade


@pytest.mark.parametrize(
    ("typed", "place"),
    [
        ("lang son", (20, None)),
        ("xã Văn Lãng", (20, 6154)),
        ("BG", (24, None)),
        ("Bắc Giang", (24, None)),
        ("H.Tĩnh", (42, None)),
        ("dac nong", (68, None)),
        ("Huế", (46, None)),
        ("Bảo Lộc", (68, None)),
        ("xã Tân Mộc, Lục Ngạn", (24, 7603)),
        ("huyện Lục Ngạn", (24, None)),
        ("Lục Ngạn", (24, 7582)),
        ("xa van lang", (None, None)),  # four wards of that name: ask again
        ("ở nhà", (None, None)),
    ],
)
def test_places(typed: str, place: tuple[int | None, int | None]) -> None:
    assert read_place(typed) == place


@pytest.mark.parametrize(
    ("typed", "code"),
    [("na", "na"), ("mang cau", "na"), ("vair thieeuf", "vai_thieu"), ("#caphe", "ca_phe"),
     ("hồng vành khuyên", "hong_vanh_khuyen"), ("cam on", None), ("phân bón", None)],
)  # fmt: skip
def test_products(typed: str, code: str | None) -> None:
    assert read_product(typed) == code


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("ok", True), ("ừ", True), ("uk", True), ("dong y", True), ("Đồng ý", True), ("co", True), ("có", True),
     ("ok nhé", True), ("dạ", True), ("vâng ạ", True), ("ko", False), ("ko co", False), ("khong", False),
     ("k", False), ("thôi", False), ("không ạ", False), ("dạ không", False), ("hủy", False),
     ("để mai tính", None), ("", None), ("???", None), ("dong y 12", None), ("có 2", None), ("tu choi #3", None)],
)  # fmt: skip
def test_yes_no(typed: str, answer: bool | None) -> None:
    assert read_yes_no(typed) is answer


@pytest.mark.parametrize(
    ("typed", "phone"),
    [("0912345678", "0912345678"), ("0912 345 678", "0912345678"), ("0912.345.678", "0912345678"),
     ("+84 912 345 678", "0912345678"), ("84912345678", "0912345678"), ("+84912345678", "0912345678"),
     ("sdt e 0987-654-321 nhé", "0987654321"), ("0327 111 222", "0327111222"), ("0862111222", "0862111222"),
     ("0212345678", None), ("0112345678", None), ("12345", None), ("091234567", None), ("không có", None)],
)  # fmt: skip
def test_phones(typed: str, phone: str | None) -> None:
    assert read_phone(typed) == phone


def test_what_the_sentence_parser_reads_each_step_accepts() -> None:
    line = "cần mua hai tấn rưỡi vải thiều loại 1 giá ba mươi lăm nghìn ở BG từ mùng 5"
    parsed = parse(line, THU)
    assert read_quantity_kg("hai tấn rưỡi") == parsed.quantity_kg == 2500
    assert read_price("ba mươi lăm nghìn", parsed.product) == parsed.price_vnd_per_kg == 35000
    assert read_period("từ mùng 5", THU) == (parsed.date_from, parsed.date_to) == (d(10, 5), None)
    assert read_place("BG") == (parsed.province_code, parsed.ward_code) == (24, None)
    assert read_product("vải thiều") == parsed.product == "vai_thieu"
    assert read_grade("loại 1") == parsed.grade == "1"


# --- the Vietnamese lunar calendar (UTC+7), where it differs from the Chinese one (UTC+8) -------


@pytest.mark.parametrize(
    ("today", "vietnamese_tet"),
    [
        (d(1, 1, 1985), d(1, 21, 1985)),  # China: 20 Feb 1985, a whole month later
        (d(1, 1, 2007), d(2, 17, 2007)),  # China: 18 Feb 2007
        (d(1, 1, 1968), d(1, 29, 1968)),  # China: 30 Jan 1968
        (d(1, 1, 2026), d(2, 17, 2026)),  # the same day in both
    ],
)
def test_lunar_new_year_follows_the_vietnamese_calendar(today: dt.date, vietnamese_tet: dt.date) -> None:
    assert lunar_day(today, 1, 1) == vietnamese_tet
    assert read_period("mùng 1 tháng giêng", today) == (vietnamese_tet, vietnamese_tet)


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=MAX_KG), st.sampled_from(["{} kg", "{}kg", "{} ký", "{} kí", "{} cân"])
)
def test_any_whole_kg_reads_back(kg: int, form: str) -> None:
    assert read_quantity_kg(form.format(kg)) == kg


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=MAX_KG // 1000),
    st.sampled_from([("{} tấn", 1000), ("{} tan", 1000), ("{}t", 1000), ("{} tạ", 100), ("{} yến", 10)]),
)
def test_any_whole_number_of_units_reads_back(n: int, form: tuple[str, int]) -> None:
    pattern, unit = form
    assert read_quantity_kg(pattern.format(n)) == n * unit


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=999))
def test_any_price_in_thousands_reads_back(k: int) -> None:
    assert read_price(f"{k}k") == k * 1000
    assert read_price(f"{k} nghìn/kg") == k * 1000


_PIECES = st.sampled_from(
    ["3", "2,5", "25.000", "0912345678", "tấn", "tạ", "kg", "k", "rưỡi", "ruoi", "/", "-", "15/9", "mùng",
     "rằm", "tháng", "chạp", "âm", "lịch", "từ", "trước", "ba", "mươi", "lăm", "chục", "trăm", "nghìn", "xã",
     "huyện", "thị trấn", "BG", "H.", "ok", "ko", "+84", "caafn", "taans", "🍈", "\n", "1t5", "1tr2"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(_PIECES, st.text(max_size=10)), max_size=15).map(" ".join),
    st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2090, 12, 31)),
)
def test_any_text_never_raises_and_stays_bounded(text: str, today: dt.date) -> None:
    kg = read_quantity_kg(text)
    assert kg is None or (type(kg) is int and 0 < kg <= MAX_KG)
    price = read_price(text)
    assert price is None or (type(price) is int and 0 < price <= MAX_VND_PER_KG)
    period = read_period(text, today)
    assert period is None or (len(period) == 2 and any(p is not None for p in period))
    assert read_grade(text) in (None, "1", "2", "xo")
    province, ward = read_place(text)
    assert ward is None or province is not None
    assert read_yes_no(text) in (None, True, False)
    phone = read_phone(text)
    assert phone is None or (len(phone) == 10 and phone.isdigit() and phone[0] == "0")
    product = read_product(text)
    assert product is None or isinstance(product, str)
