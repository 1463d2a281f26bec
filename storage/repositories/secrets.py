"""Secrets the bot makes once and every process shares (e.g. the key that signs buttons)."""

from __future__ import annotations

import secrets as random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.sql import insert_ignore
from storage.types import utcnow


class SecretRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_create(self, name: str) -> str:
        """The secret ``name``; the first process to ask makes it (the others read the same one)."""
        await insert_ignore(
            self.session,
            models.AppSecret.__table__,  # type: ignore[arg-type]
            {"name": name, "value": random.token_urlsafe(48), "created_at": utcnow()},
        )
        value = await self.session.scalar(select(models.AppSecret.value).where(models.AppSecret.name == name))
        assert value is not None
        return value
