"""Estimate how much open supply each order could draw on, in O(log n) per order.

Counting the compatible supply exactly means visiting every compatible pair (about 8 seconds
for 100,000 lots x 10,000 orders in Python), so the batch ranks orders by an estimate instead:
the exact kg of lots in the order's region whose ready window overlaps its pickup window (two
prefix sums), scaled by the product-wide share of kg that passes the grade, certification,
asking-price and minimum-lot rules (treated as independent).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate

from bot.matching.compat import min_take
from bot.matching.model import LotView, OrderView, PriceFloors


@dataclass(slots=True)
class _Windows:
    """Ready dates of a set of lots with kg prefix sums, for "kg overlapping [a, b]"."""

    starts: list[int] = field(default_factory=list)  # date ordinals, sorted
    ends: list[int] = field(default_factory=list)
    start_kg: list[int] = field(default_factory=list)
    end_kg: list[int] = field(default_factory=list)

    def overlapping_kg(self, first: int, last: int) -> int:
        # Lots that start by ``last`` minus lots that ended before ``first`` (those started too).
        started = bisect_right(self.starts, last)
        ended = bisect_left(self.ends, first)
        return (self.start_kg[started - 1] if started else 0) - (self.end_kg[ended - 1] if ended else 0)


@dataclass(slots=True)
class _ProductShares:
    """Product-wide kg distributions for the rules the window index does not cover."""

    total: int = 0
    by_grade: dict[str, int] = field(default_factory=dict)
    by_certs: dict[frozenset[str], int] = field(default_factory=dict)
    asks: list[int] = field(default_factory=list)  # sorted asking prices (0 when none)
    ask_kg: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # sorted lot volumes
    size_kg: list[int] = field(default_factory=list)


class SupplyEstimator:
    """Approximate compatible open supply per order, from a snapshot of open lots."""

    def __init__(self, lots: Iterable[tuple[LotView, int]], floors: PriceFloors) -> None:
        self._floors = floors
        # Windows packed as (day << 32 | kg) ints: sorting ints is several times cheaper than tuples.
        raw: dict[tuple[object, ...], tuple[list[int], list[int]]] = {}
        per_product: dict[str, list[tuple[LotView, int]]] = {}
        for lot, kg in lots:
            start = lot.ready_from.toordinal() << 32 | kg
            end = lot.ready_to.toordinal() << 32 | kg
            key: tuple[object, ...]
            for key in (
                ("p", lot.product),
                ("v", lot.product, lot.province_code),
                ("c", lot.product, lot.collection_point_id),
            ):
                packed = raw.get(key)
                if packed is None:
                    packed = raw[key] = ([], [])
                packed[0].append(start)
                packed[1].append(end)
            per_product.setdefault(lot.product, []).append((lot, kg))
        self._windows: dict[tuple[object, ...], _Windows] = {}
        mask = (1 << 32) - 1
        for key, (starts, ends) in raw.items():
            starts.sort()
            ends.sort()
            self._windows[key] = _Windows(
                starts=[c >> 32 for c in starts],
                ends=[c >> 32 for c in ends],
                start_kg=list(accumulate(c & mask for c in starts)),
                end_kg=list(accumulate(c & mask for c in ends)),
            )
        self._shares: dict[str, _ProductShares] = {}
        for product, entries in per_product.items():
            shares = self._shares[product] = _ProductShares()
            for lot, kg in entries:
                shares.total += kg
                shares.by_grade[lot.grade] = shares.by_grade.get(lot.grade, 0) + kg
                shares.by_certs[lot.certifications] = shares.by_certs.get(lot.certifications, 0) + kg
            asks = sorted((lot.asking_price or 0, kg) for lot, kg in entries)
            shares.asks = [a for a, _ in asks]
            shares.ask_kg = list(accumulate(kg for _, kg in asks))
            shares.sizes = sorted(kg for _, kg in entries)
            shares.size_kg = list(accumulate(shares.sizes))
        self._cert_share: dict[tuple[str, frozenset[str]], float] = {}

    def supply_kg(self, order: OrderView, want: int) -> int:
        """Estimated kg of open lots this order could take while wanting ``want`` kg."""
        shares = self._shares.get(order.product)
        if shares is None or not shares.total:
            return 0
        window = self._window_kg(order)
        if not window:
            return 0
        share = 1.0
        if order.grades:
            share *= sum(shares.by_grade.get(g, 0) for g in order.grades) / shares.total
        if order.required_certs:
            share *= self._certs_share(order.product, order.required_certs, shares)
        share *= (
            shares.ask_kg[bisect_right(shares.asks, order.price) - 1] / shares.total
            if shares.asks[0] <= order.price
            else 0.0
        )
        small = bisect_left(shares.sizes, min_take(order, want))
        share *= 1 - (shares.size_kg[small - 1] if small else 0) / shares.total
        return int(window * share)

    def _window_kg(self, order: OrderView) -> int:
        first, last = order.pickup_from.toordinal(), order.pickup_to.toordinal()
        product, price = order.product, order.price
        floors = self._floors

        def kg(key: tuple[object, ...]) -> int:
            windows = self._windows.get(key)
            return windows.overlapping_kg(first, last) if windows else 0

        def banned(province: int) -> bool:
            floor = floors.get((product, province))
            return floor is not None and price < floor

        if order.anywhere:
            total = kg(("p", product))
            # Provinces whose floor the order does not clear contribute nothing.
            for key in floors:
                if key[0] == product and banned(key[1]):
                    total -= kg(("v", product, key[1]))
            return total
        total = sum(kg(("v", product, v)) for v in order.provinces if not banned(v))
        return total + sum(kg(("c", product, c)) for c in order.collection_points)

    def _certs_share(self, product: str, required: frozenset[str], shares: _ProductShares) -> float:
        cached = self._cert_share.get((product, required))
        if cached is None:
            held = sum(kg for certs, kg in shares.by_certs.items() if required <= certs)
            cached = self._cert_share[product, required] = held / shares.total
        return cached
