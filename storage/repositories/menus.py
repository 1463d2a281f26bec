"""The options each chat last received (see ``bot.engine.menus``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.sql import upsert
from storage.types import utcnow

Menu = models.ChatMenu


class MenuRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def delivered(self, channel: str, chat_id: str, outbox_id: int, entries: list[Any]) -> None:
        """A message with options reached the chat: its options are the ones typed answers mean now."""
        await upsert(
            self.session,
            Menu.__table__,  # type: ignore[arg-type]
            [
                {
                    "channel": channel,
                    "chat_id": chat_id,
                    "outbox_id": outbox_id,
                    "entries": entries,
                    "delivered_at": utcnow(),
                }
            ],
            keys=("channel", "chat_id"),
        )

    async def get(self, channel: str, chat_id: str) -> list[Any]:
        """[label, payload, synonyms] of the options the chat last received ([] if none)."""
        entries = await self.session.scalar(
            select(Menu.entries).where(Menu.channel == channel, Menu.chat_id == chat_id)
        )
        return list(entries or [])
