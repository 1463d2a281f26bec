"""Open lots as numpy columns, for work on the whole book at once (bulk indexing, batch planning).

Rows are in *rank* order: by product, then by lot priority (perishable days, ready date,
posting order, id), so within one product a smaller rank is a better lot. Three layouts
regroup the ranks by place, each group holding one perishable-days value so that its ready
dates are sorted and a pickup window is a ``searchsorted`` away:

* ``"p"``: (product, perishable days), for traders buying anywhere;
* ``"v"``: (product, province, perishable days);
* ``"c"``: (product, collection point, perishable days).

Grade and certifications are folded into one small code per distinct (grade, certifications)
pair, so a trader's grade and certification rules become one table lookup per lot.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from bot.matching.model import LotView, PriceFloors

type IntArray = npt.NDArray[np.int64]
type Group = tuple[int, int, int]  # (lo, hi, longest ready window in days) in a layout's arrays

NO_PRICE = -(1 << 62)
"""Stands for "no asking price" / "no floor": every price clears it."""

_PRODUCT = attrgetter("product")
_PERISH = attrgetter("perishable_days")
_READY_FROM = attrgetter("ready_from")
_READY_TO = attrgetter("ready_to")
_SEQ = attrgetter("posted_seq")
_ID = attrgetter("id")
_PROVINCE = attrgetter("province_code")
_POINT = attrgetter("collection_point_id")
_GRADE_CERTS = attrgetter("grade", "certifications")
_ASK = attrgetter("asking_price")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off while bulk work creates objects that all survive.

    Loading or planning a season creates some 10^5 index entries, lists and allocations;
    with the collector on, every few thousand of them trigger a pass over the young
    generations and now and then over the whole heap, finding nothing to free (a third of the
    time of a bulk load). Reference counting still frees everything as usual meanwhile.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Layout:
    """One grouping of a table's ranks, with the columns a search reads gathered in its order.

    ``groups`` maps ``("p", product, perish)``, ``("v", product, province, perish)`` or
    ``("c", product, point, perish)`` (the keys of the book's lot lists) to ``(lo, hi, span)``:
    ``rank[lo:hi]`` are the group's lots, best first, so ``rf[lo:hi]`` is sorted.
    """

    __slots__ = ("attr", "groups", "minp", "prov", "rank", "rf", "rt")

    def __init__(self, table: LotTable, rank: IntArray, groups: dict[tuple[object, ...], Group]) -> None:
        self.rank = rank
        self.groups = groups
        self.rf = table.rf[rank]
        self.rt = table.rt[rank]
        self.attr = table.attr[rank]
        self.prov = table.prov[rank]
        self.minp: IntArray | None = None  # per floors, see LotTable.price_floor


class LotTable:
    """A columnar snapshot of lots (ids, volumes and every attribute the rules read)."""

    def __init__(self, lots: Sequence[LotView], kgs: Sequence[int]) -> None:
        n = len(lots)
        # map() over attrgetters and bound methods keeps the per-lot work in C.
        products = {p: i for i, p in enumerate(dict.fromkeys(map(_PRODUCT, lots)))}
        attrs = {a: i for i, a in enumerate(dict.fromkeys(map(_GRADE_CERTS, lots)))}
        prod = np.fromiter(map(products.__getitem__, map(_PRODUCT, lots)), np.int64, n)
        attr = np.fromiter(map(attrs.__getitem__, map(_GRADE_CERTS, lots)), np.int64, n)
        perish = np.fromiter(map(_PERISH, lots), np.int64, n)
        rf = np.fromiter(map(date.toordinal, map(_READY_FROM, lots)), np.int64, n)
        seq = np.fromiter(map(_SEQ, lots), np.int64, n)
        ids = np.fromiter(map(_ID, lots), np.int64, n)
        # Rank order: product, then priority. ``src[rank]`` is the row's index in ``lots``.
        src = np.lexsort((ids, seq, rf, perish, prod))
        self.products: list[str] = list(products)
        self.attrs: list[tuple[str, frozenset[str]]] = list(attrs)
        self.prod: IntArray = prod[src]
        self.perish: IntArray = perish[src]
        self.rf: IntArray = rf[src]
        self.ids: IntArray = ids[src]
        self.seq: IntArray = seq[src]
        self.attr: IntArray = attr[src]
        self.rt: IntArray = np.fromiter(map(date.toordinal, map(_READY_TO, lots)), np.int64, n)[src]
        self.prov: IntArray = np.fromiter(map(_PROVINCE, lots), np.int64, n)[src]
        self.point: IntArray = np.fromiter(map(_POINT, lots), np.int64, n)[src]
        self.ask: IntArray = np.fromiter(
            (NO_PRICE if a is None else a for a in map(_ASK, lots)), np.int64, n
        )[src]
        self.kg: IntArray = np.fromiter(kgs, np.int64, n)[src]
        self.span: IntArray = self.rt - self.rf
        # product code -> [lo, hi) of its ranks
        bounds = np.searchsorted(self.prod, np.arange(len(self.products) + 1)).tolist()
        self.product_rows: dict[str, tuple[int, int]] = {
            p: (bounds[i], bounds[i + 1]) for i, p in enumerate(self.products)
        }
        self.perishes: dict[str, list[int]] = {
            p: np.unique(self.perish[lo:hi]).tolist() for p, (lo, hi) in self.product_rows.items()
        }
        self.layouts: dict[str, Layout] = {
            "p": self._layout("p", None),
            "v": self._layout("v", self.prov),
            "c": self._layout("c", self.point),
        }
        self._floor_items: frozenset[tuple[tuple[str, int], int]] | None = None
        self._minp: IntArray = self.ask

    def __len__(self) -> int:
        return len(self.ids)

    def _layout(self, name: str, place: IntArray | None) -> Layout:
        """Ranks grouped by (product, [place,] perishable days), rank order kept inside a group."""
        n = len(self.ids)
        if place is None:
            rank = np.arange(n, dtype=np.int64)
            keys = [self.prod, self.perish]
        else:
            rank = np.lexsort((self.perish, place, self.prod))  # stable: ranks stay ascending
            keys = [self.prod[rank], place[rank], self.perish[rank]]
        groups: dict[tuple[object, ...], Group] = {}
        if n:
            change = np.zeros(n, dtype=bool)
            change[0] = True
            for k in keys:
                change[1:] |= k[1:] != k[:-1]
            starts = np.flatnonzero(change)
            ends = np.append(starts[1:], n)
            spans = np.maximum.reduceat(self.span[rank], starts)
            columns = [k[starts].tolist() for k in keys]
            products = self.products
            for *key, lo, hi, span in zip(
                *columns, starts.tolist(), ends.tolist(), spans.tolist(), strict=True
            ):
                key[0] = products[key[0]]
                groups[(name, *key)] = (lo, hi, span)
        return Layout(self, rank, groups)

    def price_floor(self, floors: PriceFloors) -> IntArray:
        """Per rank: the lowest price an order must pay (the asking price and the gouging floor)."""
        items = frozenset(floors.items())
        if self._floor_items != items:
            floor = np.full(len(self.ids), NO_PRICE, dtype=np.int64)
            if len(self.ids) and floors:
                # One floor per (product, province): look each pair up once.
                base = int(self.prov.min())
                width = int(self.prov.max()) - base + 1
                pairs, inverse = np.unique(self.prod * width + (self.prov - base), return_inverse=True)
                products = self.products
                values = np.array(
                    [floors.get((products[k // width], k % width + base), NO_PRICE) for k in pairs.tolist()],
                    dtype=np.int64,
                )
                floor = values[inverse.reshape(-1)]
            self._minp = np.maximum(self.ask, floor)
            for layout in self.layouts.values():
                layout.minp = self._minp[layout.rank]
            self._floor_items = items
        return self._minp
