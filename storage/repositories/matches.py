"""Match proposals between a lot and an order, and their life cycle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models

Match = models.Match
LIVE = ("proposed", "accepted", "scheduled")


class MatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, lot_id: int, order_id: int, kg: int, price: int, expires_at: dt.datetime | None
    ) -> dto.Match:
        row = Match(
            lot_id=lot_id, order_id=order_id, kg=kg, price=price, status="proposed", expires_at=expires_at
        )
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(dto.Match, row)

    async def get(self, match_id: int) -> dto.Match | None:
        row = await self.session.get(Match, match_id, populate_existing=True)
        return dto.from_row(dto.Match, row) if row else None

    async def transition(self, match_id: int, from_status: Sequence[str], **values: Any) -> bool:
        """Move a match on only if it is still in one of ``from_status`` (first writer wins)."""
        result = await self.session.execute(
            update(Match)
            .where(Match.id == match_id, Match.status.in_(from_status))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def for_lot(self, lot_id: int, statuses: Sequence[str] = LIVE) -> list[dto.Match]:
        rows = await self.session.scalars(
            select(Match).where(Match.lot_id == lot_id, Match.status.in_(statuses)).order_by(Match.id)
        )
        return [dto.from_row(dto.Match, r) for r in rows]

    async def for_order(self, order_id: int, statuses: Sequence[str] = LIVE) -> list[dto.Match]:
        rows = await self.session.scalars(
            select(Match).where(Match.order_id == order_id, Match.status.in_(statuses)).order_by(Match.id)
        )
        return [dto.from_row(dto.Match, r) for r in rows]

    async def pairs_declined(self, lot_ids: Sequence[int], order_ids: Sequence[int]) -> set[tuple[int, int]]:
        """(lot, order) pairs that one side declined: never propose them again."""
        if not lot_ids and not order_ids:
            return set()
        rows = await self.session.execute(
            select(Match.lot_id, Match.order_id).where(
                Match.status == "declined", or_(Match.lot_id.in_(lot_ids), Match.order_id.in_(order_ids))
            )
        )
        return {(a, b) for a, b in rows.all()}

    async def waiting_for(self, user_id: int, limit: int = 20) -> list[dto.Match]:
        """Proposals still waiting for ``user_id``'s answer (as the lot's owner or the order's trader)."""
        Lot, Order = models.HarvestLot, models.PurchaseOrder
        rows = await self.session.scalars(
            select(Match)
            .join(Lot, Lot.id == Match.lot_id)
            .join(Order, Order.id == Match.order_id)
            .where(
                Match.status == "proposed",
                or_(
                    and_(Lot.owner_id == user_id, Match.rep_accepted_at.is_(None)),
                    and_(Order.trader_id == user_id, Match.trader_accepted_at.is_(None)),
                ),
            )
            .order_by(Match.id)
            .limit(limit)
        )
        return [dto.from_row(dto.Match, r) for r in rows]

    async def due_to_expire(self, now: dt.datetime, limit: int = 500) -> list[dto.Match]:
        rows = await self.session.scalars(
            select(Match)
            .where(Match.status == "proposed", Match.expires_at.is_not(None), Match.expires_at < now)
            .order_by(Match.id)
            .limit(limit)
        )
        return [dto.from_row(dto.Match, r) for r in rows]
