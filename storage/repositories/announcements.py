"""Announcements (broadcasts) and their life cycle: scheduled → sending → done, or cancelled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

Ann = models.Announcement
Outbox = models.OutboxMessage
LIVE = ("scheduled", "sending")


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    author_id: int | None
    text: str
    audience: dict[str, Any]
    required: bool
    status: str
    scheduled_at: dt.datetime | None
    total: int
    created_at: dt.datetime
    paid: bool = False


def report_key(announcement_id: int, what: str) -> str:
    """Dedupe key of a progress or final report to the author (never clashes with ``ann:{id}:{user}``)."""
    return f"annrep:{announcement_id}:{what}"


class AnnouncementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        author_id: int | None,
        text: str,
        audience: dict[str, Any],
        required: bool,
        status: str,
        scheduled_at: dt.datetime | None,
        paid: bool = False,
    ) -> Announcement:
        row = Ann(
            author_id=author_id,
            text=text,
            audience=audience,
            required=required,
            status=status,
            scheduled_at=scheduled_at,
            total=0,
            paid=paid,
        )
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(Announcement, row)

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self.session.get(Ann, announcement_id, populate_existing=True)
        return dto.from_row(Announcement, row) if row else None

    async def set_total(self, announcement_id: int, total: int) -> None:
        await self.session.execute(update(Ann).where(Ann.id == announcement_id).values(total=total))

    async def transition(self, announcement_id: int, from_status: Sequence[str], to_status: str) -> bool:
        """Move on only from one of ``from_status`` (first writer wins: cancel vs. finish)."""
        result = await self.session.execute(
            update(Ann)
            .where(Ann.id == announcement_id, Ann.status.in_(from_status))
            .values(status=to_status)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def live(self, author_id: int | None = None, limit: int = 100) -> list[Announcement]:
        """Scheduled or sending announcements, oldest first (optionally one author's)."""
        stmt = select(Ann).where(Ann.status.in_(LIVE))
        if author_id is not None:
            stmt = stmt.where(Ann.author_id == author_id)
        rows = await self.session.scalars(stmt.order_by(Ann.id).limit(limit))
        return [dto.from_row(Announcement, r) for r in rows]

    async def last_report_at(self, announcement_id: int) -> dt.datetime | None:
        """When the author was last sent a progress report about this announcement."""
        prefix = report_key(announcement_id, "")
        return await self.session.scalar(
            select(func.max(Outbox.created_at)).where(Outbox.dedupe_key.like(prefix + "%"))
        )
