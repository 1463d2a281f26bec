"""The bulk paths (numpy table, bulk load, vectorised batch fill) agree with the scalar ones."""

from __future__ import annotations

import gc
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.allocator import SLACK_BAND_KG, _fill_order, plan_batch, plan_book
from bot.matching.book import OrderBook
from bot.matching.model import Allocation, LotView, OrderView, PriceFloors
from bot.matching.slack import SupplyEstimator
from bot.matching.table import gc_paused
from tests.matching.strategies import DAY0, FLOORS, books


def scalar_plan(
    lots: list[LotView], orders: list[OrderView], floors: PriceFloors, band_kg: int | None
) -> tuple[list[Allocation], OrderBook]:
    """The batch plan made one lot at a time with the book's own search (the incremental path)."""
    book = OrderBook()
    for lot in lots:
        book.add_lot(lot)
    for order in orders:
        book.add_order(order)
    queue = [book.order(i) for i in book.open_order_ids()]
    if band_kg is None:
        queue.sort(key=OrderView.priority)
    else:
        supply = SupplyEstimator([(book.lot(i), book.lot_kg(i)) for i in book.open_lot_ids()], floors)
        band = {
            o.id: (supply.supply_kg(o, book.order_kg(o.id)) - book.order_kg(o.id)) // band_kg for o in queue
        }
        queue.sort(key=lambda o: (band[o.id], *o.priority()))
    flows = {}
    for order in queue:
        for lot_id, kg in _fill_order(order, book, floors):
            flows[lot_id, order.id] = kg
    return [
        Allocation(lot, order, kg, book.order(order).price) for (lot, order), kg in sorted(flows.items())
    ], book


def index_state(book: OrderBook) -> tuple[object, ...]:
    """Everything the book searches with: volumes, lot lists (entries and spans), order lists."""
    return (
        {i: kg for i, kg in book._lot_kg.items() if kg},
        {i: kg for i, kg in book._order_kg.items() if kg},
        {k: (v.entries, v.span) for k, v in book._lot_lists.items() if v.entries},
        {k: v for k, v in book._order_lists.items() if v},
        {p: v for p, v in book._perish.items() if v},
    )


def incremental_book(lots: list[LotView], orders: list[OrderView]) -> OrderBook:
    book = OrderBook()
    for lot in lots:
        book.add_lot(lot)
    for order in orders:
        book.add_order(order)
    return book


@settings(max_examples=60, deadline=None)
@given(books(max_lots=20, max_orders=8), st.sampled_from([SLACK_BAND_KG, 2_000, None]))
def test_bulk_paths_make_the_same_choices_as_the_scalar_search(
    book: tuple[list[LotView], list[OrderView]], band_kg: int | None
) -> None:
    lots, orders = book
    expected, settled = scalar_plan(lots, orders, FLOORS, band_kg)
    bulk = OrderBook(lots, orders)
    # The bulk load indexes like adding one lot and order at a time ...
    assert index_state(bulk) == index_state(incremental_book(lots, orders))
    # ... the vectorised fill picks the same lots as the book's search ...
    assert plan_book(bulk, FLOORS, slack_band_kg=band_kg) == expected
    # ... and plan_book leaves the book as taking each allocation one by one would.
    assert index_state(bulk) == index_state(settled)


@st.composite
def crowded_books(draw: st.DrawFn) -> tuple[list[LotView], list[OrderView]]:
    """Many small lots of one product for a few orders with minimum lots: partial fills, the
    top-up rule and competition for the same lots happen in most examples."""
    lots, orders = draw(books(max_lots=12, max_orders=5))
    sizes = st.integers(1, 12).map(lambda n: n * 250)
    lots = [
        replace(
            lot, product="na", remaining_kg=draw(sizes), ready_from=DAY0, ready_to=DAY0 + timedelta(days=3)
        )
        for lot in lots
    ]
    orders = [
        replace(
            order,
            product="na",
            remaining_kg=draw(st.integers(1, 16).map(lambda n: n * 500)),
            min_lot_kg=draw(st.sampled_from((0, 1_000, 1_500, 2_000))),
            pickup_from=DAY0,
            pickup_to=DAY0 + timedelta(days=2),
        )
        for order in orders
    ]
    return lots, orders


@settings(max_examples=60, deadline=None)
@given(crowded_books(), st.sampled_from([SLACK_BAND_KG, 2_000, None]))
def test_vectorised_fill_splits_and_tops_up_like_the_scalar_search(
    book: tuple[list[LotView], list[OrderView]], band_kg: int | None
) -> None:
    lots, orders = book
    expected, settled = scalar_plan(lots, orders, FLOORS, band_kg)
    bulk = OrderBook(lots, orders)
    assert plan_book(bulk, FLOORS, slack_band_kg=band_kg) == expected
    assert index_state(bulk) == index_state(settled)


def test_a_season_plans_like_the_scalar_search() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from bench_matching import SeasonMaker

    season = SeasonMaker(7).season(2_000, 200, 0)
    expected, settled = scalar_plan(season.lots, season.orders, season.floors, SLACK_BAND_KG)
    book = OrderBook(season.lots, season.orders)
    assert index_state(book) == index_state(incremental_book(season.lots, season.orders))
    timings: dict[str, float] = {}
    assert plan_book(book, season.floors, timings=timings) == expected
    assert set(timings) == {"snapshot_s", "slack_s", "fill_s", "settle_s"}
    assert index_state(book) == index_state(settled)
    # The settled book still serves incremental matching and a re-plan finds nothing more.
    assert plan_book(book, season.floors) == []
    assert plan_batch(book.open_lots(), book.open_orders(), season.floors) == []


def test_the_collector_is_paused_only_inside_and_left_as_found() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
