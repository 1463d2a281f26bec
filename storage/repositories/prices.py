"""Reference prices set by officials."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

Price = models.ReferencePrice


class PriceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, product_code: str, province_code: int, price: int, valid_from: dt.date, set_by: int | None
    ) -> dto.ReferencePrice:
        row = Price(
            product_code=product_code,
            province_code=province_code,
            price=price,
            valid_from=valid_from,
            set_by=set_by,
        )
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(dto.ReferencePrice, row)

    async def current(self, product_code: str, province_code: int, on: dt.date) -> dto.ReferencePrice | None:
        """The newest price valid on ``on`` for a product in a province."""
        row = await self.session.scalar(
            select(Price)
            .where(
                Price.product_code == product_code,
                Price.province_code == province_code,
                Price.valid_from <= on,
            )
            .order_by(Price.valid_from.desc(), Price.id.desc())
            .limit(1)
        )
        return dto.from_row(dto.ReferencePrice, row) if row else None

    async def all_current(self, on: dt.date) -> dict[tuple[str, int], dto.ReferencePrice]:
        """The price in force on ``on`` for every (product, province) that has one."""
        rows = await self.session.scalars(
            select(Price).where(Price.valid_from <= on).order_by(Price.valid_from, Price.id)
        )
        found: dict[tuple[str, int], dto.ReferencePrice] = {}
        for r in rows:
            found[(r.product_code, r.province_code)] = dto.from_row(dto.ReferencePrice, r)
        return found
