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
* fuzzy matching (typos) is only tried right after xã/phường/tỉnh/thành phố/huyện;
* pre-2025 names come from the conversion tables that ``vietnam-provinces`` ships: an old commune
  merged wholly into one ward gives that ward, an old district (or one named with "huyện", "thị xã",
  "quận") gives its province only; old communes are read only after a place word, and a current
  name always wins over an old one unless "thị trấn" says the name is old;
* "BG", "H.Tĩnh", "dac nong", "#langson" are the provinces they abbreviate or spell.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from enum import Enum
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

from rapidfuzz import fuzz, process

from bot.parsing.index_cache import cached
from bot.parsing.message import Message, PhraseIndex, Token, fold_tokens, tone_key, toned_tokens
from bot.textnorm import fold


class Kind(Enum):
    """What a place name names."""

    PROVINCE = 1
    FORMER_PROVINCE = 2
    WARD = 3
    OLD_WARD = 4  # a pre-2025 commune: its ward when merged whole into one, else its province
    OLD_DISTRICT = 5  # a pre-2025 district: its province


class Marker(Enum):
    """The word that introduced a name, which decides what kind of place it may be."""

    WARD = 1
    PROVINCE = 2
    GENERIC = 3
    NONE = 4
    DISTRICT = 5
    OLD_WARD = 6


class Candidate(NamedTuple):
    """One place a typed name may denote."""

    kind: Kind
    province_code: int
    ward_code: int | None
    toned: tuple[str, ...]
    town: bool = False  # an old "thị trấn"


_MARKERS: tuple[tuple[str, Marker], ...] = (
    ("xã", Marker.WARD), ("phường", Marker.WARD), ("p.", Marker.WARD), ("x.", Marker.WARD),
    ("thị trấn", Marker.OLD_WARD), ("tt.", Marker.OLD_WARD),
    ("tỉnh", Marker.PROVINCE), ("thành phố", Marker.PROVINCE), ("tp", Marker.PROVINCE),
    ("huyện", Marker.DISTRICT), ("quận", Marker.DISTRICT), ("thị xã", Marker.DISTRICT), ("tx.", Marker.DISTRICT),
    ("h.", Marker.DISTRICT), ("ở", Marker.GENERIC), ("tại", Marker.GENERIC), ("về", Marker.GENERIC),
    ("từ", Marker.GENERIC), ("khu vực", Marker.GENERIC), ("kv", Marker.GENERIC), ("vùng", Marker.GENERIC),
    ("địa bàn", Marker.GENERIC), ("quê", Marker.GENERIC),
)  # fmt: skip
_STRONG = {Marker.WARD, Marker.PROVINCE, Marker.DISTRICT, Marker.OLD_WARD}
# Which kinds a place word lets a name be, best first.
_TIERS: dict[Marker, tuple[frozenset[Kind], ...]] = {
    Marker.WARD: (frozenset({Kind.WARD}), frozenset({Kind.OLD_WARD})),
    Marker.OLD_WARD: (frozenset({Kind.OLD_WARD}), frozenset({Kind.WARD})),
    Marker.DISTRICT: (
        frozenset({Kind.OLD_DISTRICT}),
        frozenset({Kind.WARD, Kind.PROVINCE, Kind.FORMER_PROVINCE}),
    ),
    Marker.PROVINCE: (
        frozenset({Kind.PROVINCE, Kind.FORMER_PROVINCE}),
        frozenset({Kind.OLD_DISTRICT}),
        frozenset({Kind.WARD}),
    ),
    Marker.GENERIC: (
        frozenset({Kind.PROVINCE, Kind.FORMER_PROVINCE, Kind.WARD}),
        frozenset({Kind.OLD_DISTRICT}),
        frozenset({Kind.OLD_WARD}),
    ),
    Marker.NONE: (
        frozenset({Kind.PROVINCE, Kind.FORMER_PROVINCE, Kind.WARD}),
        frozenset({Kind.OLD_DISTRICT}),
    ),
}
# Province abbreviations used in group posts, typed in capitals; ambiguous ones (TQ, KH, QN, ĐN) are left out.
_ABBREVIATIONS: dict[str, str] = {
    "BG": "Bắc Giang", "BN": "Bắc Ninh", "LS": "Lạng Sơn", "HN": "Hà Nội", "HCM": "Hồ Chí Minh",
    "SG": "Hồ Chí Minh", "HY": "Hưng Yên", "HD": "Hải Dương", "HP": "Hải Phòng", "TN": "Thái Nguyên",
    "CB": "Cao Bằng", "LC": "Lào Cai", "YB": "Yên Bái", "GL": "Gia Lai", "KT": "Kon Tum", "VL": "Vĩnh Long",
    "CT": "Cần Thơ", "AG": "An Giang", "ST": "Sóc Trăng", "BL": "Bạc Liêu", "CM": "Cà Mau", "BD": "Bình Dương",
    "BP": "Bình Phước", "LĐ": "Lâm Đồng", "ĐT": "Đồng Tháp", "TH": "Thanh Hóa", "HT": "Hà Tĩnh",
    "QB": "Quảng Bình", "TB": "Thái Bình", "NĐ": "Nam Định", "NB": "Ninh Bình", "PT": "Phú Thọ",
    "VP": "Vĩnh Phúc", "HB": "Hòa Bình", "BK": "Bắc Kạn", "LA": "Long An", "TG": "Tiền Giang",
    "ĐL": "Đắk Lắk", "ĐN": "", "DL": "Đắk Lắk",
}  # fmt: skip
_ABBREV = re.compile(r"(?<![\w.#])(?P<a>[A-ZĐ]{2,3})(?![\w.])")
_DOTTED = re.compile(r"(?<![a-z0-9])(?P<i>[a-z])\s?\.\s?(?P<rest>[a-z]+)(?![a-z])")
_HASHTAG = re.compile(r"#(?P<tag>[a-z]+)")
# Spellings of syllables that people type either way ("dac nong" = Đắk Nông).
_VARIANTS = (("đắk", "đắc"), ("lắk", "lắc"), ("đăk", "đắc"))
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


