"""Files served by the bot under signed links (see ``bot.files``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

File = models.StoredFile


class FileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        file_id: str,
        name: str,
        content: bytes,
        content_type: str,
        *,
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> None:
        self.session.add(
            File(
                id=file_id,
                name=name,
                content=content,
                content_type=content_type,
                created_at=now,
                expires_at=expires_at,
            )
        )
        await self.session.flush()

    async def get(self, file_id: str) -> dto.StoredFile | None:
        row = await self.session.get(File, file_id)
        return dto.from_row(dto.StoredFile, row) if row else None

    async def prune(self, now: dt.datetime, limit: int = 500) -> int:
        """Delete up to ``limit`` expired files; returns how many went."""
        ids = list(await self.session.scalars(select(File.id).where(File.expires_at <= now).limit(limit)))
        if ids:
            await self.session.execute(delete(File).where(File.id.in_(ids)))
        return len(ids)
