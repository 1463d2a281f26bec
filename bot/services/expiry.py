"""Lots and orders whose window has passed are closed by the scheduler; closing one emits
``LotExpired`` / ``OrderExpired`` (the owner is told, see :mod:`bot.presentation.trade`) and
``LotChanged`` / ``OrderChanged`` (the matcher drops it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services.lots import expire_lots
from bot.services.orders import expire_orders

if TYPE_CHECKING:
    from bot.container import Services

# Lots or orders expired per transaction: short writes, so people writing meanwhile never wait long.
BATCH = 100


async def expire_due(services: Services) -> int:
    """Expire every lot and order past its window, a small batch per transaction; returns how many."""
    today = services.clock.today()
    total = 0
    while True:
        async with services.db.uow() as uow:
            lots = await expire_lots(uow, today, BATCH)
            orders = await expire_orders(uow, today, BATCH - len(lots)) if len(lots) < BATCH else []
        if lots or orders:
            services.wake_events()
        total += len(lots) + len(orders)
        if len(lots) + len(orders) < BATCH:
            return total
