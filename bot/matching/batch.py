"""Fill orders one after another against a :class:`LotTable` (the whole-book planner's hot loop).

The same rules and the same choices as :meth:`OrderBook.compatible_lots` plus
``allocator._fill_order`` (each order takes compatible lots in priority order, whole lots while
it wants more, the last one partly; then the top-up pass under the minimum lot), vectorised:
an order's compatible lots are found with a few array operations per index group instead of
a Python loop over every lot in its window.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bot.matching.compat import min_take
from bot.matching.model import OrderView, PriceFloors
from bot.matching.table import IntArray, LotTable

type BoolArray = npt.NDArray[np.bool_]


class BatchFill:
    """Allocates lots of ``table`` to orders; ``kg`` holds what is left of each lot (by rank)."""

    def __init__(self, table: LotTable, floors: PriceFloors) -> None:
        self.table = table
        table.price_floor(floors)
        self.kg: IntArray = table.kg.copy()
        self._attr_ok: dict[tuple[frozenset[str], frozenset[str]], BoolArray] = {}

    def fill(self, order: OrderView, want: int) -> tuple[list[int], list[int]]:
        """Give the order the best lots it can take: (lot ids, kg each); ``kg`` is updated."""
        lot_ids: list[int] = []
        takes: list[int] = []
        if want <= 0:
            return lot_ids, takes
        cands = self._candidates(order)
        if cands is None:
            return lot_ids, takes
        kg = self.kg
        ids = self.table.ids
        while want > 0:
            need = min_take(order, want)
            left = kg[cands]
            usable = left >= (need if need > 0 else 1)
            chosen = cands[usable]
            if not len(chosen):
                break
            sizes = left[usable]
            reach = sizes.cumsum()
            n = int(reach.searchsorted(want))  # the first lot that completes the order
            if n < len(chosen):
                whole, last = chosen[:n], int(chosen[n])
                part = want - (int(reach[n - 1]) if n else 0)
                lot_ids += ids[whole].tolist()
                takes += sizes[:n].tolist()
                lot_ids.append(int(ids[last]))
                takes.append(part)
                kg[whole] = 0
                kg[last] -= part
                want = 0
            else:
                lot_ids += ids[chosen].tolist()
                takes += sizes.tolist()
                kg[chosen] = 0
                want -= int(reach[-1])
            # Once what is left falls under the minimum lot, smaller lots passed over earlier
            # can complete the order (the top-up rule), so look once more.
            if min_take(order, want) >= need:
                break
        return lot_ids, takes

    def _candidates(self, order: OrderView) -> IntArray | None:
        """Ranks of lots compatible with the order on every rule but volume, best first."""
        table = self.table
        perishes = table.perishes.get(order.product)
        if not perishes:
            return None
        attr_ok = self._attr_filter(order)
        first, last, price, product = (
            order.pickup_from.toordinal(),
            order.pickup_to.toordinal(),
            order.price,
            order.product,
        )
        parts: list[IntArray] = []
        for name, places, skip in self._places(order):
            layout = table.layouts[name]
            groups = layout.groups
            for place in places:
                for perish in perishes:
                    group = groups.get(
                        (name, product, perish) if place is None else (name, product, place, perish)
                    )
                    if group is None:
                        continue
                    # Rows ready by ``last`` whose window may still be open on ``first``.
                    lo, hi, span = group
                    a, b = layout.rf[lo:hi].searchsorted((first - span, last + 1)).tolist()
                    if a >= b:
                        continue
                    a += lo
                    b += lo
                    ok = layout.rt[a:b] >= first
                    ok &= layout.minp[a:b] <= price  # type: ignore[index]
                    if attr_ok is not None:
                        ok &= attr_ok[layout.attr[a:b]]
                    if skip:
                        prov = layout.prov[a:b]
                        for v in skip:
                            ok &= prov != v
                    found = layout.rank[a:b][ok]
                    if len(found):
                        parts.append(found)
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        # Groups are disjoint (a point list skips lots the province lists already offer).
        found = np.concatenate(parts)
        found.sort()
        return found

    @staticmethod
    def _places(order: OrderView) -> list[tuple[str, tuple[int | None, ...], frozenset[int]]]:
        if order.anywhere:
            return [("p", (None,), frozenset())]
        return [
            ("v", tuple(order.provinces), frozenset()),
            # A lot at a listed point inside a listed province is already in the province list.
            ("c", tuple(order.collection_points), order.provinces),
        ]

    def _attr_filter(self, order: OrderView) -> BoolArray | None:
        """Per (grade, certifications) code: does the order accept it? None when it takes all."""
        grades, certs = order.grades, order.required_certs
        if not grades and not certs:
            return None
        key = (grades, certs)
        if key not in self._attr_ok:
            attrs = self.table.attrs
            self._attr_ok[key] = np.fromiter(
                ((not grades or g in grades) and certs <= c for g, c in attrs), np.bool_, len(attrs)
            )
        return self._attr_ok[key]
