"""The matcher in situations a Lạng Sơn campaign officer would recognise."""

from __future__ import annotations

from datetime import date

from bot.catalog import CATALOG
from bot.matching.allocator import match_incremental, plan_batch
from bot.matching.book import OrderBook
from bot.matching.compat import why_incompatible
from bot.matching.model import Allocation, LotView, OrderView

LANG_SON = 20
CHI_LANG_POINT = 7  # điểm tập kết Chi Lăng
VAN_LANG_POINT = 8
NA_FLOOR = {("na", LANG_SON): 22_500}  # giá tham chiếu 25.000 ₫/kg minus 10 %


def na_lot(
    lot_id: int, kg: int, *, ready: int = 10, product: str = "na", seq: int = 1, **kw: object
) -> LotView:
    p = CATALOG.get(product)
    assert p is not None
    fields: dict[object, object] = dict(
        id=lot_id,
        product=product,
        remaining_kg=kg,
        grade="1",
        certifications=frozenset({"vietgap"}),
        collection_point_id=CHI_LANG_POINT,
        province_code=LANG_SON,
        ready_from=date(2026, 8, ready),
        ready_to=date(2026, 8, ready + 3),
        asking_price=None,
        perishable_days=p.perishable_days,
        posted_seq=seq,
    )
    fields.update(kw)
    return LotView(**fields)  # type: ignore[arg-type]


def order(order_id: int, kg: int, price: int, *, seq: int = 1, **kw: object) -> OrderView:
    fields: dict[object, object] = dict(
        id=order_id,
        product="na",
        remaining_kg=kg,
        price=price,
        min_lot_kg=0,
        pickup_from=date(2026, 8, 10),
        pickup_to=date(2026, 8, 15),
        provinces=frozenset({LANG_SON}),
        collection_points=frozenset(),
        grades=frozenset(),
        required_certs=frozenset(),
        posted_seq=seq,
    )
    fields.update(kw)
    return OrderView(**fields)  # type: ignore[arg-type]


def test_three_tan_of_na_go_to_the_higher_price() -> None:
    lot = na_lot(1, 3_000)
    cheap, generous = order(10, 3_000, 25_000, seq=1), order(11, 3_000, 28_000, seq=2)
    assert plan_batch([lot], [cheap, generous], NA_FLOOR) == [Allocation(1, 11, 3_000, 28_000)]


def test_equal_prices_go_to_the_trader_who_posted_first() -> None:
    lot = na_lot(1, 3_000)
    early, late = order(10, 3_000, 25_000, seq=5), order(11, 3_000, 25_000, seq=9)
    assert plan_batch([lot], [late, early], NA_FLOOR) == [Allocation(1, 10, 3_000, 25_000)]


def test_the_more_perishable_and_earlier_lot_is_sold_first() -> None:
    # A trader wants 3 tấn; na (keeps 5 days) and thạch đen (keeps a year) cannot compete,
    # so compare two na lots: the one ready earlier goes first, then the one posted earlier.
    later = na_lot(1, 3_000, ready=12, seq=1)
    earlier = na_lot(2, 3_000, ready=10, seq=2)
    same_day_posted_later = na_lot(3, 3_000, ready=10, seq=3)
    buyer = order(10, 3_000, 25_000)
    assert plan_batch([later, same_day_posted_later, earlier], [buyer], NA_FLOOR) == [
        Allocation(2, 10, 3_000, 25_000)
    ]
    fresher = na_lot(4, 3_000, perishable_days=2, ready=11)
    assert plan_batch([earlier, fresher], [buyer], NA_FLOOR) == [Allocation(4, 10, 3_000, 25_000)]


def test_order_below_the_floor_gets_nothing_and_says_why() -> None:
    lot = na_lot(1, 3_000)
    ep_gia = order(10, 3_000, 18_000)
    assert plan_batch([lot], [ep_gia], NA_FLOOR) == []
    assert why_incompatible(lot, ep_gia, NA_FLOOR) == "below_floor"
    # Without a reference price in the province there is no floor to fall under.
    assert plan_batch([lot], [ep_gia], {}) == [Allocation(1, 10, 3_000, 18_000)]


