"""Keeping the database small: inbox rows are only needed while a messenger might redeliver them."""

from __future__ import annotations

import datetime as dt

from bot import files
from bot.container import Services
from bot.services import privacy
from storage.types import utcnow

# Messengers keep an undelivered update for about a day; two days leaves a margin.
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


async def enforce_retention(services: Services) -> int:
    """Delete what is kept only for a while (the scheduler runs this daily): messages sent more
    than ``retention_days`` ago, broadcasts' after ``broadcast_retention_days``, flows left half-way,
    stale menus and files whose links expired. Small batches: a province's worth never holds the
    database long."""
    s = services.settings
    now = utcnow()
    total = await prune_inbox(services)
    for before, broadcasts in (
        (now - dt.timedelta(days=s.retention_days), False),
        (now - dt.timedelta(days=s.broadcast_retention_days), True),
    ):
        while True:
            async with services.db.uow() as uow:
                n = await uow.outbox.prune(before, BATCH, broadcasts=broadcasts)
            total += n
            if n < BATCH:
                break
    async with services.db.uow() as uow:
        total += await privacy.enforce_retention(uow, now=now, conversations_days=s.retention_days)
    total += await files.delete_expired(services.db, now)  # charts and workbooks whose links expired
    return total
