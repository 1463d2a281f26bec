"""Where a line says the goods are: a ward and/or a province of the current (2025) administrative map.

Policy, because many ward names are everyday words ("Tân Tiến", "Bình Minh") and one name can
exist in several provinces ("Chi Lăng" three times):

* a name counts when it follows a place word (xã, phường, tỉnh, thành phố, huyện, ở, tại,
  lấy ở, về, từ, khu vực) or is an exact name of two syllables or more outside a short stop list;
  (never right after a number: "1 tan hong" is tonnes, not Tân Hồng);
* "xã"/"phường" pick a ward, "tỉnh"/"thành phố" a province; otherwise a name that is a current or
  former province (Bắc Giang -> Bắc Ninh) is read as the province, unless another province is
  named and a ward of that name lies in it ("Phù Yên, Sơn La");
* a ward name found in several provinces is narrowed by the diacritics typed ("Văn Lãng" is
  only in Lạng Sơn) and by a province named in the same line; if it is still ambiguous the
  ward is left empty and the province is set only when all candidates share it;
* fuzzy matching (typos) is only tried right after xã/phường/tỉnh/thành phố/huyện.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache
from itertools import pairwise

from rapidfuzz import fuzz, process

from bot.parsing.message import Message, PhraseIndex, Token, fold_tokens, tone_key, toned_tokens
from bot.places import bare, gazetteer
from bot.textnorm import fold


class Kind(Enum):
    """What a place name names."""

    PROVINCE = 1
    FORMER_PROVINCE = 2
    WARD = 3


class Marker(Enum):
    """The word that introduced a name, which decides what kind of place it may be."""

    WARD = 1
    PROVINCE = 2
    GENERIC = 3
    NONE = 4


@dataclass(frozen=True, slots=True)
class Candidate:
    """One place a typed name may denote."""

    kind: Kind
    province_code: int
    ward_code: int | None
    toned: tuple[str, ...]


_MARKERS: tuple[tuple[str, Marker], ...] = (
    ("xã", Marker.WARD), ("phường", Marker.WARD), ("thị trấn", Marker.WARD), ("p.", Marker.WARD),
    ("tỉnh", Marker.PROVINCE), ("thành phố", Marker.PROVINCE), ("tp", Marker.PROVINCE),
    ("huyện", Marker.GENERIC), ("ở", Marker.GENERIC), ("tại", Marker.GENERIC), ("về", Marker.GENERIC),
    ("từ", Marker.GENERIC), ("khu vực", Marker.GENERIC), ("kv", Marker.GENERIC), ("vùng", Marker.GENERIC),
    ("địa bàn", Marker.GENERIC), ("quê", Marker.GENERIC),
)  # fmt: skip
_STRONG = {Marker.WARD, Marker.PROVINCE}
_ALIASES: dict[str, int] = {
    "hcm": 79, "tphcm": 79, "tp hcm": 79, "sài gòn": 79, "hồ chí minh": 79, "vũng tàu": 79,
    "hà nội": 1, "đắc lắc": 66, "daklak": 66, "đắk lắk": 66, "đăk lăk": 66, "lâm đồng": 68, "đà lạt": 68,
}  # fmt: skip
# Multi-syllable ward names that are ordinary words in chat; they still count after a place word.
_UNMARKED_STOP = frozenset(
    {"binh minh", "hoa binh", "thong nhat", "tan tien", "an binh", "quyet thang", "thanh cong", "doan ket",
     "hung thinh", "phu quy", "dai thang", "binh an", "tien phong", "hoa lac", "thuan loi", "an phu",
     "tan thanh", "phuc loc", "an khanh", "thinh vuong", "hoa thuan", "vinh hung", "thanh long", "ba ria",
     "cao thang", "nhan hoa", "dong tien", "thuong mai", "tan phu", "phu loc", "thanh binh", "tan an"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """The place read from a line."""

    province_code: int | None
    ward_code: int | None


class _Gazette:
    """Name indexes over the gazetteer, built once per process."""

    def __init__(self) -> None:
        gaz = gazetteer()
        self.ward_province = {code: int(w.province_code) for code, w in gaz.wards.items()}
        self.names: PhraseIndex[tuple[str, ...]] = PhraseIndex()
        self.candidates: dict[tuple[str, ...], list[Candidate]] = {}
        for code, p in gaz.provinces.items():
            self._add(_bare_toned(p.name), Candidate(Kind.PROVINCE, code, None, ()))
            for legacy in p.get_legacy_sources():
                # Tiền Giang went to two provinces; the first listed (Tây Ninh) got only a few wards.
                if bare(legacy.name) == "tien giang" and code != 82:
                    continue
                self._add(_bare_toned(legacy.name), Candidate(Kind.FORMER_PROVINCE, code, None, ()))
        for alias, code in _ALIASES.items():
            self._add(alias, Candidate(Kind.PROVINCE, code, None, ()))
        for code, w in gaz.wards.items():
            self._add(_bare_toned(w.name), Candidate(Kind.WARD, int(w.province_code), code, ()))
        self.fuzzy_names = [" ".join(k) for k in self.candidates]
        self.markers: PhraseIndex[Marker] = PhraseIndex()
        for spelling, marker in _MARKERS:
            self.markers.add(spelling, marker)

    def _add(self, spelling: str, cand: Candidate) -> None:
        key = fold_tokens(spelling)
        if not key:
            return
        cand = Candidate(cand.kind, cand.province_code, cand.ward_code, toned_tokens(spelling))
        self.names.add(spelling, key)
        # Place names are often typed bare even by people who otherwise use diacritics.
        self.names.add(" ".join(key), key)
        bucket = self.candidates.setdefault(key, [])
        if all(
            c.ward_code != cand.ward_code or c.province_code != cand.province_code or c.kind != cand.kind
            for c in bucket
        ):
            bucket.append(cand)


def _bare_toned(name: str) -> str:
    """The name without its division word, keeping diacritics ("Xã Văn Lãng" -> "Văn Lãng")."""
    words = name.split()
    folded = fold(name).split()
    drop = len(folded) - len(bare(name).split())
    return " ".join(words[drop:])


@cache
def _gazette() -> _Gazette:
    return _Gazette()


def _select(cands: list[Candidate], marker: Marker, msg: Message, span: list[Token]) -> list[Candidate]:
    """Candidates allowed by the place word and by the diacritics the person typed."""
    if marker is Marker.WARD:
        cands = [c for c in cands if c.kind is Kind.WARD] or cands
    elif marker is Marker.PROVINCE:
        cands = [c for c in cands if c.kind is not Kind.WARD] or cands
    typed = [(i, tone_key(msg.hinted(t))) for i, t in enumerate(span) if msg.hinted(t) != t.text]
    if typed:
        exact = [
            c for c in cands if c.toned and all(c.toned[i] == key for i, key in typed if i < len(c.toned))
        ]
        cands = exact or cands
    return cands


_STRONG_WORDS = frozenset({"xa", "phuong", "thi", "p", "tinh", "thanh", "tp"})


def _scan(msg: Message, mentions: list[list[Candidate]], *, strong_only: bool) -> None:
    gz = _gazette()
    tokens = msg.tokens()
    if strong_only and not any(t.text in _STRONG_WORDS for t in tokens):
        return
    i = 0
    while i < len(tokens):
        marker, j = Marker.NONE, i
        while (
            j < len(tokens)
            and gz.markers.starts(tokens[j].text)
            and (hit := gz.markers.match_at(msg, tokens, j))
        ):
            # "lấy ở xã X": the most specific place word counts.
            if marker is Marker.NONE or hit[0] in _STRONG:
                marker = hit[0]
            j += hit[1]
        if strong_only and marker not in _STRONG:
            i = max(i + 1, j)
            continue
        if j == i and (strong_only or not gz.names.starts(tokens[i].text)):
            i += 1
            continue
        if j < len(tokens) and (j == i or msg.adjacent(tokens[j - 1], tokens[j])):
            named = gz.names.match_at(msg, tokens, j)
            if named is not None:
                key, n = named
                span = tokens[j : j + n]
                # Unmarked names need two syllables and no number before them ("1 tan hong" is not Tân Hồng).
                if marker is not Marker.NONE or (
                    n >= 2
                    and " ".join(key) not in _UNMARKED_STOP
                    and not (j > 0 and tokens[j - 1].text[-1].isdigit())
                ):
                    mentions.append(_select(gz.candidates[key], marker, msg, span))
                    msg.mask(tokens[i].start, span[-1].end)
                    i = j + n
                    continue
            elif marker in _STRONG or (marker is Marker.GENERIC and tokens[i].text == "huyen"):
                found = _fuzzy(msg, tokens, j)
                if found is not None:
                    key, n = found
                    mentions.append(_select(gz.candidates[key], marker, msg, tokens[j : j + n]))
                    msg.mask(tokens[i].start, tokens[j + n - 1].end)
                    i = j + n
                    continue
        i = max(i + 1, j) if marker is not Marker.NONE and j > i else i + 1


def _fuzzy(msg: Message, tokens: list[Token], j: int) -> tuple[tuple[str, ...], int] | None:
    """A mistyped name right after a strong place word ("xa van lan"), over the precomputed name list."""
    gz = _gazette()
    best: tuple[float, tuple[str, ...], int] | None = None
    for n in (3, 2, 1):
        window = tokens[j : j + n]
        if len(window) < n or any(t.text.isdigit() for t in window):
            continue
        if not all(msg.adjacent(a, b) for a, b in pairwise(window)):
            continue
        text = " ".join(t.text for t in window)
        if len(text) < 4:
            continue
        hit = process.extractOne(text, gz.fuzzy_names, scorer=fuzz.ratio, score_cutoff=86)
        if hit and (best is None or hit[1] > best[0]):
            best = (hit[1], tuple(hit[0].split()), n)
    return (best[1], best[2]) if best else None


def read_strong_places(msg: Message, mentions: list[list[Candidate]]) -> None:
    """Names after xã/phường/tỉnh/thành phố, read before products so "xã Na Sầm" is not custard apple."""
    _scan(msg, mentions, strong_only=True)


def read_other_places(msg: Message, mentions: list[list[Candidate]]) -> None:
    """Names after ở/tại/về/từ..., and unmarked multi-syllable names."""
    _scan(msg, mentions, strong_only=False)


def resolve(mentions: list[list[Candidate]]) -> PlaceResult:
    """One ward and/or province from all the names mentioned (the first province named wins)."""
    gz = _gazette()
    current = next((c.province_code for m in mentions for c in m if c.kind is Kind.PROVINCE), None)
    former = next((c.province_code for m in mentions for c in m if c.kind is Kind.FORMER_PROVINCE), None)
    stated = current if current is not None else former
    for m in mentions:
        wards = [c for c in m if c.kind is Kind.WARD]
        if not wards:
            continue
        if stated is not None:
            inside = [c for c in wards if c.province_code == stated]
            if any(c.kind is not Kind.WARD for c in m) and not (
                inside
                and current is not None
                and all(c.province_code != current for c in m if c.kind is Kind.PROVINCE)
            ):
                # The name is itself a province name ("Bắc Giang", "Bến Tre"): read as the province,
                # unless another province is named and this ward lies in it ("Phù Yên, Sơn La").
                continue
            wards = inside or wards
        elif any(c.kind is not Kind.WARD for c in m):
            continue
        if len(wards) == 1 and wards[0].ward_code is not None:
            code = wards[0].ward_code
            return PlaceResult(gz.ward_province[code], code)
        provinces = {c.province_code for c in wards}
        if stated is None and len(provinces) == 1:
            stated = provinces.pop()
        break
    return PlaceResult(stated, None)


def read_places(msg: Message) -> PlaceResult:
    """All place names of the line resolved at once (for callers that do not need the two-pass order)."""
    mentions: list[list[Candidate]] = []
    read_strong_places(msg, mentions)
    read_other_places(msg, mentions)
    return resolve(mentions)
