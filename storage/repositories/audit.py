"""The audit log of privileged actions, allowed or refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        actor_id: int | None,
        action: str,
        target: str | None = None,
        *,
        allowed: bool = True,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            models.AuditEntry(
                actor_id=actor_id, action=action, target=target, allowed=allowed, details=details or {}
            )
        )
        await self.session.flush()

    async def recent(self, limit: int = 20, offset: int = 0) -> list[dto.AuditEntry]:
        rows = await self.session.scalars(
            select(models.AuditEntry).order_by(models.AuditEntry.id.desc()).limit(limit).offset(offset)
        )
        return [dto.from_row(dto.AuditEntry, r) for r in rows]
