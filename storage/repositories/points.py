"""Collection points (điểm tập kết)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

Point = models.CollectionPoint


class PointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> dto.CollectionPoint:
        row = Point(**values)
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(dto.CollectionPoint, row)

    async def get(self, point_id: int) -> dto.CollectionPoint | None:
        row = await self.session.get(Point, point_id, populate_existing=True)
        return dto.from_row(dto.CollectionPoint, row) if row else None

    async def in_province(
        self, province_code: int, *, statuses: tuple[str, ...] = ("active",)
    ) -> list[dto.CollectionPoint]:
        rows = await self.session.scalars(
            select(Point)
            .where(Point.province_code == province_code, Point.status.in_(statuses))
            .order_by(Point.id)
        )
        return [dto.from_row(dto.CollectionPoint, r) for r in rows]

    async def change(self, point_id: int, **values: Any) -> None:
        await self.session.execute(update(Point).where(Point.id == point_id).values(**values))

    async def by_ids(self, ids: list[int]) -> dict[int, dto.CollectionPoint]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Point).where(Point.id.in_(ids)))
        return {r.id: dto.from_row(dto.CollectionPoint, r) for r in rows}

    async def active(self) -> list[dto.CollectionPoint]:
        """Every active collection point, by province."""
        rows = await self.session.scalars(
            select(Point).where(Point.status == "active").order_by(Point.province_code, Point.id)
        )
        return [dto.from_row(dto.CollectionPoint, r) for r in rows]

    async def change_if(self, point_id: int, from_status: tuple[str, ...], **values: Any) -> bool:
        """Change a point only while it is in one of ``from_status`` (two officials: first one wins)."""
        result = await self.session.execute(
            update(Point)
            .where(Point.id == point_id, Point.status.in_(from_status))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
