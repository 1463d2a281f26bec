"""Group chats subscribed to the officials' announcements of their province."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models

Sub = models.GroupSubscription


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def subscription(self, channel: str, chat_id: str) -> int | None:
        """The province whose announcements the group receives (None: not subscribed)."""
        return await self.session.scalar(
            select(Sub.province_code).where(Sub.channel == channel, Sub.chat_id == chat_id)
        )

    async def subscribe(
        self, channel: str, chat_id: str, province_code: int, user_id: int, now: dt.datetime
    ) -> None:
        await self.unsubscribe(channel, chat_id)
        self.session.add(
            Sub(
                channel=channel,
                chat_id=chat_id,
                province_code=province_code,
                subscribed_by=user_id,
                created_at=now,
            )
        )
        await self.session.flush()

    async def unsubscribe(self, channel: str, chat_id: str) -> bool:
        result = await self.session.execute(delete(Sub).where(Sub.channel == channel, Sub.chat_id == chat_id))
        return bool(getattr(result, "rowcount", 0))

    async def count(self, province_code: int | None) -> int:
        """Groups an announcement to the province (or, with None, to everyone) reaches."""
        stmt = select(func.count()).select_from(Sub)
        if province_code is not None:
            stmt = stmt.where(Sub.province_code == province_code)
        return int(await self.session.scalar(stmt) or 0)

    async def chats(self, province_code: int | None) -> list[tuple[str, str]]:
        """(channel, chat_id) of those groups, in a stable order."""
        stmt = select(Sub.channel, Sub.chat_id).order_by(Sub.channel, Sub.chat_id)
        if province_code is not None:
            stmt = stmt.where(Sub.province_code == province_code)
        return [(str(c), str(i)) for c, i in (await self.session.execute(stmt)).all()]
