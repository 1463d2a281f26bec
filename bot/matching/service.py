"""The matcher as a domain-event subscriber: keeps an order book in memory, fed by LotChanged and
OrderChanged, and turns allocations into proposals stored in the database (MatchProposed tells
the parties; OrderHeldBelowFloor tells a trader and the officials of an order held back).

Events come at least once: handling one re-reads the lot or the order and matches only the
volume still free, so a repeated event proposes nothing twice.

The database is the arbiter: every allocation first reserves volume with conditional
UPDATEs on the lot and the order, so several matcher instances (or processes on one
PostgreSQL) can never promise more than there is. A reservation that loses the race is
dropped and both sides are re-read from the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable

from bot.container import Services
from bot.domain_events import (
    MATCHER,
    DomainEvent,
    LotChanged,
    MatchProposed,
    OrderChanged,
    OrderHeldBelowFloor,
    Subscriber,
    emit,
)
from bot.matching.allocator import match_incremental, plan_book
from bot.matching.book import OrderBook
from bot.matching.model import Allocation, LotView, OrderView, PriceFloors
from bot.services.points import matchable
from storage import dto
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
REPLAN_PAGE = 2000  # lots or orders read per transaction when the book is rebuilt


def lot_view(lot: dto.Lot, province_code: int, perishable_days: int) -> LotView:
    """The matcher's view of a stored lot."""
    return LotView(
        id=lot.id,
        product=lot.product_code,
        remaining_kg=lot.remaining_kg,
        grade=lot.grade,
        certifications=frozenset(lot.certifications),
        collection_point_id=lot.collection_point_id or 0,
        province_code=province_code,
        ready_from=lot.ready_from,
        ready_to=lot.ready_to,
        asking_price=lot.asking_price,
        perishable_days=perishable_days,
        posted_seq=lot.id,
    )


def order_view(order: dto.Order) -> OrderView:
    """The matcher's view of a stored order."""
    return OrderView(
        id=order.id,
        product=order.product_code,
        remaining_kg=order.remaining_kg,
        price=order.price,
        min_lot_kg=order.min_lot_kg,
        pickup_from=order.pickup_from,
        pickup_to=order.pickup_to,
        provinces=frozenset(order.provinces),
        collection_points=frozenset(order.collection_points),
        grades=frozenset(order.grades),
        required_certs=frozenset(order.required_certs),
        posted_seq=order.id,
    )


async def price_floors(
    uow: UnitOfWork, today: dt.date, margin: float
) -> tuple[PriceFloors, dict[tuple[str, int], int]]:
    """(floors, reference prices) per (product, province) in force today."""
    refs = {key: p.price for key, p in (await uow.prices.all_current(today)).items()}
    return {key: int(price * (1 - margin)) for key, price in refs.items()}, refs


