"""The place-name indexes kept on disk: what a process loads is what it would have built, and a cache that
cannot be read or written only means building again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.parsing import index_cache, parse, places

THU = dt.date(2026, 9, 10)


def _same(a: places._Gazette, b: places._Gazette) -> None:
    assert a.ward_province == b.ward_province
    assert a.names.state() == b.names.state()
    assert a.candidates == b.candidates
    assert list(a.candidates) == list(b.candidates)  # the fuzzy lookup's ties go to the first name listed
    assert a.province_names == b.province_names
    assert a.old[0].state() == b.old[0].state()
    assert a.old[1] == b.old[1]


def test_a_second_process_loads_from_the_file_what_the_first_built(tmp_path: Path) -> None:
    built = places._Gazette.load(tmp_path)
    files = list(tmp_path.glob("places-*.marshal"))
    assert len(files) == 1
    loaded = places._Gazette.load(tmp_path)
    _same(built, loaded)
    assert all(type(c) is places.Candidate for cands in loaded.old[1].values() for c in cands)


def test_a_damaged_file_is_built_again(tmp_path: Path) -> None:
    built = places._Gazette.load(tmp_path)
    (file,) = tmp_path.glob("places-*.marshal")
    file.write_bytes(file.read_bytes()[:1000])
    _same(places._Gazette.load(tmp_path), built)
    assert len(file.read_bytes()) > 1000


def test_an_unwritable_cache_only_means_building_in_memory(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    gazette = places._Gazette.load(blocked / "cache")
    assert gazette.candidates[("van", "lang")]


def test_other_code_or_data_get_their_own_file(tmp_path: Path) -> None:
    calls = []

    def build() -> list[int]:
        calls.append(1)
        return [len(calls)]

    assert index_cache.cached("x", ["bot.parsing.places"], build, tmp_path) == [1]
    assert index_cache.cached("x", ["bot.parsing.places"], build, tmp_path) == [1]
    assert index_cache.cached("x", ["bot.parsing.places", "vietnam_provinces"], build, tmp_path) == [2]
    assert len(list(tmp_path.glob("x-*.marshal"))) == 2


def test_the_parser_reads_places_through_the_loaded_indexes() -> None:
    result = parse("Cần mua 10 tấn hồng vành khuyên lấy ở xã Văn Lãng tuần sau", THU)
    assert (result.province_code, result.ward_code) == (20, 6154)
    result = parse("thu mua na tại thị trấn Đồng Mỏ", THU)
    assert result.province_code == 20
