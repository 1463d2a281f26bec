"""Which catalog product a line is about, and the grade ("loại 1", "xô") it mentions."""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise

from rapidfuzz import fuzz, process

from bot.catalog import CATALOG, Product
from bot.parsing.message import Message, PhraseIndex, Token
from bot.textnorm import fold

# Short catalog words that are also everyday words when typed without diacritics
# ("anh oi" is "anh ơi", not guava; "cam on" is "cảm ơn", not oranges). A match is dropped
# when the neighbouring word shows the everyday reading.
_VETO_NEXT: dict[str, frozenset[str]] = {
    "oi": frozenset({"nhe", "nha", "a", "oi", "ad", "minh", "em", "anh", "chi"}),
    "cam": frozenset(
        {"on", "ong", "thay", "nhan", "xuc", "ket", "doan", "kich", "chiu", "gao", "tinh", "dong"}
    ),
    "hoi": frozenset(
        {
            "gia",
            "chut",
            "ti",
            "xiu",
            "ve",
            "ai",
            "cac",
            "thu",
            "han",
            "mua",
            "ban",
            "lai",
            "dap",
            "nhe",
            "hop",
            "phuc",
            "am",
            "sang",
            "chieu",
            "truoc",
            "xua",
            "nay",
            "tet",
            "dau",
            "sinh",
            "huong",
        }
    ),
    "nhan": frozenset(
        {
            "hang",
            "dat",
            "don",
            "mua",
            "thu",
            "ship",
            "gom",
            "tin",
            "duoc",
            "lay",
            "coc",
            "tien",
            "bao",
            "giao",
        }
    ),
    "san": frozenset({"hang", "sang", "roi", "co", "xuat", "luong", "pham"}),
    "vai": frozenset(
        {"ta", "tan", "yen", "kg", "ky", "chuc", "tram", "ngay", "hom", "tuan", "xe", "nguoi", "can", "lan"}
    ),
    "buoi": frozenset({"sang", "chieu", "toi", "trua", "hop", "gap"}),
    "dua": frozenset(
        {
            "hang",
            "den",
            "ve",
            "ra",
            "xuong",
            "len",
            "toi",
            "cho",
            "qua",
            "leo",
            "chuot",
            "gang",
            "le",
            "di",
            "vao",
        }
    ),
    "que": frozenset({"nha", "huong", "minh", "em", "toi", "ngoai"}),
    "tra": frozenset({"tien", "gia", "lai", "coc", "truoc", "sau", "loi", "no", "hang", "cham"}),
    "bo": frozenset(
        {
            "di",
            "qua",
            "lai",
            "si",
            "buon",
            "hang",
            "vo",
            "tien",
            "coc",
            "ra",
            "xuong",
            "moi",
            "ruong",
            "ke",
            "song",
            "bien",
            "ao",
            "suoi",
            "vung",
            "pho",
        }
    ),
    "ngo": frozenset({"nho", "hem"}),
    "tieu": frozenset({"thu", "chuan", "chi", "dung"}),
    "dieu": frozenset({"kien", "hoa", "chinh", "phoi", "do", "tra", "khoan"}),
    "che": frozenset({"bien", "do", "tao", "phu", "nang", "chan", "day", "mat", "giau", "mua"}),
    "mit": frozenset({"tinh"}),
    "chuoi": frozenset({"cung", "gia", "lien"}),
    "lua": frozenset({"dao", "chon", "gat"}),
    "mi": frozenset({"tom", "goi", "nh", "nhe"}),
    "thom": frozenset({"ngon", "lam", "phuc"}),
    "hanh": frozenset({"dong", "trinh", "chinh", "nghe", "ly", "phuc"}),
}
_VETO_PREV: dict[str, frozenset[str]] = {
    "oi": frozenset(
        {
            "anh",
            "em",
            "chi",
            "a",
            "e",
            "c",
            "ad",
            "ac",
            "ae",
            "bac",
            "co",
            "chu",
            "ban",
            "ca",
            "cac",
            "nha",
            "ong",
            "ba",
            "may",
            "hey",
            "mn",
            "moi",
            "nguoi",
            "huhu",
            "troi",
            "oi",
        }
    ),
    "que": frozenset({"ve", "o", "tai", "que", "dem", "hang", "nha", "nguoi"}),
    "tieu": frozenset({"bao", "chi"}),
    "san": frozenset({"co", "con", "dang", "luon", "da"}),
    "nhan": frozenset({"se", "dc", "duoc", "xac", "tiep", "khong", "ko", "k", "da", "moi"}),
    "thom": frozenset({"lua", "gao", "rat", "mui"}),
    "bo": frozenset({"bo", "thi", "chan"}),
    "tra": frozenset({"kiem", "tim", "thanh"}),
    "lac": frozenset({"lien", "bat", "sa", "vui", "tru", "bi", "di"}),
    "hanh": frozenset({"thuc", "thi", "tien", "dieu", "phat", "luu", "dang", "hoan"}),
}

