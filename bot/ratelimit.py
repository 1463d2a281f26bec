"""Smooth send scheduling for the outbox: evenly spaced slots instead of burst-then-pause.

Telegram allows about 30 messages a second overall, one a second per chat and 20 a minute per
group. PTB's ``AIORateLimiter`` lets a burst of 30 through and then stalls everything on a 429;
this limiter hands out one send slot every ``(1 + slack) / global_rate`` seconds, so any closed
one-second window holds at most ``global_rate`` sends (k sends in a closed window need
``(k - 1) * spacing <= 1``) while throughput stays at ``1 / (1 + slack)`` of the limit.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections.abc import Awaitable, Callable

__all__ = ["SmoothRateLimiter"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


class SmoothRateLimiter:
    """Reserve-then-sleep scheduler: a global slot grid plus a minimum interval per chat.

    Every caller reserves its slot synchronously (no ``await`` between reading and writing the
    schedule), then sleeps until it. A caller whose chat is busy takes a later slot without
    blocking the slots in between: those stay free as *holes* for callers of other chats.
    """

    def __init__(
        self,
        global_rate: float = 30,
        per_chat_interval: float = 1.0,
        per_group_interval: float = 3.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        *,
        slack: float = 0.03,
        prune_threshold: int = 4096,
    ) -> None:
        if global_rate <= 0:
            raise ValueError("global_rate must be positive")
        # The slack absorbs scheduling jitter between "slot granted" and "request arrives".
        self.spacing = (1.0 + slack) / global_rate
        self.chat_interval = per_chat_interval * (1.0 + slack)
        self.group_interval = per_group_interval * (1.0 + slack)
        self._clock = clock
        self._sleep = sleep
        self._frontier = -math.inf  # earliest slot after every reserved one
        self._holes: list[float] = []  # sorted free slots before the frontier
        self._chat_next: dict[str, float] = {}  # chat -> earliest time of its next send
        self._penalty_until = -math.inf
        self._penalty_epoch = 0
        self._prune_threshold = prune_threshold
        self._prune_at = prune_threshold

    # -- public API -------------------------------------------------------------------------

    async def acquire(self, chat_id: str, is_group: bool = False) -> None:
        """Wait until a message to ``chat_id`` may be sent, keeping global and per-chat spacing."""
        while True:
            epoch = self._penalty_epoch
            slot = self._reserve(chat_id, is_group)
            delay = slot - self._clock()
            if delay > 0:
                await self._sleep(delay)
            # A 429 while we slept moved every slot back; ours is no longer valid.
            if epoch == self._penalty_epoch or self._clock() >= self._penalty_until:
                return

    def penalize(self, seconds: float) -> None:
        """Push every future slot back by ``seconds`` (call on a 429 with its ``retry_after``)."""
        until = self._clock() + max(0.0, seconds)
        if until <= self._penalty_until:
            return
        self._penalty_until = until
        self._penalty_epoch += 1
        self._holes.clear()
        self._frontier = max(self._frontier, until)

    def next_free_for(self, chat_id: str) -> float:
        """Earliest clock time at which ``chat_id`` could send (chat spacing and penalties only)."""
        return max(self._clock(), self._chat_next.get(chat_id, -math.inf), self._penalty_until)

    def is_ready(self, chat_id: str) -> bool:
        """True when ``chat_id`` is not waiting out its own interval or a global penalty."""
        return self.next_free_for(chat_id) <= self._clock()

    @property
    def tracked_chats(self) -> int:
        """How many chats still have a future constraint (bounded by pruning)."""
        return len(self._chat_next)

    # -- scheduling ---------------------------------------------------------------------------

    def _reserve(self, chat_id: str, is_group: bool) -> float:
        now = self._clock()
        self._drop_past_holes(now)
        earliest = max(now, self._penalty_until, self._chat_next.get(chat_id, -math.inf))
        slot = self._take_slot(earliest)
        interval = self.group_interval if is_group else self.chat_interval
        self._chat_next[chat_id] = slot + interval
        if len(self._chat_next) >= self._prune_at:
            self._prune(now)
        return slot

    def _take_slot(self, earliest: float) -> float:
        i = bisect.bisect_left(self._holes, earliest)
        if i < len(self._holes):
            return self._holes.pop(i)
        if earliest <= self._frontier:
            slot = self._frontier
        else:
            # Grid points between the old frontier and our slot stay usable by other chats.
            if self._frontier != -math.inf:
                hole = self._frontier
                while hole + self.spacing <= earliest:
                    self._holes.append(hole)
                    hole += self.spacing
            slot = earliest
        self._frontier = slot + self.spacing
        return slot

    def _drop_past_holes(self, now: float) -> None:
        # A hole in the past can still be granted "now" only if it keeps the spacing; simplest
        # safe rule is to forget holes that lie before now (their neighbours may be close).
        if self._holes and self._holes[0] < now:
            del self._holes[: bisect.bisect_left(self._holes, now)]

    def _prune(self, now: float) -> None:
        # Entries whose next-allowed time has passed carry no constraint any more.
        self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        self._prune_at = max(self._prune_threshold, 2 * len(self._chat_next))
