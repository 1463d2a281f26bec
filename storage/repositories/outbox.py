"""The durable outbox: every message the bot owes someone, and what became of it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.sql import dialect_name, insert_ignore, insert_ignore_many
from storage.types import utcnow

Outbox = models.OutboxMessage
# PostgreSQL NOTIFY channel: the sender holding a messenger's lease listens here, so a row
# queued by any process is sent at once, not at the next poll.
NOTIFY_CHANNEL = "nongsan_outbox"
REPLY, NOTIFICATION, BROADCAST = 0, 1, 2  # priorities: lower goes first
_ITEM_FIELDS = dataclasses.fields(dto.OutboxItem)
_TABLE = cast(Table, Outbox.__table__)
_c = _TABLE.c

# The statements run for every message, built once (building and keying one costs more than
# running it).
_MARK_SENDING = (
    update(_TABLE)
    .where(_c.id.in_(bindparam("ids", expanding=True)), _c.status == "pending")
    .values(
        status="sending", not_before=bindparam("until", type_=_c.not_before.type), attempts=_c.attempts + 1
    )
    .returning(_c.id)
)
_FINISH_SENT = (
    update(_TABLE)
    .where(_c.id == bindparam("row_id", type_=_c.id.type), _c.status == "sending")
    .values(
        status="sent",
        sent_at=bindparam("sent_now", type_=_c.sent_at.type),
        error=None,
        message_id=func.coalesce(bindparam("delivered_as", type_=_c.message_id.type), _c.message_id),
    )
)


@functools.lru_cache(maxsize=8)
def _claim_statement(dialect: str, by_channel: bool) -> Any:
    """Mark up to ``:limit`` due rows claimed until ``:until`` and read them back, in one statement
    (the CTE runs exactly once)."""
    due = select(_c.id).where(
        _c.status == "pending", _c.not_before <= bindparam("now", type_=_c.not_before.type)
    )
    if by_channel:
        due = due.where(_c.channel == bindparam("of_channel", type_=_c.channel.type))
    due = due.order_by(_c.priority, _c.not_before, _c.id).limit(bindparam("limit", type_=Integer()))
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    chosen = due.cte("due")
    return (
        update(_TABLE)
        .where(_c.id.in_(select(chosen.c.id)))
        .values(not_before=bindparam("until", type_=_c.not_before.type))
        .returning(*(_c[f.name] for f in _ITEM_FIELDS))
    )


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._notified: set[str] = set()

    async def _notify(self, channels: set[str]) -> None:
        """Tell listening senders (delivered at commit; nothing on SQLite, a single process)."""
        new = channels - self._notified
        if not new or dialect_name(self.session) != "postgresql":
            return
        for channel in sorted(new):
            await self.session.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": channel})
        self._notified |= new

    async def enqueue(
        self,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        *,
        user_id: int | None = None,
        dedupe_key: str | None = None,
        not_before: dt.datetime | None = None,
        announcement_id: int | None = None,
        is_group: bool = False,
        priority: int = NOTIFICATION,
        in_reply_to: int | None = None,
    ) -> bool:
        """Add a message; False when one with the same ``dedupe_key`` exists already."""
        await self._notify({channel})
        return await insert_ignore(
            self.session,
            Outbox.__table__,  # type: ignore[arg-type]
            {
                "channel": channel,
                "chat_id": chat_id,
                "payload": payload,
                "user_id": user_id,
                "dedupe_key": dedupe_key,
                "not_before": not_before or utcnow(),
                "announcement_id": announcement_id,
                "is_group": is_group,
                "priority": priority,
                "in_reply_to": in_reply_to,
                "status": "pending",
                "attempts": 0,
                "created_at": utcnow(),
            },
        )

    async def enqueue_many(self, rows: Sequence[dict[str, Any]]) -> int:
        """Bulk enqueue (broadcasts); rows whose dedupe_key exists are skipped. Returns rows added."""
        now = utcnow()
        full = [
            {
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "not_before": now,
                "is_group": False,
                "user_id": None,
                "announcement_id": None,
                "dedupe_key": None,
                "priority": BROADCAST,
                **r,
            }
            for r in rows
        ]
        await self._notify({r["channel"] for r in full})
        return await insert_ignore_many(self.session, Outbox.__table__, full)  # type: ignore[arg-type]

    async def claim_due(
        self, now: dt.datetime, limit: int, lease: dt.timedelta, channel: str | None = None
    ) -> list[dto.OutboxItem]:
        """Take up to ``limit`` due messages, replies first; others skip them until the lease ends.

        Claimed rows stay ``pending``: if this process dies before sending them they come
        back after the lease and are sent then.
        """
        stmt = _claim_statement(dialect_name(self.session), channel is not None)
        params: dict[str, Any] = {"now": now, "limit": limit, "until": now + lease}
        if channel is not None:
            params["of_channel"] = channel
        rows = await self.session.execute(stmt, params)
        return sorted((dto.from_row(dto.OutboxItem, r) for r in rows), key=lambda item: item.id)

    async def mark_sending(self, ids: Sequence[int], lease_until: dt.datetime) -> set[int]:
        """Mark a wave as being sent right now (the at-most-once marker); returns the ids marked.

        Only rows still pending are marked: one cancelled since it was claimed must not go out.
        """
        result = await self.session.execute(_MARK_SENDING, {"ids": list(ids), "until": lease_until})
        return {int(i) for i in result.scalars()}

    async def finish(
        self, message_id: int, status: str, *, now: dt.datetime, error: str | None = None
    ) -> None:
        """Record the outcome of a claimed message: sent, blocked or failed."""
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == message_id, Outbox.status == "sending")
            .values(status=status, sent_at=now if status == "sent" else None, error=error)
        )

    async def finish_sent(self, sent: Sequence[tuple[int, str | None]], *, now: dt.datetime) -> None:
        """Record a wave's deliveries as sent, with each one's platform message id (if known).

        One statement for the whole wave (executed for every row in one call).
        """
        if not sent:
            return
        await self.session.execute(
            _FINISH_SENT,
            [{"row_id": row_id, "delivered_as": message_id, "sent_now": now} for row_id, message_id in sent],
        )

    async def delivered_message_id(self, channel: str, chat_id: str, dedupe_key: str) -> str | None:
        """Platform id of the message the row ``dedupe_key`` delivered to this chat; None if it was not."""
        return await self.session.scalar(
            select(Outbox.message_id).where(
                Outbox.dedupe_key == dedupe_key,
                Outbox.channel == channel,
                Outbox.chat_id == chat_id,
                Outbox.status == "sent",
                Outbox.message_id.is_not(None),
            )
        )

    async def for_user_with_key_prefix(self, user_id: int, prefix: str) -> list[dto.OutboxItem]:
        """One person's rows whose dedupe key starts with ``prefix``, oldest first."""
        rows = await self.session.scalars(
            select(Outbox)
            # user_id first: it is indexed, a LIKE on the key cannot always use the index.
            .where(Outbox.user_id == user_id, Outbox.dedupe_key.startswith(prefix, autoescape=True))
            .order_by(Outbox.id)
        )
        return [dto.from_row(dto.OutboxItem, r) for r in rows]

    async def retry_later(self, message_id: int, when: dt.datetime, error: str | None = None) -> None:
        """Put a claimed message back in the queue, due at ``when``."""
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == message_id, Outbox.status.in_(("pending", "sending")))
            .values(status="pending", not_before=when, error=error)
        )

    async def release_interrupted(self, now: dt.datetime, channel: str | None = None) -> int:
        """Rows whose sender died mid-send (lease over): their delivery is unknown.

        They end ``unknown`` rather than being sent again, so nobody ever gets a message twice;
        the window is the HTTP calls in flight at the crash.
        """
        stmt = update(Outbox).where(Outbox.status == "sending", Outbox.not_before < now)
        if channel is not None:
            stmt = stmt.where(Outbox.channel == channel)
        result = await self.session.execute(
            stmt.values(status="unknown", error="interrupted: delivery unknown")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def cancel_announcement(self, announcement_id: int) -> int:
        """Withdraw the not-yet-sent messages of a broadcast."""
        result = await self.session.execute(
            update(Outbox)
            .where(Outbox.announcement_id == announcement_id, Outbox.status == "pending")
            .values(status="cancelled")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def counts(self, announcement_id: int | None = None) -> dict[str, int]:
        """Messages per status, for one broadcast or for everything."""
        stmt = select(Outbox.status, func.count()).group_by(Outbox.status)
        if announcement_id is not None:
            stmt = stmt.where(Outbox.announcement_id == announcement_id)
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def pending_count(self) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
            )
            or 0
        )

    async def for_ids(self, ids: Sequence[int]) -> list[dto.OutboxItem]:
        rows = await self.session.scalars(select(Outbox).where(Outbox.id.in_(list(ids))).order_by(Outbox.id))
        return [dto.from_row(dto.OutboxItem, r) for r in rows]

    async def prune(self, before: dt.datetime, limit: int = 2000, *, broadcasts: bool = False) -> int:
        """Delete up to ``limit`` finished rows created before ``before`` (a small batch); the rows
        of broadcasts (their delivery counts) only with ``broadcasts``."""
        stmt = select(Outbox.id).where(
            Outbox.created_at < before, Outbox.status.not_in(("pending", "sending"))
        )
        if not broadcasts:
            stmt = stmt.where(Outbox.announcement_id.is_(None))
        ids = list(await self.session.scalars(stmt.order_by(Outbox.id).limit(limit)))
        if not ids:
            return 0
        await self.session.execute(delete(Outbox).where(Outbox.id.in_(ids)))
        return len(ids)

    async def replies_to(self, inbox_id: int) -> list[dto.OutboxItem]:
        """The messages written in answer to one incoming update, in order."""
        rows = await self.session.scalars(
            select(Outbox).where(Outbox.in_reply_to == inbox_id).order_by(Outbox.id)
        )
        return [dto.from_row(dto.OutboxItem, r) for r in rows]

    async def for_chat(self, channel: str, chat_id: str) -> list[dto.OutboxItem]:
        rows = await self.session.scalars(
            select(Outbox).where(Outbox.channel == channel, Outbox.chat_id == chat_id).order_by(Outbox.id)
        )
        return [dto.from_row(dto.OutboxItem, r) for r in rows]