_GRADE = re.compile(
    r"(?<![a-z0-9])(?:loai\s*(?P<n>1|2|i|ii|mot|hai|xo)|l(?P<l>[12])|(?:hang\s+)?(?P<xo>xo))(?![a-z0-9])"
)
_GRADES = {"1": "1", "i": "1", "mot": "1", "2": "2", "ii": "2", "hai": "2", "xo": "xo"}


@cache
def _index() -> tuple[PhraseIndex[Product], list[str], dict[str, Product]]:
    """Product spellings (with their diacritics) and the multi-word names for fuzzy lookup, built once."""
    index: PhraseIndex[Product] = PhraseIndex()
    for product in CATALOG:
        spellings = (product.name_vi, *product.synonyms, product.code.replace("_", " "))
        index.add_all(spellings, product)
        # Hashtags and glued typing: "#caphe", "#vaithieu", "hongvanhkhuyen".
        index.add_all((g for n in spellings if " " in n and len(g := fold(n).replace(" ", "")) >= 5), product)
    by_name = CATALOG.names_index()
    long_names = [n for n in by_name if " " in n or len(n) >= 5]
    return index, long_names, by_name


def _vetoed(msg: Message, word: str, tokens: list[Token], i: int, n: int) -> bool:
    if n != 1:
        return False
    # Only a neighbour in the same phrase counts: "nhãn, giao ngay" is not "nhận giao".
    nxt = tokens[i + 1].text if i + 1 < len(tokens) and msg.adjacent(tokens[i], tokens[i + 1]) else ""
    prev = tokens[i - 1].text if i > 0 and msg.adjacent(tokens[i - 1], tokens[i]) else ""
    return nxt in _VETO_NEXT.get(word, ()) or prev in _VETO_PREV.get(word, ())


_UNIT_TOKENS = frozenset({"tan", "ta", "yen", "kg", "ky", "ki", "can", "t", "xe", "thung", "bao"})


def read_product(msg: Message) -> Product | None:
    """The first product named in the line (longest spelling wins), masked once read; fuzzy if none is exact."""
    index, long_names, by_name = _index()
    tokens = msg.tokens()
    # Short words that double as everyday words ("nhan", "vai", "cam" typed without marks) only
    # win when nothing unambiguous is named, and then preferably right after a unit ("3 tan vai").
    doubtful: list[tuple[int, int, Product]] = []
    for i, n, product in index.scan(msg, tokens):
        word = tokens[i].text
        if _vetoed(msg, word, tokens, i, n):
            continue
        if (
            n == 1
            and (word in _VETO_NEXT or word in _VETO_PREV)
            and not msg.has_marks(tokens[i].start, tokens[i].end)
        ):
            doubtful.append((i, n, product))
            continue
        msg.mask(tokens[i].start, tokens[i + n - 1].end)
        return product
    if doubtful:
        i, n, product = next(
            (d for d in doubtful if d[0] > 0 and tokens[d[0] - 1].text in _UNIT_TOKENS), doubtful[0]
        )
        msg.mask(tokens[i].start, tokens[i + n - 1].end)
        return product
    # Typos ("vai thieuu", "hong vanh khuen"): only for windows of real length, against longer names,
    # so short everyday words never drift into a product.
    best: tuple[float, int, int, Product] | None = None
    for i in range(len(tokens)):
        for n in (3, 2, 1):
            window = tokens[i : i + n]
            if len(window) < n or not all(msg.adjacent(a, b) for a, b in pairwise(window)):
                continue
            if window[0].text.isdigit() or window[-1].text.isdigit():
                continue
            text = " ".join(t.text for t in window)
            if len(text) < 5:
                continue
            hit = process.extractOne(text, long_names, scorer=fuzz.ratio, score_cutoff=87)
            # A typo keeps the first letter and the number of words ("hoi gia" is not "chuoi gia").
            if hit is None or hit[0][0] != text[0] or hit[0].count(" ") != n - 1:
                continue
            if best is None or hit[1] > best[0]:
                best = (hit[1], window[0].start, window[-1].end, by_name[hit[0]])
    if best is None:
        return None
    msg.mask(best[1], best[2])
    return best[3]


def read_grade(msg: Message) -> str | None:
    """The grade named in the line ("loại 1" -> "1", "loại 2" -> "2", "xô" -> "xo"), masked once read."""
    work = msg.work
    if not ("loai" in work or "xo" in work or "l1" in work or "l2" in work):
        return None  # none of the words a grade needs (most lines)
    m = _GRADE.search(work)
    if m is None:
        return None
    msg.mask(m.start(), m.end())
    return _GRADES[m["n"] or m["l"] or m["xo"]]
