"""The outbox sender: every message the bot sends leaves through here, at the platform's pace.

One process at a time sends a messenger's outbox: the holder of the lease ``outbox:<channel>``
(so the platform's limits hold across all processes without anyone dividing a rate by hand;
another process takes over within seconds if the holder dies). Any process may queue rows;
on PostgreSQL a NOTIFY wakes the holder at once, locally a call to :meth:`wake` does.

What goes next is decided by :class:`SendQueue`: the answer to a person who just wrote
(priority 0) before personal notifications (1) before broadcasts (2); each chat at its own
pace (about one message a second, a group one every three), so one person's backlog never
delays another's reply; the whole bot within the global rate, and a 429 for one chat pauses
only that chat.

Delivery is at most once. A row is marked ``sending`` just before its HTTP call and its result
is recorded as soon as the call returns (marks and results a few milliseconds apart share a
transaction). A send that certainly did not arrive (429, 5xx, no connection) is retried with
backoff, and so is a refusal that may pass (``REFUSED``: counted on the person, who counts as
blocked only after repeated refusals over time, see :class:`BlockPolicy`); one whose answer was
lost (a crash mid-send, a read timeout) ends ``unknown`` and is never repeated blindly; every row
ends in a final state.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace

from bot.events import (
    EDIT_MESSAGE_ID,
    RATE_LIMITED,
    REPLACES,
    TYPED_QUESTION,
    Reply,
    Sender,
    SendResult,
    SendStatus,
)
from bot.lease import LeaseKeeper
from storage import dto
from storage.listen import Listener
from storage.repositories.outbox import NOTIFY_CHANNEL
from storage.types import utcnow
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_REMEMBERED_REACHABLE = 100_000
# How long a mark or a result waits for company before its transaction is written.
COALESCE_S = 0.005
PAID = "paid_broadcast"  # Reply.extras key: send as a paid broadcast (where the messenger has them)

_Outcome = tuple[dto.OutboxItem, SendResult, float | None]  # a send's result, and when to retry
_Entry = dto.OutboxItem | _Outcome  # what the outbox journal writes: "about to send" or an outcome


@dataclass(frozen=True, slots=True)
class Limits:
    """A messenger's sending limits (the strictest published ones by default)."""

    global_rate: float = 30.0  # messages a second, whole bot
    chat_interval: float = 1.0  # seconds between two messages to one private chat
    group_interval: float = 3.0  # ... to one group (20 a minute)
    paid_rate: float = 1000.0  # paid broadcasts, whole bot
    slack: float = 0.03  # absorbs the jitter between "slot granted" and "request arrives"
    # A 429 from this many different chats within a second means the bot as a whole is over.
    global_429_chats: int = 3


@dataclass(frozen=True, slots=True)
class BlockPolicy:
    """When refused sends (:attr:`SendStatus.REFUSED`) mean a person blocked the bot: at least
    ``failures`` in a row, the first at least ``span`` ago. One refusal never does."""

    failures: int = 3
    span: dt.timedelta = dt.timedelta(hours=24)


@dataclass
class _Chat:
    items: list[tuple[int, int, dto.OutboxItem]] = field(default_factory=list)  # (priority, id, item)
    ready_at: float = -math.inf
    busy: bool = False
    version: int = 0


