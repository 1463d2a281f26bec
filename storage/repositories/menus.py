"""The options each chat last received (see ``bot.engine.menus``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.sql import upsert
from storage.types import utcnow

Menu = models.ChatMenu


@dataclass(frozen=True, slots=True)
class DeliveredMenu:
    """The options the chat last received, and whether a question to answer by typing reached
    the chat after them (then a typed number answers that question, not this list)."""

    entries: list[Any]
    typed_after: bool = False


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

    async def typed_question(self, channel: str, chat_id: str) -> None:
        """A question to answer by typing reached the chat, after its last options."""
        entries = await self.session.scalar(
            select(Menu.entries).where(Menu.channel == channel, Menu.chat_id == chat_id)
        )
        if isinstance(entries, list) and entries:
            await self.session.execute(
                update(Menu)
                .where(Menu.channel == channel, Menu.chat_id == chat_id)
                .values(entries={"entries": entries, "typed_after": True})
            )

    async def get(self, channel: str, chat_id: str) -> DeliveredMenu:
        """The options the chat last received (no entries if none)."""
        stored = await self.session.scalar(
            select(Menu.entries).where(Menu.channel == channel, Menu.chat_id == chat_id)
        )
        if isinstance(stored, dict):
            return DeliveredMenu(list(stored.get("entries") or []), bool(stored.get("typed_after")))
        return DeliveredMenu(list(stored or []))
