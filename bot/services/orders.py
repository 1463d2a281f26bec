"""Purchase orders: the rules for posting one, and for changing, extending, cancelling or expiring it.

Every change is recorded in the order's history (``entity_events``) and emitted as a domain
event (``OrderChanged`` for the matcher; ``OrderExpired`` for the
notifications) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot import formatting as fmt
from bot.catalog import ProductCatalog
from bot.domain_events import OrderChanged, OrderExpired, emit
from bot.i18n import _
from bot.places import Gazetteer
from bot.services.lots import AREA_CERT, GRADES, OPEN, check_new_volume
from bot.services.quantities import CERT_CODES, RuleError, check_price, check_quantity, check_window
from bot.services.trade import expire_past, withdraw
from storage import dto
from storage.uow import UnitOfWork

ORDER_CERTS = (*CERT_CODES, AREA_CERT)


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """Everything an order needs before it is saved."""

    product_code: str
    quantity_kg: int
    price: int
    min_lot_kg: int
    pickup_from: dt.date
    pickup_to: dt.date
    provinces: tuple[int, ...]
    collection_points: tuple[int, ...]
    grades: tuple[str, ...]
    required_certs: tuple[str, ...]


def check_min_lot(min_lot_kg: float | None, quantity_kg: int) -> int:
    """0 (no minimum) or a sane amount that does not exceed the order itself."""
    if min_lot_kg is not None and min_lot_kg == 0:
        return 0
    kg = check_quantity(min_lot_kg, "min_lot")
    if kg > quantity_kg:
        raise RuleError(
            _("Lô tối thiểu ({min}) không thể lớn hơn cả đơn hàng ({quantity}).").format(
                min=fmt.kg(kg), quantity=fmt.kg(quantity_kg)
            ),
            "min_lot",
        )
    return kg


def check_region(provinces: tuple[int, ...], points: list[dto.CollectionPoint], places: Gazetteer) -> None:
    """Some region is given, and no chosen collection point lies outside the chosen provinces."""
    if not provinces and not points:
        raise RuleError(_("Vui lòng chọn ít nhất một tỉnh hoặc một điểm tập kết."), "provinces")
    for point in points:
        if provinces and point.province_code not in provinces:
            chosen = ", ".join(places.provinces[c].name for c in provinces if c in places.provinces)
            where = (
                places.provinces[point.province_code].name if point.province_code in places.provinces else "?"
            )
            raise RuleError(
                _(
                    "Điểm «{point}» ở {province}, ngoài các tỉnh bạn chọn ({chosen}). Hãy thêm {province} vào "
                    "danh sách tỉnh hoặc chọn điểm khác."
                ).format(point=point.name, province=where, chosen=chosen),
                "points",
            )


def validate_order(
    draft: OrderDraft,
    catalog: ProductCatalog,
    places: Gazetteer,
    today: dt.date,
    points: list[dto.CollectionPoint],
) -> None:
    """Every rule an order must satisfy; the first broken one raises a RuleError naming its step."""
    product = catalog.get(draft.product_code)
    if product is None:
        raise RuleError(_("Không có sản phẩm này. Vui lòng chọn lại."), "product")
    check_quantity(draft.quantity_kg)
    check_price(product, draft.price)
    check_min_lot(draft.min_lot_kg, draft.quantity_kg)
    check_window(draft.pickup_from, draft.pickup_to, today)
    check_region(draft.provinces, points, places)
    if not draft.grades or set(draft.grades) - set(GRADES):
        raise RuleError(_("Vui lòng chọn loại hàng nhận mua."), "grades")
    if set(draft.required_certs) - set(ORDER_CERTS):
        raise RuleError(_("Chứng nhận không hợp lệ."), "certs")


async def _active_points(uow: UnitOfWork, ids: tuple[int, ...] | list[int]) -> list[dto.CollectionPoint]:
    found = await uow.points.by_ids(list(ids))
    points = [found[i] for i in ids if i in found and found[i].status == "active"]
    if len(points) != len(ids):
        raise RuleError(_("Một điểm tập kết bạn chọn không còn hoạt động. Vui lòng chọn lại."), "points")
    return points


async def check_region_ids(
    uow: UnitOfWork, provinces: tuple[int, ...], point_ids: tuple[int, ...], places: Gazetteer
) -> None:
    """:func:`check_region` for points given by id (all of them still active)."""
    check_region(provinces, await _active_points(uow, point_ids), places)


async def point_options(uow: UnitOfWork, first: list[int | None]) -> list[dto.CollectionPoint]:
    """Active collection points, those in the provinces ``first`` names before the rest."""
    points = await uow.points.active()
    return sorted(points, key=lambda p: (p.province_code not in first, p.id))


async def points_in_ward(uow: UnitOfWork, ward_code: int) -> list[dto.CollectionPoint]:
    """Active collection points in a ward."""
    return [p for p in await uow.points.active() if p.ward_code == ward_code]


async def check_order(
    uow: UnitOfWork, draft: OrderDraft, catalog: ProductCatalog, places: Gazetteer, today: dt.date
) -> None:
    """Every rule an order must satisfy, its points still active; a RuleError names the step to ask again."""
    validate_order(draft, catalog, places, today, await _active_points(uow, draft.collection_points))


async def create_order(
    uow: UnitOfWork,
    trader: dto.User,
    draft: OrderDraft,
    catalog: ProductCatalog,
    places: Gazetteer,
    today: dt.date,
) -> dto.Order:
    """Validate and save an order, recording the history."""
    await check_order(uow, draft, catalog, places, today)
    order = await uow.orders.add(
        trader_id=trader.id,
        product_code=draft.product_code,
        quantity_kg=draft.quantity_kg,
        price=draft.price,
        min_lot_kg=draft.min_lot_kg,
        pickup_from=draft.pickup_from,
        pickup_to=draft.pickup_to,
        provinces=list(draft.provinces),
        collection_points=list(draft.collection_points),
        grades=list(draft.grades),
        required_certs=list(draft.required_certs),
    )
    await uow.events.record(
        "order",
        order.id,
        trader.id,
        "create",
        {
            "product": order.product_code,
            "quantity_kg": order.quantity_kg,
            "price": order.price,
            "min_lot_kg": order.min_lot_kg,
            "pickup_from": order.pickup_from.isoformat(),
            "pickup_to": order.pickup_to.isoformat(),
            "provinces": list(order.provinces),
            "collection_points": list(order.collection_points),
            "grades": list(order.grades),
            "required_certs": list(order.required_certs),
        },
    )
    await emit(uow, OrderChanged(order.id))
    return order


async def own_open_order(
    uow: UnitOfWork, trader: dto.User, order_id: int, *, matched_too: bool = False
) -> dto.Order:
    """The trader's own order, still open (or fully matched, with ``matched_too``); otherwise a RuleError."""
    order = await uow.orders.get(order_id)
    if order is None or order.trader_id != trader.id:
        raise RuleError(_("Không tìm thấy đơn hàng này."))
    if order.status not in OPEN and not (matched_too and order.status == "matched"):
        raise RuleError(_("Đơn #{id} đã đóng, không thể thay đổi.").format(id=order.id))
    return order