class SendQueue:
    """The claimed messages of one messenger, and which may go when (pure; time is injected)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._spacing = (1 + limits.slack) / limits.global_rate
        self._paid_spacing = (1 + limits.slack) / limits.paid_rate
        self._chats: dict[str, _Chat] = {}
        self._ready: list[tuple[int, int, int, str]] = []  # (priority, id, version, chat)
        self._sleeping: list[tuple[float, int, str]] = []  # (ready_at, version, chat)
        self._ids: set[int] = set()
        self._next_free = -math.inf
        self._next_paid = -math.inf
        self._recent_429: deque[tuple[float, str]] = deque()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, outbox_id: int) -> bool:
        return outbox_id in self._ids

    def push(self, item: dto.OutboxItem) -> None:
        """Queue a claimed row (a row already queued is ignored)."""
        if item.id in self._ids:
            return
        self._ids.add(item.id)
        chat = self._chats.setdefault(item.chat_id, _Chat())
        heapq.heappush(chat.items, (item.priority, item.id, item))
        self._place(item.chat_id, chat)

    def _place(self, key: str, chat: _Chat) -> None:
        chat.version += 1
        if chat.busy or not chat.items:
            return
        if chat.ready_at > self._clock():
            heapq.heappush(self._sleeping, (chat.ready_at, chat.version, key))
        else:
            priority, outbox_id, _item = chat.items[0]
            heapq.heappush(self._ready, (priority, outbox_id, chat.version, key))

    def pop(self) -> tuple[dto.OutboxItem | None, float | None]:
        """The message to send now, or (None, seconds until one may go; None: nothing queued)."""
        now = self._clock()
        while self._sleeping and self._sleeping[0][0] <= now:
            _at, version, key = heapq.heappop(self._sleeping)
            chat = self._chats.get(key)
            if chat is not None and chat.version == version and chat.items and not chat.busy:
                priority, outbox_id, _item = chat.items[0]
                heapq.heappush(self._ready, (priority, outbox_id, version, key))
        while self._ready:
            _priority, _id, version, key = self._ready[0]
            chat = self._chats.get(key)
            if chat is None or chat.version != version or chat.busy or not chat.items:
                heapq.heappop(self._ready)
                continue
            item = chat.items[0][2]
            paid = bool(item.payload.get("extras", {}).get(PAID)) if isinstance(item.payload, dict) else False
            slot = self._next_paid if paid else self._next_free
            if slot > now:
                return None, slot - now
            heapq.heappop(self._ready)
            heapq.heappop(chat.items)
            chat.busy = True
            chat.version += 1
            if paid:
                self._next_paid = max(slot, now) + self._paid_spacing
            else:
                self._next_free = max(slot, now) + self._spacing
            interval = self.limits.group_interval if item.is_group else self.limits.chat_interval
            chat.ready_at = now + interval * (1 + self.limits.slack)
            return item, 0.0
        if self._sleeping:
            return None, max(0.0, self._sleeping[0][0] - now)
        return None, None

    def done(self, item: dto.OutboxItem, result: SendResult | None, retry_in: float | None = None) -> None:
        """The send of ``item`` ended (``None``: skipped, nothing went out).

        With ``retry_in`` the message stays queued, ahead of its chat's later ones, and goes
        again after that many seconds: a chat's messages never overtake each other.
        """
        chat = self._chats.get(item.chat_id)
        if chat is None:
            self._ids.discard(item.id)
            return
        chat.busy = False
        if result is None:
            chat.ready_at = -math.inf  # nothing went out: the chat's slot is still free
        elif result.status is SendStatus.RETRY and result.error == RATE_LIMITED:
            self._rate_limited(item.chat_id, chat, result.retry_after)
        if retry_in is not None:
            chat.ready_at = max(chat.ready_at, self._clock() + retry_in)
            heapq.heappush(chat.items, (item.priority, item.id, replace(item, attempts=item.attempts + 1)))
        else:
            self._ids.discard(item.id)
        if chat.items:
            self._place(item.chat_id, chat)
        else:
            del self._chats[item.chat_id]

    def drop(self) -> list[dto.OutboxItem]:
        """Forget everything queued (the lease was lost); returns what was not sent."""
        left = [entry[2] for chat in self._chats.values() for entry in chat.items]
        self._chats.clear()
        self._ready.clear()
        self._sleeping.clear()
        self._ids.clear()
        return left

    def _rate_limited(self, key: str, chat: _Chat, retry_after: float) -> None:
        now = self._clock()
        pause = max(retry_after, 0.5)
        chat.ready_at = max(chat.ready_at, now + pause)
        self._recent_429.append((now, key))
        while self._recent_429 and self._recent_429[0][0] < now - 1.0:
            self._recent_429.popleft()
        if len({k for _t, k in self._recent_429}) >= self.limits.global_429_chats:
            # Several chats at once: the bot as a whole is over the limit, not one chat.
            self._next_free = max(self._next_free, now + pause)


class Coalescer[T, R]:
    """Gathers items submitted within ``delay`` seconds and writes them with one ``flush`` call."""

    def __init__(self, flush: Callable[[list[T]], Awaitable[R]], delay: float = COALESCE_S) -> None:
        self._flush_fn, self._delay = flush, delay
        self._items: list[T] = []
        self._done: asyncio.Future[R] | None = None
        self._writes: set[asyncio.Task[None]] = set()  # keeps running writes referenced
        self.closed = False  # set when the process "dies" (tests): nothing more is written

    async def submit(self, item: T) -> R:
        """Queue ``item``; returns what the flush that wrote it returned."""
        self._items.append(item)
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(self._delay, self._start_flush)
        # Shielded: a cancelled sender must not take the shared write down with it.
        return await asyncio.shield(self._done)

    def _start_flush(self) -> None:
        items, done = self._items, self._done
        self._items, self._done = [], None
        assert done is not None

        async def run() -> None:
            try:
                if self.closed:
                    raise asyncio.CancelledError
                done.set_result(await self._flush_fn(items))
            except (Exception, asyncio.CancelledError) as exc:
                done.set_exception(exc)

        task = asyncio.ensure_future(run())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)


async def record_delivery(uow: UnitOfWork, item: dto.OutboxItem) -> None:
    """A message reached its chat: if it has options, they are what typed answers mean from now on.

    A question to answer by typing ("Phí HTX, theo phần trăm?") is noted too: while the person is
    in that conversation, a number typed answers the question, not a list seen before it; the
    list's labels and codes keep working, and its numbers again once the conversation is over.
    """
    reply = Reply.from_json(item.payload)
    entries = reply.menu()
    if entries:
        # The question's own options, if it has any ("Bỏ qua"), are what its numbers mean.
        await uow.menus.delivered(item.channel, item.chat_id, item.id, entries)
    elif reply.extras.get(TYPED_QUESTION):
        await uow.menus.typed_question(item.channel, item.chat_id)


def retry_delay(item: dto.OutboxItem, result: SendResult) -> float | None:
    """Seconds until ``item`` is tried again after ``result``; None when its state is final."""
    if result.status not in (SendStatus.RETRY, SendStatus.REFUSED) or item.attempts + 1 >= MAX_ATTEMPTS:
        return None
    if result.error == RATE_LIMITED:
        return max(result.retry_after, 0.5)  # the platform says when
    return max(result.retry_after, min(60.0, 2.0**item.attempts))  # 1, 2, 4 ... seconds


class ChannelOutbox:
    """Sends one messenger's outbox while this process holds its lease; ``run()`` as a task."""

    def __init__(
        self,
        db: Database,
        sender: Sender,
        limits: Limits = Limits(),
        *,
        holder: str | None = None,
        lease_ttl: float = 15.0,
        claim_lease: float = 30.0,
        poll: float = 0.5,
        max_in_flight: int = 64,
        blocking: BlockPolicy = BlockPolicy(),
    ) -> None:
        self.db, self.sender, self.limits = db, sender, limits
        self.blocking = blocking
        self.channel = sender.channel
        self.lease = LeaseKeeper(db, f"outbox:{self.channel}", holder or uuid.uuid4().hex, lease_ttl)
        self.claim_lease, self.poll = claim_lease, poll
        self.queue = SendQueue(limits)
        # A little more than two seconds of sending: enough to keep the pace, few enough that
        # a claimed row never waits long in memory while its claim runs out.
        self.prefetch = max(10, int(limits.global_rate * 2))
        self._slots = asyncio.Semaphore(max_in_flight)
        self._wake = asyncio.Event()
        self._claim_now = True
        self._stopping = False
        self._killed = False
        self._leading = False
        self._next_recover = 0.0
        self._next_claim = 0.0
        self._in_flight: set[asyncio.Task[None]] = set()
        # "About to send" marks and send results, written together: a few milliseconds apart,
        # they share one transaction (under load, one per wave of sends instead of two).
        self._journal: Coalescer[_Entry, set[int]] = Coalescer(self._write_journal)
        # People reached since this process took the lease, with no refusal since: their
        # refusal count is already 0, so it need not be reset again after every message.
        self._reachable: set[int] = set()
        self.sent = 0

    @property
    def leading(self) -> bool:
        return self.lease.valid

    def wake(self) -> None:
        """Rows were queued: claim now instead of at the next poll."""
        self._claim_now = True
        self._wake.set()

    def stop(self) -> None:
        """Finish the sends in flight, leave the rest queued in the database, return from :meth:`run`."""
        self._stopping = True
        self._wake.set()

    def kill(self) -> None:
        """Stop at once, recording nothing more, as a process killed mid-send would (fault tests)."""
        self._killed = self._stopping = True
        self._journal.closed = True
        for task in self._in_flight:
            task.cancel()
        self._wake.set()

    async def run(self) -> None:
        """Loop until :meth:`stop`."""
        try:
            while not self._stopping:
                try:
                    timeout = await self._step()
                except Exception:
                    log.exception("outbox %s: step failed; retrying shortly", self.channel)
                    timeout = 1.0
                if self._stopping:
                    break
                if timeout is None or timeout > 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wake.wait(), timeout if timeout is not None else self.poll
                        )
        finally:
            if not self._killed:
                if self._in_flight:
                    await asyncio.wait(list(self._in_flight), timeout=15)
                await self._hand_back(self.queue.drop())
                await self.lease.release()

    async def drain(self) -> int:
        """Send everything due now, then return how many sends were started (tests, scripts).

        Takes the lease like :meth:`run`; returns 0 at once if another process holds it.
        """
        if not await self.lease.check():
            return 0
        started = 0
        while True:
            await self._claim(self.prefetch)
            if not len(self.queue) and not self._in_flight:
                return started
            item, wait = self.queue.pop()
            if item is None:
                await asyncio.sleep(wait if wait is not None else 0.01)
                continue
            await self._slots.acquire()
            task = asyncio.create_task(self._deliver(item), name=f"send-{item.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            started += 1

    async def _step(self) -> float | None:
        """One round: keep the lease, claim, start what may go; returns how long to wait (0: go on)."""
        now = time.monotonic()
        held = await self.lease.check()
        if held and not self._leading:
            self._leading, self._next_recover, self._claim_now = True, 0.0, True
            self._reachable.clear()  # another process may have counted refusals meanwhile
        elif not held and self._leading:
            self._leading = False
            await self._hand_back(self.queue.drop())
        if not held:
            return max(0.1, self.lease.seconds_to_next_check())
        if now >= self._next_recover:
            self._next_recover = now + self.claim_lease
            async with self.db.uow() as uow:
                n = await uow.outbox.release_interrupted(utcnow(), self.channel)
            if n:
                log.warning("outbox %s: %d message(s) interrupted mid-send; not resent", self.channel, n)
        want = self.prefetch - len(self.queue)
        if self._claim_now or (want > 0 and now >= self._next_claim):
            self._claim_now = False
            self._next_claim = now + self.poll
            await self._claim(max(want, 10))
        item, wait = self.queue.pop()
        if item is not None:
            await self._slots.acquire()
            task = asyncio.create_task(self._deliver(item), name=f"send-{item.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            return 0.0
        if len(self.queue) >= self.prefetch:
            return wait  # full: nothing to claim until a send ends (which wakes the loop)
        until_claim = max(0.0, self._next_claim - time.monotonic())
        return min(wait, until_claim) if wait is not None else until_claim

    async def _hand_back(self, items: list[dto.OutboxItem]) -> None:
        """Make unsent claimed rows due again (a clean stop or a lost lease)."""
        if not items:
            return
        try:
            async with self.db.uow() as uow:
                for item in items:
                    await uow.outbox.retry_later(item.id, utcnow())
        except Exception:
            log.exception("outbox %s: handing rows back failed (they return after their claim)", self.channel)

    async def _claim(self, limit: int) -> None:
        async with self.db.uow() as uow:
            items = await uow.outbox.claim_due(
                utcnow(), limit, dt.timedelta(seconds=self.claim_lease), self.channel
            )
        for item in items:
            self.queue.push(item)

    async def _deliver(self, item: dto.OutboxItem) -> None:
        result: SendResult | None = None
        retry_in: float | None = None
        try:
            edit_id = await self._edit_target(item)
            if not self.leading or item.id not in await self._journal.submit(item):
                return  # cancelled since claimed (a withdrawn broadcast), or no longer ours
            try:
                reply = Reply.from_json(item.payload)
                if edit_id is not None:
                    reply = replace(reply, extras={**reply.extras, EDIT_MESSAGE_ID: edit_id})
                result = await self.sender.send(item.chat_id, reply)
            except Exception as exc:  # a sender must not raise; if it does, the outcome is unknown
                log.exception("outbox %s: sender raised", self.channel)
                result = SendResult(SendStatus.UNKNOWN, error=type(exc).__name__)
            retry_in = retry_delay(item, result)
            await self._journal.submit((item, result, retry_in))
        except Exception:
            log.exception("outbox %s: recording a send failed", self.channel)
            retry_in = None
        finally:
            self.queue.done(item, result, retry_in)
            self._slots.release()
            self._wake.set()

    async def _write_journal(self, entries: list[_Entry]) -> set[int]:
        """Write the marks and results gathered; returns the ids marked (still ours to send)."""
        marks = [e for e in entries if isinstance(e, dto.OutboxItem)]
        outcomes = [e for e in entries if not isinstance(e, dto.OutboxItem)]
        reached: list[int] = []
        async with self.db.uow() as uow:
            if outcomes:
                reached = await self._write_results(uow, outcomes)
            marked = await self._write_marks(uow, marks) if marks else set()
        self._reachable.update(reached)
        if len(self._reachable) > MAX_REMEMBERED_REACHABLE:
            self._reachable.clear()
        return marked

    async def _write_marks(self, uow: UnitOfWork, marks: list[dto.OutboxItem]) -> set[int]:
        marked = await uow.outbox.mark_sending(
            [i.id for i in marks], utcnow() + dt.timedelta(seconds=self.claim_lease)
        )
        # The options of a message are what typed answers mean from the moment it goes out:
        # the person cannot answer before it arrives, so this never refers to one not yet seen.
        for item in sorted(marks, key=lambda i: i.id):
            if item.id in marked:
                await record_delivery(uow, item)
        return marked

    async def _write_results(self, uow: UnitOfWork, outcomes: list[_Outcome]) -> list[int]:
        """Record the outcomes; returns the people now known to be reachable."""
        now = utcnow()
        sent = [
            (item.id, result.message_id) for item, result, _r in outcomes if result.status == SendStatus.SENT
        ]
        await uow.outbox.finish_sent(sent, now=now)
        self.sent += len(sent)
        # A group's answers say nothing about whether the person who wrote there can be reached.
        reached = [
            item.user_id
            for item, result, _r in outcomes
            if result.status == SendStatus.SENT and item.user_id is not None and not item.is_group
        ]
        await uow.users.reached([u for u in reached if u not in self._reachable])
        for item, result, retry_in in outcomes:
            error = (result.error or "")[:200]
            if result.status == SendStatus.SENT:
                continue
            personal = item.user_id is not None and not item.is_group
            if result.status == SendStatus.REFUSED and personal:
                assert item.user_id is not None
                self._reachable.discard(item.user_id)
                policy = self.blocking
                if await uow.users.send_refused(
                    item.user_id, now, failures=policy.failures, span=policy.span
                ):
                    await uow.outbox.finish(item.id, "blocked", now=now, error=error)
                    continue
            if retry_in is not None:
                # Still ours, queued in memory: claimed until well after the retry is due.
                claim = dt.timedelta(seconds=retry_in + self.claim_lease)
                await uow.outbox.retry_later(item.id, now + claim, error)
            elif result.status == SendStatus.BLOCKED:
                await uow.outbox.finish(item.id, "blocked", now=now, error=error)
                if personal:
                    assert item.user_id is not None
                    await uow.users.update(item.user_id, bot_blocked=True)
            elif result.status == SendStatus.UNKNOWN:
                await uow.outbox.finish(item.id, "unknown", now=now, error=error)
            else:
                await uow.outbox.finish(item.id, "failed", now=now, error=error or "gave up")
        refused = {item.user_id for item, result, _r in outcomes if result.status == SendStatus.REFUSED}
        return [u for u in reached if u not in refused]

    async def _edit_target(self, item: dto.OutboxItem) -> str | None:
        """Platform id of the earlier message this row replaces (``extras["replaces"]``), if delivered.

        None sends a new message instead: the earlier row is unknown, not sent (yet), or was sent
        to another chat. A failed look-up only costs the edit, never the message.
        """
        extras = item.payload.get("extras")
        key = extras.get(REPLACES) if isinstance(extras, dict) else None
        if not isinstance(key, str) or not key:
            return None
        try:
            async with self.db.uow() as uow:
                return await uow.outbox.delivered_message_id(item.channel, item.chat_id, key)
        except Exception:
            log.exception("outbox: looking up the message to replace failed; sending a new one")
            return None


class Outbox:
    """Every messenger's :class:`ChannelOutbox` in this process, and the NOTIFY that wakes them."""

    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        limits: Mapping[str, Limits],
        *,
        holder: str | None = None,
        blocking: BlockPolicy = BlockPolicy(),
    ) -> None:
        holder = holder or uuid.uuid4().hex
        self.channels = {
            name: ChannelOutbox(db, sender, limits.get(name, Limits()), holder=holder, blocking=blocking)
            for name, sender in senders.items()
        }
        self._listener = Listener(db.engine, NOTIFY_CHANNEL, self._notified)
        self._tasks: list[asyncio.Task[None]] = []

    def _notified(self, channel: str) -> None:
        if not channel:
            self.wake()
        elif channel in self.channels:
            self.channels[channel].wake()

    def wake(self) -> None:
        for channel in self.channels.values():
            channel.wake()

    def start(self) -> None:
        self._listener.start()
        self._tasks = [
            asyncio.create_task(c.run(), name=f"outbox-{name}") for name, c in self.channels.items()
        ]

    async def stop(self) -> None:
        for channel in self.channels.values():
            channel.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=20)
        await self._listener.stop()

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.channels.values())
