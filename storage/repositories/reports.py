"""Aggregations for reports and the rows of data exports.

Every figure about supply follows the *cohort* of lots posted in the period (their matches
included, whenever they were made), so that "matched / reported" is a true fill rate. A lot
belongs to the province of its collection point, or of its owner when it has none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, and_, cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import models
from storage.sql import dialect_name

Lot, Order, Match = models.HarvestLot, models.PurchaseOrder, models.Match
Point, User, Price, Slot = models.CollectionPoint, models.User, models.ReferencePrice, models.PickupSlot
Pickup, Payment, Gouging = models.Pickup, models.Payment, models.GougingReport
_S = TypeVar("_S", bound=Select)  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class Scope:
    """A period as UTC bounds (``end`` exclusive), an optional province, and the local time zone."""

    start: dt.datetime
    end: dt.datetime
    province_code: int | None = None
    tz_name: str = "Asia/Ho_Chi_Minh"

    @property
    def utc_offset_minutes(self) -> int:
        """The zone's offset at the period's start (Vietnam keeps +7 all year)."""
        offset = self.start.astimezone(ZoneInfo(self.tz_name)).utcoffset()
        return int(offset.total_seconds() // 60) if offset else 0


@dataclass(frozen=True, slots=True)
class LotGroup:
    product_code: str
    point_id: int | None
    status: str
    lots: int
    quantity_kg: int
    remaining_kg: int


@dataclass(frozen=True, slots=True)
class MatchGroup:
    product_code: str
    point_id: int | None
    status: str
    matches: int
    kg: int
    value_vnd: int  # sum of kg × price
    weighed_kg: int = 0  # what the scales said (the agreed kg until the pickup)
    paid_vnd: int = 0  # payments the seller confirmed receiving


@dataclass(frozen=True, slots=True)
class LotDay:
    day: dt.date
    status: str
    quantity_kg: int
    remaining_kg: int


@dataclass(frozen=True, slots=True)
class MatchDay:
    lot_day: dt.date  # when the lot was posted (volume chart)
    match_day: dt.date  # when the match was made (price chart)
    product_code: str
    province_code: int | None
    status: str
    kg: int
    value_vnd: int
    weighed_kg: int = 0
    weighed_value_vnd: int = 0  # sum of weighed kg × price: what the realized price is made of
    paid_vnd: int = 0


@dataclass(frozen=True, slots=True)
class Disputes:
    """Weights disputed on the scope's matches: how many, and how many an official settled."""

    opened: int
    resolved: int

    @property
    def open(self) -> int:
        return self.opened - self.resolved


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    trader_id: int
    trader_province: int | None
    product_code: str
    quantity_kg: int
    remaining_kg: int
    price: int
    provinces: tuple[int, ...]
    status: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PriceRow:
    product_code: str
    province_code: int
    price: int
    valid_from: dt.date


def _as_date(value: Any) -> dt.date:
    # SQLite's date() gives 'YYYY-MM-DD' text; PostgreSQL gives a date.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# What a pickup weighed (the agreed kg before the scales, and for deals recorded before weighing).
