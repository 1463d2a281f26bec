"""Lots and orders whose window has passed are closed by the scheduler, and their owners told."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.domain_events import LotChanged, OrderChanged, emit
from bot.events import Reply
from bot.i18n import _, use_locale
from bot.services.lots import expire_lots
from bot.services.notify import notify
from bot.services.orders import expire_orders
from storage import dto

if TYPE_CHECKING:
    from bot.services.container import Services
    from storage.uow import UnitOfWork


def _lot_expired(lot: dto.Lot, product: str) -> str:
    return _(
        "Lô #{id} ({product}, còn {left}) đã hết hạn: thời gian sẵn sàng kết thúc ngày {day}. "
        "Gõ /thuhoach nếu bạn còn hàng để báo lại."
    ).format(id=lot.id, product=product, left=fmt.kg(lot.remaining_kg), day=fmt.date(lot.ready_to))


def _order_expired(order: dto.Order, product: str) -> str:
    return _(
        "Đơn #{id} ({product}, còn {left}) đã hết hạn: khung giờ lấy hàng kết thúc ngày {day}. "
        "Gõ /dathang nếu bạn vẫn cần mua."
    ).format(id=order.id, product=product, left=fmt.kg(order.remaining_kg), day=fmt.date(order.pickup_to))


async def _tell_owner[T: (dto.Lot, dto.Order)](
    uow: UnitOfWork, services: Services, owner_id: int, kind: str, item: T, text: Callable[[T, str], str]
) -> None:
    """Tell the owner, in their language, that their lot or order (``kind``) expired."""
    owner = await uow.users.get(owner_id)
    if owner is None:
        return
    with use_locale(owner.locale):
        product = services.catalog.get(item.product_code)
        message = text(item, product.name_vi if product else item.product_code)
    await notify(uow, owner, Reply(message), dedupe_key=f"expire:{kind}:{item.id}")


# Lots or orders expired per transaction: short writes, so people writing meanwhile never wait long.
BATCH = 100


async def expire_due(services: Services) -> int:
    """Expire every lot and order past its window, a small batch per transaction, and tell the
    owners; returns how many expired."""
    today = services.clock.today()
    total = 0
    while True:
        async with services.db.uow() as uow:
            lots = await expire_lots(uow, today, BATCH)
            orders = await expire_orders(uow, today, BATCH - len(lots)) if len(lots) < BATCH else []
            for lot in lots:
                await _tell_owner(uow, services, lot.owner_id, "lot", lot, _lot_expired)
                await emit(uow, LotChanged(lot.id))
            for order in orders:
                await _tell_owner(uow, services, order.trader_id, "order", order, _order_expired)
                await emit(uow, OrderChanged(order.id))
        if lots or orders:
            services.wake_events()
            services.wake_outbox()
        total += len(lots) + len(orders)
        if len(lots) + len(orders) < BATCH:
            return total
