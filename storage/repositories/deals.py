"""The part of a deal after the pickup slot: the weighing, the payment, the households' payouts,
and the reports of traders who pushed the price down. Every change is conditional, so two
people (or two processes) acting at once cannot both win."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.sql import insert_ignore

Match, Pickup, Payment, Payout = models.Match, models.Pickup, models.Payment, models.Payout
Slot, Report = models.PickupSlot, models.GougingReport


class DealRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the weighing ------------------------------------------------------------------------
    async def add_pickup(
        self,
        match_id: int,
        weighed_kg: int,
        grade: str,
        recorded_by: int | None,
        now: dt.datetime,
        surplus_kg: int = 0,
    ) -> bool:
        """Record the pickup once; False when one is recorded already."""
        return await insert_ignore(
            self.session,
            Pickup.__table__,  # type: ignore[arg-type]
            {
                "match_id": match_id,
                "weighed_kg": weighed_kg,
                "grade_checked": grade,
                "recorded_by": recorded_by,
                "recorded_at": now,
                "surplus_kg": surplus_kg,
            },
        )

    async def decide_surplus(self, match_id: int, now: dt.datetime) -> bool:
        return await self._pickup_where(
            match_id, Pickup.surplus_kg > 0, Pickup.surplus_decided_at.is_(None), surplus_decided_at=now
        )

    async def pickup(self, match_id: int) -> dto.Pickup | None:
        row = await self.session.get(Pickup, match_id, populate_existing=True)
        return dto.from_row(dto.Pickup, row) if row else None

    async def _pickup_where(self, match_id: int, *conditions: Any, **values: Any) -> bool:
        result = await self.session.execute(
            update(Pickup)
            .where(Pickup.match_id == match_id, *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def confirm_pickup(self, match_id: int, now: dt.datetime) -> bool:
        """The seller agrees with the weight (only while it is neither confirmed nor disputed)."""
        return await self._pickup_where(
            match_id, Pickup.confirmed_at.is_(None), Pickup.disputed_at.is_(None), confirmed_at=now
        )

    async def dispute_pickup(self, match_id: int, claimed_kg: int, now: dt.datetime) -> bool:
        return await self._pickup_where(
            match_id,
            Pickup.confirmed_at.is_(None),
            Pickup.disputed_at.is_(None),
            disputed_at=now,
            claimed_kg=claimed_kg,
        )

    async def resolve_pickup(self, match_id: int, weighed_kg: int, by: int, now: dt.datetime) -> bool:
        return await self._pickup_where(
            match_id,
            Pickup.disputed_at.is_not(None),
            Pickup.resolved_at.is_(None),
            weighed_kg=weighed_kg,
            resolved_by=by,
            resolved_at=now,
            confirmed_at=now,
        )

    async def no_show_candidates(self, ended_before: dt.datetime, limit: int = 200) -> list[dto.Match]:
        """Scheduled matches whose pickup slot ended before ``ended_before`` with nothing recorded."""
        stmt = (
            select(Match)
            .join(Slot, Slot.id == Match.slot_id)
            .outerjoin(Pickup, Pickup.match_id == Match.id)
            .where(
                Match.status == "scheduled",
                Slot.ends_at < ended_before,
                Pickup.match_id.is_(None),
                ~select(models.EntityEvent.id)
                .where(
                    models.EntityEvent.entity == "match",
                    models.EntityEvent.entity_id == Match.id,
                    models.EntityEvent.action == "no_show_asked",
                )
                .exists(),
            )
            .order_by(Match.id)
            .limit(limit)
        )
        return [dto.from_row(dto.Match, r) for r in await self.session.scalars(stmt)]

    # --- the payment -------------------------------------------------------------------------
    async def open_payment(self, match_id: int, amount_vnd: int, now: dt.datetime) -> bool:
        """The trader owes ``amount_vnd`` from now on (once per match)."""
        return await insert_ignore(
            self.session,
            Payment.__table__,  # type: ignore[arg-type]
            {"match_id": match_id, "amount_vnd": amount_vnd, "due_since": now, "reminders": 0},
        )

    async def set_amount(self, match_id: int, amount_vnd: int) -> None:
        await self.session.execute(
            update(Payment)
            .where(Payment.match_id == match_id, Payment.recorded_at.is_(None))
            .values(amount_vnd=amount_vnd)
        )

    async def payment(self, match_id: int) -> dto.Payment | None:
        row = await self.session.get(Payment, match_id, populate_existing=True)
        return dto.from_row(dto.Payment, row) if row else None

    async def record_payment(self, match_id: int, method: str, now: dt.datetime) -> bool:
        result = await self.session.execute(
            update(Payment)
            .where(Payment.match_id == match_id, Payment.recorded_at.is_(None))
            .values(method=method, recorded_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def confirm_receipt(self, match_id: int, now: dt.datetime) -> bool:
        result = await self.session.execute(
            update(Payment)
            .where(Payment.match_id == match_id, Payment.received_at.is_(None))
            .values(received_at=now, recorded_at=func.coalesce(Payment.recorded_at, now))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def overdue(
        self, due_before: dt.datetime, reminded_before: dt.datetime, limit: int = 200
    ) -> list[dto.Payment]:
        """Unpaid (not even recorded) payments due since before ``due_before``, not reminded since
        ``reminded_before``."""
        stmt = (
            select(Payment)
            .where(
                Payment.received_at.is_(None),
                Payment.recorded_at.is_(None),
                Payment.due_since < due_before,
                or_(Payment.last_reminder_at.is_(None), Payment.last_reminder_at < reminded_before),
            )
            .order_by(Payment.match_id)
            .limit(limit)
        )
        return [dto.from_row(dto.Payment, r) for r in await self.session.scalars(stmt)]

    async def reminded(self, match_id: int, now: dt.datetime, *, escalated: bool = False) -> None:
        values: dict[str, Any] = {"reminders": Payment.reminders + 1, "last_reminder_at": now}
        if escalated:
            values["escalated_at"] = now
        await self.session.execute(update(Payment).where(Payment.match_id == match_id).values(**values))

    # --- the households' payouts -------------------------------------------------------------
    async def add_payouts(self, match_id: int, rows: Sequence[dict[str, Any]]) -> None:
        """Store the split of a payment (once: an existing split is kept)."""
        if await self.session.scalar(
            select(func.count()).select_from(Payout).where(Payout.match_id == match_id)
        ):
            return
        self.session.add_all(Payout(match_id=match_id, **r) for r in rows)
        await self.session.flush()

    async def payouts(self, match_id: int) -> list[dto.Payout]:
        rows = await self.session.scalars(
            select(Payout).where(Payout.match_id == match_id).order_by(Payout.id)
        )
        return [dto.from_row(dto.Payout, r) for r in rows]

    # --- lists for the people involved -------------------------------------------------------
    async def for_trader(self, trader_id: int, statuses: Sequence[str], limit: int = 20) -> list[dto.Match]:
        """The trader's matches in ``statuses``, newest first."""
        stmt = (
            select(Match)
            .join(models.PurchaseOrder, models.PurchaseOrder.id == Match.order_id)
            .where(models.PurchaseOrder.trader_id == trader_id, Match.status.in_(list(statuses)))
            .order_by(Match.id.desc())
            .limit(limit)
        )
        return [dto.from_row(dto.Match, r) for r in await self.session.scalars(stmt)]

    async def for_seller(self, owner_id: int, statuses: Sequence[str], limit: int = 20) -> list[dto.Match]:
        stmt = (
            select(Match)
            .join(models.HarvestLot, models.HarvestLot.id == Match.lot_id)
            .where(models.HarvestLot.owner_id == owner_id, Match.status.in_(list(statuses)))
            .order_by(Match.id.desc())
            .limit(limit)
        )
        return [dto.from_row(dto.Match, r) for r in await self.session.scalars(stmt)]

    async def realized(
        self, product_code: str, province_code: int, since: dt.datetime
    ) -> tuple[int, int, int] | None:
        """(weighed kg, paid đồng, deals) of the paid deals of a product in a province since ``since``."""
        Lot, Point = models.HarvestLot, models.CollectionPoint
        row = (
            await self.session.execute(
                select(func.sum(Match.weighed_kg), func.sum(Payment.amount_vnd), func.count(Match.id))
                .join(Payment, Payment.match_id == Match.id)
                .join(Lot, Lot.id == Match.lot_id)
                .join(Point, Point.id == Lot.collection_point_id)
                .where(
                    and_(
                        Match.status == "paid",
                        Match.paid_at >= since,
                        Lot.product_code == product_code,
                        Point.province_code == province_code,
                    )
                )
            )
        ).one()
        kg, amount, deals = row
        return (int(kg or 0), int(amount or 0), int(deals)) if deals else None

    # --- the people and lots a deal touches -------------------------------------------------------
    async def add_lot_volume(self, lot_id: int, kg: int, *, remaining: bool = True) -> None:
        """The scales found the lot ``kg`` bigger (or, negative, smaller) than reported; with
        ``remaining`` the difference is also there to sell."""
        Lot = models.HarvestLot
        values: dict[str, Any] = {"quantity_kg": Lot.quantity_kg + kg}
        if remaining:
            values["remaining_kg"] = Lot.remaining_kg + kg
        await self.session.execute(
            update(Lot).where(Lot.id == lot_id).values(**values).execution_options(synchronize_session=False)
        )

    async def add_order_volume(self, order_id: int, kg: int) -> None:
        """The trader bought ``kg`` more than the order asked for."""
        Order = models.PurchaseOrder
        await self.session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(quantity_kg=Order.quantity_kg + kg)
            .execution_options(synchronize_session=False)
        )

    async def count_no_show(self, user_id: int) -> int:
        """One more time the trader did not come; returns their count."""
        User = models.User
        await self.session.execute(update(User).where(User.id == user_id).values(no_shows=User.no_shows + 1))
        return int(await self.session.scalar(select(User.no_shows).where(User.id == user_id)) or 0)

    async def user_by_phone(self, phone: str) -> dto.User | None:
        """The registered person with this phone (the first registered, when two share it)."""
        User = models.User
        row = await self.session.scalar(
            select(User)
            .where(User.phone == phone, User.registered_at.is_not(None))
            .order_by(User.registered_at)
            .limit(1)
        )
        return dto.from_row(dto.User, row) if row else None

    # --- reports of price gouging ------------------------------------------------------------
    async def add_report(self, **values: Any) -> int:
        row = Report(**values)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def report(self, report_id: int) -> dto.GougingReport | None:
        row = await self.session.get(Report, report_id)
        return dto.from_row(dto.GougingReport, row) if row else None

    async def report_count(self, province_code: int | None, since: dt.datetime) -> int:
        stmt = select(func.count()).select_from(Report).where(Report.created_at >= since)
        if province_code is not None:
            stmt = stmt.where(Report.province_code == province_code)
        return int(await self.session.scalar(stmt) or 0)