type _Names = dict[tuple[str, ...], list[Candidate]]
type _PlainNames = dict[tuple[str, ...], list[tuple[int, int, int | None, tuple[str, ...], bool]]]
type _Index = PhraseIndex[tuple[str, ...]]
# What the cache file holds (plain data only): ward -> province, the current names (index and
# candidates), the province names, and the pre-2025 communes (index and candidates).
type _Plain = tuple[dict[int, int], Any, _PlainNames, dict[str, list[int]], Any, _PlainNames]
# The modules whose code or data decide what the indexes hold: a change to one builds them anew.
_SOURCES = ("bot.parsing.places", "bot.parsing.message", "bot.parsing.typing", "bot.textnorm", "bot.places",
            "vietnam_provinces")  # fmt: skip


class _Gazette:
    """Name indexes over the gazetteer and the package's 2025 conversion tables, loaded once per process."""

    def __init__(
        self,
        ward_province: dict[int, int],
        names: _Index,
        candidates: _Names,
        province_names: dict[str, list[int]],
        old: tuple[_Index, _Names],
    ) -> None:
        self.ward_province = ward_province
        self.names = names
        self.candidates = candidates
        self.province_names = province_names  # folded name -> province codes (current or former)
        # Old communes live in their own index: they are read only after a place word.
        self.old = old
        self.fuzzy_names = [" ".join(k) for k in self.candidates]
        # How a name read without a place word can begin: its first two syllables, or a glued province.
        self.unmarked_pairs = frozenset(k[:2] for k in self.candidates if len(k) >= 2)
        self.unmarked_glued = frozenset(
            k[0]
            for k, cands in self.candidates.items()
            if len(k) == 1 and len(k[0]) >= 6 and all(c.kind in _PROVINCES for c in cands)
        )
        self.markers: PhraseIndex[Marker] = PhraseIndex()
        for spelling, marker in _MARKERS:
            self.markers.add(spelling, marker)
        self.marker_words = frozenset(self.markers.first_words())
        self.abbreviations = {
            a: self.province_names[fold(name)][0] for a, name in _ABBREVIATIONS.items() if name
        }
        # "H.Tĩnh", "Q.Ninh": initial of the first syllable and the rest of a two-syllable province name.
        dotted: dict[tuple[str, str], set[int]] = {}
        for name, codes in self.province_names.items():
            words = name.split()
            if len(words) == 2:
                dotted.setdefault((words[0][0], words[1]), set()).update(codes)
        self.dotted = {key: codes.pop() for key, codes in dotted.items() if len(codes) == 1}

    @classmethod
    def load(cls, directory: Path | None = None) -> _Gazette:
        """The indexes from the cache file, built from the package first if there is none for this code and data."""
        plain: _Plain = cached("places", _SOURCES, lambda: _Builder().plain(), directory)
        ward_province, names, candidates, province_names, old_names, old_candidates = plain
        return cls(
            ward_province,
            PhraseIndex.from_state(names),
            _candidates(candidates),
            province_names,
            (PhraseIndex.from_state(old_names), _candidates(old_candidates)),
        )


