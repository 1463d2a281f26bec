"""Invariants of the matcher on small random books."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.allocator import match_incremental, plan_batch
from bot.matching.book import OrderBook
from bot.matching.compat import fits, why_incompatible
from bot.matching.model import Allocation, LotView, OrderView
from tests.matching.strategies import FLOORS, books, lots, orders

FAST = settings(max_examples=150, deadline=None)


def assert_valid(allocations: list[Allocation], lots: list[LotView], orders: list[OrderView]) -> None:
    """No over-allocation; every pair compatible at the start; sub-minimum only as the final top-up."""
    lot_by_id = {lot.id: lot for lot in lots}
    order_by_id = {order.id: order for order in orders}
    per_lot: dict[int, int] = defaultdict(int)
    per_order: dict[int, int] = defaultdict(int)
    small: dict[int, int] = defaultdict(int)
    for a in allocations:
        lot, order = lot_by_id[a.lot_id], order_by_id[a.order_id]
        assert a.kg > 0
        assert a.price == order.price
        # The pair was compatible on volume grounds too, for the volume the allocation took.
        assert why_incompatible(lot, order, FLOORS, lot_kg=lot.remaining_kg, order_kg=a.kg) is None
        per_lot[a.lot_id] += a.kg
        per_order[a.order_id] += a.kg
        if a.kg < order.min_lot_kg:
            small[a.order_id] += 1
    for lot_id, kg in per_lot.items():
        assert kg <= lot_by_id[lot_id].remaining_kg
    for order_id, kg in per_order.items():
        assert kg <= order_by_id[order_id].remaining_kg
    for order_id, count in small.items():
        assert count == 1, "at most one allocation below the minimum lot per order"
        assert per_order[order_id] == order_by_id[order_id].remaining_kg, (
            "and only when it completes the order"
        )


def settle(lots: list[LotView], orders: list[OrderView], allocations: list[Allocation]) -> tuple[list, list]:
    used_lot: dict[int, int] = defaultdict(int)
    used_order: dict[int, int] = defaultdict(int)
    for a in allocations:
        used_lot[a.lot_id] += a.kg
        used_order[a.order_id] += a.kg
    return (
        [replace(lot, remaining_kg=lot.remaining_kg - used_lot[lot.id]) for lot in lots],
        [replace(order, remaining_kg=order.remaining_kg - used_order[order.id]) for order in orders],
    )


@FAST
@given(books())
def test_batch_respects_volumes_compatibility_and_minimum_lot(
    book: tuple[list[LotView], list[OrderView]],
) -> None:
    lots, orders = book
    assert_valid(plan_batch(lots, orders, FLOORS), lots, orders)


@FAST
@given(books())
def test_batch_on_a_settled_book_finds_nothing_more(book: tuple[list[LotView], list[OrderView]]) -> None:
    lots, orders = book
    left_lots, left_orders = settle(lots, orders, plan_batch(lots, orders, FLOORS))
    assert plan_batch(left_lots, left_orders, FLOORS) == []
    # Nothing compatible is left over either: the plan is maximal.
    assert not any(fits(lot, order, FLOORS) for lot in left_lots for order in left_orders)


@FAST
@given(books())
def test_batch_is_deterministic(book: tuple[list[LotView], list[OrderView]]) -> None:
    lots, orders = book
    assert plan_batch(lots, orders, FLOORS) == plan_batch(
        list(reversed(lots)), list(reversed(orders)), FLOORS
    )


@FAST
@given(books(), st.data())
def test_new_order_takes_only_what_is_open(
    book: tuple[list[LotView], list[OrderView]], data: st.DataObject
) -> None:
    lots, orders = book
    settled = OrderBook(lots, orders)
    batch = plan_batch(lots, orders, FLOORS)
    for a in batch:
        settled.take(a.lot_id, a.order_id, a.kg)
    open_lots = settled.open_lots()
    new = data.draw(orders_strategy(999))
    found = match_incremental(new, settled, FLOORS)
    assert_valid(found, open_lots, [new])
    assert sum(a.kg for a in found) <= min(new.remaining_kg, sum(lot.remaining_kg for lot in open_lots))
    # The book reflects the reservation, and a batch over it agrees that nothing is left to do.
    assert settled.order_kg(new.id) == new.remaining_kg - sum(a.kg for a in found)
    assert plan_batch(settled.open_lots(), settled.open_orders(), FLOORS) == []


@FAST
@given(books(), st.data())
def test_new_lot_goes_only_to_open_demand(
    book: tuple[list[LotView], list[OrderView]], data: st.DataObject
) -> None:
    lots, orders = book
    settled = OrderBook(lots, orders)
    for a in plan_batch(lots, orders, FLOORS):
        settled.take(a.lot_id, a.order_id, a.kg)
    open_orders = settled.open_orders()
    new = data.draw(lots_strategy(999))
    found = match_incremental(new, settled, FLOORS)
    assert_valid(found, [new], open_orders)
    assert settled.lot_kg(new.id) == new.remaining_kg - sum(a.kg for a in found)
    assert plan_batch(settled.open_lots(), settled.open_orders(), FLOORS) == []


@FAST
@given(lots(1), orders(2))
def test_fits_agrees_with_why_incompatible(lot: LotView, order: OrderView) -> None:
    assert fits(lot, order, FLOORS) == (why_incompatible(lot, order, FLOORS) is None)


@FAST
@given(books())
def test_book_search_agrees_with_fits(book: tuple[list[LotView], list[OrderView]]) -> None:
    lots, orders = book
    index = OrderBook(lots, orders)
    for order in orders:
        need = min(order.min_lot_kg, order.remaining_kg)
        found = {lot_id for lot_id, _ in index.compatible_lots(order, FLOORS, need)}
        expected = {
            lot.id
            for lot in lots
            if lot.remaining_kg and lot.remaining_kg >= need and fits(lot, order, FLOORS)
        }
        assert found == expected if order.remaining_kg else True


orders_strategy = orders
lots_strategy = lots
