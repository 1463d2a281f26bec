"""Vietnam's administrative map (34 provinces, wards directly under them since July 2025).

Everything comes from the ``vietnam-provinces`` package; this module only indexes it by
folded name so that "xa chi lang" or "Chi Lăng" finds Xã Chi Lăng.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz, process
from vietnam_provinces import Province, Ward

from bot.textnorm import fold

_PREFIXES = re.compile(r"^(tinh|thanh pho|tp\.?|xa|phuong|p\.|dac khu)\s+")


@dataclass(frozen=True, slots=True)
class Place:
    """A province (``ward_code`` None) or a ward with its province."""

    province_code: int
    province_name: str
    ward_code: int | None = None
    ward_name: str | None = None

    @property
    def label(self) -> str:
        """Human-readable name, ward first."""
        return f"{self.ward_name}, {self.province_name}" if self.ward_name else self.province_name


def bare(name: str) -> str:
    """Folded name without its division word ("Xã Chi Lăng" -> "chi lang")."""
    return _PREFIXES.sub("", fold(name))


class Gazetteer:
    """Name lookups over provinces and wards."""

    def __init__(self) -> None:
        self.provinces: dict[int, Province] = {int(p.code): p for p in Province.iter_all()}
        self.wards: dict[int, Ward] = {int(w.code): w for w in Ward.iter_all()}
        self._province_by_name: dict[str, int] = {}
        for code, p in self.provinces.items():
            self._province_by_name[bare(p.name)] = code
            self._province_by_name[fold(p.name)] = code
        # A bare ward name can belong to several provinces ("Chi Lăng" exists three times).
        self._wards_by_name: dict[str, list[int]] = {}
        for code, w in self.wards.items():
            for key in {bare(w.name), fold(w.name)}:
                self._wards_by_name.setdefault(key, []).append(code)
        self._province_names = list(self._province_by_name)

    def province(self, code: int) -> Place | None:
        """The province with this code."""
        p = self.provinces.get(code)
        return Place(code, p.name) if p else None

    def ward(self, code: int) -> Place | None:
        """The ward with this code, with its province."""
        w = self.wards.get(code)
        if w is None:
            return None
        pcode = int(w.province_code)
        return Place(pcode, self.provinces[pcode].name, code, w.name)

    def wards_of(self, province_code: int) -> list[Place]:
        """All wards of a province, sorted by name."""
        pname = self.provinces[province_code].name
        found = [
            Place(province_code, pname, code, w.name)
            for code, w in self.wards.items()
            if int(w.province_code) == province_code
        ]
        return sorted(found, key=lambda p: bare(p.ward_name or ""))

    def find_province(self, text: str, *, cutoff: float = 85.0) -> Place | None:
        """The province a person meant, with or without "tỉnh"/"thành phố" and diacritics."""
        key = fold(text)
        code = self._province_by_name.get(key) or self._province_by_name.get(bare(key))
        if code is None:
            best = process.extractOne(bare(key), self._province_names, scorer=fuzz.ratio, score_cutoff=cutoff)
            code = self._province_by_name[best[0]] if best else None
        return self.province(code) if code is not None else None

    def find_wards(self, text: str, province_code: int | None = None, *, limit: int = 8) -> list[Place]:
        """Wards matching a typed name, exact matches first, optionally inside one province."""
        key = fold(text)
        codes = self._wards_by_name.get(key) or self._wards_by_name.get(bare(key)) or []
        exact = [
            c for c in codes if province_code is None or int(self.wards[c].province_code) == province_code
        ]
        if exact:
            return [p for c in exact[:limit] if (p := self.ward(c))]
        pool = {
            c: bare(w.name)
            for c, w in self.wards.items()
            if province_code is None or int(w.province_code) == province_code
        }
        hits = process.extract(bare(key), pool, scorer=fuzz.ratio, score_cutoff=80, limit=limit)
        return [p for _, _, c in hits if (p := self.ward(c))]


@cache
def gazetteer() -> Gazetteer:
    """The shared, lazily built gazetteer (building it reads the package's data once)."""
    return Gazetteer()