def _candidates(plain: _PlainNames) -> _Names:
    kinds = {k.value: k for k in Kind}
    return {key: [Candidate(kinds[c[0]], *c[1:]) for c in cands] for key, cands in plain.items()}


def _plain(names: _Names) -> _PlainNames:
    return {key: [(c.kind.value, *c[1:]) for c in cands] for key, cands in names.items()}


class _Builder:
    """Builds the indexes from ``vietnam-provinces``: a few hundred milliseconds, once per code and data version."""

    def __init__(self) -> None:
        from bot.places import bare, gazetteer

        gaz = gazetteer()
        self.ward_province = {code: int(w.province_code) for code, w in gaz.wards.items()}
        self.names: _Index = PhraseIndex()
        self.candidates: _Names = {}
        self.province_names: dict[str, list[int]] = {}
        for code, p in gaz.provinces.items():
            self._add_province(_bare_toned(p.name), Candidate(Kind.PROVINCE, code, None, ()))
            for source in p.get_legacy_sources():
                # Tiền Giang went to two provinces; the first listed (Tây Ninh) got only a few wards.
                if bare(source.name) == "tien giang" and code != 82:
                    continue
                self._add_province(_bare_toned(source.name), Candidate(Kind.FORMER_PROVINCE, code, None, ()))
        for alias, code in _ALIASES.items():
            self._add(alias, Candidate(Kind.PROVINCE, code, None, ()))
        for code, w in gaz.wards.items():
            self._add(_bare_toned(w.name), Candidate(Kind.WARD, int(w.province_code), code, ()))
        self._add_old_districts()

    def plain(self) -> _Plain:
        """Everything the process needs, as plain data for the cache file."""
        old_names, old_candidates = self._old_wards()
        return (
            self.ward_province,
            self.names.state(),
            _plain(self.candidates),
            self.province_names,
            old_names.state(),
            _plain(old_candidates),
        )

    def _add_province(self, spelling: str, cand: Candidate) -> None:
        self._add(spelling, cand)
        folded = fold(spelling)
        self.province_names.setdefault(folded, []).append(cand.province_code)
        variants = {spelling}
        for old, new in _VARIANTS:
            variants |= {v.replace(old, new).replace(old.capitalize(), new.capitalize()) for v in variants}
        for variant in variants - {spelling}:
            self._add(variant, cand)
        if " " in folded:
            self._add(folded.replace(" ", ""), cand)  # "langson", "#daknong"

    def _add_old_districts(self) -> None:
        """Pre-2025 districts, each with the provinces (and the ward, if only one) its communes went to."""
        from vietnam_provinces import legacy
        from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW

        from bot.places import gazetteer

        gaz = gazetteer()
        wards_of: dict[int, set[int]] = {}
        for entry in OLD_TO_NEW.values():
            wards_of.setdefault(entry.old_ward.district_code, set()).update(w.code for w in entry.new_wards)
        for district in legacy.District.iter_all():
            if _bare_toned(district.name)[:1].isdigit():
                continue
            new = {w for w in wards_of.get(int(district.code), ()) if w in gaz.wards}
            provinces = {self.ward_province[w] for w in new}
            for province in provinces:
                ward = next(iter(new)) if len(new) == 1 else None
                self._add(_bare_toned(district.name), Candidate(Kind.OLD_DISTRICT, province, ward, ()))

    def _old_wards(self) -> tuple[_Index, _Names]:
        """Index and candidates of pre-2025 communes: the ward each was merged into whole, or its province."""
        from vietnam_provinces import legacy
        from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW

        from bot.places import gazetteer

        gaz = gazetteer()
        old_names: _Index = PhraseIndex()
        old_candidates: _Names = {}
        for ward in legacy.Ward.iter_all():
            entry = OLD_TO_NEW.get(int(ward.code))
            if entry is None:
                continue
            new = [w.code for w in entry.new_wards if w.code in gaz.wards]
            provinces = {self.ward_province[w] for w in new}
            if len(provinces) != 1:
                continue
            whole = len(new) == 1 and not entry.old_ward.is_partly_merged
            town = ward.division_type is legacy.VietNamDivisionType.THI_TRAN
            spelling = _bare_toned(ward.name)
            key = fold_tokens(spelling)
            if not key or key[0].isdigit():
                continue  # "Phường 15" would make "từ 15 đến 20/9" a place
            toned = toned_tokens(spelling)
            cand = Candidate(Kind.OLD_WARD, provinces.pop(), new[0] if whole else None, toned, town)
            old_names.add_tokens(key, toned, key, bare=True)
            bucket = old_candidates.setdefault(key, [])
            if cand not in bucket:
                bucket.append(cand)
        return old_names, old_candidates

    def _add(self, spelling: str, cand: Candidate) -> None:
        key = fold_tokens(spelling)
        if not key:
            return
        toned = toned_tokens(spelling)
        cand = Candidate(cand.kind, cand.province_code, cand.ward_code, toned)
        # Place names are often typed bare even by people who otherwise use diacritics.
        self.names.add_tokens(key, toned, key, bare=True)
        bucket = self.candidates.setdefault(key, [])
        if all(
            c.ward_code != cand.ward_code or c.province_code != cand.province_code or c.kind != cand.kind
            for c in bucket
        ):
            bucket.append(cand)


