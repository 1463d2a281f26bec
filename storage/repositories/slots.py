"""Pickup slots (khung giờ lấy hàng) of collection points, and the pickups booked into them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.sql import insert_ignore_many

Slot = models.PickupSlot


@dataclass(frozen=True, slots=True)
class PickupSlot:
    id: int
    point_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity_kg: int
    capacity_trucks: int
    booked_kg: int
    booked_trucks: int

    @property
    def room_kg(self) -> int:
        return self.capacity_kg - self.booked_kg

    @property
    def room_trucks(self) -> int:
        return self.capacity_trucks - self.booked_trucks


@dataclass(frozen=True, slots=True)
class Pickup:
    """A scheduled match seen from its slot: who brings what to which point, when."""

    match_id: int
    status: str
    kg: int
    price: int
    product_code: str
    grade: str
    lot_id: int
    rep_id: int
    order_id: int
    trader_id: int
    slot_id: int
    point_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


class SlotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(
        self,
        point_id: int,
        times: Sequence[tuple[dt.datetime, dt.datetime]],
        capacity_kg: int,
        capacity_trucks: int,
    ) -> int:
        """Create the slots that do not exist yet (unique per point and start); returns how many were new."""
        rows = [
            {
                "point_id": point_id,
                "starts_at": start,
                "ends_at": end,
                "capacity_kg": capacity_kg,
                "capacity_trucks": capacity_trucks,
                "booked_kg": 0,
                "booked_trucks": 0,
            }
            for start, end in times
        ]
        return await insert_ignore_many(self.session, Slot.__table__, rows)  # type: ignore[arg-type]

    async def get(self, slot_id: int) -> PickupSlot | None:
        row = await self.session.get(Slot, slot_id, populate_existing=True)
        return dto.from_row(PickupSlot, row) if row else None

    async def between(
        self, point_id: int, start: dt.datetime, end: dt.datetime, *, room_for_kg: int | None = None
    ) -> list[PickupSlot]:
        """Slots of a point starting in [start, end), optionally only those with room for ``room_for_kg``."""
        stmt = select(Slot).where(Slot.point_id == point_id, Slot.starts_at >= start, Slot.starts_at < end)
        if room_for_kg is not None:
            stmt = stmt.where(
                Slot.booked_kg + room_for_kg <= Slot.capacity_kg,
                Slot.booked_trucks + 1 <= Slot.capacity_trucks,
            )
        rows = await self.session.scalars(
            stmt.order_by(Slot.starts_at).execution_options(populate_existing=True)
        )
        return [dto.from_row(PickupSlot, r) for r in rows]

    async def book(self, slot_id: int, kg: int) -> bool:
        """Take ``kg`` and one truck place if they still fit; the database decides, so two
        concurrent bookings of the last room cannot both succeed."""
        result = await self.session.execute(
            update(Slot)
            .where(
                Slot.id == slot_id,
                Slot.booked_kg + kg <= Slot.capacity_kg,
                Slot.booked_trucks + 1 <= Slot.capacity_trucks,
            )
            .values(booked_kg=Slot.booked_kg + kg, booked_trucks=Slot.booked_trucks + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, slot_id: int, kg: int) -> bool:
        """Give back ``kg`` and one truck place."""
        result = await self.session.execute(
            update(Slot)
            .where(Slot.id == slot_id, Slot.booked_kg >= kg, Slot.booked_trucks >= 1)
            .values(booked_kg=Slot.booked_kg - kg, booked_trucks=Slot.booked_trucks - 1)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release_kg(self, slot_id: int, kg: int) -> bool:
        """Give back ``kg`` of a booking that stays (the truck still comes, with less)."""
        result = await self.session.execute(
            update(Slot)
            .where(Slot.id == slot_id, Slot.booked_kg >= kg)
            .values(booked_kg=Slot.booked_kg - kg)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def pickups(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        point_id: int | None = None,
        person_id: int | None = None,
        statuses: Sequence[str] = ("scheduled",),
    ) -> list[Pickup]:
        """Matches booked into slots starting in [start, end), by start time.

        ``person_id`` keeps those where that person is the rep (lot owner) or the trader.
        """
        m, lot, order = models.Match, models.HarvestLot, models.PurchaseOrder
        stmt = (
            select(
                m.id,
                m.status,
                m.kg,
                m.price,
                lot.product_code,
                lot.grade,
                lot.id,
                lot.owner_id,
                order.id,
                order.trader_id,
                Slot.id,
                Slot.point_id,
                Slot.starts_at,
                Slot.ends_at,
            )
            .join(Slot, Slot.id == m.slot_id)
            .join(lot, lot.id == m.lot_id)
            .join(order, order.id == m.order_id)
            .where(m.status.in_(statuses), Slot.starts_at >= start, Slot.starts_at < end)
            .order_by(Slot.starts_at, m.id)
        )
        if point_id is not None:
            stmt = stmt.where(Slot.point_id == point_id)
        if person_id is not None:
            stmt = stmt.where((lot.owner_id == person_id) | (order.trader_id == person_id))
        return [Pickup(*row) for row in (await self.session.execute(stmt)).all()]  # type: ignore[call-arg]