class Matcher:
    """The one matcher of the cluster: fed by domain events (``subscriber()``), in one process at
    a time (the event bus's lease); its book is rebuilt whenever this process takes over."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.book = OrderBook()
        self.proposals = 0

    def subscriber(self) -> Subscriber:
        """The matcher as the event bus sees it."""
        return Subscriber(MATCHER, self.on_event, self.on_lead)

    async def on_lead(self, _services: Services) -> None:
        """This process now matches: rebuild the book from the database and allocate it."""
        await self.replan()

    async def on_event(self, _services: Services, ev: DomainEvent) -> None:
        """A lot or an order changed (created, edited, cancelled, expired, volume released)."""
        if isinstance(ev, LotChanged):
            await self.handle("lot", ev.lot_id)
        elif isinstance(ev, OrderChanged):
            await self.handle("order", ev.order_id)

    # --- planning --------------------------------------------------------------------------
    async def _context(self, uow: UnitOfWork) -> tuple[PriceFloors, dict[tuple[str, int], int]]:
        s = self.services
        return await price_floors(uow, s.clock.today(), s.settings.gouging_margin)

    async def _lot_view(
        self, uow: UnitOfWork, lot: dto.Lot, points: dict[int, dto.CollectionPoint]
    ) -> LotView | None:
        """The lot as the book holds it; None while its point may not be offered (not approved yet)."""
        if lot.collection_point_id is None:
            return None
        if lot.collection_point_id not in points:
            point = await uow.points.get(lot.collection_point_id)
            if point is None:
                return None
            points[point.id] = point
        point = points[lot.collection_point_id]
        if not matchable(point, self.services.settings.unapproved_points):
            return None  # approving the point tells the matcher about the lot again
        product = self.services.catalog.get(lot.product_code)
        return lot_view(lot, point.province_code, product.perishable_days if product else 7)

    async def replan(self) -> int:
        """Rebuild the book from the database and allocate the whole open book (after a restart).

        Read in pages of read-only transactions: a province's book (100,000 lots) never holds
        the database's writer, and people's messages are handled between pages.
        """
        db = self.services.db
        async with db.reader() as uow:
            floors, _refs = await self._context(uow)
        views: list[LotView] = []
        orders: list[OrderView] = []
        points: dict[int, dto.CollectionPoint] = {}
        after = 0
        while True:
            async with db.reader() as uow:
                page = await uow.lots.open_page(after, REPLAN_PAGE)
                wanted = sorted(
                    {lot.collection_point_id for lot in page if lot.collection_point_id} - set(points)
                )
                points.update(await uow.points.by_ids(wanted))
                for lot in page:
                    if (view := await self._lot_view(uow, lot, points)) is not None:
                        views.append(view)
            if len(page) < REPLAN_PAGE:
                break
            after = page[-1].id
            await asyncio.sleep(0)
        after = 0
        while True:
            async with db.reader() as uow:
                opage = await uow.orders.open_page(after, REPLAN_PAGE)
            orders.extend(order_view(o) for o in opage)
            if len(opage) < REPLAN_PAGE:
                break
            after = opage[-1].id
            await asyncio.sleep(0)
        self.book = OrderBook(views, orders)
        allocations = plan_book(self.book, floors)
        return await self._propose(allocations)

    async def handle(self, kind: str, entity_id: int) -> None:
        """Re-read one lot or order, put it back in the book with its current volume, match it."""
        held = False
        async with self.services.db.uow() as uow:
            floors, refs = await self._context(uow)
            view: LotView | OrderView | None
            if kind == "lot":
                lot = await uow.lots.get(entity_id)
                view = (
                    await self._lot_view(uow, lot, {})
                    if lot and lot.status in ("open", "partly_matched")
                    else None
                )
                if entity_id in self.book._lots:
                    self.book.remove_lot(entity_id)
            else:
                order = await uow.orders.get(entity_id)
                view = order_view(order) if order and order.status in ("open", "partly_matched") else None
                if entity_id in self.book._orders:
                    self.book.remove_order(entity_id)
                if view is not None and view.remaining_kg > 0:
                    held = await self._warn_below_floor(uow, order, refs)  # type: ignore[arg-type]
        if held:
            self.services.wake_events()
        if view is None or view.remaining_kg <= 0:
            if view is not None:
                (self.book.add_lot if isinstance(view, LotView) else self.book.add_order)(view)  # type: ignore[arg-type]
            return
        await self._propose(match_incremental(view, self.book, floors))

    # --- proposing -------------------------------------------------------------------------
    async def _propose(self, allocations: Iterable[Allocation]) -> int:
        made = 0
        lost: list[Allocation] = []
        allocations = list(allocations)
        if not allocations:
            return 0
        async with self.services.db.uow() as uow:
            declined = await uow.matches.pairs_declined(
                sorted({a.lot_id for a in allocations}), sorted({a.order_id for a in allocations})
            )
        for alloc in allocations:
            if (alloc.lot_id, alloc.order_id) in declined:
                self.book.release(alloc.lot_id, alloc.order_id, alloc.kg)  # never offer a refused pair again
                continue
            if await self._propose_one(alloc):
                made += 1
            else:
                # An edit (or another matcher) got there first: believe the database.
                self.book.release(alloc.lot_id, alloc.order_id, alloc.kg)
                lost.append(alloc)
        self.proposals += made
        for alloc in lost:
            await self.handle("lot", alloc.lot_id)
            await self.handle("order", alloc.order_id)
        return made

    async def _propose_one(self, alloc: Allocation) -> bool:
        s = self.services
        expires = s.clock.now() + dt.timedelta(hours=s.settings.proposal_timeout_hours)
        try:
            async with s.db.uow() as uow:
                # The point may have been closed or rejected since the book was built.
                lot = await uow.lots.get(alloc.lot_id)
                point = (
                    await uow.points.get(lot.collection_point_id) if lot and lot.collection_point_id else None
                )
                if not matchable(point, s.settings.unapproved_points):
                    raise _Lost
                if not await uow.lots.take(alloc.lot_id, alloc.kg):
                    raise _Lost
                if not await uow.orders.take(alloc.order_id, alloc.kg):
                    raise _Lost  # rolls back the lot's reservation too
                match = await uow.matches.add(
                    lot_id=alloc.lot_id,
                    order_id=alloc.order_id,
                    kg=alloc.kg,
                    price=alloc.price,
                    expires_at=expires,
                )
                await uow.events.record(
                    "match",
                    match.id,
                    None,
                    "proposed",
                    {"lot": alloc.lot_id, "order": alloc.order_id, "kg": alloc.kg},
                )
                await emit(uow, MatchProposed(match.id))  # both parties are asked
        except _Lost:
            return False
        s.wake_events()
        return True

    async def _warn_below_floor(
        self, uow: UnitOfWork, order: dto.Order, refs: dict[tuple[str, int], int]
    ) -> bool:
        """Record (once per province and price) that an order is held back as below the gouging
        floor; the event tells the trader and the province's officials."""
        margin = self.services.settings.gouging_margin
        held = sorted(
            (prov, ref)
            for (product, prov), ref in refs.items()
            if product == order.product_code
            and (not order.provinces or prov in order.provinces)
            and order.price < int(ref * (1 - margin))
        )
        if not held:
            return False
        # Events come at least once and an order is looked at again after every change: only a
        # new (province, price) is news.
        known = {
            (e.details.get("province"), e.details.get("price"))
            for e in await uow.events.history("order", order.id)
            if e.action == "held_below_floor"
        }
        told = False
        for prov, ref in held:
            if (prov, order.price) in known:
                continue
            told = True
            floor = int(ref * (1 - margin))
            await uow.events.record(
                "order",
                order.id,
                None,
                "held_below_floor",
                {"province": prov, "price": order.price, "floor": floor},
            )
            await emit(uow, OrderHeldBelowFloor(order.id, prov, order.price, floor, ref))
        return told


class _Lost(Exception):
    """The reservation lost a race; the transaction is rolled back."""
