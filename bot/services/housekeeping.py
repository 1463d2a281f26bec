"""Keeping the database small: update ids are only needed while a messenger might redeliver them."""

from __future__ import annotations

import datetime as dt

from bot.services.container import Services

# Telegram keeps an undelivered update for 24 hours; two days leaves a margin for Zalo too.
UPDATE_ID_RETENTION = dt.timedelta(days=2)


async def forget_old_update_ids(services: Services) -> int:
    """Drop processed update ids older than the retention (the scheduler calls this)."""
    async with services.db.uow() as uow:
        return await uow.updates.forget_before(services.clock.now() - UPDATE_ID_RETENTION)
