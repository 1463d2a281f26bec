"""The matcher as a running task: keeps an order book in memory, fed by market events, and turns
allocations into proposals stored in the database and announced through the outbox.

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

from bot.domain_events import MATCHER, DomainEvent, LotChanged, OrderChanged, Subscriber
from bot.events import Choice, Reply
from bot.formatting import date_range, kg, money, price_per_kg
from bot.i18n import _, use_locale
from bot.matching.allocator import match_incremental, plan_book
from bot.matching.book import OrderBook
from bot.matching.model import Allocation, LotView, OrderView, PriceFloors
from bot.services.container import Services
from bot.services.notify import notify
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


def split_shares(shares: list[dto.LotShare], total_kg: int, matched_kg: int) -> list[tuple[str, int]]:
    """Each household's part of ``matched_kg``, in proportion to its share (largest remainder)."""
    if not shares or total_kg <= 0:
        return []
    exact = [s.kg * matched_kg / total_kg for s in shares]
    parts = [int(x) for x in exact]
    rest = matched_kg - sum(parts)
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - parts[i], reverse=True)[:rest]:
        parts[i] += 1
    return [(s.household, n) for s, n in zip(shares, parts, strict=True)]


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
                    await self._warn_below_floor(uow, order, refs)  # type: ignore[arg-type]
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
                await announce_proposal(uow, s, match)
        except _Lost:
            return False
        s.wake_outbox()
        return True

    async def _warn_below_floor(
        self, uow: UnitOfWork, order: dto.Order, refs: dict[tuple[str, int], int]
    ) -> None:
        """Tell the trader and the province's officials when an order is held back as below the floor."""
        margin = self.services.settings.gouging_margin
        held = sorted(
            (prov, ref)
            for (product, prov), ref in refs.items()
            if product == order.product_code
            and (not order.provinces or prov in order.provinces)
            and order.price < int(ref * (1 - margin))
        )
        if not held:
            return
        trader = await uow.users.get(order.trader_id)
        product = self.services.catalog.get(order.product_code)
        name = product.name_vi if product else order.product_code
        for prov, ref in held:
            floor = int(ref * (1 - margin))
            place = (
                self.services.places.provinces[prov].name
                if prov in self.services.places.provinces
                else str(prov)
            )
            if trader is not None:
                with use_locale(trader.locale):
                    text = _(
                        "Đơn mua {product} giá {price} thấp hơn giá sàn ở {place} ({floor}; giá tham chiếu "
                        "{ref}). Đơn chưa được ghép với hàng ở đó. Ép giá nông dân là không được phép."
                    ).format(
                        product=name,
                        price=price_per_kg(order.price),
                        place=place,
                        floor=price_per_kg(floor),
                        ref=price_per_kg(ref),
                    )
                await notify(
                    uow, trader, Reply(text), dedupe_key=f"floor:trader:{order.id}:{prov}:{order.price}"
                )
            for official in await uow.users.with_role(("official",), prov):
                with use_locale(official.locale):
                    text = _(
                        "Cảnh báo ép giá: thương lái {trader} đặt mua {product} giá {price}, dưới giá sàn "
                        "{floor} (tham chiếu {ref}) ở {place}."
                    ).format(
                        trader=trader.name if trader else "?",
                        product=name,
                        price=price_per_kg(order.price),
                        floor=price_per_kg(floor),
                        ref=price_per_kg(ref),
                        place=place,
                    )
                await notify(
                    uow,
                    official,
                    Reply(text),
                    dedupe_key=f"floor:official:{official.id}:{order.id}:{order.price}",
                )
            await uow.events.record(
                "order",
                order.id,
                None,
                "held_below_floor",
                {"province": prov, "price": order.price, "floor": floor},
            )


class _Lost(Exception):
    """The reservation lost a race; the transaction is rolled back."""


async def announce_proposal(uow: UnitOfWork, services: Services, match: dto.Match) -> None:
    """Send the proposal with its key facts and Đồng ý / Từ chối buttons to the rep and the trader."""
    lot = await uow.lots.get(match.lot_id)
    order = await uow.orders.get(match.order_id)
    assert lot is not None and order is not None
    rep, trader = await uow.users.get(lot.owner_id), await uow.users.get(order.trader_id)
    point = await uow.points.get(lot.collection_point_id) if lot.collection_point_id else None
    product = services.catalog.get(lot.product_code)
    ref = (
        await uow.prices.current(lot.product_code, point.province_code, services.clock.today())
        if point
        else None
    )
    start, end = max(lot.ready_from, order.pickup_from), min(lot.ready_to, order.pickup_to)
    for person, other in ((rep, trader), (trader, rep)):
        if person is None:
            continue
        with use_locale(person.locale):
            lines = [
                _("🤝 Đề xuất ghép đơn #{id}").format(id=match.id),
                _("{product}: {kg}, giá {price} (tổng {total})").format(
                    product=product.name_vi if product else lot.product_code,
                    kg=kg(match.kg),
                    price=price_per_kg(match.price),
                    total=money(match.kg * match.price),
                ),
                _("Điểm tập kết: {point}").format(point=point.name if point else "—"),
                *(
                    [_("⚠️ Lưu ý: điểm tập kết này do bên bán đề xuất, CHƯA được cán bộ duyệt.")]
                    if point is not None and point.status != "active"
                    else []
                ),
                _("Thời gian lấy hàng: {window}").format(window=date_range(start, end)),
                _("Giá tham chiếu: {ref}").format(ref=price_per_kg(ref.price))
                if ref
                else _("Chưa có giá tham chiếu."),
                (_("Người mua: {name}") if person is rep else _("Người bán: {name}")).format(
                    name=other.name if other else "—"
                ),
                _("Bấm Đồng ý nếu bạn nhận. Cả hai bên đồng ý thì đơn được chốt."),
            ]
            choices = (
                Choice(_("✅ Đồng ý"), f"mt:a:{match.id}"),
                Choice(_("❌ Từ chối"), f"mt:d:{match.id}"),
            )
        await notify(
            uow,
            person,
            Reply("\n".join(lines), choices, columns=2),
            dedupe_key=f"proposal:{match.id}:{person.id}",
        )
