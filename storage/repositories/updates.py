"""Processed update ids: the guard against a messenger delivering the same update twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.sql import insert_ignore


class UpdateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def first_time(self, channel: str, update_id: str) -> bool:
        """Record the update; False when it had been processed already."""
        return await insert_ignore(
            self.session,
            models.ProcessedUpdate.__table__,  # type: ignore[arg-type]
            {"channel": channel, "update_id": update_id},
        )

    async def forget_before(self, moment: dt.datetime) -> int:
        """Drop old ids (messengers stop redelivering after a day)."""
        result = await self.session.execute(
            delete(models.ProcessedUpdate).where(models.ProcessedUpdate.processed_at < moment)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
