"""Per-chat dialog state, so a flow survives restarts and works alike on every messenger."""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.sql import dialect_name, upsert
from storage.types import utcnow


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, channel: str, chat_id: str) -> None:
        """Serialise updates of one chat across processes for the rest of the transaction.

        SQLite needs nothing: its writers are serialised at BEGIN IMMEDIATE.
        """
        if dialect_name(self.session) == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"chat:{channel}:{chat_id}"}
            )

    async def get(self, channel: str, chat_id: str) -> dto.Conversation | None:
        row = await self.session.scalar(
            select(models.ConversationState).where(
                models.ConversationState.channel == channel, models.ConversationState.chat_id == chat_id
            )
        )
        return dto.Conversation(row.flow, row.step, dict(row.data)) if row else None

    async def save(self, channel: str, chat_id: str, state: dto.Conversation) -> None:
        await upsert(
            self.session,
            models.ConversationState.__table__,  # type: ignore[arg-type]
            [
                {
                    "channel": channel,
                    "chat_id": chat_id,
                    "flow": state.flow,
                    "step": state.step,
                    "data": state.data,
                    "updated_at": utcnow(),
                }
            ],
            keys=("channel", "chat_id"),
        )

    async def clear(self, channel: str, chat_id: str) -> None:
        await self.session.execute(
            delete(models.ConversationState).where(
                models.ConversationState.channel == channel, models.ConversationState.chat_id == chat_id
            )
        )
