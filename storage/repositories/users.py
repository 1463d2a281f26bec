"""People and their roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> dto.User | None:
        row = await self.session.get(models.User, user_id)
        return dto.from_row(dto.User, row) if row else None

    async def by_external(self, channel: str, external_id: str) -> dto.User | None:
        row = await self.session.scalar(
            select(models.User).where(models.User.channel == channel, models.User.external_id == external_id)
        )
        return dto.from_row(dto.User, row) if row else None

    async def ensure(self, channel: str, external_id: str, chat_id: str, locale: str) -> dto.User:
        """The person behind a message, created unregistered the first time they write."""
        found = await self.by_external(channel, external_id)
        if found is not None:
            if found.chat_id != chat_id or found.bot_blocked:
                # Writing to us again proves they unblocked the bot.
                await self.update(found.id, chat_id=chat_id, bot_blocked=False)
                return await self.get(found.id)  # type: ignore[return-value]
            return found
        row = models.User(channel=channel, external_id=external_id, chat_id=chat_id, locale=locale)
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(dto.User, row)

    async def update(self, user_id: int, **values: Any) -> None:
        await self.session.execute(update(models.User).where(models.User.id == user_id).values(**values))

    async def register(
        self,
        user_id: int,
        *,
        name: str,
        phone: str,
        role: str,
        province_code: int,
        ward_code: int,
        now: dt.datetime,
    ) -> None:
        await self.update(
            user_id,
            name=name,
            phone=phone,
            role=role,
            province_code=province_code,
            ward_code=ward_code,
            registered_at=now,
        )

    async def find(self, ref: str) -> dto.User | None:
        """A user by ``channel:id``, numeric internal id, or phone number."""
        ref = ref.strip()
        channel, sep, external = ref.partition(":")
        if sep:
            return await self.by_external(channel, external)
        conditions = [models.User.phone == ref]
        if ref.isdigit():
            conditions.append(models.User.id == int(ref))
        row = await self.session.scalar(select(models.User).where(or_(*conditions)).limit(1))
        return dto.from_row(dto.User, row) if row else None

    async def with_role(self, roles: Sequence[str], province_code: int | None = None) -> list[dto.User]:
        stmt = select(models.User).where(models.User.role.in_(roles)).order_by(models.User.id)
        if province_code is not None:
            stmt = stmt.where(models.User.province_code == province_code)
        return [dto.from_row(dto.User, r) for r in await self.session.scalars(stmt)]

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(models.User)) or 0)
