"""The open book: lots and orders with volume left, indexed the way the matcher searches them.

Lots are kept in lists sorted by priority (perishable days, ready date, posting order, id), one
list per product, per (product, province) and per (product, collection point), each list
holding one perishable-days value so that a pickup window is a ``bisect`` away. Orders are kept
in lists sorted by price (best first), for traders buying anywhere, per province and per
collection point. Insert and remove are a ``bisect`` plus a list memmove: microseconds at the
size of a season (a few thousand entries per list).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, timedelta

from bot.matching.model import LotView, OrderView, PriceFloors

# (perishable_days, ready_from, posted_seq, id, ready_to, province, point, grade, certs, ask):
# sorted by the first four (ids are unique, so the rest never takes part in a comparison) and
# carrying the rest so that the search loop reads no LotView attributes.
type _LotEntry = tuple[int, date, int, int, date, int, int, str, frozenset[str], int | None]
type _OrderKey = tuple[int, int, int]  # (-price, posted_seq, id)


class _LotList:
    """Lots of one product and place with one perishable-days value, in priority order."""

    __slots__ = ("entries", "span")

    def __init__(self) -> None:
        self.entries: list[_LotEntry] = []
        self.span = 0  # longest ready window (days) ever held: bounds the bisect on ready_from


class OrderBook:
    """Open lots and orders with their remaining volumes; what the matcher allocates from."""

    def __init__(self, lots: Iterable[LotView] = (), orders: Iterable[OrderView] = ()) -> None:
        self._lots: dict[int, LotView] = {}
        self._orders: dict[int, OrderView] = {}
        self._lot_kg: dict[int, int] = {}
        self._order_kg: dict[int, int] = {}
        self._lot_lists: dict[tuple[object, ...], _LotList] = {}
        self._perish: dict[str, list[int]] = {}  # product -> sorted perishable-days values seen
        self._order_lists: dict[tuple[object, ...], list[_OrderKey]] = {}
        # Bulk load appends then sorts each list once, far cheaper than one insort per item.
        for lot in lots:
            self._put_lot(lot, lot.remaining_kg, bulk=True)
        for order in orders:
            self._put_order(order, order.remaining_kg, bulk=True)
        for lot_list in self._lot_lists.values():
            lot_list.entries.sort()
        for order_list in self._order_lists.values():
            order_list.sort()

    # -- reading --------------------------------------------------------------------------

    def lot(self, lot_id: int) -> LotView:
        """The lot as it was added (its ``remaining_kg`` is stale; see :meth:`lot_kg`)."""
        return self._lots[lot_id]

    def order(self, order_id: int) -> OrderView:
        """The order as it was added (its ``remaining_kg`` is stale; see :meth:`order_kg`)."""
        return self._orders[order_id]

    def lot_kg(self, lot_id: int) -> int:
        """Volume of the lot not yet allocated (0 when unknown)."""
        return self._lot_kg.get(lot_id, 0)

    def order_kg(self, order_id: int) -> int:
        """Volume the order still wants (0 when unknown)."""
        return self._order_kg.get(order_id, 0)

    def open_lot_ids(self) -> list[int]:
        """Ids of lots with volume left, ascending."""
        return sorted(i for i, kg in self._lot_kg.items() if kg)

    def open_order_ids(self) -> list[int]:
        """Ids of orders still wanting volume, ascending."""
        return sorted(i for i, kg in self._order_kg.items() if kg)

    def open_lots(self) -> list[LotView]:
        """Lots with volume left, as views carrying their current remaining, by id."""
        return [replace(self._lots[i], remaining_kg=kg) for i, kg in sorted(self._lot_kg.items()) if kg]

    def open_orders(self) -> list[OrderView]:
        """Orders still wanting volume, as views carrying their current remaining, by id."""
        return [replace(self._orders[i], remaining_kg=kg) for i, kg in sorted(self._order_kg.items()) if kg]

    def __contains__(self, item: LotView | OrderView) -> bool:
        return item.id in (self._lots if isinstance(item, LotView) else self._orders)

    # -- writing --------------------------------------------------------------------------

    def add_lot(self, lot: LotView) -> None:
        """Add (or replace) a lot; its ``remaining_kg`` is the volume on offer."""
        self.remove_lot(lot.id)
        self._put_lot(lot, lot.remaining_kg, bulk=False)

    def add_order(self, order: OrderView) -> None:
        """Add (or replace) an order; its ``remaining_kg`` is the volume wanted."""
        self.remove_order(order.id)
        self._put_order(order, order.remaining_kg, bulk=False)

    def remove_lot(self, lot_id: int) -> None:
        """Forget a lot (cancelled, expired, fully matched); unknown ids are ignored."""
        lot = self._lots.pop(lot_id, None)
        if lot is not None and self._lot_kg.pop(lot_id):
            self._unindex_lot(lot)

    def remove_order(self, order_id: int) -> None:
        """Forget an order (cancelled, expired, fully matched); unknown ids are ignored."""
        order = self._orders.pop(order_id, None)
        if order is not None and self._order_kg.pop(order_id):
            self._unindex_order(order)

    def update_lot_kg(self, lot_id: int, kg: int) -> None:
        """Set a lot's unallocated volume (0 takes it out of the search, keeps it known)."""
        old = self._lot_kg[lot_id]
        self._lot_kg[lot_id] = kg
        if old and not kg:
            self._unindex_lot(self._lots[lot_id])
        elif kg and not old:
            self._index_lot(self._lots[lot_id], bulk=False)

    def update_order_kg(self, order_id: int, kg: int) -> None:
        """Set an order's wanted volume (0 takes it out of the search, keeps it known)."""
        old = self._order_kg[order_id]
        self._order_kg[order_id] = kg
        if old and not kg:
            self._unindex_order(self._orders[order_id])
        elif kg and not old:
            self._index_order(self._orders[order_id], bulk=False)

    def take(self, lot_id: int, order_id: int, kg: int) -> None:
        """Reserve ``kg`` of a lot for an order (a proposal was made)."""
        self.update_lot_kg(lot_id, self._lot_kg[lot_id] - kg)
        self.update_order_kg(order_id, self._order_kg[order_id] - kg)

    def release(self, lot_id: int, order_id: int, kg: int) -> None:
        """Give back ``kg`` reserved by :meth:`take` (a proposal was declined or expired)."""
        if lot_id in self._lots:
            self.update_lot_kg(lot_id, self._lot_kg[lot_id] + kg)
        if order_id in self._orders:
            self.update_order_kg(order_id, self._order_kg[order_id] + kg)

    # -- searching ------------------------------------------------------------------------

    def compatible_lots(self, order: OrderView, floors: PriceFloors, need: int) -> Iterator[tuple[int, int]]:
        """(lot id, kg) of open lots the order may take, holding at least ``need`` kg, best first.

        Applies every rule of :func:`bot.matching.compat.fits` except the order's own volume;
        inlined over the index entries because this loop is where the matcher spends its time.
        """
        lists = self._lot_lists
        scans = [
            self._scan_lots(lists[k], order, floors, need, skip)
            for k, skip in self._lot_keys_for(order)
            if k in lists
        ]
        if len(scans) == 1:
            return ((entry[3], kg) for entry, kg in scans[0])
        return ((entry[3], kg) for entry, kg in heapq.merge(*scans))

    def _lot_keys_for(self, order: OrderView) -> list[tuple[tuple[object, ...], frozenset[int] | None]]:
        """Index lists covering the order's region, each with the provinces to skip in it."""
        keys: list[tuple[tuple[object, ...], frozenset[int] | None]] = []
        for perish in self._perish.get(order.product, ()):
            if order.anywhere:
                keys.append((("p", order.product, perish), None))
                continue
            keys.extend((("v", order.product, v, perish), None) for v in order.provinces)
            # A lot at a listed point inside a listed province is already in the province list.
            skip = order.provinces or None
            keys.extend((("c", order.product, c, perish), skip) for c in order.collection_points)
        return keys

    def _scan_lots(
        self,
        lot_list: _LotList,
        order: OrderView,
        floors: PriceFloors,
        need: int,
        skip_provinces: frozenset[int] | None,
    ) -> Iterator[tuple[_LotEntry, int]]:
        entries = lot_list.entries
        if not entries:
            return
        start = bisect_left(entries, (entries[0][0], order.pickup_from - timedelta(days=lot_list.span)))
        first, last = order.pickup_from, order.pickup_to
        grades, certs, price, product = order.grades, order.required_certs, order.price, order.product
        lot_kg = self._lot_kg
        floor_ok: dict[int, bool] = {}  # province -> order price clears its floor
        for i in range(start, len(entries)):
            entry = entries[i]
            if entry[1] > last:
                return
            if entry[4] < first:
                continue
            kg = lot_kg[entry[3]]
            if kg < need or (grades and entry[7] not in grades) or (certs and not certs <= entry[8]):
                continue
            ask = entry[9]
            if ask is not None and price < ask:
                continue
            province = entry[5]
            if skip_provinces is not None and province in skip_provinces:
                continue
            ok = floor_ok.get(province)
            if ok is None:
                floor = floors.get((product, province))
                ok = floor_ok[province] = floor is None or price >= floor
            if ok:
                yield entry, kg

    def order_candidates(self, lot: LotView) -> Iterator[int]:
        """Ids of open orders that may want the lot (product, place, price vs ask), best price first.

        Only the indexed criteria are applied; the caller checks the rest with ``compat``.
        """
        lists = self._order_lists
        ask = lot.asking_price
        scans = []
        for key in (
            ("p", lot.product),
            ("v", lot.product, lot.province_code),
            ("c", lot.product, lot.collection_point_id),
        ):
            entries = lists.get(key)
            if entries:
                skip = lot.province_code if key[0] == "c" else None
                scans.append(self._scan_orders(entries, ask, skip))
        if len(scans) == 1:
            return (entry[2] for entry in scans[0])
        return (entry[2] for entry in heapq.merge(*scans))

    def _scan_orders(
        self, entries: list[_OrderKey], ask: int | None, skip_province: int | None
    ) -> Iterator[_OrderKey]:
        orders = self._orders
        for entry in entries:
            if ask is not None and -entry[0] < ask:
                return  # sorted by price: nobody further down pays the asking price
            if skip_province is not None and skip_province in orders[entry[2]].provinces:
                continue  # the province list already offered this order
            yield entry

    # -- indexing -------------------------------------------------------------------------

    def _put_lot(self, lot: LotView, kg: int, *, bulk: bool) -> None:
        self._lots[lot.id] = lot
        self._lot_kg[lot.id] = kg
        if kg:
            self._index_lot(lot, bulk=bulk)

    def _put_order(self, order: OrderView, kg: int, *, bulk: bool) -> None:
        self._orders[order.id] = order
        self._order_kg[order.id] = kg
        if kg:
            self._index_order(order, bulk=bulk)

    @staticmethod
    def _lot_keys(lot: LotView) -> tuple[tuple[object, ...], ...]:
        p, d = lot.product, lot.perishable_days
        return (("p", p, d), ("v", p, lot.province_code, d), ("c", p, lot.collection_point_id, d))

    @staticmethod
    def _order_keys(order: OrderView) -> list[tuple[object, ...]]:
        if order.anywhere:
            return [("p", order.product)]
        keys: list[tuple[object, ...]] = [("v", order.product, v) for v in order.provinces]
        keys.extend(("c", order.product, c) for c in order.collection_points)
        return keys

    @staticmethod
    def _lot_entry(lot: LotView) -> _LotEntry:
        return (
            lot.perishable_days,
            lot.ready_from,
            lot.posted_seq,
            lot.id,
            lot.ready_to,
            lot.province_code,
            lot.collection_point_id,
            lot.grade,
            lot.certifications,
            lot.asking_price,
        )

    def _index_lot(self, lot: LotView, *, bulk: bool) -> None:
        entry = self._lot_entry(lot)
        span = (lot.ready_to - lot.ready_from).days
        perishes = self._perish.setdefault(lot.product, [])
        if lot.perishable_days not in perishes:
            insort(perishes, lot.perishable_days)
        for key in self._lot_keys(lot):
            lot_list = self._lot_lists.get(key)
            if lot_list is None:
                lot_list = self._lot_lists[key] = _LotList()
            if span > lot_list.span:
                lot_list.span = span
            if bulk:
                lot_list.entries.append(entry)
            else:
                insort(lot_list.entries, entry)

    def _unindex_lot(self, lot: LotView) -> None:
        entry = self._lot_entry(lot)
        for key in self._lot_keys(lot):
            entries = self._lot_lists[key].entries
            del entries[bisect_left(entries, entry)]

    def _index_order(self, order: OrderView, *, bulk: bool) -> None:
        entry = (-order.price, order.posted_seq, order.id)
        for key in self._order_keys(order):
            entries = self._order_lists.setdefault(key, [])
            if bulk:
                entries.append(entry)
            else:
                insort(entries, entry)

    def _unindex_order(self, order: OrderView) -> None:
        entry = (-order.price, order.posted_seq, order.id)
        for key in self._order_keys(order):
            entries = self._order_lists[key]
            del entries[bisect_left(entries, entry)]
