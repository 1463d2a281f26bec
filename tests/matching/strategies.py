"""Hypothesis strategies for small matching instances (one or two products, a few places)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from bot.matching.model import LotView, OrderView

DAY0 = date(2026, 9, 15)
PRODUCTS = ("na", "hong_vanh_khuyen")
PROVINCES = (20, 24)
POINTS = {1: 20, 2: 20, 3: 24}  # collection point -> province
CERTS = ("vietgap", "globalgap", "growing_area_code")
FLOORS = {("na", 20): 20_000, ("hong_vanh_khuyen", 24): 15_000}

kgs = st.integers(0, 12).map(lambda n: n * 500)
prices = st.sampled_from((14_000, 18_000, 22_000, 26_000))


@st.composite
def lots(draw: st.DrawFn, lot_id: int) -> LotView:
    point = draw(st.sampled_from(sorted(POINTS)))
    start = draw(st.integers(0, 8))
    return LotView(
        id=lot_id,
        product=draw(st.sampled_from(PRODUCTS)),
        remaining_kg=draw(kgs),
        grade=draw(st.sampled_from(("1", "2", "xo"))),
        certifications=frozenset(draw(st.sets(st.sampled_from(CERTS), max_size=2))),
        collection_point_id=point,
        province_code=POINTS[point],
        ready_from=DAY0 + timedelta(days=start),
        ready_to=DAY0 + timedelta(days=start + draw(st.integers(0, 4))),
        asking_price=draw(st.none() | prices),
        perishable_days=draw(st.sampled_from((5, 10))),
        posted_seq=draw(st.integers(0, 5)),
    )


@st.composite
def orders(draw: st.DrawFn, order_id: int) -> OrderView:
    start = draw(st.integers(0, 8))
    return OrderView(
        id=order_id,
        product=draw(st.sampled_from(PRODUCTS)),
        remaining_kg=draw(kgs),
        price=draw(prices),
        min_lot_kg=draw(st.sampled_from((0, 0, 1_000, 2_000))),
        pickup_from=DAY0 + timedelta(days=start),
        pickup_to=DAY0 + timedelta(days=start + draw(st.integers(0, 4))),
        provinces=frozenset(draw(st.sets(st.sampled_from(PROVINCES), max_size=1))),
        collection_points=frozenset(draw(st.sets(st.sampled_from(sorted(POINTS)), max_size=1))),
        grades=frozenset(draw(st.sets(st.sampled_from(("1", "2", "xo")), max_size=2))),
        required_certs=frozenset(draw(st.sets(st.sampled_from(CERTS), max_size=1))),
        posted_seq=draw(st.integers(0, 5)),
    )


@st.composite
def books(draw: st.DrawFn, max_lots: int = 8, max_orders: int = 6) -> tuple[list[LotView], list[OrderView]]:
    n_lots = draw(st.integers(0, max_lots))
    n_orders = draw(st.integers(0, max_orders))
    return [draw(lots(i + 1)) for i in range(n_lots)], [draw(orders(100 + i)) for i in range(n_orders)]
