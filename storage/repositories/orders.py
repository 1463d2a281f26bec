"""Purchase orders (demand)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.repositories.lots import OPEN, _status_after

Order = models.PurchaseOrder


def _listed(model: Any, matched_until: dt.date | None) -> Any:
    if matched_until is None:
        return model.status.in_(OPEN)
    return or_(model.status.in_(OPEN), and_(model.status == "matched", model.pickup_to >= matched_until))


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> dto.Order:
        row = Order(remaining_kg=values["quantity_kg"], status="open", **values)
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(dto.Order, row)

    async def get(self, order_id: int) -> dto.Order | None:
        row = await self.session.get(Order, order_id, populate_existing=True)
        return dto.from_row(dto.Order, row) if row else None

    async def of_trader(
        self,
        trader_id: int,
        *,
        open_only: bool = True,
        limit: int = 5,
        offset: int = 0,
        matched_until: dt.date | None = None,
    ) -> list[dto.Order]:
        """Newest first; open only (and, with ``matched_until``, fully matched ones whose window
        has not ended before that day: their deals may still change)."""
        stmt = select(Order).where(Order.trader_id == trader_id)
        if open_only:
            stmt = stmt.where(_listed(Order, matched_until))
        rows = await self.session.scalars(stmt.order_by(Order.id.desc()).limit(limit).offset(offset))
        return [dto.from_row(dto.Order, r) for r in rows]

    async def count_of_trader(
        self, trader_id: int, *, open_only: bool = True, matched_until: dt.date | None = None
    ) -> int:
        stmt = select(func.count()).select_from(Order).where(Order.trader_id == trader_id)
        if open_only:
            stmt = stmt.where(_listed(Order, matched_until))
        return int(await self.session.scalar(stmt) or 0)

    async def open_orders(self, product_code: str | None = None) -> list[dto.Order]:
        stmt = select(Order).where(Order.status.in_(OPEN), Order.remaining_kg > 0)
        if product_code:
            stmt = stmt.where(Order.product_code == product_code)
        return [dto.from_row(dto.Order, r) for r in await self.session.scalars(stmt.order_by(Order.id))]

    async def open_page(self, after_id: int, limit: int) -> list[dto.Order]:
        """Open orders with volume left and ids above ``after_id``, by id (reading in pages)."""
        stmt = (
            select(Order)
            .where(Order.status.in_(OPEN), Order.remaining_kg > 0, Order.id > after_id)
            .order_by(Order.id)
            .limit(limit)
        )
        return [dto.from_row(dto.Order, r) for r in await self.session.scalars(stmt)]

    async def take(self, order_id: int, kg: int) -> bool:
        """Reserve ``kg`` of an open order atomically (see :meth:`LotRepository.take`)."""
        result = await self.session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status.in_(OPEN), Order.remaining_kg >= kg)
            .values(
                remaining_kg=Order.remaining_kg - kg,
                status=_status_after(Order.remaining_kg - kg, Order.quantity_kg),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def give_back(self, order_id: int, kg: int) -> None:
        await self.session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status.in_((*OPEN, "matched")))
            .values(
                remaining_kg=Order.remaining_kg + kg,
                status=_status_after(Order.remaining_kg + kg, Order.quantity_kg),
            )
            .execution_options(synchronize_session=False)
        )

    async def change(self, order_id: int, **values: Any) -> None:
        await self.session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def set_quantity(self, order_id: int, quantity_kg: int) -> bool:
        """Change an order's total volume; refused when more than that is already matched."""
        promised = Order.quantity_kg - Order.remaining_kg
        result = await self.session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status.in_((*OPEN, "matched")), promised <= quantity_kg)
            .values(
                remaining_kg=quantity_kg - promised,
                quantity_kg=quantity_kg,
                status=_status_after(quantity_kg - promised, quantity_kg),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def shrink(self, order_id: int, kg: int) -> bool:
        """Take ``kg`` off the total of a live item whose promised volume covers them (an amended
        match gave them up); what is left unpromised stays as it was."""
        promised = Order.quantity_kg - Order.remaining_kg
        result = await self.session.execute(
            update(Order)
            .where(Order.id == order_id, promised >= kg)
            .values(
                quantity_kg=Order.quantity_kg - kg,
                # a closed (expired, cancelled) item keeps its status; only its books change
                status=case(
                    (
                        Order.status.in_((*OPEN, "matched")),
                        _status_after(Order.remaining_kg, Order.quantity_kg - kg),
                    ),
                    else_=Order.status,
                ),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def due_to_expire(self, today: dt.date, limit: int = 500) -> list[dto.Order]:
        rows = await self.session.scalars(
            select(Order)
            .where(Order.status.in_(OPEN), Order.pickup_to < today)
            .order_by(Order.id)
            .limit(limit)
        )
        return [dto.from_row(dto.Order, r) for r in rows]

    async def close(self, order_id: int, status: str, reason: str | None = None) -> bool:
        """Move a still-open order to ``status`` ('cancelled' or 'expired'); False if it was already closed."""
        values: dict[str, Any] = {"status": status}
        if reason is not None:
            values["cancel_reason"] = reason
        result = await self.session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status.in_(OPEN))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