_DIVISION_WORDS = ("thi tran", "thi xa", "thanh pho", "dac khu", "huyen", "quan", "xa", "phuong", "tinh")


def _bare_toned(name: str) -> str:
    """The name without its division word, keeping diacritics ("Xã Văn Lãng" -> "Văn Lãng")."""
    words = name.split()
    folded = fold(name)
    for division in _DIVISION_WORDS:
        if folded.startswith(division + " "):
            return " ".join(words[len(division.split()) :])
    return name


@cache
def _gazette() -> _Gazette:
    return _Gazette.load()


def _select(cands: list[Candidate], marker: Marker, msg: Message, span: list[Token]) -> list[Candidate]:
    """Candidates allowed by the place word (best kind first) and by the diacritics the person typed."""
    for kinds in _TIERS[marker]:
        tier = [c for c in cands if c.kind in kinds]
        if tier:
            cands = tier
            break
    else:
        return []
    if marker is Marker.OLD_WARD:
        cands = [c for c in cands if c.town] or cands
    typed = [(i, tone_key(msg.hinted(t))) for i, t in enumerate(span) if msg.hinted(t) != t.text]
    if typed:
        exact = [
            c for c in cands if c.toned and all(c.toned[i] == key for i, key in typed if i < len(c.toned))
        ]
        cands = exact or cands
    return cands


