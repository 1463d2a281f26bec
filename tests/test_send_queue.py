"""The sender's scheduling rules on a virtual clock: global and per-chat pace, priorities, 429s."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.events import RATE_LIMITED, SendResult, SendStatus
from bot.outbox import PAID, Limits, SendQueue
from storage import dto

SENT = SendResult(SendStatus.SENT)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def item(n: int, chat: str, priority: int = 1, *, group: bool = False, paid: bool = False) -> dto.OutboxItem:
    payload = {"text": str(n), **({"extras": {PAID: True}} if paid else {})}
    return dto.OutboxItem(
        id=n,
        channel="telegram",
        chat_id=chat,
        user_id=None,
        is_group=group,
        payload=payload,
        status="pending",
        attempts=0,
        not_before=dt.datetime.now(dt.UTC),
        announcement_id=None,
        priority=priority,
    )


def drain(queue: SendQueue, clock: Clock, until: float = 1e9) -> list[tuple[float, dto.OutboxItem]]:
    """Pop everything, jumping the clock to each next slot; every send succeeds at once."""
    out = []
    while clock.now <= until:
        got, wait = queue.pop()
        if got is not None:
            out.append((clock.now, got))
            queue.done(got, SENT)
        elif wait is None:
            break
        else:
            clock.now += wait
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=300))
def test_no_one_second_window_holds_more_than_the_rate_and_no_chat_more_than_one(chats: list[int]) -> None:
    clock = Clock()
    queue = SendQueue(Limits(global_rate=30, chat_interval=1.0), clock)
    for n, chat in enumerate(chats):
        queue.push(item(n, f"c{chat}"))
    sent = drain(queue, clock)
    assert len(sent) == len(chats)
    times = [t for t, _i in sent]
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u <= t + 1.0) <= 30
    per_chat: dict[str, list[float]] = {}
    for t, it in sent:
        per_chat.setdefault(it.chat_id, []).append(t)
    for chat, ts in per_chat.items():
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(ts)), chat
        ids = [it.id for _t, it in sent if it.chat_id == chat]
        assert ids == sorted(ids), "a chat's messages never overtake each other"


def test_replies_go_before_notifications_before_broadcasts() -> None:
    clock = Clock()
    queue = SendQueue(Limits(global_rate=10), clock)
    for n in range(20):
        queue.push(item(n, f"b{n}", priority=2))
    queue.push(item(100, "n1", priority=1))
    queue.push(item(101, "r1", priority=0))
    order = [it.id for _t, it in drain(queue, clock)]
    assert order[:2] == [101, 100] and order[2:] == list(range(20))


def test_a_reply_goes_before_its_own_chats_queued_broadcast() -> None:
    clock = Clock()
    queue = SendQueue(Limits(global_rate=10), clock)
    queue.push(item(1, "a", priority=2))
    queue.push(item(2, "a", priority=0))
    assert [it.id for _t, it in drain(queue, clock)] == [2, 1]


def test_groups_get_one_message_every_three_seconds() -> None:
    clock = Clock()
    queue = SendQueue(Limits(global_rate=30), clock)
    for n in range(5):
        queue.push(item(n, "-100", group=True))
    times = [t for t, _i in drain(queue, clock)]
    assert all(b - a >= 3.0 for a, b in itertools.pairwise(times))


def test_paid_broadcasts_have_their_own_rate() -> None:
    clock = Clock()
    queue = SendQueue(Limits(global_rate=30, paid_rate=1000), clock)
    for n in range(300):
        queue.push(item(n, f"p{n}", priority=2, paid=True))
    sent = drain(queue, clock)
    assert sent[-1][0] < 0.35  # 300 in about 0.3 s instead of 10 s


def test_a_429_pauses_one_chat_and_many_pause_the_bot() -> None:
    clock = Clock()
    queue = SendQueue(Limits(global_rate=100, global_429_chats=3), clock)
    queue.push(item(1, "a"))
    queue.push(item(2, "b"))
    first, _ = queue.pop()
    assert first is not None and first.chat_id == "a"
    queue.done(first, SendResult(SendStatus.RETRY, retry_after=5, error=RATE_LIMITED), retry_in=5)
    clock.now += 0.02
    second, _ = queue.pop()
    assert second is not None and second.chat_id == "b"  # b is not held up by a's 429
    queue.done(second, SENT)
    got, wait = queue.pop()
    assert got is None and wait is not None and 4.9 < wait <= 5.0  # a waits its retry_after

    clock.now += wait
    again, _ = queue.pop()
    assert again is not None and again.id == 1 and again.attempts == 1
    queue.done(again, SENT)

    # Three different chats answered 429 within a second: the whole bot is over the limit.
    clock.now = 100.0
    for n, chat in enumerate(("x", "y", "z")):
        queue.push(item(10 + n, chat))
        it, _ = queue.pop()
        assert it is not None and it.chat_id == chat
        queue.done(it, SendResult(SendStatus.RETRY, retry_after=2, error=RATE_LIMITED))
        clock.now += 0.02
    queue.push(item(20, "w"))
    got, wait = queue.pop()
    assert got is None and wait is not None and wait > 1.9


def test_a_retried_message_keeps_its_place_in_its_chat() -> None:
    clock = Clock()
    queue = SendQueue(Limits(global_rate=100, chat_interval=0.0), clock)
    queue.push(item(1, "a"))
    queue.push(item(2, "a"))
    first, _ = queue.pop()
    assert first is not None
    queue.done(first, SendResult(SendStatus.RETRY, retry_after=1, error="Bad Gateway"), retry_in=1.0)
    sent = drain(queue, clock)
    assert [it.id for _t, it in sent] == [1, 2] and sent[0][1].attempts == 1
    assert Counter(it.chat_id for _t, it in sent) == Counter({"a": 2})
    assert len(queue) == 0
