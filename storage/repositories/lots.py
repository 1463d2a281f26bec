"""Harvest lots (supply) and their household shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

Lot = models.HarvestLot
OPEN = ("open", "partly_matched")


def _status_after(remaining: Any, quantity: Any) -> Any:
    """SQL expression for the status a lot or order has with ``remaining`` kg left."""
    return case((remaining <= 0, "matched"), (remaining < quantity, "partly_matched"), else_="open")


def _listed(model: Any, matched_until: dt.date | None) -> Any:
    if matched_until is None:
        return model.status.in_(OPEN)
    return or_(model.status.in_(OPEN), and_(model.status == "matched", model.ready_to >= matched_until))


class LotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, shares: Sequence[dto.LotShare] = (), **values: Any) -> dto.Lot:
        row = Lot(remaining_kg=values["quantity_kg"], status="open", **values)
        self.session.add(row)
        await self.session.flush()
        for share in shares:
            self.session.add(
                models.LotShare(lot_id=row.id, household=share.household, phone=share.phone, kg=share.kg)
            )
        await self.session.flush()
        return dto.from_row(dto.Lot, row)

    async def get(self, lot_id: int) -> dto.Lot | None:
        row = await self.session.get(Lot, lot_id, populate_existing=True)
        return dto.from_row(dto.Lot, row) if row else None

    async def shares(self, lot_id: int) -> list[dto.LotShare]:
        rows = await self.session.scalars(
            select(models.LotShare).where(models.LotShare.lot_id == lot_id).order_by(models.LotShare.id)
        )
        return [dto.from_row(dto.LotShare, r) for r in rows]

    async def of_owner(
        self,
        owner_id: int,
        *,
        open_only: bool = True,
        limit: int = 5,
        offset: int = 0,
        matched_until: dt.date | None = None,
    ) -> list[dto.Lot]:
        """Newest first; open only (and, with ``matched_until``, fully matched ones whose window
        has not ended before that day: their deals may still change)."""
        stmt = select(Lot).where(Lot.owner_id == owner_id)
        if open_only:
            stmt = stmt.where(_listed(Lot, matched_until))
        rows = await self.session.scalars(stmt.order_by(Lot.id.desc()).limit(limit).offset(offset))
        return [dto.from_row(dto.Lot, r) for r in rows]

    async def count_of_owner(
        self, owner_id: int, *, open_only: bool = True, matched_until: dt.date | None = None
    ) -> int:
        stmt = select(func.count()).select_from(Lot).where(Lot.owner_id == owner_id)
        if open_only:
            stmt = stmt.where(_listed(Lot, matched_until))
        return int(await self.session.scalar(stmt) or 0)

    async def open_lots(self, product_code: str | None = None) -> list[dto.Lot]:
        stmt = select(Lot).where(Lot.status.in_(OPEN), Lot.remaining_kg > 0)
        if product_code:
            stmt = stmt.where(Lot.product_code == product_code)
        return [dto.from_row(dto.Lot, r) for r in await self.session.scalars(stmt.order_by(Lot.id))]

    async def open_page(self, after_id: int, limit: int) -> list[dto.Lot]:
        """Open lots with volume left and ids above ``after_id``, by id (reading a big book in pages)."""
        stmt = (
            select(Lot)
            .where(Lot.status.in_(OPEN), Lot.remaining_kg > 0, Lot.id > after_id)
            .order_by(Lot.id)
            .limit(limit)
        )
        return [dto.from_row(dto.Lot, r) for r in await self.session.scalars(stmt)]

    async def open_at_point(self, point_id: int) -> list[dto.Lot]:
        """Lots at a collection point with volume still to sell, oldest first."""
        stmt = select(Lot).where(
            Lot.collection_point_id == point_id, Lot.status.in_(OPEN), Lot.remaining_kg > 0
        )
        return [dto.from_row(dto.Lot, r) for r in await self.session.scalars(stmt.order_by(Lot.id))]

    async def take(self, lot_id: int, kg: int) -> bool:
        """Reserve ``kg`` of an open lot atomically; False when that much is no longer there.

        The conditional UPDATE is the arbiter between concurrent matchers.
        """
        result = await self.session.execute(
            update(Lot)
            .where(Lot.id == lot_id, Lot.status.in_(OPEN), Lot.remaining_kg >= kg)
            .values(
                remaining_kg=Lot.remaining_kg - kg,
                status=_status_after(Lot.remaining_kg - kg, Lot.quantity_kg),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def give_back(self, lot_id: int, kg: int) -> None:
        """Return released volume to a lot that is still live."""
        await self.session.execute(
            update(Lot)
            .where(Lot.id == lot_id, Lot.status.in_((*OPEN, "matched")))
            .values(
                remaining_kg=Lot.remaining_kg + kg,
                status=_status_after(Lot.remaining_kg + kg, Lot.quantity_kg),
            )
            .execution_options(synchronize_session=False)
        )

    async def change(self, lot_id: int, **values: Any) -> None:
        await self.session.execute(
            update(Lot).where(Lot.id == lot_id).values(**values).execution_options(synchronize_session=False)
        )

    async def set_quantity(self, lot_id: int, quantity_kg: int) -> bool:
        """Change a lot's total volume; refused when more than that is already promised."""
        result = await self.session.execute(
            update(Lot)
            .where(
                Lot.id == lot_id,
                Lot.status.in_((*OPEN, "matched")),
                Lot.quantity_kg - Lot.remaining_kg <= quantity_kg,
            )
            .values(
                remaining_kg=quantity_kg - (Lot.quantity_kg - Lot.remaining_kg),
                quantity_kg=quantity_kg,
                status=_status_after(quantity_kg - (Lot.quantity_kg - Lot.remaining_kg), quantity_kg),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def shrink(self, lot_id: int, kg: int) -> bool:
        """Take ``kg`` off the total of a live item whose promised volume covers them (an amended
        match gave them up); what is left unpromised stays as it was."""
        promised = Lot.quantity_kg - Lot.remaining_kg
        result = await self.session.execute(
            update(Lot)
            .where(Lot.id == lot_id, promised >= kg)
            .values(
                quantity_kg=Lot.quantity_kg - kg,
                # a closed (expired, cancelled) item keeps its status; only its books change
                status=case(
                    (
                        Lot.status.in_((*OPEN, "matched")),
                        _status_after(Lot.remaining_kg, Lot.quantity_kg - kg),
                    ),
                    else_=Lot.status,
                ),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def due_to_expire(self, today: dt.date, limit: int = 500) -> list[dto.Lot]:
        rows = await self.session.scalars(
            select(Lot).where(Lot.status.in_(OPEN), Lot.ready_to < today).order_by(Lot.id).limit(limit)
        )
        return [dto.from_row(dto.Lot, r) for r in rows]

    async def close(self, lot_id: int, status: str, reason: str | None = None) -> bool:
        """Move a still-open lot to ``status`` ('cancelled' or 'expired'); False if it was already closed."""
        values: dict[str, Any] = {"status": status}
        if reason is not None:
            values["cancel_reason"] = reason
        result = await self.session.execute(
            update(Lot)
            .where(Lot.id == lot_id, Lot.status.in_(OPEN))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def replace_shares(self, lot_id: int, shares: Sequence[dto.LotShare]) -> None:
        """Swap a pooled lot's household shares for new ones."""
        await self.session.execute(delete(models.LotShare).where(models.LotShare.lot_id == lot_id))
        for share in shares:
            self.session.add(
                models.LotShare(lot_id=lot_id, household=share.household, phone=share.phone, kg=share.kg)
            )
        await self.session.flush()

    async def product_counts(self, province_code: int, limit: int = 6, recent: int = 2000) -> list[str]:
        """Product codes most often reported in a province (at its collection points) among the
        ``recent`` latest lots, most first: the work stays the same however big the book grows."""
        Point = models.CollectionPoint
        latest = (
            select(Lot.id, Lot.product_code, Lot.collection_point_id).order_by(Lot.id.desc()).limit(recent)
        )
        sub = latest.subquery()
        n = func.count(sub.c.id)
        rows = await self.session.execute(
            select(sub.c.product_code, n)
            .join(Point, Point.id == sub.c.collection_point_id)
            .where(Point.province_code == province_code)
            .group_by(sub.c.product_code)
            .order_by(n.desc(), sub.c.product_code)
            .limit(limit)
        )
        return [code for code, _count in rows]
