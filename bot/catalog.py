"""The product catalog: codes, Vietnamese names, synonyms and how long each product keeps.

This is reference data, seeded into the ``products`` table at start-up; flows and the
parser read it from here so that a lookup never needs a database round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.textnorm import fold


@dataclass(frozen=True, slots=True)
class Product:
    """One product as people name and trade it."""

    code: str
    name_vi: str
    name_en: str
    perishable_days: int
    price_min: int  # plausible farm-gate price range, VND per kg
    price_max: int
    synonyms: tuple[str, ...] = field(default=())

    def names(self) -> tuple[str, ...]:
        """Every spelling that should find this product, folded (no diacritics, lower case)."""
        spelled = (self.name_vi, *self.synonyms, self.code.replace("_", " "))
        return tuple(dict.fromkeys(fold(n) for n in spelled))


PRODUCTS: tuple[Product, ...] = (
    Product(
        "na",
        "Na",
        "Custard apple",
        5,
        10_000,
        120_000,
        ("mãng cầu", "mãng cầu ta", "na dai", "na bở", "na chi lăng"),
    ),
    Product(
        "hong_vanh_khuyen",
        "Hồng vành khuyên",
        "Văn Lãng persimmon",
        10,
        8_000,
        80_000,
        ("hồng văn lãng", "hồng vành khuyên lạng sơn"),
    ),
    Product(
        "hong_khong_hat",
        "Hồng không hạt",
        "Seedless persimmon",
        10,
        10_000,
        100_000,
        ("hồng bảo lâm", "hồng ko hạt", "hồng k hạt"),
    ),
    Product("quyt", "Quýt", "Mandarin", 20, 8_000, 80_000, ("quýt vàng", "quýt bắc sơn", "quít")),
    Product("thach_den", "Thạch đen", "Black jelly herb", 365, 8_000, 60_000, ("cây thạch đen", "sương sáo")),
    Product("che", "Chè", "Tea", 3, 5_000, 300_000, ("trà", "chè búp", "chè tươi", "búp chè")),
    Product("mac_ca", "Mắc ca", "Macadamia", 180, 30_000, 250_000, ("macca", "mác ca", "mắc-ca")),
    Product("vai_thieu", "Vải thiều", "Lychee", 3, 8_000, 80_000, ("vải", "vải thanh hà", "vải lục ngạn")),
    Product("nhan", "Nhãn", "Longan", 4, 8_000, 80_000, ("nhãn lồng", "nhãn xuồng")),
    Product(
        "thanh_long",
        "Thanh long",
        "Dragon fruit",
        14,
        3_000,
        60_000,
        ("thanh long ruột đỏ", "thanh long ruột trắng"),
    ),
    Product(
        "sau_rieng",
        "Sầu riêng",
        "Durian",
        5,
        30_000,
        250_000,
        ("sầu riêng ri6", "sầu riêng monthong", "sầu riêng dona"),
    ),
    Product("xoai", "Xoài", "Mango", 7, 5_000, 100_000, ("xoài cát", "xoài cát hòa lộc", "xoài keo")),
    Product("buoi", "Bưởi", "Pomelo", 30, 5_000, 100_000, ("bưởi da xanh", "bưởi diễn", "bưởi năm roi")),
    Product("cam", "Cam", "Orange", 21, 5_000, 80_000, ("cam sành", "cam vinh", "cam canh")),
    Product("dua_hau", "Dưa hấu", "Watermelon", 14, 2_000, 40_000, ("dưa đỏ",)),
    Product(
        "chuoi", "Chuối", "Banana", 7, 2_000, 40_000, ("chuối tiêu", "chuối già", "chuối tây", "chuối cau")
    ),
    Product("mit", "Mít", "Jackfruit", 5, 5_000, 60_000, ("mít thái", "mít tố nữ")),
    Product("lua", "Lúa", "Paddy rice", 180, 4_000, 20_000, ("thóc", "lúa tươi", "lúa khô")),
    Product("ngo", "Ngô", "Maize", 90, 3_000, 20_000, ("bắp", "ngô hạt", "bắp hạt", "ngô ngọt")),
    Product(
        "khoai_lang", "Khoai lang", "Sweet potato", 30, 3_000, 40_000, ("khoai lang tím", "khoai lang mật")
    ),
    Product("bap_cai", "Bắp cải", "Cabbage", 14, 1_000, 30_000, ("cải bắp",)),
    Product("hoi", "Hồi", "Star anise", 365, 30_000, 300_000, ("hoa hồi", "đại hồi", "hồi khô")),
    Product("que", "Quế", "Cinnamon", 365, 10_000, 150_000, ("vỏ quế", "quế khô")),
    Product("ca_phe", "Cà phê", "Coffee", 365, 30_000, 200_000, ("cafe", "cà phê nhân", "cà phê tươi")),
    Product("ho_tieu", "Hồ tiêu", "Black pepper", 365, 50_000, 250_000, ("tiêu", "tiêu đen")),
    Product("dieu", "Điều", "Cashew", 180, 20_000, 100_000, ("hạt điều", "điều thô")),
    Product("san", "Sắn", "Cassava", 3, 1_000, 15_000, ("khoai mì", "mì")),
    Product("khoai_tay", "Khoai tây", "Potato", 60, 4_000, 40_000, ()),
    Product("ca_chua", "Cà chua", "Tomato", 10, 2_000, 50_000, ()),
    Product("dua", "Dứa", "Pineapple", 10, 2_000, 40_000, ("thơm", "khóm")),
    Product("oi", "Ổi", "Guava", 7, 3_000, 50_000, ("ổi lê",)),
    Product("man", "Mận", "Plum", 7, 5_000, 80_000, ("mận hậu", "mận tam hoa")),
    Product("chanh_leo", "Chanh leo", "Passion fruit", 14, 5_000, 80_000, ("chanh dây",)),
    Product("bo", "Bơ", "Avocado", 7, 10_000, 100_000, ("bơ sáp", "bơ 034")),
    Product("rau_cai", "Rau cải", "Leafy greens", 3, 2_000, 40_000, ("cải ngọt", "cải xanh", "rau")),
    Product("lac", "Lạc", "Peanut", 120, 15_000, 80_000, ("đậu phộng",)),
    Product("gung", "Gừng", "Ginger", 60, 5_000, 80_000, ()),
    Product("hanh_tim", "Hành tím", "Shallot", 60, 10_000, 100_000, ("hành",)),
)


class ProductCatalog:
    """Lookup over the catalog by code or by any typed spelling, with fuzzy fallback."""

    def __init__(self, products: Iterable[Product] = PRODUCTS) -> None:
        self._by_code: dict[str, Product] = {}
        self._by_name: dict[str, Product] = {}
        for product in products:
            self._by_code[product.code] = product
            for name in product.names():
                # First writer wins: a name shared by two products stays with the more specific one listed first.
                self._by_name.setdefault(name, product)
        self._names = list(self._by_name)

    def __iter__(self) -> Iterator[Product]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Product | None:
        """The product with this code, or None."""
        return self._by_code.get(code)

    def names_index(self) -> dict[str, Product]:
        """Folded spelling -> product, for scanners that look for names inside longer text."""
        return dict(self._by_name)

    def find(self, text: str, *, cutoff: float = 85.0) -> Product | None:
        """The product a person most likely meant by ``text`` (exact spelling first, then fuzzy)."""
        key = fold(text)
        if not key:
            return None
        exact = self._by_name.get(key) or self._by_code.get(key.replace(" ", "_"))
        if exact is not None:
            return exact
        best = process.extractOne(key, self._names, scorer=fuzz.ratio, score_cutoff=cutoff)
        return self._by_name[best[0]] if best else None


CATALOG = ProductCatalog()
