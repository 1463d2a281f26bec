"""SmoothRateLimiter on a virtual clock: spacing, per-chat intervals, penalties, memory."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random

from bot.ratelimit import SmoothRateLimiter


def max_in_closed_window(times: list[float], width: float = 1.0) -> int:
    """Most sends inside any closed window [t, t + width]."""
    ts = sorted(times)
    return max(bisect.bisect_right(ts, t + width + 1e-12) - i for i, t in enumerate(ts))


def make(fake_time, **kwargs) -> SmoothRateLimiter:
    return SmoothRateLimiter(clock=fake_time.clock, sleep=fake_time.sleep, **kwargs)


async def timed_acquire(fake_time, limiter: SmoothRateLimiter, chat: str, is_group: bool = False) -> float:
    await limiter.acquire(chat, is_group)
    return fake_time.now


async def test_300_chats_never_exceed_30_per_second_and_keep_throughput(fake_time) -> None:
    limiter = make(fake_time)
    times = await fake_time.run(
        asyncio.gather(*(timed_acquire(fake_time, limiter, f"chat{i}") for i in range(300)))
    )

    assert max_in_closed_window(times) <= 30
    # 300 sends at the full 30/s would take 299/30 ≈ 9.97 s; we must stay within 95 % of that.
    assert 9.9 <= max(times) <= 299 / (30 * 0.95)
    assert sorted(times) == times  # first come, first served


async def test_per_chat_and_per_group_spacing_hold(fake_time) -> None:
    limiter = make(fake_time)
    jobs = [timed_acquire(fake_time, limiter, "farmer") for _ in range(4)]
    jobs += [timed_acquire(fake_time, limiter, "-100group", is_group=True) for _ in range(4)]
    jobs += [timed_acquire(fake_time, limiter, f"other{i}") for i in range(60)]
    times = await fake_time.run(asyncio.gather(*jobs))

    farmer, group, others = times[:4], times[4:8], times[8:]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(farmer))
    assert all(b - a >= 3.0 for a, b in itertools.pairwise(group))
    # A busy chat does not hold the others back: they fill the free slots in between.
    assert max(others) <= 62 / 30 * 1.05
    assert max_in_closed_window(times) <= 30


async def test_penalize_pushes_waiting_and_future_slots_back(fake_time) -> None:
    limiter = make(fake_time)
    first = await fake_time.run(timed_acquire(fake_time, limiter, "a"))
    assert first == 0.0

    async def hit_429_then_send() -> list[float]:
        waiting = [asyncio.ensure_future(timed_acquire(fake_time, limiter, f"c{i}")) for i in range(5)]
        await asyncio.sleep(0)  # they reserve slots within the next ~0.2 s
        limiter.penalize(5.0)
        later = await timed_acquire(fake_time, limiter, "late")
        return [*await asyncio.gather(*waiting), later]

    times = await fake_time.run(hit_429_then_send())
    assert min(times) >= 5.0
    assert max_in_closed_window(times) <= 30
    assert limiter.next_free_for("a") >= 5.0


async def test_next_free_for_lets_a_worker_skip_busy_chats(fake_time) -> None:
    limiter = make(fake_time)
    await fake_time.run(limiter.acquire("busy"))

    assert not limiter.is_ready("busy")
    assert limiter.is_ready("idle")
    assert 1.0 <= limiter.next_free_for("busy") <= 1.1
    assert limiter.next_free_for("idle") == fake_time.now


async def test_memory_stays_bounded_for_100k_chats() -> None:
    now = [0.0]

    async def jump(delay: float) -> None:  # one caller at a time: sleeping is just moving on
        now[0] += delay

    limiter = SmoothRateLimiter(clock=lambda: now[0], sleep=jump)
    for i in range(100_000):
        await limiter.acquire(f"chat{i}")

    assert now[0] > 3000  # ~30/s over 100k chats
    assert limiter.tracked_chats <= 8192


async def test_random_traffic_keeps_every_limit(fake_time) -> None:
    """Bursty arrivals over a few busy chats and groups plus many quiet ones, with a 429 midway."""
    rng = random.Random(20260915)
    limiter = make(fake_time)
    sends: list[tuple[str, float]] = []

    async def sender(chat: str, is_group: bool, start: float) -> None:
        await fake_time.sleep(start)
        await limiter.acquire(chat, is_group)
        sends.append((chat, fake_time.now))

    async def scenario() -> None:
        jobs = []
        for _ in range(600):
            roll = rng.random()
            chat = (
                f"busy{rng.randrange(5)}"
                if roll < 0.3
                else f"-100g{rng.randrange(3)}"
                if roll < 0.4
                else f"q{rng.randrange(10_000)}"
            )
            jobs.append(asyncio.ensure_future(sender(chat, chat.startswith("-"), rng.uniform(0, 15))))
        await fake_time.sleep(7.0)
        limiter.penalize(2.0)
        await asyncio.gather(*jobs)

    await fake_time.run(scenario())
    times = [t for _, t in sends]
    assert len(sends) == 600
    assert max_in_closed_window(times) <= 30
    by_chat: dict[str, list[float]] = {}
    for chat, t in sends:
        by_chat.setdefault(chat, []).append(t)
    for chat, ts in by_chat.items():
        gap = 3.0 if chat.startswith("-") else 1.0
        assert all(b - a >= gap for a, b in itertools.pairwise(ts)), chat
    assert not [t for t in times if 7.0 < t < 9.0]  # nothing inside the penalty
