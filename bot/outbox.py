"""The outbox worker: sends queued messages at the platforms' pace and records what happened.

Delivery is at most once. Each message is marked ``sending`` the moment its rate-limit slot
comes, just before the HTTP call, and its result is recorded as soon as it returns; marks
and results that fall within a few milliseconds of each other share one transaction. Rows
found ``sending`` after a crash are reported as interrupted instead of sent again: that is
only the requests in flight at the crash, not a whole batch. Everything else simply waits
in the queue, so a restart resumes where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from bot.clock import Clock
from bot.events import EDIT_MESSAGE_ID, RATE_LIMITED, REPLACES, Reply, Sender, SendResult, SendStatus
from bot.ratelimit import SmoothRateLimiter
from storage import dto
from storage.uow import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# How long a mark or a result waits for company before its transaction is written.
COALESCE_S = 0.005


class Coalescer[T, R]:
    """Gathers items submitted within ``delay`` seconds and writes them with one ``flush`` call."""

    def __init__(self, flush: Callable[[list[T]], Awaitable[R]], delay: float = COALESCE_S) -> None:
        self._flush_fn, self._delay = flush, delay
        self._items: list[T] = []
        self._done: asyncio.Future[R] | None = None
        self._writes: set[asyncio.Task[None]] = set()  # keeps running writes referenced

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
                done.set_result(await self._flush_fn(items))
            except Exception as exc:
                done.set_exception(exc)

        task = asyncio.ensure_future(run())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)


class OutboxWorker:
    """Drains the outbox table through the channels' senders."""

    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        clock: Clock,
        limiter: SmoothRateLimiter,
        *,
        batch: int = 200,
        wave: int = 30,
        lease: dt.timedelta = dt.timedelta(seconds=60),
        idle_poll: float = 1.0,
    ) -> None:
        self.db, self.senders, self.clock, self.limiter = db, senders, clock, limiter
        self.batch, self.wave, self.lease, self.idle_poll = batch, wave, lease, idle_poll
        self._wake = asyncio.Event()
        self._stopping = False
        self.sent = 0
        self._marks = Coalescer(self._write_marks)
        self._results = Coalescer(self._write_results)

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the wave in flight, put the rest back in the queue, and return from :meth:`run`."""
        self._stopping = True
        self._wake.set()

    async def recover(self) -> int:
        """Settle rows a crashed process left mid-send (see the module docstring)."""
        async with self.db.uow() as uow:
            n = await uow.outbox.release_interrupted(self.clock.now())
        if n:
            log.warning("outbox: %d messages were interrupted mid-send by a crash; not resent", n)
        return n

    async def run(self) -> None:
        """Loop until :meth:`stop`."""
        await self.recover()
        next_recover = self.clock.now() + self.lease
        while not self._stopping:
            try:
                if self.clock.now() >= next_recover:
                    # A process that died moments before this one started left rows 'sending'
                    # whose lease had not ended yet: settle them once it has.
                    next_recover = self.clock.now() + self.lease
                    await self.recover()
                done = await self.drain_once()
            except Exception:
                log.exception("outbox: drain failed; retrying shortly")
                done = 0
            if done == 0 and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_poll)

    async def drain_once(self) -> int:
        """Claim one batch of due messages and deliver it; returns how many were attempted.

        A batch is sized to go out well within the lease (200 at 30/s is about 7 s), so
        rows claimed by a process that died come back within a minute.
        """
        async with self.db.uow() as uow:
            items = await uow.outbox.claim_due(self.clock.now(), self.batch, self.lease)
        if not items:
            return 0
        # Per chat, order matters; across chats, waves interleave so no chat holds up the rest.
        queues: OrderedDict[tuple[str, str], list[dto.OutboxItem]] = OrderedDict()
        for item in items:
            queues.setdefault((item.channel, item.chat_id), []).append(item)
        attempted = 0
        while queues and not self._stopping:
            wave = []
            for key in list(queues)[: self.wave]:
                wave.append(queues[key].pop(0))
                if not queues[key]:
                    del queues[key]
            attempted += await self._send_wave(wave)
        leftover = [i for q in queues.values() for i in q]
        if leftover:  # stopping: hand them back untouched
            async with self.db.uow() as uow:
                for item in leftover:
                    await uow.outbox.retry_later(item.id, self.clock.now())
        return attempted

    async def _send_wave(self, wave: list[dto.OutboxItem]) -> int:
        """Deliver one message per chat concurrently, each at its own rate-limit slot."""
        done = await asyncio.gather(*(self._deliver(i) for i in wave))
        return sum(done)

    async def _write_marks(self, ids: list[int]) -> set[int]:
        async with self.db.uow() as uow:
            return await uow.outbox.mark_sending(ids, self.clock.now() + self.lease)

    async def _write_results(self, outcomes: list[tuple[dto.OutboxItem, SendResult]]) -> None:
        now = self.clock.now()
        async with self.db.uow() as uow:
            sent = [
                (item.id, result.message_id) for item, result in outcomes if result.status == SendStatus.SENT
            ]
            await uow.outbox.finish_sent(sent, now=now)
            self.sent += len(sent)
            for item, result in outcomes:
                error = (result.error or "")[:200]
                if result.status == SendStatus.SENT:
                    continue
                if result.status == SendStatus.BLOCKED:
                    await uow.outbox.finish(item.id, "blocked", now=now, error=error)
                    if item.user_id is not None:
                        await uow.users.update(item.user_id, bot_blocked=True)
                elif result.status == SendStatus.RETRY and item.attempts < MAX_ATTEMPTS:
                    delay = max(result.retry_after, 0.5) * (1 if result.retry_after else 2**item.attempts)
                    await uow.outbox.retry_later(item.id, now + dt.timedelta(seconds=delay), error)
                else:
                    await uow.outbox.finish(item.id, "failed", now=now, error=error)

    async def _deliver(self, item: dto.OutboxItem) -> int:
        """Wait for the slot, mark, send, record; 1 when a send was attempted, 0 when skipped."""
        sender = self.senders.get(item.channel)
        if sender is None:
            await self._results.submit(
                (item, SendResult(SendStatus.FAILED, error=f"no sender for {item.channel}"))
            )
            return 0
        edit_id = await self._edit_target(item)  # looked up before the slot: the slot is for the send
        await self.limiter.acquire(item.chat_id, item.is_group)
        if item.id not in await self._marks.submit(item.id):
            return 0  # cancelled (a withdrawn broadcast) since it was claimed: never sent
        try:
            reply = Reply.from_json(item.payload)
            if edit_id is not None:
                reply = replace(reply, extras={**reply.extras, EDIT_MESSAGE_ID: edit_id})
            result = await sender.send(item.chat_id, reply)
        except Exception as exc:  # a sender must not raise, but one bug must not stop the queue
            log.exception("outbox: sender raised")
            result = SendResult(SendStatus.RETRY, retry_after=5, error=type(exc).__name__)
        if result.status == SendStatus.RETRY and result.error == RATE_LIMITED:
            self.limiter.penalize(result.retry_after)  # a 429 applies to the whole bot, a timeout does not
        await self._results.submit((item, result))
        return 1

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
