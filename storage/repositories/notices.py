"""Recurring notices per province (the weekly anti-price-gouging reminder)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

Notice = models.Notice


@dataclass(frozen=True, slots=True)
class NoticeInfo:
    id: int
    province_code: int
    kind: str
    text: str | None
    weekday: int
    hour: int
    minute: int
    season_from: dt.date | None
    season_to: dt.date | None
    enabled: bool
    updated_by: int | None


class NoticeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, province_code: int, kind: str) -> NoticeInfo | None:
        row = await self.session.scalar(
            select(Notice)
            .where(Notice.province_code == province_code, Notice.kind == kind)
            .execution_options(populate_existing=True)
        )
        return dto.from_row(NoticeInfo, row) if row else None

    async def save(
        self, province_code: int, kind: str, defaults: dict[str, Any], **changes: Any
    ) -> NoticeInfo:
        """Apply ``changes`` to the province's notice, creating it from ``defaults`` first if needed."""
        found = await self.get(province_code, kind)
        if found is None:
            self.session.add(Notice(province_code=province_code, kind=kind, **{**defaults, **changes}))
            await self.session.flush()
        elif changes:
            await self.session.execute(
                update(Notice)
                .where(Notice.id == found.id)
                .values(**changes)
                .execution_options(synchronize_session=False)
            )
        return await self.get(province_code, kind)  # type: ignore[return-value]

    async def enabled(self, kind: str) -> list[NoticeInfo]:
        rows = await self.session.scalars(
            select(Notice).where(Notice.kind == kind, Notice.enabled.is_(True)).order_by(Notice.province_code)
        )
        return [dto.from_row(NoticeInfo, r) for r in rows]
