"""The matcher as a running task: keeps an order book in memory, fed by market events, and turns
allocations into proposals stored in the database and announced through the outbox.

The database is the arbiter: every allocation first reserves volume with conditional
UPDATEs on the lot and the order, so several matcher instances (or processes on one
PostgreSQL) can never promise more than there is. A reservation that loses the race is
dropped and both sides are re-read from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Iterable

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
from storage.listen import Listener
from storage.listen import notify as pg_notify
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)
REPLAN_PAGE = 2000  # lots or orders read per transaction when the book is rebuilt
MARKET_CHANNEL = "nongsan_market"  # PostgreSQL NOTIFY channel of market events between processes


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
    """One matcher instance: ``notify(kind, id)`` after a commit; ``run()`` as a task."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.book = OrderBook()
        self.queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self.proposals = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # --- feeding ---------------------------------------------------------------------------
    def notify(self, kind: str, entity_id: int) -> None:
        """A lot or an order changed (created, edited, cancelled, expired, volume released)."""
        self._idle.clear()
        self.queue.put_nowait((kind, entity_id))

    async def settled(self) -> None:
        """Wait until every queued event has been handled (tests, shutdown)."""
        await self._idle.wait()

    async def run(self) -> None:
        """Re-plan the open book once, then follow events until cancelled."""
        await self.replan()
        while True:
            kind, entity_id = await self.queue.get()
            try:
                await self.handle(kind, entity_id)
            except Exception:
                log.exception("matcher: event failed", extra={"kind": kind, "id": entity_id})
            if self.queue.empty():
                self._idle.set()

    async def drain(self) -> None:
        """Handle everything queued now (for callers that do not run the task)."""
        while not self.queue.empty():
            kind, entity_id = self.queue.get_nowait()
            await self.handle(kind, entity_id)
        self._idle.set()

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
                # Another matcher (or an edit) got there first: believe the database.
                self.book.release(alloc.lot_id, alloc.order_id, alloc.kg)
                for kind, entity_id in (("lot", alloc.lot_id), ("order", alloc.order_id)):
                    self.queue.put_nowait((kind, entity_id))
        self.proposals += made
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


class MarketFeed:
    """Market events for this process's matcher, from this process and from every other one.

    Each process's matcher keeps its own book; a lot saved through one process and an order
    through another would never meet if each book heard only of its own process's events. So
    on PostgreSQL every event is also published (NOTIFY, after the commit, like the local
    event) and every other process's matcher hears it; the database still arbitrates each
    reservation. On SQLite there is one process and nothing to publish.
    """

    def __init__(self, db: Database, matcher: Matcher) -> None:
        self.db, self.matcher = db, matcher
        self.origin = uuid.uuid4().hex[:12]  # this process: its own events come back and are skipped
        self._listener = Listener(db.engine, MARKET_CHANNEL, self._heard)
        self._sending: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()  # set once other processes' events are heard

    def changed(self, kind: str, entity_id: int) -> None:
        """``services.market_changed``: tell the matcher here, and the matchers of the other processes."""
        self.matcher.notify(kind, entity_id)
        if self.db.dialect == "postgresql":
            task = asyncio.create_task(self._publish(f"{kind}:{entity_id}:{self.origin}"))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _publish(self, payload: str) -> None:
        try:
            await pg_notify(self.db.engine, MARKET_CHANNEL, payload)
        except Exception as exc:  # the other processes catch up at their next start (replan)
            log.warning("matcher: market event not published (%s)", type(exc).__name__)

    def _heard(self, payload: str) -> None:
        kind, _, rest = payload.partition(":")
        entity_id, _, origin = rest.partition(":")
        if origin != self.origin and kind in ("lot", "order") and entity_id.isdigit():
            self.matcher.notify(kind, int(entity_id))

    async def run(self) -> None:
        """Run the matcher, listening to the other processes meanwhile.

        Listening starts before the matcher reads the open book, so nothing saved elsewhere
        falls between the two.
        """
        self._listener.start()
        try:
            if self.db.dialect == "postgresql":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._listener.connected.wait(), 10)
            self.listening.set()
            await self.matcher.run()
        finally:
            await self._listener.stop()


async def start_matcher(services: Services) -> tuple[Matcher, asyncio.Task[None]]:
    """Create the matcher, subscribe it to market events (of every process) and start its task."""
    matcher = Matcher(services)
    feed = MarketFeed(services.db, matcher)
    services.market_changed = feed.changed
    services.extras["matcher"] = matcher
    services.extras["market_feed"] = feed
    task = asyncio.create_task(feed.run(), name="matcher")
    return matcher, task


async def stop_matcher(task: asyncio.Task[None]) -> None:
    """Stop the matcher task (queued events are re-derived from the database at the next start)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
