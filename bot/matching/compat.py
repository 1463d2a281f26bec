"""When a lot may be allocated to an order, and if not, why.

The minimum-lot rule: an order's ``min_lot_kg`` is the smallest allocation the trader will
collect, except for the final top-up that completes the order. So a lot qualifies when its
remaining volume is at least ``min(order.min_lot_kg, order remaining)``; an allocation below
``min_lot_kg`` happens only when it fills the order exactly, hence at most once per order.
Without the exception a 10-tấn order with a 3-tấn minimum that got 9 tấn could never finish.
"""

from __future__ import annotations

from bot.matching.model import LotView, OrderView, PriceFloors

REASONS: tuple[str, ...] = (
    "product",
    "window",
    "region",
    "grade",
    "certs",
    "price_below_ask",
    "below_floor",
    "min_lot",
    "empty",
)
"""Reason codes of :func:`why_incompatible`, in the order they are checked."""


def min_take(order: OrderView, order_kg: int) -> int:
    """The smallest allocation this order accepts while ``order_kg`` is still wanted."""
    return order.min_lot_kg if order.min_lot_kg < order_kg else order_kg


def in_region(order: OrderView, province_code: int, collection_point_id: int) -> bool:
    """True when a collection point (in that province) is somewhere the trader collects from."""
    if not order.provinces and not order.collection_points:
        return True
    return province_code in order.provinces or collection_point_id in order.collection_points


def is_below_floor(order: OrderView, lot: LotView, floors: PriceFloors) -> bool:
    """True when the order's price is under the gouging floor of the lot's province."""
    floor = floors.get((lot.product, lot.province_code))
    return floor is not None and order.price < floor


def fits(
    lot: LotView,
    order: OrderView,
    floors: PriceFloors,
    lot_kg: int | None = None,
    order_kg: int | None = None,
) -> bool:
    """True when the pair may be allocated now (the matcher's hot path; same rules as below)."""
    lot_kg = lot.remaining_kg if lot_kg is None else lot_kg
    order_kg = order.remaining_kg if order_kg is None else order_kg
    if lot_kg <= 0 or order_kg <= 0 or lot_kg < min_take(order, order_kg):
        return False
    if lot.product != order.product:
        return False
    if lot.ready_from > order.pickup_to or lot.ready_to < order.pickup_from:
        return False
    if not in_region(order, lot.province_code, lot.collection_point_id):
        return False
    if order.grades and lot.grade not in order.grades:
        return False
    if order.required_certs and not order.required_certs <= lot.certifications:
        return False
    if lot.asking_price is not None and order.price < lot.asking_price:
        return False
    return not is_below_floor(order, lot, floors)


def why_incompatible(
    lot: LotView,
    order: OrderView,
    floors: PriceFloors,
    lot_kg: int | None = None,
    order_kg: int | None = None,
) -> str | None:
    """The first reason (see :data:`REASONS`) the pair cannot be allocated, or None if it can.

    ``lot_kg``/``order_kg`` override the views' remaining volumes (the book tracks them).
    """
    lot_kg = lot.remaining_kg if lot_kg is None else lot_kg
    order_kg = order.remaining_kg if order_kg is None else order_kg
    if lot.product != order.product:
        return "product"
    if lot.ready_from > order.pickup_to or lot.ready_to < order.pickup_from:
        return "window"
    if not in_region(order, lot.province_code, lot.collection_point_id):
        return "region"
    if order.grades and lot.grade not in order.grades:
        return "grade"
    if order.required_certs and not order.required_certs <= lot.certifications:
        return "certs"
    if lot.asking_price is not None and order.price < lot.asking_price:
        return "price_below_ask"
    if is_below_floor(order, lot, floors):
        return "below_floor"
    if lot_kg <= 0 or order_kg <= 0:
        return "empty"
    if lot_kg < min_take(order, order_kg):
        return "min_lot"
    return None
