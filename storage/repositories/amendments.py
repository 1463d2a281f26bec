"""Amendments of accepted matches (a new price or fewer kilograms) and their answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

Amendment = models.Amendment


class AmendmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> dto.Amendment:
        row = Amendment(status="pending", **values)
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(dto.Amendment, row)

    async def get(self, amendment_id: int) -> dto.Amendment | None:
        row = await self.session.get(Amendment, amendment_id, populate_existing=True)
        return dto.from_row(dto.Amendment, row) if row else None

    async def transition(self, amendment_id: int, from_status: Sequence[str], **values: Any) -> bool:
        """Move an amendment on only if it is still in one of ``from_status`` (first answer wins)."""
        result = await self.session.execute(
            update(Amendment)
            .where(Amendment.id == amendment_id, Amendment.status.in_(from_status))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def pending_for_match(self, match_id: int, kind: str | None = None) -> list[dto.Amendment]:
        stmt = select(Amendment).where(Amendment.match_id == match_id, Amendment.status == "pending")
        if kind is not None:
            stmt = stmt.where(Amendment.kind == kind)
        rows = await self.session.scalars(stmt.order_by(Amendment.id))
        return [dto.from_row(dto.Amendment, r) for r in rows]

    async def pending_for_answerer(self, user_id: int, limit: int = 20) -> list[dto.Amendment]:
        """Amendments waiting for ``user_id``'s answer, oldest first."""
        rows = await self.session.scalars(
            select(Amendment)
            .where(Amendment.answerer_id == user_id, Amendment.status == "pending")
            .order_by(Amendment.id)
            .limit(limit)
        )
        return [dto.from_row(dto.Amendment, r) for r in rows]

    async def due_to_expire(self, now: dt.datetime, limit: int = 100) -> list[dto.Amendment]:
        rows = await self.session.scalars(
            select(Amendment)
            .where(Amendment.status == "pending", Amendment.expires_at < now)
            .order_by(Amendment.id)
            .limit(limit)
        )
        return [dto.from_row(dto.Amendment, r) for r in rows]
