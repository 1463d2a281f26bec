"""The inbox worker: updates are saved before they are acknowledged, then handled exactly once.

A channel calls :meth:`InboxWorker.accept` and acknowledges the messenger only after it
returns (the rows are committed). Workers in every process take the oldest pending update of
a chat (never two of one chat at once, see ``storage.repositories.inbox``) and handle it in
one transaction with everything it causes: state, domain changes, outgoing messages and the
row's "done". A crash anywhere re-runs the update from the start; nothing is done twice.

Times here are the machine's (when an update arrived, when to retry it), never the business
clock that flows and tests move.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from bot.events import Incoming
from storage import dto
from storage.types import utcnow
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
# Handles one update inside the given unit of work; returns what to run after the commit.
Handler = Callable[[UnitOfWork, Incoming, int], Awaitable[Sequence[Hook]]]
# Called in a fresh unit of work for an update that failed every attempt (tell the person).
GiveUp = Callable[[UnitOfWork, Incoming, int], Awaitable[None]]

MAX_ATTEMPTS = 3
FAIRNESS_LOOKAHEAD = 20  # heads read beyond the free workers, to pick the least recently served chats
MAX_REMEMBERED_CHATS = 10_000
# Between attempts of a failing update: a passing fault (a deadlock, a dropped connection)
# clears within these; the person's later messages wait behind it, so keep them short.
RETRY_DELAYS = (0.5, 2.0)


class InboxWorker:
    """Accepts updates from the channels and handles them, a chat at a time, oldest first."""

    def __init__(
        self,
        db: Database,
        handle: Handler | None = None,
        *,
        give_up: GiveUp | None = None,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.db, self.handle = db, handle
        self.give_up = give_up
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._stopping = False
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._served: collections.OrderedDict[tuple[str, str], float] = collections.OrderedDict()
        # Heads read but not started yet (more than the free workers, for fairness). They are used
        # while nothing new arrived; anything saved, or a poll, reads the inbox again.
        self._candidates: list[tuple[int, str, str]] = []
        self._stale = True
        self.handled = 0

    # --- receiving ---------------------------------------------------------------------------
    async def accept(self, events: Sequence[Incoming]) -> int:
        """Save ``events`` (cleaned of control characters) and commit; returns how many were new.

        Raises when the database cannot take them: the channel must then not acknowledge.
        """
        rows = []
        for event in events:
            event = event.cleaned()
            update_id = event.update_id or f"local:{uuid.uuid4().hex}"
            rows.append(dto.NewUpdate(event.channel, update_id[:64], event.chat_id, event.to_json()))
        if not rows:
            return 0
        async with self.db.uow() as uow:
            added = await uow.inbox.add_many(rows)
        if added < len(rows):
            log.info("inbox: %d duplicate update(s) ignored", len(rows) - added)
        self.wake()
        return added

    __call__ = accept  # an InboxWorker is the channels' UpdateSink

    def wake(self) -> None:
        """Something was saved: look now rather than at the next poll."""
        self._stale = True
        self._wake.set()

    # --- handling ----------------------------------------------------------------------------
    async def run(self, handle: Handler | None = None, give_up: GiveUp | None = None) -> None:
        """Handle updates until :meth:`stop`; picks up what other (or crashed) processes left too.

        ``handle`` and ``give_up`` may be given here when the handler is built after the inbox
        (the channels need the inbox before the engine exists).
        """
        self.handle = handle or self.handle
        self.give_up = give_up or self.give_up
        while not self._stopping:
            self._wake.clear()
            try:
                await self._fill()
            except Exception:
                log.exception("inbox: looking for work failed; retrying shortly")
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            except TimeoutError:
                self._stale = True  # another process may have saved updates
        await self._finish_running(grace=10.0)

    async def stop(self) -> None:
        """Take no new update; let those being handled finish."""
        self._stopping = True
        self._wake.set()

    async def _finish_running(self, grace: float) -> None:
        tasks = list(self._running.values())
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:  # their transactions roll back; the updates stay pending
                task.cancel()
            if late:
                await asyncio.wait(late)

    async def _fill(self) -> int:
        free = self.concurrency - len(self._running)
        if free <= 0:
            return 0
        if self._stale or not self._candidates:
            self._stale = False
            async with self.db.glance() as uow:
                heads = await uow.inbox.heads(
                    utcnow(), free + FAIRNESS_LOOKAHEAD, skip_chats=list(self._running)
                )
            # Chats served least recently go first: one person's burst waits its turn behind the
            # others instead of everyone waiting behind it.
            self._candidates = sorted(heads, key=lambda h: self._served.get((h[1], h[2]), 0.0))
        heads = [h for h in self._candidates if (h[1], h[2]) not in self._running][:free]
        self._candidates = [
            h for h in self._candidates if h not in heads and (h[1], h[2]) not in self._running
        ]
        for inbox_id, channel, chat_id in heads:
            key = (channel, chat_id)
            self._served[key] = time.monotonic()
            task = asyncio.create_task(self._run_one(inbox_id), name=f"inbox-{inbox_id}")
            self._running[key] = task
            task.add_done_callback(functools.partial(self._done, key))
        return len(heads)

    def _done(self, key: tuple[str, str], _task: asyncio.Task[None]) -> None:
        self._running.pop(key, None)
        self._served.move_to_end(key)
        while len(self._served) > MAX_REMEMBERED_CHATS:
            self._served.popitem(last=False)
        self._wake.set()  # the chat's next update, if any, may go now

    async def _run_one(self, inbox_id: int) -> None:
        try:
            await self.process(inbox_id)
        except Exception:
            log.exception("inbox: update %s could not be settled", inbox_id)

    async def process(self, inbox_id: int) -> bool:
        """Handle one saved update in one transaction; False when it was not (or no longer) ours."""
        hooks: Sequence[Hook] = ()
        try:
            async with self.db.uow() as uow:
                item = await uow.inbox.take(inbox_id)
                if item is None:
                    return False
                assert self.handle is not None, "InboxWorker.run(handle) was not called"
                hooks = await self.handle(uow, Incoming.from_json(item.payload), inbox_id)
                await uow.inbox.done(inbox_id, utcnow())
        except Exception as exc:
            # Rolled back: nothing of this update was saved. Never log its text or a phone.
            log.exception("inbox: update %s failed", inbox_id)
            await self._failed(inbox_id, exc)
            return True
        self.handled += 1
        for hook in hooks:
            try:
                await hook()
            except Exception:
                log.exception("inbox: after-commit hook failed")
        return True

    async def _failed(self, inbox_id: int, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:200]
        now = utcnow()
        async with self.db.uow() as uow:
            item = await uow.inbox.get(inbox_id)
            if item is None or item.status != "pending":
                return
            if item.attempts + 1 < self.max_attempts:
                delay = RETRY_DELAYS[min(item.attempts, len(RETRY_DELAYS) - 1)]
                await uow.inbox.retry_later(inbox_id, now + dt.timedelta(seconds=delay), error)
                return
            await uow.inbox.fail(inbox_id, now, error)
            if self.give_up is not None:
                await self.give_up(uow, Incoming.from_json(item.payload), inbox_id)

    async def drain(self) -> int:
        """Handle everything pending now, in this task (tests, the local chat); returns how many."""
        handled = 0
        while True:
            async with self.db.glance() as uow:
                heads = await uow.inbox.heads(utcnow(), 50)
            if not heads:
                return handled
            for inbox_id, _channel, _chat in heads:
                handled += await self.process(inbox_id)
