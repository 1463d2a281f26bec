"""Domain events: the one way the matcher and the notifications learn what changed.

A service that changes something emits an event (:func:`emit`) in the same transaction; the
event is queued for each of its subscribers in the database, so nothing is missed when a
process dies after the commit. :class:`EventBus` hands each subscriber its events in order,
in one process at a time (a lease per subscriber), and deletes them once handled. Handling
is at least once: subscribers are idempotent (outbox dedupe keys, the matcher re-reads).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bot.lease import LeaseKeeper
from storage.listen import Listener
from storage.repositories.domain_events import NOTIFY_CHANNEL
from storage.types import utcnow
from storage.uow import Database, UnitOfWork

if TYPE_CHECKING:
    from bot.container import Services

log = logging.getLogger(__name__)

MATCHER, NOTIFY = "matcher", "notify"  # the subscribers
_KINDS: dict[str, type[DomainEvent]] = {}


class DomainEvent:
    """Base of every event: a frozen dataclass of ids and small facts, registered with :func:`event`."""

    KIND: ClassVar[str] = ""
    SUBSCRIBERS: ClassVar[tuple[str, ...]] = ()


def event[E: type[DomainEvent]](kind: str, *subscribers: str) -> Callable[[E], E]:
    """Register a dataclass as the event ``kind``, delivered to ``subscribers``."""

    def register(cls: E) -> E:
        if kind in _KINDS and _KINDS[kind] is not cls:
            raise ValueError(f"event kind {kind!r} is taken")
        cls.KIND, cls.SUBSCRIBERS = kind, tuple(subscribers)
        _KINDS[kind] = cls
        return cls

    return register


async def emit(uow: UnitOfWork, ev: DomainEvent) -> None:
    """Queue ``ev`` for its subscribers, in the caller's transaction."""
    await uow.domain_events.emit(ev.KIND, dataclasses.asdict(ev), ev.SUBSCRIBERS)  # type: ignore[call-overload]


def load(kind: str, payload: dict[str, Any]) -> DomainEvent | None:
    """The event a queued row holds (None for a kind this version does not know)."""
    cls = _KINDS.get(kind)
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in payload.items() if k in names})


# --- the events ----------------------------------------------------------------------------------
# Market: the matcher looks at a lot or an order again whenever its volume, window, price or
# status may have changed; the notifications tell people what concerns them.


@event("lot_changed", MATCHER)
@dataclass(frozen=True, slots=True)
class LotChanged(DomainEvent):
    lot_id: int


@event("order_changed", MATCHER)
@dataclass(frozen=True, slots=True)
class OrderChanged(DomainEvent):
    order_id: int


# --- after the slot: pickup, weighing, payment (bot/services/deals.py) ---------------------------


@event("pickup_recorded", NOTIFY)
@dataclass(frozen=True, slots=True)
class PickupRecorded(DomainEvent):
    match_id: int
    weighed_kg: int
    surplus_kg: int
    by_seller: bool


@event("surplus_decided", NOTIFY)
@dataclass(frozen=True, slots=True)
class SurplusDecided(DomainEvent):
    match_id: int
    kg: int
    taken: bool


@event("weight_disputed", NOTIFY)
@dataclass(frozen=True, slots=True)
class WeightDisputed(DomainEvent):
    match_id: int
    claimed_kg: int


@event("dispute_resolved", NOTIFY)
@dataclass(frozen=True, slots=True)
class DisputeResolved(DomainEvent):
    match_id: int
    weighed_kg: int


@event("no_show_question", NOTIFY)
@dataclass(frozen=True, slots=True)
class NoShowQuestion(DomainEvent):
    match_id: int


@event("no_show_recorded", NOTIFY)
@dataclass(frozen=True, slots=True)
class NoShowRecorded(DomainEvent):
    match_id: int
    count: int  # the trader's no-shows so far, this one included


@event("payment_due", NOTIFY)
@dataclass(frozen=True, slots=True)
class PaymentDue(DomainEvent):
    match_id: int
    amount: int


@event("payment_recorded", NOTIFY)
@dataclass(frozen=True, slots=True)
class PaymentRecorded(DomainEvent):
    match_id: int
    amount: int
    method: str


@event("receipt_denied", NOTIFY)
@dataclass(frozen=True, slots=True)
class ReceiptDenied(DomainEvent):
    match_id: int


@event("match_paid", NOTIFY)
@dataclass(frozen=True, slots=True)
class MatchPaid(DomainEvent):
    match_id: int
    amount: int
    below_floor: bool
    floor: int | None = None  # the anti-gouging floor when the money arrived (VND/kg)


@event("payment_overdue", NOTIFY)
@dataclass(frozen=True, slots=True)
class PaymentOverdue(DomainEvent):
    match_id: int
    reminder: int  # how many reminders so far, this one included
    escalate: bool  # this one also goes to the province's officials


@event("gouging_reported", NOTIFY)
@dataclass(frozen=True, slots=True)
class GougingReported(DomainEvent):
    report_id: int