async def change_order_volume(
    uow: UnitOfWork, actor: dto.User, order_id: int, new_kg: float | None
) -> dto.Order:
    """Set an order's total; never below what is already matched."""
    order = await own_open_order(uow, actor, order_id, matched_too=True)
    kg = check_new_volume(order.quantity_kg - order.remaining_kg, new_kg)
    if not await uow.orders.set_quantity(order.id, kg):  # a match took volume meanwhile
        fresh = await own_open_order(uow, actor, order_id, matched_too=True)
        check_new_volume(fresh.quantity_kg - fresh.remaining_kg, kg)
    changes: dict[str, object] = {"old": order.quantity_kg, "new": kg}
    if order.min_lot_kg > kg:  # keep the minimum meaningful for a smaller order
        await uow.orders.change(order.id, min_lot_kg=kg)
        changes["min_lot_kg"] = {"old": order.min_lot_kg, "new": kg}
    await uow.events.record("order", order.id, actor.id, "change_volume", changes)
    await emit(uow, OrderChanged(order.id))
    return await uow.orders.get(order.id)  # type: ignore[return-value]


def check_extension(order: dto.Order, new_to: dt.date, today: dt.date) -> None:
    """A later pickup-to date, not past, within a year; a RuleError says why not."""
    if new_to <= order.pickup_to:
        raise RuleError(_("Ngày mới phải sau {day}.").format(day=fmt.date(order.pickup_to)), "extend")
    check_window(max(order.pickup_from, today), new_to, today, "extend")