_WEIGHED = func.coalesce(Match.weighed_kg, Match.kg)
# A payment counts once the seller confirmed receiving it.
_RECEIVED = and_(Payment.match_id == Match.id, Payment.received_at.is_not(None))


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- helpers ---------------------------------------------------------------------------

    def _day(self, column: Any, scope: Scope) -> Any:
        """The local calendar day of a UTC timestamp column, in SQL."""
        if dialect_name(self.session) == "postgresql":
            return cast(func.timezone(scope.tz_name, column), Date)
        return func.date(column, f"{scope.utc_offset_minutes:+d} minutes")

    @staticmethod
    def _province() -> Any:
        return func.coalesce(Point.province_code, User.province_code)

    def _cohort(self, stmt: _S, scope: Scope) -> _S:
        """Restrict ``stmt`` (selecting from lots) to the lots posted in the scope."""
        stmt = (
            stmt.join(User, User.id == Lot.owner_id)
            .outerjoin(Point, Point.id == Lot.collection_point_id)
            .where(Lot.created_at >= scope.start, Lot.created_at < scope.end)
        )
        if scope.province_code is not None:
            stmt = stmt.where(self._province() == scope.province_code)
        return stmt

    # --- summary -----------------------------------------------------------------------------

    async def lot_groups(self, scope: Scope) -> list[LotGroup]:
        """Lots posted in the scope, by product, collection point and status."""
        stmt = self._cohort(
            select(
                Lot.product_code,
                Lot.collection_point_id,
                Lot.status,
                func.count(Lot.id),
                func.sum(Lot.quantity_kg),
                func.sum(Lot.remaining_kg),
            ).select_from(Lot),
            scope,
        ).group_by(Lot.product_code, Lot.collection_point_id, Lot.status)
        return [
            LotGroup(p, pt, s, int(n), int(q or 0), int(r or 0))
            for p, pt, s, n, q, r in (await self.session.execute(stmt)).all()
        ]

    async def lot_days(self, scope: Scope) -> list[LotDay]:
        """Lots posted in the scope, by local posting day and status."""
        day = self._day(Lot.created_at, scope)
        stmt = self._cohort(
            select(day, Lot.status, func.sum(Lot.quantity_kg), func.sum(Lot.remaining_kg)).select_from(Lot),
            scope,
        ).group_by(day, Lot.status)
        return [
            LotDay(_as_date(d), s, int(q or 0), int(r or 0))
            for d, s, q, r in (await self.session.execute(stmt)).all()
        ]

    async def match_groups(self, scope: Scope) -> list[MatchGroup]:
        """Matches of the cohort's lots, by product, collection point and match status."""
        stmt = self._cohort(
            select(
                Lot.product_code,
                Lot.collection_point_id,
                Match.status,
                func.count(Match.id),
                func.sum(Match.kg),
                func.sum(Match.kg * Match.price),
                func.sum(_WEIGHED),
                func.sum(Payment.amount_vnd),
            )
            .select_from(Lot)
            .join(Match, Match.lot_id == Lot.id)
            .outerjoin(Payment, _RECEIVED),
            scope,
        ).group_by(Lot.product_code, Lot.collection_point_id, Match.status)
        return [
            MatchGroup(p, pt, s, int(n), int(kg or 0), int(v or 0), int(w or 0), int(paid or 0))
            for p, pt, s, n, kg, v, w, paid in (await self.session.execute(stmt)).all()
        ]

    async def match_days(self, scope: Scope) -> list[MatchDay]:
        """Matches of the cohort's lots by lot day, match day, product, province and status."""
        lot_day, match_day, prov = (
            self._day(Lot.created_at, scope),
            self._day(Match.created_at, scope),
            self._province(),
        )
        stmt = self._cohort(
            select(
                lot_day,
                match_day,
                Lot.product_code,
                prov,
                Match.status,
                func.sum(Match.kg),
                func.sum(Match.kg * Match.price),
                func.sum(_WEIGHED),
                func.sum(_WEIGHED * Match.price),
                func.sum(Payment.amount_vnd),
            )
            .select_from(Lot)
            .join(Match, Match.lot_id == Lot.id)
            .outerjoin(Payment, _RECEIVED),
            scope,
        ).group_by(lot_day, match_day, Lot.product_code, prov, Match.status)
        return [
            MatchDay(
                _as_date(ld),
                _as_date(md),
                p,
                pv,
                s,
                int(kg or 0),
                int(v or 0),
                int(w or 0),
                int(wv or 0),
                int(paid or 0),
            )
            for ld, md, p, pv, s, kg, v, w, wv, paid in (await self.session.execute(stmt)).all()
        ]

    async def disputes(self, scope: Scope) -> Disputes:
        """Weights disputed on the matches of the cohort's lots, and how many were settled."""
        stmt = self._cohort(
            select(func.count(Pickup.match_id), func.count(Pickup.resolved_at))
            .select_from(Lot)
            .join(Match, Match.lot_id == Lot.id)
            .join(Pickup, Pickup.match_id == Match.id)
            .where(Pickup.disputed_at.is_not(None)),
            scope,
        )
        opened, resolved = (await self.session.execute(stmt)).one()
        return Disputes(int(opened or 0), int(resolved or 0))

    def _gouging(self, stmt: _S, scope: Scope) -> _S:
        stmt = stmt.where(Gouging.created_at >= scope.start, Gouging.created_at < scope.end)
        if scope.province_code is not None:
            stmt = stmt.where(Gouging.province_code == scope.province_code)
        return stmt

    async def gouging_reports(self, scope: Scope) -> int:
        """Reports of price-gouging (/baoepgia) made in the scope, in the reporter's province."""
        stmt = self._gouging(select(func.count(Gouging.id)), scope)
        return int(await self.session.scalar(stmt) or 0)

    async def first_matches(self, scope: Scope) -> list[tuple[dt.datetime, dt.datetime]]:
        """(posted at, first proposal at) for every cohort lot that was ever matched."""
        first = func.min(Match.created_at)
        stmt = self._cohort(
            select(Lot.created_at, first).select_from(Lot).join(Match, Match.lot_id == Lot.id), scope
        ).group_by(Lot.id, Lot.created_at)
        return [(posted, first_at) for posted, first_at in (await self.session.execute(stmt)).all()]

    async def active_suppliers(self, scope: Scope) -> dict[str, int]:
        """Distinct people who posted cohort lots, by their role."""
        stmt = self._cohort(
            select(User.role, func.count(distinct(Lot.owner_id))).select_from(Lot), scope
        ).group_by(User.role)
        return {role or "": int(n) for role, n in (await self.session.execute(stmt)).all()}

    async def matched_traders(self, scope: Scope) -> set[int]:
        """Traders with a match on a cohort lot."""
        stmt = self._cohort(
            select(Order.trader_id)
            .distinct()
            .select_from(Lot)
            .join(Match, Match.lot_id == Lot.id)
            .join(Order, Order.id == Match.order_id),
            scope,
        )
        return {int(i) for i in await self.session.scalars(stmt)}

    async def orders(self, start: dt.datetime, end: dt.datetime) -> list[OrderRow]:
        """Orders posted in [start, end); the province rule (a JSON list) is applied by the caller."""
        stmt = (
            select(
                Order.id,
                Order.trader_id,
                User.province_code,
                Order.product_code,
                Order.quantity_kg,
                Order.remaining_kg,
                Order.price,
                Order.provinces,
                Order.status,
                Order.created_at,
            )
            .join(User, User.id == Order.trader_id)
            .where(Order.created_at >= start, Order.created_at < end)
            .order_by(Order.id)
        )
        return [
            OrderRow(i, t, tp, p, q, r, price, tuple(int(x) for x in provs or ()), s, c)
            for i, t, tp, p, q, r, price, provs, s, c in (await self.session.execute(stmt)).all()
        ]

    async def reference_prices(self, products: Sequence[str]) -> list[PriceRow]:
        """Every reference price ever set for these products (a small table)."""
        if not products:
            return []
        rows = await self.session.execute(
            select(Price.product_code, Price.province_code, Price.price, Price.valid_from)
            .where(Price.product_code.in_(list(products)))
            .order_by(Price.valid_from, Price.id)
        )
        return [PriceRow(p, pv, int(price), vf) for p, pv, price, vf in rows.all()]

    async def point_names(self, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await self.session.execute(select(Point.id, Point.name).where(Point.id.in_(list(ids))))
        return {int(i): n for i, n in rows.all()}

    # --- exports -----------------------------------------------------------------------------

    async def export_lots(self, scope: Scope) -> list[dict[str, Any]]:
        """One row per lot posted in the scope, with its owner and collection point."""
        stmt = self._cohort(
            select(
                Lot.id,
                Lot.created_at,
                User.name.label("owner"),
                User.phone,
                User.role,
                Lot.product_code,
                Lot.quantity_kg,
                Lot.remaining_kg,
                Lot.grade,
                Lot.certifications,
                Point.name.label("point"),
                self._province().label("province_code"),
                Lot.ready_from,
                Lot.ready_to,
                Lot.asking_price,
                Lot.status,
            ).select_from(Lot),
            scope,
        ).order_by(Lot.id)
        return [dict(r._mapping) for r in (await self.session.execute(stmt)).all()]

    async def export_orders(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """One row per order posted in [start, end), with its trader (province rule by the caller)."""
        stmt = (
            select(
                Order.id,
                Order.created_at,
                User.name.label("trader"),
                User.phone,
                User.province_code.label("trader_province"),
                Order.product_code,
                Order.quantity_kg,
                Order.remaining_kg,
                Order.price,
                Order.min_lot_kg,
                Order.pickup_from,
                Order.pickup_to,
                Order.provinces,
                Order.status,
            )
            .join(User, User.id == Order.trader_id)
            .where(Order.created_at >= start, Order.created_at < end)
            .order_by(Order.id)
        )
        return [dict(r._mapping) for r in (await self.session.execute(stmt)).all()]

    def _match_rows(self) -> Any:
        Trader = aliased(User)
        return (
            select(
                Match.id,
                Match.created_at,
                Match.lot_id,
                Match.order_id,
                Lot.product_code,
                Match.kg,
                Match.price,
                Match.status,
                User.name.label("rep"),
                User.phone.label("rep_phone"),
                Trader.name.label("trader"),
                Trader.phone.label("trader_phone"),
                Point.name.label("point"),
                self._province().label("province_code"),
                Slot.starts_at.label("slot_start"),
                Slot.ends_at.label("slot_end"),
                Match.updated_at,
                Match.weighed_kg,
                Match.picked_up_at,
                Match.paid_at,
                Payment.amount_vnd.label("paid_vnd"),
                Pickup.disputed_at,
                Pickup.resolved_at,
            )
            .select_from(Match)
            .join(Lot, Lot.id == Match.lot_id)
            .join(User, User.id == Lot.owner_id)
            .join(Order, Order.id == Match.order_id)
            .join(Trader, Trader.id == Order.trader_id)
            .outerjoin(Point, Point.id == Lot.collection_point_id)
            .outerjoin(Slot, Slot.id == Match.slot_id)
            .outerjoin(Payment, _RECEIVED)
            .outerjoin(Pickup, Pickup.match_id == Match.id)
        )

    async def export_matches(self, scope: Scope) -> list[dict[str, Any]]:
        """One row per match made in the scope."""
        stmt = self._match_rows().where(Match.created_at >= scope.start, Match.created_at < scope.end)
        if scope.province_code is not None:
            stmt = stmt.where(self._province() == scope.province_code)
        return [dict(r._mapping) for r in (await self.session.execute(stmt.order_by(Match.id))).all()]

    async def export_pickups(self, scope: Scope) -> list[dict[str, Any]]:
        """Scheduled, picked-up (disputed, paid) and no-show matches whose pickup (when weighed, else
        the slot's start, else the last change) is in the scope."""
        when = func.coalesce(Match.picked_up_at, Slot.starts_at, Match.updated_at)
        stmt = self._match_rows().where(
            Match.status.in_(("scheduled", "picked_up", "disputed", "paid", "no_show")),
            when >= scope.start,
            when < scope.end,
        )
        if scope.province_code is not None:
            stmt = stmt.where(self._province() == scope.province_code)
        return [dict(r._mapping) for r in (await self.session.execute(stmt.order_by(Match.id))).all()]

    async def export_gouging(self, scope: Scope) -> list[dict[str, Any]]:
        """One row per price-gouging report made in the scope (the reporter is not named)."""
        stmt = self._gouging(
            select(
                Gouging.id,
                Gouging.created_at,
                Gouging.product_code,
                Gouging.price,
                Gouging.province_code,
                func.coalesce(User.name, Gouging.trader_name).label("trader"),
                Gouging.match_id,
                Gouging.note,
            ).outerjoin(User, User.id == Gouging.trader_id),
            scope,
        ).order_by(Gouging.id)
        return [dict(r._mapping) for r in (await self.session.execute(stmt)).all()]