# --- editing after posting: a change of an accepted match asked of the other side ---------------


@event("amendment_proposed", NOTIFY)
@dataclass(frozen=True, slots=True)
class AmendmentProposed(DomainEvent):
    amendment_id: int


@event("amendment_decided", NOTIFY)
@dataclass(frozen=True, slots=True)
class AmendmentDecided(DomainEvent):
    amendment_id: int
    accepted: bool


@event("amendment_expired", NOTIFY)
@dataclass(frozen=True, slots=True)
class AmendmentExpired(DomainEvent):
    amendment_id: int


# --- safety --------------------------------------------------------------------------------------


@event("person_blocked", NOTIFY)
@dataclass(frozen=True, slots=True)
class PersonBlocked(DomainEvent):
    """A flood of messages blocked someone for a while (the admins are told)."""

    user_id: int


# Places and prices: officials are asked to approve a point a rep proposed, the rep hears the
# outcome (approving one also re-announces its waiting lots as LotChanged); a new reference
# price moves the gouging floor the matcher applies.


@event("point_proposed", NOTIFY)
@dataclass(frozen=True, slots=True)
class PointProposed(DomainEvent):
    point_id: int


@event("point_reviewed", NOTIFY)
@dataclass(frozen=True, slots=True)
class PointReviewed(DomainEvent):
    point_id: int
    approved: bool
    official_id: int


@event("reference_price_set", MATCHER)
@dataclass(frozen=True, slots=True)
class ReferencePriceSet(DomainEvent):
    product_code: str
    province_code: int
    price: int
    valid_from: str  # ISO date


# Market after matching: proposals, the parties' answers, pickup slots. The volume a decline,
# a cancellation or an expiry gives back reaches the matcher as LotChanged/OrderChanged; these
# tell the people concerned (``by`` is the user whose action it was: they get a reply instead).


@event("match_proposed", NOTIFY)
@dataclass(frozen=True, slots=True)
class MatchProposed(DomainEvent):
    match_id: int


@event("match_waiting", NOTIFY)
@dataclass(frozen=True, slots=True)
class MatchWaiting(DomainEvent):
    """One side accepted; the other is still to answer."""

    match_id: int
    by: int


@event("match_accepted", NOTIFY)
@dataclass(frozen=True, slots=True)
class MatchAccepted(DomainEvent):
    """Both sides accepted: the deal is made (``by`` answered last)."""

    match_id: int
    by: int


@event("match_declined", NOTIFY)
@dataclass(frozen=True, slots=True)
class MatchDeclined(DomainEvent):
    match_id: int
    by: int


@event("match_cancelled", NOTIFY)
@dataclass(frozen=True, slots=True)
class MatchCancelled(DomainEvent):
    """The trader backed out of a made deal."""

    match_id: int
    by: int


@event("match_expired", NOTIFY)
@dataclass(frozen=True, slots=True)
class MatchExpired(DomainEvent):
    match_id: int


@event("slot_booked", NOTIFY)
@dataclass(frozen=True, slots=True)
class SlotBooked(DomainEvent):
    """A made deal was booked (or moved) into a pickup slot."""

    match_id: int
    slot_id: int


@event("order_held_below_floor", NOTIFY)
@dataclass(frozen=True, slots=True)
class OrderHeldBelowFloor(DomainEvent):
    """The matcher keeps an order away from a province's lots: its price is below the gouging floor."""

    order_id: int
    province_code: int
    price: int
    floor: int
    reference: int


# --- trade: lots and orders -----------------------------------------------------------------------
# Expired, for the notifications; every change of a lot's or an order's
# volume, window, price or status also emits LotChanged / OrderChanged above, for the matcher.


@event("lot_expired", NOTIFY)
@dataclass(frozen=True, slots=True)
class LotExpired(DomainEvent):
    lot_id: int


@event("order_expired", NOTIFY)
@dataclass(frozen=True, slots=True)
class OrderExpired(DomainEvent):
    order_id: int


# Staff: a broadcast is queued, progresses and finishes; a role is granted. The notifications
# plan the broadcast's delivery and keep its author informed.


@event("broadcast_queued", NOTIFY)
@dataclass(frozen=True, slots=True)
class BroadcastQueued(DomainEvent):
    announcement_id: int


@event("broadcast_progressed", NOTIFY)
@dataclass(frozen=True, slots=True)
class BroadcastProgressed(DomainEvent):
    """Delivery counts of a running broadcast at one moment (the author is told when they changed)."""

    announcement_id: int
    sent: int
    left: int
    failed: int
    blocked: int
    cancelled: int


@event("broadcast_finished", NOTIFY)
@dataclass(frozen=True, slots=True)
class BroadcastFinished(DomainEvent):
    """Nothing is left to send: the final counts."""

    announcement_id: int
    sent: int
    failed: int
    blocked: int
    total: int


@event("role_granted", NOTIFY)
@dataclass(frozen=True, slots=True)
class RoleGranted(DomainEvent):
    user_id: int
    role: str


