"""A fair share per person: a short burst, then about one message a second.

Beyond it the person is told once to slow down and the rest is ignored; a flood far beyond it
blocks them for a while (the engine audits it and tells the admins; /bochan lifts it). Kept in
memory per process: a crash forgets it, which only forgives.
"""

from __future__ import annotations

import collections
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass


class Verdict(enum.Enum):
    ADMIT = "admit"
    WARN = "warn"  # over the limit for the first time in this flood: say "chậm lại" once
    DROP = "drop"  # over the limit again: silence
    BLOCK = "block"  # an extreme flood: block for a while


@dataclass
class _Bucket:
    tokens: float
    at: float
    dropped: int = 0  # messages ignored in the current flood
    flood_started: float = 0.0


class FloodGuard:
    """Token buckets per person (bounded memory)."""

    def __init__(
        self,
        *,
        rate: float = 1.0,
        burst: int = 6,
        block_after: int = 100,
        block_window: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        max_people: int = 50_000,
    ) -> None:
        self.rate, self.burst = rate, burst
        self.block_after, self.block_window = block_after, block_window
        self._clock = clock
        self._buckets: collections.OrderedDict[tuple[str, str], _Bucket] = collections.OrderedDict()
        self._max = max_people

    def admit(self, who: tuple[str, str]) -> Verdict:
        """What to do with one more message from ``who`` (messenger, person)."""
        now = self._clock()
        bucket = self._buckets.get(who)
        if bucket is None:
            bucket = self._buckets[who] = _Bucket(float(self.burst), now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(who)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.dropped = 0
            return Verdict.ADMIT
        if bucket.dropped == 0 or now - bucket.flood_started > self.block_window:
            bucket.dropped, bucket.flood_started = 1, now
            return Verdict.WARN
        bucket.dropped += 1
        if bucket.dropped == self.block_after:
            return Verdict.BLOCK
        return Verdict.DROP

    def forget(self, who: tuple[str, str]) -> None:
        """Start afresh (the person was unblocked)."""
        self._buckets.pop(who, None)
