"""Estimate how much open supply each order could draw on, in O(log n) per order.

Counting the compatible supply exactly means visiting every compatible pair (about 8 seconds
for 100,000 lots x 10,000 orders in Python), so the batch ranks orders by an estimate instead:
the exact kg of lots in the order's region whose ready window overlaps its pickup window (two
prefix sums), scaled by the product-wide share of kg that passes the grade, certification,
asking-price and minimum-lot rules (treated as independent).

The sorted dates and prefix sums are built with numpy from a :class:`LotTable`, then kept as
plain lists: per-order queries are a few ``bisect`` calls, cheaper on lists than on arrays.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bot.matching.compat import min_take
from bot.matching.model import LotView, OrderView, PriceFloors
from bot.matching.table import NO_PRICE, IntArray, LotTable


def _cum0(values: IntArray) -> list[int]:
    """Prefix sums with a leading 0: ``out[j] - out[i]`` is the sum of ``values[i:j]``."""
    out = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=out[1:])
    return out.tolist()  # type: ignore[no-any-return]


@dataclass(slots=True)
class _Windows:
    """Ready dates of groups of lots with kg prefix sums, for "kg of a group overlapping [a, b]"."""

    starts: list[int]  # date ordinals, sorted inside each group
    ends: list[int]
    start_kg: list[int]  # prefix sums with a leading 0
    end_kg: list[int]
    groups: dict[tuple[object, ...], tuple[int, int]]  # key -> [lo, hi)

    def overlapping_kg(self, key: tuple[object, ...], first: int, last: int) -> int:
        group = self.groups.get(key)
        if group is None:
            return 0
        lo, hi = group
        # Lots that start by ``last`` minus lots that ended before ``first`` (those started too).
        started = bisect_right(self.starts, last, lo, hi)
        ended = bisect_left(self.ends, first, lo, hi)
        return self.start_kg[started] - self.end_kg[ended] + self.end_kg[lo] - self.start_kg[lo]


@dataclass(slots=True)
class _ProductShares:
    """Product-wide kg distributions for the rules the window index does not cover."""

    total: int = 0
    by_grade: dict[str, int] = field(default_factory=dict)
    by_certs: dict[frozenset[str], int] = field(default_factory=dict)
    lo: int = 0  # this product's [lo, hi) in the estimator's shared ``asks`` and ``sizes``
    hi: int = 0


class SupplyEstimator:
    """Approximate compatible open supply per order, from a snapshot of open lots.

    Built from ``(lot, kg)`` pairs or, cheaper when one is at hand, from a :class:`LotTable`
    (whose ``kg`` column is then the volume on offer).
    """

    def __init__(self, lots: Iterable[tuple[LotView, int]] | LotTable, floors: PriceFloors) -> None:
        if not isinstance(lots, LotTable):
            pairs = [(lot, kg) for lot, kg in lots if kg > 0]
            lots = LotTable([lot for lot, _ in pairs], [kg for _, kg in pairs])
        table = lots
        self._floor_provinces: dict[str, list[tuple[int, int]]] = {}
        for (product, province), floor in floors.items():
            self._floor_provinces.setdefault(product, []).append((province, floor))
        kg = table.kg
        self._windows = {
            "p": self._index(table, "p", table.prod, None, kg),
            "v": self._index(table, "v", table.prod, table.prov, kg),
            "c": self._index(table, "c", table.prod, table.point, kg),
        }
        # Asking prices (0 when none) and lot volumes, sorted within each product's rows.
        asks = np.where(table.ask == NO_PRICE, 0, table.ask)
        by_ask = np.lexsort((asks, table.prod))
        self._asks: list[int] = asks[by_ask].tolist()
        self._ask_kg = _cum0(kg[by_ask])  # prefix sums with a leading 0
        by_size = np.lexsort((kg, table.prod))
        self._sizes: list[int] = kg[by_size].tolist()
        self._size_kg = _cum0(kg[by_size])
        n_attrs = len(table.attrs)
        by_attr = np.zeros(len(table.products) * n_attrs, dtype=np.int64)
        np.add.at(by_attr, table.prod * n_attrs + table.attr, kg)
        self._shares: dict[str, _ProductShares] = {}
        for (product, (lo, hi)), attr_kgs in zip(
            table.product_rows.items(), by_attr.reshape(len(table.products), n_attrs).tolist(), strict=True
        ):
            shares = self._shares[product] = _ProductShares(lo=lo, hi=hi)
            for (grade, certs), attr_kg in zip(table.attrs, attr_kgs, strict=True):
                if attr_kg:
                    shares.total += attr_kg
                    shares.by_grade[grade] = shares.by_grade.get(grade, 0) + attr_kg
                    shares.by_certs[certs] = shares.by_certs.get(certs, 0) + attr_kg
        self._cert_share: dict[tuple[str, frozenset[str]], float] = {}

    @staticmethod
    def _index(table: LotTable, name: str, prod: IntArray, place: IntArray | None, kg: IntArray) -> _Windows:
        keys = (prod,) if place is None else (place, prod)
        by_start = np.lexsort((table.rf, *keys))
        by_end = np.lexsort((table.rt, *keys))
        groups: dict[tuple[object, ...], tuple[int, int]] = {}
        n = len(prod)
        if n:
            sorted_keys = [k[by_start] for k in reversed(keys)]
            change = np.zeros(n, dtype=bool)
            change[0] = True
            for k in sorted_keys:
                change[1:] |= k[1:] != k[:-1]
            starts = np.flatnonzero(change)
            ends = np.append(starts[1:], n)
            columns = [k[starts].tolist() for k in sorted_keys]
            products = table.products
            for *key, lo, hi in zip(*columns, starts.tolist(), ends.tolist(), strict=True):
                key[0] = products[key[0]]
                groups[(name, *key)] = (lo, hi)
        return _Windows(
            starts=table.rf[by_start].tolist(),
            ends=table.rt[by_end].tolist(),
            start_kg=_cum0(kg[by_start]),
            end_kg=_cum0(kg[by_end]),
            groups=groups,
        )

    def supply_kg(self, order: OrderView, want: int) -> int:
        """Estimated kg of open lots this order could take while wanting ``want`` kg."""
        shares = self._shares.get(order.product)
        if shares is None or not shares.total:
            return 0
        window = self._window_kg(order)
        if not window:
            return 0
        total = shares.total
        share = 1.0
        if order.grades:
            share *= sum(shares.by_grade.get(g, 0) for g in order.grades) / total
        if order.required_certs:
            share *= self._certs_share(order.product, order.required_certs, shares)
        lo, hi = shares.lo, shares.hi
        share *= (self._ask_kg[bisect_right(self._asks, order.price, lo, hi)] - self._ask_kg[lo]) / total
        small = bisect_left(self._sizes, min_take(order, want), lo, hi)
        share *= 1 - (self._size_kg[small] - self._size_kg[lo]) / total
        return int(window * share)

    def _window_kg(self, order: OrderView) -> int:
        first, last = order.pickup_from.toordinal(), order.pickup_to.toordinal()
        product, price = order.product, order.price
        windows = self._windows
        if order.anywhere:
            total = windows["p"].overlapping_kg(("p", product), first, last)
            # Provinces whose floor the order does not clear contribute nothing.
            for province, floor in self._floor_provinces.get(product, ()):
                if price < floor:
                    total -= windows["v"].overlapping_kg(("v", product, province), first, last)
            return total
        banned = {v for v, floor in self._floor_provinces.get(product, ()) if price < floor}
        v_index, c_index = windows["v"], windows["c"]
        total = sum(
            v_index.overlapping_kg(("v", product, v), first, last) for v in order.provinces if v not in banned
        )
        return total + sum(
            c_index.overlapping_kg(("c", product, c), first, last) for c in order.collection_points
        )

    def _certs_share(self, product: str, required: frozenset[str], shares: _ProductShares) -> float:
        cached = self._cert_share.get((product, required))
        if cached is None:
            held = sum(kg for certs, kg in shares.by_certs.items() if required <= certs)
            cached = self._cert_share[product, required] = held / shares.total
        return cached
