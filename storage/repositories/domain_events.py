"""Domain events waiting for their subscribers (the matcher, the notifications).

Written in the transaction that made the change; each subscriber takes its own rows in order
and deletes them once handled, so an event is handled at least once, even across a crash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.sql import dialect_name
from storage.types import utcnow

Event = models.DomainEvent
NOTIFY_CHANNEL = "nongsan_events"


class DomainEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._notified: set[str] = set()

    async def emit(self, kind: str, payload: dict[str, Any], subscribers: Sequence[str]) -> None:
        """Queue the event for each subscriber (and wake them at commit on PostgreSQL)."""
        if not subscribers:
            return
        now = utcnow()
        self.session.add_all(
            Event(subscriber=s, kind=kind, payload=payload, created_at=now, available_at=now, attempts=0)
            for s in subscribers
        )
        await self.session.flush()
        if dialect_name(self.session) == "postgresql":
            for subscriber in set(subscribers) - self._notified:
                await self.session.execute(
                    text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": subscriber}
                )
                self._notified.add(subscriber)

    async def due(self, subscriber: str, now: dt.datetime, limit: int) -> list[dto.DomainEventRow]:
        rows = await self.session.scalars(
            select(Event)
            .where(Event.subscriber == subscriber, Event.available_at <= now)
            .order_by(Event.id)
            .limit(limit)
        )
        return [dto.from_row(dto.DomainEventRow, r) for r in rows]

    async def done(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(delete(Event).where(Event.id.in_(list(ids))))

    async def retry_later(self, event_id: int, when: dt.datetime) -> None:
        await self.session.execute(
            update(Event).where(Event.id == event_id).values(available_at=when, attempts=Event.attempts + 1)
        )

    async def pending(self, subscriber: str | None = None) -> int:
        stmt = select(func.count()).select_from(Event)
        if subscriber is not None:
            stmt = stmt.where(Event.subscriber == subscriber)
        return int(await self.session.scalar(stmt) or 0)
