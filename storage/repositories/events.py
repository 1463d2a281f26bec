"""History of lots, orders and matches: who changed what, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

Event = models.EntityEvent


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        entity: str,
        entity_id: int,
        actor_id: int | None,
        action: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            Event(entity=entity, entity_id=entity_id, actor_id=actor_id, action=action, details=details or {})
        )
        await self.session.flush()

    async def history(self, entity: str, entity_id: int) -> list[dto.EntityEvent]:
        rows = await self.session.scalars(
            select(Event).where(Event.entity == entity, Event.entity_id == entity_id).order_by(Event.id)
        )
        return [dto.from_row(dto.EntityEvent, r) for r in rows]
