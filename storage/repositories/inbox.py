"""The inbox: every incoming update, saved (and committed) before the messenger hears it arrived.

Workers handle a chat's updates in the order they were saved, one at a time per chat across
processes: a worker only ever takes the oldest pending update of a chat, and holds it (row lock
on PostgreSQL, the single writer on SQLite) until the transaction that handles it commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import dto, models
from storage.sql import dialect_name, insert_ignore_many
from storage.types import utcnow

Inbox = models.InboxUpdate
_TABLE = cast(Table, Inbox.__table__)

# The statements run for every update, built once (building and keying one costs more than
# running it).
_oldest = (
    select(func.min(Inbox.id)).where(Inbox.status == "pending").group_by(Inbox.channel, Inbox.chat_id)
).scalar_subquery()
_HEADS = (
    select(Inbox.id, Inbox.channel, Inbox.chat_id)
    .where(Inbox.id.in_(_oldest), Inbox.available_at <= bindparam("now", type_=Inbox.available_at.type))
    .order_by(Inbox.id)
    .limit(bindparam("limit", type_=Integer()))
)
_older = aliased(Inbox)
_TAKE = select(Inbox).where(
    Inbox.id == bindparam("id", type_=Integer()),
    Inbox.status == "pending",
    ~select(_older.id)
    .where(
        _older.channel == Inbox.channel,
        _older.chat_id == Inbox.chat_id,
        _older.status == "pending",
        _older.id < Inbox.id,
    )
    .exists(),
)
_TAKE_LOCKED = _TAKE.with_for_update(skip_locked=True, of=Inbox)


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: Sequence[dto.NewUpdate]) -> int:
        """Save updates; a (channel, update_id) seen before is skipped. Returns how many were new."""
        now = utcnow()
        values: list[dict[str, Any]] = [
            {
                "channel": r.channel,
                "update_id": r.update_id,
                "chat_id": r.chat_id,
                "payload": r.payload,
                "status": "pending",
                "attempts": 0,
                "available_at": now,
                "received_at": now,
            }
            for r in rows
        ]
        return await insert_ignore_many(self.session, Inbox.__table__, values)  # type: ignore[arg-type]

    async def heads(
        self, now: dt.datetime, limit: int, skip_chats: Sequence[tuple[str, str]] = ()
    ) -> list[tuple[int, str, str]]:
        """(id, channel, chat) of the oldest pending update of each chat, if it is due, oldest first."""
        busy = set(skip_chats)
        rows = (await self.session.execute(_HEADS, {"now": now, "limit": limit + len(skip_chats)})).all()
        return [(row.id, row.channel, row.chat_id) for row in rows if (row.channel, row.chat_id) not in busy][
            :limit
        ]

    async def take(self, update_id: int) -> dto.InboxItem | None:
        """Hold the update for this transaction if it is still pending and its chat's oldest.

        None when another worker holds or has handled it, or an older update of the chat waits.
        """
        stmt = _TAKE_LOCKED if dialect_name(self.session) == "postgresql" else _TAKE
        row = await self.session.scalar(stmt, {"id": update_id})
        if row is None:
            return None
        return dto.from_row(dto.InboxItem, row)

    async def done(self, update_id: int, now: dt.datetime) -> None:
        # A plain table statement: no ORM bookkeeping on the per-update path.
        await self.session.execute(
            update(_TABLE).where(_TABLE.c.id == update_id).values(status="done", processed_at=now, error=None)
        )

    async def retry_later(self, update_id: int, when: dt.datetime, error: str) -> int:
        """Count a failed attempt and make the update due again at ``when``; returns the attempts so far."""
        result = await self.session.execute(
            update(Inbox)
            .where(Inbox.id == update_id, Inbox.status == "pending")
            .values(attempts=Inbox.attempts + 1, available_at=when, error=error[:200])
            .returning(Inbox.attempts)
        )
        return int(result.scalar() or 0)

    async def fail(self, update_id: int, now: dt.datetime, error: str) -> None:
        """Give up on an update that failed every attempt (the person is told)."""
        await self.session.execute(
            update(Inbox)
            .where(Inbox.id == update_id)
            .values(status="failed", processed_at=now, error=error[:200])
        )

    async def get(self, update_id: int) -> dto.InboxItem | None:
        row = await self.session.get(Inbox, update_id, populate_existing=True)
        return dto.from_row(dto.InboxItem, row) if row else None

    async def id_of(self, channel: str, update_id: str) -> int | None:
        """The inbox row of a messenger's update id."""
        return await self.session.scalar(
            select(Inbox.id).where(Inbox.channel == channel, Inbox.update_id == update_id)
        )

    async def prune(self, before: dt.datetime, limit: int = 2000) -> int:
        """Delete up to ``limit`` handled updates received before ``before`` (small batches keep locks short)."""
        ids = list(
            await self.session.scalars(
                select(Inbox.id)
                .where(Inbox.received_at < before, Inbox.status != "pending")
                .order_by(Inbox.id)
                .limit(limit)
            )
        )
        if not ids:
            return 0
        await self.session.execute(delete(Inbox).where(Inbox.id.in_(ids)))
        return len(ids)

    async def counts(self) -> dict[str, int]:
        """Updates per status."""
        stmt = select(Inbox.status, func.count()).group_by(Inbox.status)
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def pending_count(self) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).select_from(Inbox).where(Inbox.status == "pending")
            )
            or 0
        )
