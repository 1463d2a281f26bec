"""Roles granted to phone numbers nobody has registered with yet (applied at registration)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.sql import upsert
from storage.types import utcnow

Grant = models.PendingGrant


@dataclass(frozen=True, slots=True)
class PendingGrant:
    phone: str
    role: str
    granted_by: int | None


class GrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(self, phone: str, role: str, granted_by: int | None) -> None:
        """Grant ``role`` to whoever registers with ``phone`` (a later grant replaces an earlier one)."""
        await upsert(
            self.session,
            Grant.__table__,  # type: ignore[arg-type]
            [{"phone": phone, "role": role, "granted_by": granted_by, "created_at": utcnow()}],
            keys=("phone",),
        )

    async def take(self, phone: str) -> PendingGrant | None:
        """The grant waiting for ``phone``, removed as it is applied."""
        row = await self.session.scalar(select(Grant).where(Grant.phone == phone))
        if row is None:
            return None
        grant = PendingGrant(row.phone, row.role, row.granted_by)
        await self.session.execute(delete(Grant).where(Grant.phone == phone))
        return grant

    async def all(self) -> list[PendingGrant]:
        rows = await self.session.scalars(select(Grant).order_by(Grant.created_at))
        return [PendingGrant(r.phone, r.role, r.granted_by) for r in rows]
