"""Reference prices set by officials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

Price = models.ReferencePrice
Match, Lot, Point, User = models.Match, models.HarvestLot, models.CollectionPoint, models.User


class PriceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        product_code: str,
        province_code: int,
        price: int,
        valid_from: dt.date,
        set_by: int | None,
        created_at: dt.datetime | None = None,
    ) -> dto.ReferencePrice:
        row = Price(
            product_code=product_code,
            province_code=province_code,
            price=price,
            valid_from=valid_from,
            set_by=set_by,
        )
        if created_at is not None:  # the service's clock, so "known at" questions agree with it
            row.created_at = created_at
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(dto.ReferencePrice, row)

    async def current(
        self, product_code: str, province_code: int, on: dt.date, *, known_at: dt.datetime | None = None
    ) -> dto.ReferencePrice | None:
        """The newest price valid on ``on`` for a product in a province (as recorded by ``known_at``)."""
        stmt = (
            select(Price)
            .where(
                Price.product_code == product_code,
                Price.province_code == province_code,
                Price.valid_from <= on,
            )
            .order_by(Price.valid_from.desc(), Price.id.desc())
            .limit(1)
        )
        if known_at is not None:
            stmt = stmt.where(Price.created_at <= known_at)
        row = await self.session.scalar(stmt)
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

    async def in_province(self, province_code: int, on: dt.date) -> list[dto.ReferencePrice]:
        """The price in force on ``on`` for every product of a province, by product code."""
        rows = await self.session.scalars(
            select(Price)
            .where(Price.province_code == province_code, Price.valid_from <= on)
            .order_by(Price.valid_from, Price.id)
        )
        found = {r.product_code: dto.from_row(dto.ReferencePrice, r) for r in rows}
        return [found[code] for code in sorted(found)]

    async def existing(
        self, keys: Sequence[tuple[str, int, dt.date, int]]
    ) -> set[tuple[str, int, dt.date, int]]:
        """Which of these (product, province, valid_from, price) rows are stored already."""
        if not keys:
            return set()
        rows = await self.session.execute(
            select(Price.product_code, Price.province_code, Price.valid_from, Price.price).where(
                Price.product_code.in_({k[0] for k in keys}),
                Price.valid_from >= min(k[2] for k in keys),
                Price.valid_from <= max(k[2] for k in keys),
            )
        )
        stored = {(a, b, c, d) for a, b, c, d in rows.all()}
        return stored & set(keys)

    async def add_many(self, rows: Sequence[dict[str, object]]) -> None:
        """Insert prices in one statement (imports)."""
        if rows:
            await self.session.execute(insert(Price), list(rows))

    async def realized(self, product_code: str, province_code: int, since: dt.datetime) -> tuple[int, int]:
        """(kg, kg × price in đồng) of the deals of a product in a province paid since ``since``: the
        weighed kg, where the lot was picked up (its collection point's province, else its owner's)."""
        kg = func.coalesce(Match.weighed_kg, Match.kg)
        row = (
            await self.session.execute(
                select(func.sum(kg), func.sum(kg * Match.price))
                .select_from(Match)
                .join(Lot, Lot.id == Match.lot_id)
                .join(User, User.id == Lot.owner_id)
                .outerjoin(Point, Point.id == Lot.collection_point_id)
                .where(
                    Match.status == "paid",
                    Match.paid_at >= since,
                    Lot.product_code == product_code,
                    func.coalesce(Point.province_code, User.province_code) == province_code,
                )
            )
        ).one()
        return int(row[0] or 0), int(row[1] or 0)