async def extend_order(
    uow: UnitOfWork, actor: dto.User, order_id: int, new_to: dt.date, today: dt.date
) -> dto.Order:
    """Move an order's pickup-to date later."""
    order = await own_open_order(uow, actor, order_id, matched_too=True)
    check_extension(order, new_to, today)
    await uow.orders.change(order.id, pickup_to=new_to)
    await uow.events.record(
        "order", order.id, actor.id, "extend", {"old": order.pickup_to.isoformat(), "new": new_to.isoformat()}
    )
    await emit(uow, OrderChanged(order.id))
    return await uow.orders.get(order.id)  # type: ignore[return-value]


async def change_order_price(
    uow: UnitOfWork, actor: dto.User, order_id: int, price: float | None, catalog: ProductCatalog
) -> dto.Order:
    """Set the price an order offers, within the product's plausible range."""
    order = await own_open_order(uow, actor, order_id, matched_too=True)
    product = catalog.get(order.product_code)
    if product is None:
        raise RuleError(_("Không có sản phẩm này. Vui lòng chọn lại."), "price")
    new_price = check_price(product, price)
    await uow.orders.change(order.id, price=new_price)
    await uow.events.record(
        "order", order.id, actor.id, "change_price", {"old": order.price, "new": new_price}
    )
    await emit(uow, OrderChanged(order.id))
    return await uow.orders.get(order.id)  # type: ignore[return-value]


def check_order_new_window(order: dto.Order, start: dt.date, end: dt.date, today: dt.date) -> None:
    """A new pickup window: not past, within a year, and not the same as now."""
    check_window(start, end, today)
    if (start, end) == (order.pickup_from, order.pickup_to):
        raise RuleError(_("Đó vẫn là thời gian cũ. Vui lòng gõ ngày khác."), "window")


async def change_order_window(
    uow: UnitOfWork, actor: dto.User, order_id: int, start: dt.date, end: dt.date, today: dt.date
) -> dto.Order:
    """Move an order's pickup window (both ends)."""
    order = await own_open_order(uow, actor, order_id, matched_too=True)
    check_order_new_window(order, start, end, today)
    await uow.orders.change(order.id, pickup_from=start, pickup_to=end)
    await uow.events.record(
        "order",
        order.id,
        actor.id,
        "change_window",
        {
            "old": [order.pickup_from.isoformat(), order.pickup_to.isoformat()],
            "new": [start.isoformat(), end.isoformat()],
        },
    )
    await emit(uow, OrderChanged(order.id))
    return await uow.orders.get(order.id)  # type: ignore[return-value]


async def cancel_order(uow: UnitOfWork, actor: dto.User, order_id: int, reason: str) -> dto.Order:
    """Withdraw an order, keeping the reason."""
    order = await own_open_order(uow, actor, order_id)
    closed = _("Đơn #{id} đã đóng, không thể thay đổi.").format(id=order.id)
    cancelled = await withdraw(uow, uow.orders, "order", order, actor, reason, closed)
    await emit(uow, OrderChanged(order.id))
    return cancelled


async def expire_orders(uow: UnitOfWork, today: dt.date, limit: int = 500) -> list[dto.Order]:
    """Close up to ``limit`` open orders whose pickup window ended before ``today``; the ones closed now
    (their traders are told through ``OrderExpired``)."""
    expired = await expire_past(uow, uow.orders, "order", today, "pickup_to", limit)
    for order in expired:
        await emit(uow, OrderExpired(order.id))
        await emit(uow, OrderChanged(order.id))
    return expired