_STRONG_WORDS = frozenset(
    {"xa", "phuong", "thi", "p", "tinh", "thanh", "tp", "huyen", "quan", "tt", "tx", "x", "h"}
)


def _named(msg: Message, tokens: list[Token], j: int, marker: Marker) -> tuple[list[Candidate], int] | None:
    """Candidates of the name at token j and its length in tokens, current names first, old ones after a place word."""
    gz = _gazette()
    lookups: list[tuple[PhraseIndex[tuple[str, ...]], dict[tuple[str, ...], list[Candidate]]]] = [
        (gz.names, gz.candidates)
    ]
    if marker is Marker.OLD_WARD:
        lookups.insert(0, gz.old)
    elif marker is not Marker.NONE:
        lookups.append(gz.old)
    for names, candidates in lookups:
        slips = marker is not Marker.NONE
        hit = names.match_at(msg, tokens, j, slips=slips) if names.starts(tokens[j].text) else None
        if hit is None:
            continue
        key, n = hit
        # Unmarked names need two syllables and no number before them ("1 tan hong" is not Tân Hồng).
        glued = n == 1 and len(key[0]) >= 6 and all(c.kind in _PROVINCES for c in candidates[key])  # "DakLak"
        if marker is Marker.NONE and (
            (n < 2 and not glued)
            or " ".join(key) in _UNMARKED_STOP
            or (j > 0 and tokens[j - 1].text[-1].isdigit())
        ):
            continue
        chosen = _select(candidates[key], marker, msg, tokens[j : j + n])
        if chosen:
            return chosen, n
    return None


def _scan(msg: Message, mentions: list[list[Candidate]], *, strong_only: bool) -> None:
    gz = _gazette()
    tokens = msg.tokens()
    if strong_only and not any(t.text in _STRONG_WORDS for t in tokens):
        return
    # Where something may start: a place word, or (not strong_only) the first two syllables of a name.
    words = [t.text for t in tokens]
    if strong_only:
        at = [k for k, w in enumerate(words) if w in gz.marker_words]
    else:
        at = [
            k
            for k, (w, nxt) in enumerate(pairwise([*words, ""]))
            if w in gz.marker_words or w in gz.unmarked_glued or (w, nxt) in gz.unmarked_pairs
        ]
    i = 0
    while i < len(tokens):
        k = bisect_left(at, i)
        if k == len(at):
            break
        i = at[k]  # the tokens skipped would each have been passed over one by one
        marker, j = Marker.NONE, i
        while (
            j < len(tokens)
            and gz.markers.starts(tokens[j].text)
            and (hit := gz.markers.match_at(msg, tokens, j))
        ):
            if tokens[j].text in _DOT_ONLY and not _dotted(msg, tokens[j]):
                break  # "h", "x", "tt", "tx" are place words only as "h.", "x.", "tt.", "tx."
            # "lấy ở xã X": the most specific place word counts.
            if marker is Marker.NONE or hit[0] in _STRONG:
                marker = hit[0]
            j += hit[1]
        if strong_only and marker not in _STRONG:
            i = max(i + 1, j)
            continue
        if j == i and (
            strong_only
            or (
                tokens[i].text not in gz.unmarked_glued
                and (i + 1 >= len(tokens) or (tokens[i].text, tokens[i + 1].text) not in gz.unmarked_pairs)
            )
        ):
            i += 1
            continue
        if j < len(tokens) and (
            j == i or msg.adjacent(tokens[j - 1], tokens[j]) or _dotted(msg, tokens[j - 1])
        ):
            found = _named(msg, tokens, j, marker)
            if found is not None:
                cands, n = found
                mentions.append(cands)
                msg.mask(tokens[i].start, tokens[j + n - 1].end)
                i = j + n
                continue
            if marker in _STRONG:
                fuzzy = _fuzzy(msg, tokens, j)
                if fuzzy is not None:
                    key, n = fuzzy
                    chosen = _select(gz.candidates[key], marker, msg, tokens[j : j + n])
                    if chosen:
                        mentions.append(chosen)
                        msg.mask(tokens[i].start, tokens[j + n - 1].end)
                        i = j + n
                        continue
        i = max(i + 1, j) if marker is not Marker.NONE and j > i else i + 1