# --- accounts: one person on several messengers (bot/services/linking.py) ------------------------
# The registered account receives the one-time code (the only place the code travels in clear,
# for the few seconds before it is rendered) and later the notice that an account was linked.


@event("link_code_sent", NOTIFY)
@dataclass(frozen=True, slots=True)
class LinkCodeSent(DomainEvent):
    code_id: int
    code: str


@event("account_linked", NOTIFY)
@dataclass(frozen=True, slots=True)
class AccountLinked(DomainEvent):
    """``account_id`` now belongs to person ``user_id``; their other accounts are told."""

    user_id: int
    account_id: int


@event("account_unlinked", NOTIFY)
@dataclass(frozen=True, slots=True)
class AccountUnlinked(DomainEvent):
    """An account left person ``user_id``; it is told there (unless it asked itself)."""

    user_id: int
    channel: str
    chat_id: str
    tell: bool


# --- the bus -----------------------------------------------------------------------------------

Handler = Callable[["Services", DomainEvent], Awaitable[None]]
OnLead = Callable[["Services"], Awaitable[None]]
RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0)
MAX_ATTEMPTS = 8
BATCH = 100


@dataclass(frozen=True)
class Subscriber:
    """One consumer of events: its handler, and what to do when this process becomes its holder."""

    name: str
    handle: Handler
    on_lead: OnLead | None = None


class EventBus:
    """Delivers queued events to their subscribers; ``start(services, subscribers)``, then ``stop()``."""

    def __init__(self, db: Database, *, holder: str | None = None) -> None:
        self.db = db
        self.holder = holder or uuid.uuid4().hex
        self.subscribers: dict[str, Subscriber] = {}
        self._leases: dict[str, LeaseKeeper] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._listener = Listener(db.engine, NOTIFY_CHANNEL, self._notified)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.handled = 0

    def subscribe(self, subscribers: Sequence[Subscriber]) -> None:
        """Add the consumers (before :meth:`start` or :meth:`drain`)."""
        for sub in subscribers:
            self.subscribers[sub.name] = sub
            self._leases[sub.name] = LeaseKeeper(self.db, f"events:{sub.name}", self.holder)
            self._wake[sub.name] = asyncio.Event()

    def wake(self) -> None:
        """Events were queued in this process: deliver them now."""
        for flag in self._wake.values():
            flag.set()

    def _notified(self, subscriber: str) -> None:
        if subscriber in self._wake:
            self._wake[subscriber].set()
        elif not subscriber:
            self.wake()

    def start(self, services: Services, subscribers: Sequence[Subscriber] = ()) -> None:
        self.subscribe(subscribers)
        self._listener.start()
        self._tasks = [
            asyncio.create_task(self._run(services, s), name=f"events-{s.name}")
            for s in self.subscribers.values()
        ]

    async def stop(self) -> None:
        self._stopping = True
        self.wake()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=15)
        await self._listener.stop()
        for lease in self._leases.values():
            await lease.release()

    async def _run(self, services: Services, sub: Subscriber) -> None:
        lease, flag = self._leases[sub.name], self._wake[sub.name]
        leading = False
        while not self._stopping:
            flag.clear()
            try:
                held = await lease.check()
                if held and not leading and sub.on_lead is not None:
                    await sub.on_lead(services)
                leading = held
                more = await self.deliver(services, sub) if held else False
            except Exception:
                log.exception("events %s: delivery failed; retrying shortly", sub.name)
                more = False
            if more or self._stopping:
                continue
            timeout = 1.0 if leading else max(0.2, lease.seconds_to_next_check())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(flag.wait(), timeout)

    async def deliver(self, services: Services, sub: Subscriber) -> bool:
        """Hand ``sub`` its due events (a batch); True when more may be waiting."""
        async with self.db.reader() as uow:
            rows = await uow.domain_events.due(sub.name, utcnow(), BATCH)
        done: list[int] = []
        for row in rows:
            ev = load(row.kind, row.payload)
            try:
                if ev is not None:
                    await sub.handle(services, ev)
                done.append(row.id)
                self.handled += 1
            except Exception:
                log.exception("events %s: %s failed", sub.name, row.kind)
                async with self.db.uow() as uow:
                    if row.attempts + 1 >= MAX_ATTEMPTS:
                        log.error("events %s: giving up on %s %s", sub.name, row.kind, row.payload)
                        await uow.domain_events.done([row.id])
                    else:
                        delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS) - 1)]
                        await uow.domain_events.retry_later(row.id, utcnow() + dt.timedelta(seconds=delay))
                break  # keep the order: later events wait for this one
        if done:
            async with self.db.uow() as uow:
                await uow.domain_events.done(done)
        return len(rows) == BATCH and len(done) == len(rows)

    async def drain(self, services: Services) -> int:
        """Deliver everything due now to every subscriber, in this task (tests, the local chat)."""
        start = self.handled
        while True:
            before = self.handled
            for sub in self.subscribers.values():
                while await self.deliver(services, sub):
                    pass
            if self.handled == before:  # a handler may queue events for another subscriber
                return self.handled - start
