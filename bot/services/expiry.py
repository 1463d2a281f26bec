"""Lots and orders whose window has passed are closed by the scheduler, and their owners told."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.events import Reply
from bot.i18n import _, use_locale
from bot.services.lots import expire_lots
from bot.services.notify import notify
from bot.services.orders import expire_orders

if TYPE_CHECKING:
    from bot.services.container import Services


async def expire_due(services: Services) -> int:
    """Expire every lot and order past its window (one transaction), notify owners; how many expired."""
    today = services.clock.today()
    async with services.db.uow() as uow:
        lots = await expire_lots(uow, today)
        orders = await expire_orders(uow, today)
        for lot in lots:
            owner = await uow.users.get(lot.owner_id)
            if owner is None:
                continue
            with use_locale(owner.locale):
                product = services.catalog.get(lot.product_code)
                text = _(
                    "Lô #{id} ({product}, còn {left}) đã hết hạn: thời gian sẵn sàng kết thúc ngày {day}. "
                    "Gõ /thuhoach nếu bạn còn hàng để báo lại."
                ).format(
                    id=lot.id,
                    product=product.name_vi if product else lot.product_code,
                    left=fmt.kg(lot.remaining_kg),
                    day=fmt.date(lot.ready_to),
                )
            await notify(uow, owner, Reply(text), dedupe_key=f"expire:lot:{lot.id}")
        for order in orders:
            trader = await uow.users.get(order.trader_id)
            if trader is None:
                continue
            with use_locale(trader.locale):
                product = services.catalog.get(order.product_code)
                text = _(
                    "Đơn #{id} ({product}, còn {left}) đã hết hạn: khung giờ lấy hàng kết thúc ngày {day}. "
                    "Gõ /dathang nếu bạn vẫn cần mua."
                ).format(
                    id=order.id,
                    product=product.name_vi if product else order.product_code,
                    left=fmt.kg(order.remaining_kg),
                    day=fmt.date(order.pickup_to),
                )
            await notify(uow, trader, Reply(text), dedupe_key=f"expire:order:{order.id}")
    # Only after the commit: the matcher must not see a lot the transaction could still undo.
    for lot in lots:
        services.market_changed("lot", lot.id)
    for order in orders:
        services.market_changed("order", order.id)
    if lots or orders:
        services.wake_outbox()
    return len(lots) + len(orders)