_PROVINCES = (Kind.PROVINCE, Kind.FORMER_PROVINCE)
_DOT_ONLY = frozenset({"h", "x", "tt", "tx"})


def _dotted(msg: Message, token: Token) -> bool:
    """Whether a place word is written with a dot right before the name ("x.Tân Mộc", "h. Lục Ngạn")."""
    return msg.folded[token.end : token.end + 3].lstrip().startswith(".") and len(token.text) <= 2


def _abbreviations(msg: Message, mentions: list[list[Candidate]]) -> None:
    """ "BG", "H.Tĩnh", "#langson": provinces written short, glued or as a hashtag."""
    gz = _gazette()
    for m in _ABBREV.finditer(msg.text) if msg.text != msg.lower else ():  # capitals needed
        code = gz.abbreviations.get(m["a"])
        if code is not None:
            mentions.append([Candidate(Kind.PROVINCE, code, None, ())])
            msg.mask(m.start(), m.end())
    for m in _DOTTED.finditer(msg.work) if "." in msg.work else ():
        code = gz.dotted.get((m["i"], m["rest"]))
        if code is not None:
            mentions.append([Candidate(Kind.PROVINCE, code, None, ())])
            msg.mask(m.start(), m.end())
    for m in _HASHTAG.finditer(msg.work) if "#" in msg.work else ():
        cands = gz.candidates.get((m["tag"],))
        if cands and all(c.kind in (Kind.PROVINCE, Kind.FORMER_PROVINCE) for c in cands):
            mentions.append(cands)
            msg.mask(m.start(), m.end())


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
    """Names after xã/phường/tỉnh/thành phố/huyện, and abbreviations, read before products so "xã Na Sầm"
    is not custard apple."""
    _abbreviations(msg, mentions)
    _scan(msg, mentions, strong_only=True)


def read_other_places(msg: Message, mentions: list[list[Candidate]]) -> None:
    """Names after ở/tại/về/từ..., and unmarked multi-syllable names."""
    _scan(msg, mentions, strong_only=False)


_WARDS = (Kind.WARD, Kind.OLD_WARD)


def resolve(mentions: list[list[Candidate]]) -> PlaceResult:
    """One ward and/or province from all the names mentioned (the first province named wins)."""
    if not mentions:
        return PlaceResult(None, None)
    gz = _gazette()
    current = next((c.province_code for m in mentions for c in m if c.kind is Kind.PROVINCE), None)
    former = next((c.province_code for m in mentions for c in m if c.kind is Kind.FORMER_PROVINCE), None)
    district = next(
        (
            m[0].province_code
            for m in mentions
            if m and all(c.kind is Kind.OLD_DISTRICT and c.province_code == m[0].province_code for c in m)
        ),
        None,
    )
    stated = current if current is not None else former if former is not None else district
    for m in mentions:
        wards = [c for c in m if c.kind in _WARDS]
        if not wards:
            continue
        if stated is not None:
            inside = [c for c in wards if c.province_code == stated]
            if any(c.kind not in _WARDS for c in m) and not (
                inside
                and current is not None
                and all(c.province_code != current for c in m if c.kind is Kind.PROVINCE)
            ):
                # The name is itself a province name ("Bắc Giang", "Bến Tre"): read as the province,
                # unless another province is named and this ward lies in it ("Phù Yên, Sơn La").
                continue
            wards = inside or wards
        elif any(c.kind not in _WARDS for c in m):
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
