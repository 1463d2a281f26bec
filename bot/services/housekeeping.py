"""Keeping the database small: inbox rows are only needed while a messenger might redeliver them."""

from __future__ import annotations

import datetime as dt

from bot.services.container import Services
from storage.types import utcnow

# Telegram keeps an undelivered update for 24 hours; two days leaves a margin for Zalo too.
INBOX_RETENTION = dt.timedelta(days=2)
BATCH = 2000  # rows a transaction: keeps each write short on SQLite


async def prune_inbox(services: Services) -> int:
    """Drop handled updates older than the retention, in small batches (the scheduler calls this)."""
    total = 0
    while True:
        async with services.db.uow() as uow:
            n = await uow.inbox.prune(utcnow() - INBOX_RETENTION, BATCH)
        total += n
        if n < BATCH:
            return total
