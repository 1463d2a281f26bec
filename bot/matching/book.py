"""The open book: lots and orders with volume left, indexed the way the matcher searches them.

Lots are kept in lists sorted by priority (perishable days, ready date, posting order, id), one
list per product, per (product, province) and per (product, collection point), each list
holding one perishable-days value so that a pickup window is a ``bisect`` away. Orders are kept
in lists sorted by price (best first), for traders buying anywhere, per province and per
collection point. Insert and remove are a ``bisect`` plus a list memmove: microseconds at the
size of a season (a few thousand entries per list).

Loading a whole book and planning it (``allocator.plan_book``) go through a columnar snapshot of
the open lots instead (:class:`bot.matching.table.LotTable`, numpy), kept until a lot changes.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import compress

import numpy as np

from bot.matching.model import LotView, OrderView, PriceFloors
from bot.matching.table import NO_PRICE, IntArray, LotTable, gc_paused

# (perishable_days, ready_from, posted_seq, id, ready_to, province, point, grade, certs, ask):
# sorted by the first four (ids are unique, so the rest never takes part in a comparison) and
# carrying the rest so that the search loop reads no LotView attributes. Dates are ordinals,
# the certifications a bit mask (see _cert_mask) and a missing asking price NO_PRICE: a tuple
# of ints and a string is zipped from table columns without a Python call per lot, and the
# garbage collector stops tracking it (a bulk load makes 100,000 of them).
type _LotEntry = tuple[int, int, int, int, int, int, int, str, int, int]
type _OrderKey = tuple[int, int, int]  # (-price, posted_seq, id)

_CERT_BITS: dict[str, int] = {}  # certification -> its bit, assigned on first sight
_CERT_MASKS: dict[frozenset[str], int] = {}


def _cert_mask(certs: frozenset[str]) -> int:
    """The bit mask of a set of certifications (``a <= b`` iff ``mask(a) & ~mask(b) == 0``)."""
    mask = _CERT_MASKS.get(certs)
    if mask is None:
        mask = 0
        for cert in certs:
            mask |= _CERT_BITS.setdefault(cert, 1 << len(_CERT_BITS))
        _CERT_MASKS[certs] = mask
    return mask


def _lot_entry(lot: LotView) -> _LotEntry:
    return (
        lot.perishable_days,
        lot.ready_from.toordinal(),
        lot.posted_seq,
        lot.id,
        lot.ready_to.toordinal(),
        lot.province_code,
        lot.collection_point_id,
        lot.grade,
        _cert_mask(lot.certifications),
        NO_PRICE if lot.asking_price is None else lot.asking_price,
    )


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
        # Columns of the open lots for bulk work (see _lot_table); dropped when a lot changes.
        self._table: LotTable | None = None
        with gc_paused():
            self._load(lots, orders)

    def _load(self, lots: Iterable[LotView], orders: Iterable[OrderView]) -> None:
        """Bulk load into an empty book.

        The lot table sorts and groups the lots once (numpy), far cheaper than an ``insort``
        per lot; each lot list is then a slice of one table layout, already in order, and the
        entries are zipped from the table's columns (equal to what :func:`_lot_entry` makes).
        """
        self._lots = {lot.id: lot for lot in lots}
        self._orders = {order.id: order for order in orders}
        self._lot_kg = {i: lot.remaining_kg for i, lot in self._lots.items()}
        self._order_kg = {i: order.remaining_kg for i, order in self._orders.items()}
        table = self._lot_table()
        if len(table):
            attr = table.attr.tolist()
            entries = list(
                zip(
                    table.perish.tolist(),
                    table.rf.tolist(),
                    table.seq.tolist(),
                    table.ids.tolist(),
                    table.rt.tolist(),
                    table.prov.tolist(),
                    table.point.tolist(),
                    map([grade for grade, _ in table.attrs].__getitem__, attr),
                    map([_cert_mask(certs) for _, certs in table.attrs].__getitem__, attr),
                    table.ask.tolist(),
                    strict=True,
                )
            )
            for name, layout in table.layouts.items():
                ordered = entries if name == "p" else list(map(entries.__getitem__, layout.rank.tolist()))
                for key, (lo, hi, span) in layout.groups.items():
                    lot_list = self._lot_lists[key] = _LotList()
                    lot_list.entries = ordered[lo:hi]
                    lot_list.span = span
            self._perish = {p: list(v) for p, v in table.perishes.items()}
        for order in self._orders.values():
            if self._order_kg[order.id]:
                self._index_order(order, bulk=True)
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
        if lot is not None:
            self._table = None
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
        self._table = None
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

    # -- bulk -----------------------------------------------------------------------------

    def _lot_table(self) -> LotTable:
        """Columns of the open lots with their current volumes (cached until a lot changes)."""
        if self._table is None:
            open_lots = [self._lots[i] for i, kg in self._lot_kg.items() if kg]
            self._table = LotTable(open_lots, [self._lot_kg[lot.id] for lot in open_lots])
        return self._table

    def _settle(self, table: LotTable, lot_kg: IntArray, order_kg: dict[int, int]) -> None:
        """Apply a whole-book plan: the lots of ``table`` now hold ``lot_kg`` (by rank), and
        the orders in ``order_kg`` want that much; emptied lots and orders leave the search.

        ``table`` must be the book's current snapshot (:meth:`_lot_table`), so that each lot
        list is exactly one group of a table layout and can be filtered by position.
        """
        if table is not self._table:
            raise ValueError("the plan was made on another snapshot of the book")
        changed = np.flatnonzero(lot_kg != table.kg)
        lot_kgs = self._lot_kg
        for lot_id, kg in zip(table.ids[changed].tolist(), lot_kg[changed].tolist(), strict=True):
            lot_kgs[lot_id] = kg
        if (lot_kg[changed] == 0).any():
            lists = self._lot_lists
            for layout in table.layouts.values():
                keep = (lot_kg[layout.rank] > 0).tolist()
                for key, (lo, hi, _span) in layout.groups.items():
                    lot_list = lists[key]
                    if len(lot_list.entries) == hi - lo:
                        lot_list.entries = list(compress(lot_list.entries, keep[lo:hi]))
                    else:  # never expected; filter by id rather than trust positions
                        lot_list.entries = [e for e in lot_list.entries if lot_kgs[e[3]]]
            # Lots left the search: the table's groups no longer line up with the lists.
            self._table = None
        else:
            table.kg = lot_kg
        gone: set[int] = set()
        order_kgs = self._order_kg
        for order_id, kg in order_kg.items():
            if order_kgs[order_id] and not kg:
                gone.add(order_id)
            order_kgs[order_id] = kg
        if gone:
            touched = {key for i in gone for key in self._order_keys(self._orders[i])}
            for key in touched:
                self._order_lists[key] = [e for e in self._order_lists[key] if e[2] not in gone]

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
        first, last = order.pickup_from.toordinal(), order.pickup_to.toordinal()
        start = bisect_left(entries, (entries[0][0], first - lot_list.span))
        grades, price, product = order.grades, order.price, order.product
        certs = _cert_mask(order.required_certs)
        lot_kg = self._lot_kg
        floor_ok: dict[int, bool] = {}  # province -> order price clears its floor
        for i in range(start, len(entries)):
            entry = entries[i]
            if entry[1] > last:
                return
            if entry[4] < first:
                continue
            kg = lot_kg[entry[3]]
            if kg < need or (grades and entry[7] not in grades) or (certs and certs & entry[8] != certs):
                continue
            if price < entry[9]:  # the asking price (NO_PRICE when none)
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
        self._table = None
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

    def _index_lot(self, lot: LotView, *, bulk: bool) -> None:
        entry = _lot_entry(lot)
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
        entry = _lot_entry(lot)
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
