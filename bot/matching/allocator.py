"""Allocate open lot volume to open orders: the whole book at once, or one new lot/order.

Priorities (DESIGN.md "Matching rules"): each order takes the most perishable, earliest-ready,
earliest-posted lots first, and a new lot goes to the best-paying orders that want it.

Re-planning the whole book serves orders in *slack bands* first and by price second. An
order's slack is the compatible open supply minus the volume it wants; orders with little
room (a narrow window, one collection point, GlobalGAP only) go before orders that can be
filled from anywhere, and within a band of ``SLACK_BAND_KG`` the higher price goes first.
Serving strictly by price leaves 7-8 % of the achievable volume unsold on a synthetic season
(flexible high bidders take the lots that restricted buyers needed); slack bands recover most
of it (scripts/bench_matching.py compares with the max-flow optimum). The slack comes from
:class:`bot.matching.slack.SupplyEstimator`: exact supply would cost a scan of every pair.
Everything is deterministic: every tie ends at an id.

The whole-book plan fills orders with :class:`bot.matching.batch.BatchFill`, a vectorised
(numpy) twin of :func:`_fill_order` over a columnar snapshot of the book that makes the same
choices; a new lot or order is matched with the book's own indexes (microseconds, no numpy).
"""

from __future__ import annotations

from collections.abc import Iterable
from time import perf_counter

from bot.matching.batch import BatchFill
from bot.matching.book import OrderBook
from bot.matching.compat import fits, min_take
from bot.matching.model import Allocation, LotView, OrderView, PriceFloors
from bot.matching.slack import SupplyEstimator
from bot.matching.table import gc_paused

SLACK_BAND_KG = 10_000
"""Orders whose slack differs by less than this compete on price (10 tấn: one truck)."""


def plan_batch(lots: Iterable[LotView], orders: Iterable[OrderView], floors: PriceFloors) -> list[Allocation]:
    """Re-plan the whole open book; allocations sorted by (lot id, order id), one per pair."""
    return plan_book(OrderBook(lots, orders), floors)


def plan_book(
    book: OrderBook,
    floors: PriceFloors,
    *,
    slack_band_kg: int | None = SLACK_BAND_KG,
    timings: dict[str, float] | None = None,
) -> list[Allocation]:
    """Plan every open order of ``book`` and apply the result to it, leaving it settled.

    ``slack_band_kg=None`` serves strictly by price (the fairness-only baseline). A
    ``timings`` dict receives the seconds spent per phase (snapshot, slack, fill, settle).
    """
    with gc_paused():
        return _plan_book(book, floors, slack_band_kg, {} if timings is None else timings)


def _plan_book(
    book: OrderBook, floors: PriceFloors, slack_band_kg: int | None, timings: dict[str, float]
) -> list[Allocation]:
    started = perf_counter()
    orders = [book.order(i) for i in book.open_order_ids()]
    if not orders:
        return []
    table = book._lot_table()
    if not len(table):
        return []
    timings["snapshot_s"] = (lap := perf_counter()) - started
    if slack_band_kg is None:
        orders.sort(key=OrderView.priority)
    else:
        supply = SupplyEstimator(table, floors)
        band: dict[int, int] = {}
        for order in orders:
            want = book.order_kg(order.id)
            band[order.id] = (supply.supply_kg(order, want) - want) // slack_band_kg
        orders.sort(key=lambda o: (band[o.id], *o.priority()))
    timings["slack_s"] = -lap + (lap := perf_counter())
    fill = BatchFill(table, floors)
    flows: list[tuple[int, int, int, int]] = []
    left: dict[int, int] = {}
    for order in orders:
        want = book.order_kg(order.id)
        lot_ids, takes = fill.fill(order, want)
        if lot_ids:
            order_id, price = order.id, order.price
            flows.extend((lot_id, order_id, kg, price) for lot_id, kg in zip(lot_ids, takes, strict=True))
            left[order_id] = want - sum(takes)
    timings["fill_s"] = -lap + (lap := perf_counter())
    book._settle(table, fill.kg, left)
    flows.sort()
    allocations = [Allocation(*flow) for flow in flows]
    timings["settle_s"] = perf_counter() - lap
    return allocations


def match_incremental(new: LotView | OrderView, book: OrderBook, floors: PriceFloors) -> list[Allocation]:
    """Add a new lot or order to the book and allocate it against what is open.

    The allocations are applied to the book at once (the volume is reserved for the proposals).
    """
    if isinstance(new, LotView):
        book.add_lot(new)
        return [
            Allocation(new.id, order_id, kg, book.order(order_id).price)
            for order_id, kg in _fill_lot(new, book, floors)
        ]
    book.add_order(new)
    return [Allocation(lot_id, new.id, kg, new.price) for lot_id, kg in _fill_order(new, book, floors)]


def _fill_order(order: OrderView, book: OrderBook, floors: PriceFloors) -> list[tuple[int, int]]:
    """Give one order the best lots it can take; apply to the book; (lot id, kg) per lot."""
    want = book.order_kg(order.id)
    taken: dict[int, int] = {}
    while want > 0:
        need_before = min_take(order, want)
        takes: list[tuple[int, int]] = []
        for lot_id, kg in book.compatible_lots(order, floors, need_before):
            x = kg if kg < want else want
            takes.append((lot_id, x))
            want -= x
            if not want:
                break
        # Applied after the scan: taking may unindex a lot from the list being scanned.
        for lot_id, x in takes:
            book.take(lot_id, order.id, x)
            taken[lot_id] = taken.get(lot_id, 0) + x
        # Once what is left falls under the minimum lot, smaller lots passed over earlier can
        # complete the order (the top-up rule), so look once more.
        if not takes or min_take(order, want) >= need_before:
            break
    return sorted(taken.items())


def _fill_lot(lot: LotView, book: OrderBook, floors: PriceFloors) -> list[tuple[int, int]]:
    """Give one lot to the best-paying orders that take it; apply to the book; (order id, kg)."""
    have = book.lot_kg(lot.id)
    takes: list[tuple[int, int]] = []
    for order_id in book.order_candidates(lot):
        order = book.order(order_id)
        want = book.order_kg(order_id)
        if not fits(lot, order, floors, have, want):
            continue
        x = have if have < want else want
        takes.append((order_id, x))
        have -= x
        if not have:
            break
    for order_id, x in takes:
        book.take(lot.id, order_id, x)
    return takes