def test_one_lot_is_split_and_one_order_is_filled_from_several_lots() -> None:
    lots = [na_lot(1, 3_000), na_lot(2, 2_000, ready=11)]
    orders = [order(10, 4_000, 27_000), order(11, 5_000, 26_000)]
    assert plan_batch(lots, orders, NA_FLOOR) == [
        Allocation(1, 10, 3_000, 27_000),
        Allocation(2, 10, 1_000, 27_000),
        Allocation(2, 11, 1_000, 26_000),
    ]


def test_reasons_for_a_mismatch() -> None:
    lot = na_lot(1, 3_000, asking_price=26_000)
    assert why_incompatible(lot, order(10, 1_000, 27_000, product="hong_vanh_khuyen"), NA_FLOOR) == "product"
    assert (
        why_incompatible(
            lot,
            order(10, 1_000, 27_000, pickup_from=date(2026, 8, 20), pickup_to=date(2026, 8, 25)),
            NA_FLOOR,
        )
        == "window"
    )
    assert why_incompatible(lot, order(10, 1_000, 27_000, provinces=frozenset({24})), NA_FLOOR) == "region"
    # The collection point alone is enough when the trader names it.
    assert (
        why_incompatible(
            lot,
            order(
                10, 1_000, 27_000, provinces=frozenset({24}), collection_points=frozenset({CHI_LANG_POINT})
            ),
            NA_FLOOR,
        )
        is None
    )
    assert (
        why_incompatible(
            lot,
            order(10, 1_000, 27_000, provinces=frozenset(), collection_points=frozenset({VAN_LANG_POINT})),
            NA_FLOOR,
        )
        == "region"
    )
    assert why_incompatible(lot, order(10, 1_000, 27_000, grades=frozenset({"xo"})), NA_FLOOR) == "grade"
    assert (
        why_incompatible(lot, order(10, 1_000, 27_000, required_certs=frozenset({"globalgap"})), NA_FLOOR)
        == "certs"
    )
    assert why_incompatible(lot, order(10, 1_000, 25_000), NA_FLOOR) == "price_below_ask"
    assert why_incompatible(lot, order(10, 10_000, 27_000, min_lot_kg=5_000), NA_FLOOR) == "min_lot"


def test_minimum_lot_is_respected_except_to_finish_an_order() -> None:
    # 10 tấn wanted, 3 tấn minimum: a 2-tấn lot is too small until 9 tấn are in.
    lots = [na_lot(1, 2_000, ready=10), na_lot(2, 4_500, ready=11), na_lot(3, 4_500, ready=12)]
    buyer = order(10, 10_000, 27_000, min_lot_kg=3_000)
    assert plan_batch(lots, [buyer], NA_FLOOR) == [
        Allocation(1, 10, 1_000, 27_000),
        Allocation(2, 10, 4_500, 27_000),
        Allocation(3, 10, 4_500, 27_000),
    ]


def test_a_new_order_is_matched_against_the_open_lots_and_reserves_them() -> None:
    book = OrderBook([na_lot(1, 3_000), na_lot(2, 5_000, ready=12)])
    assert match_incremental(order(10, 4_000, 27_000), book, NA_FLOOR) == [
        Allocation(1, 10, 3_000, 27_000),
        Allocation(2, 10, 1_000, 27_000),
    ]
    assert (book.lot_kg(1), book.lot_kg(2), book.order_kg(10)) == (0, 4_000, 0)
    # A declined proposal returns the volume, and the next order can take it.
    book.release(1, 10, 3_000)
    assert match_incremental(order(11, 3_000, 26_000), book, NA_FLOOR) == [Allocation(1, 11, 3_000, 26_000)]


def test_a_new_lot_goes_to_the_best_paying_open_order() -> None:
    book = OrderBook(orders=[order(10, 2_000, 25_000), order(11, 2_000, 29_000), order(12, 2_000, 18_000)])
    assert match_incremental(na_lot(1, 3_000), book, NA_FLOOR) == [
        Allocation(1, 11, 2_000, 29_000),
        Allocation(1, 10, 1_000, 25_000),
    ]
