"""Reference data: products and the administrative map, synced from their sources at start-up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.sql import upsert

_CHUNK = 500  # keeps one statement under SQLite's bound-parameter limit


class ReferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sync_products(self, rows: Sequence[dict[str, Any]]) -> None:
        await upsert(self.session, models.Product.__table__, rows, keys=("code",))  # type: ignore[arg-type]

    async def sync_places(self, provinces: Sequence[dict[str, Any]], wards: Sequence[dict[str, Any]]) -> None:
        await upsert(self.session, models.Province.__table__, provinces, keys=("code",))  # type: ignore[arg-type]
        for i in range(0, len(wards), _CHUNK):
            await upsert(self.session, models.Ward.__table__, wards[i : i + _CHUNK], keys=("code",))  # type: ignore[arg-type]

    async def counts(self) -> tuple[int, int, int]:
        """(products, provinces, wards) stored."""

        async def n(model: Any) -> int:
            return int(await self.session.scalar(select(func.count()).select_from(model)) or 0)

        return await n(models.Product), await n(models.Province), await n(models.Ward)
