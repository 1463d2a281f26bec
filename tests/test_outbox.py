"""The outbox sender against a local fake Bot API and recording senders: pacing, priorities,
fairness between people, 429s, retries, blocked users, restarts and crashes without duplicates,
and one sender per messenger across processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.channels.console import ConsoleSender, ConsoleSession
from bot.channels.telegram import TelegramSender
from bot.events import EDIT_MESSAGE_ID, RATE_LIMITED, REPLACES, Choice, Reply, SendResult, SendStatus
from bot.outbox import ChannelOutbox, Limits
from storage import models
from storage.repositories.outbox import BROADCAST, NOTIFICATION, REPLY
from storage.uow import Database
from tests.fakes.telegram_api import FakeBotApi

FAST = Limits(global_rate=500, chat_interval=0.0, group_interval=0.0)


async def make_users(db: Database, n: int, first_id: int = 7000, priority: int = NOTIFICATION) -> list[int]:
    ids = []
    async with db.uow() as uow:
        for i in range(n):
            user = await uow.users.ensure("telegram", str(first_id + i), str(first_id + i), "vi")
            ids.append(user.id)
            await uow.outbox.enqueue(
                "telegram",
                str(first_id + i),
                Reply(f"Thông báo số {i}", (Choice("Xem", "cmd:menu"),)).to_json(),
                user_id=user.id,
                dedupe_key=f"test:{first_id + i}",
                priority=priority,
            )
    return ids


async def queue(
    db: Database, chat: str, text: str, priority: int, channel: str = "telegram", **kw: object
) -> None:
    async with db.uow() as uow:
        await uow.outbox.enqueue(channel, chat, Reply(text).to_json(), priority=priority, **kw)  # type: ignore[arg-type]


async def statuses(db: Database) -> Counter[str]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(models.OutboxMessage.status))
        return Counter(rows)


def delivered(api: FakeBotApi) -> Counter[str]:
    return Counter(str(c.chat_id) for c in api.calls_to("sendMessage") if c.ok)


async def settled(db: Database, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while True:
            counts = await statuses(db)
            if counts["pending"] == 0 and counts["sending"] == 0:
                return
            await asyncio.sleep(0.05)


async def run_until_empty(outbox: ChannelOutbox, db: Database, timeout: float = 20) -> None:
    task = asyncio.create_task(outbox.run())
    try:
        await settled(db, timeout)
    finally:
        outbox.stop()
        await task


async def expire_claims_and_leases(db: Database) -> None:
    """Time passes beyond every claim and lease (what a restarted process finds after a crash)."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    async with db.uow() as uow:
        await uow.session.execute(
            update(models.OutboxMessage)
            .where(models.OutboxMessage.status.in_(("sending", "pending")))
            .values(not_before=past)
        )
        await uow.session.execute(update(models.SchedulerLease).values(expires_at=past))


class RecordingSender:
    """A messenger that records what it was asked to send, when, and answers as ``answer`` says."""

    def __init__(
        self,
        channel: str = "telegram",
        message_ids: bool = True,
        answer: Callable[[str, Reply, int], SendResult] | None = None,
    ) -> None:
        self.channel, self.message_ids = channel, message_ids
        self.answer = answer
        self.sent: list[tuple[str, Reply, float]] = []
        self.attempts: Counter[str] = Counter()

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        self.attempts[reply.text] += 1
        if self.answer is not None:
            result = self.answer(chat_id, reply, self.attempts[reply.text])
            if result.status is not SendStatus.SENT:
                return result
        self.sent.append((chat_id, reply, time.monotonic()))
        return SendResult(SendStatus.SENT, message_id=f"m{len(self.sent)}" if self.message_ids else None)

    def texts(self, chat: str | None = None) -> list[str]:
        return [r.text for c, r, _t in self.sent if chat is None or c == chat]


# --- against the fake Bot API -----------------------------------------------------------------


async def test_every_message_is_sent_once_with_429s_and_blocked_users(database: Database) -> None:
    async with FakeBotApi(
        blocked_chats={7003, 7007}, strict_global_rate=30, strict_per_chat_interval=1.0
    ) as api:
        api.fail_next_429(2, retry_after=1)
        await make_users(database, 40)
        async with TelegramSender("123:TEST", api.base_url) as sender:
            await run_until_empty(ChannelOutbox(database, sender, Limits(global_rate=30)), database)

        got = delivered(api)
        assert all(n == 1 for n in got.values())
        assert set(got) == {str(7000 + i) for i in range(40)} - {"7003", "7007"}
        assert await statuses(database) == Counter({"sent": 38, "blocked": 2})
        async with database.uow() as uow:
            blocked = await uow.users.by_external("telegram", "7003")
            fine = await uow.users.by_external("telegram", "7004")
        assert blocked.bot_blocked and not fine.bot_blocked
        # The buttons survive the trip through the outbox table.
        markup = api.calls_to("sendMessage")[-1].reply_markup
        assert markup["inline_keyboard"][0][0]["callback_data"] == "cmd:menu"


async def test_a_graceful_restart_half_way_resumes_without_duplicates(database: Database) -> None:
    async with FakeBotApi() as api:
        await make_users(database, 60)
        async with TelegramSender("123:TEST", api.base_url) as sender:
            first = ChannelOutbox(database, sender, Limits(global_rate=30))
            task = asyncio.create_task(first.run())
            await api.wait_for_calls("sendMessage", 20, timeout=10)
            first.stop()
            await task
            half = sum(delivered(api).values())
            assert 20 <= half < 60

            # The stopping process gave its lease and its claims back: the next one starts at once.
            await run_until_empty(ChannelOutbox(database, sender, Limits(global_rate=30)), database)
        got = delivered(api)
        assert len(got) == 60 and set(got.values()) == {1}
        assert await statuses(database) == Counter({"sent": 60})


async def test_a_crash_mid_send_never_sends_twice_and_reports_the_unknown(database: Database) -> None:
    async with FakeBotApi() as api:
        await make_users(database, 30)
        async with TelegramSender("123:TEST", api.base_url) as sender:
            crashed = ChannelOutbox(database, sender, Limits(global_rate=30))
            task = asyncio.create_task(crashed.run())
            await api.wait_for_calls("sendMessage", 7, timeout=10)
            crashed.kill()  # the process dies: no chance to record the sends in flight
            await task
            await asyncio.sleep(0.3)  # a write that was already on the wire when it died may still land
            await expire_claims_and_leases(database)
            await run_until_empty(ChannelOutbox(database, sender, Limits(global_rate=30)), database)
        got = delivered(api)
        counts = await statuses(database)
        assert set(got.values()) == {1}  # nobody twice
        assert counts["unknown"] <= 6  # at most the sends in flight (a loaded machine starts a few more) ...
        assert counts["sent"] + counts["unknown"] == 30  # ... and nothing is silently dropped
        async with database.uow() as uow:
            rows = list(
                await uow.session.scalars(
                    select(models.OutboxMessage).where(models.OutboxMessage.status == "unknown")
                )
            )
        assert all(r.error == "interrupted: delivery unknown" for r in rows)


# --- priorities and fairness ------------------------------------------------------------------


async def test_a_reply_overtakes_a_running_broadcast(database: Database) -> None:
    """A person who writes during a broadcast at the platform limit is answered within a second."""
    sender = RecordingSender()
    await make_users(database, 150, priority=BROADCAST)
    outbox = ChannelOutbox(database, sender, Limits(global_rate=30))
    task = asyncio.create_task(outbox.run())
    try:
        async with asyncio.timeout(10):
            while len(sender.sent) < 30:  # the broadcast runs at full pace
                await asyncio.sleep(0.02)
        asked = time.monotonic()
        await queue(database, "9999", "Chào bạn", REPLY)
        outbox.wake()
        await queue(database, "9998", "Đề xuất ghép đơn", NOTIFICATION)
        outbox.wake()
        async with asyncio.timeout(5):
            while "Đề xuất ghép đơn" not in sender.texts()[:-5]:
                await asyncio.sleep(0.01)
    finally:
        outbox.stop()
        await task
    at = {r.text: t for _c, r, t in sender.sent}
    assert at["Chào bạn"] - asked < 1.0
    assert at["Chào bạn"] < at["Đề xuất ghép đơn"]
    broadcast_after = [t for _c, r, t in sender.sent if r.text.startswith("Thông báo") and t > at["Chào bạn"]]
    assert broadcast_after, "the broadcast goes on after the reply"


async def test_one_persons_backlog_never_delays_anothers_reply(database: Database) -> None:
    sender = RecordingSender()
    for i in range(10):
        await queue(database, "flood", f"trả lời {i}", REPLY)
    outbox = ChannelOutbox(database, sender, Limits(global_rate=30, chat_interval=1.0))
    task = asyncio.create_task(outbox.run())
    try:
        async with asyncio.timeout(5):
            while not sender.texts("flood"):
                await asyncio.sleep(0.01)
        asked = time.monotonic()
        await queue(database, "calm", "Chào bạn", REPLY)
        outbox.wake()
        async with asyncio.timeout(5):
            while not sender.texts("calm"):
                await asyncio.sleep(0.01)
    finally:
        outbox.stop()
        await task
    calm_at = next(t for c, _r, t in sender.sent if c == "calm")
    assert calm_at - asked < 0.5
    flood_times = [t for c, _r, t in sender.sent if c == "flood"]
    assert all(b - a >= 0.99 for a, b in itertools.pairwise(flood_times))  # 1 a second
    assert sender.texts("flood") == [f"trả lời {i}" for i in range(len(flood_times))]  # in order


async def test_a_429_for_one_chat_pauses_only_that_chat(database: Database) -> None:
    def answer(chat: str, reply: Reply, attempt: int) -> SendResult:
        if chat == "slow" and attempt == 1:
            return SendResult(SendStatus.RETRY, retry_after=3, error=RATE_LIMITED)
        return SendResult(SendStatus.SENT)

    sender = RecordingSender(answer=answer)
    await queue(database, "slow", "a1", REPLY)
    await queue(database, "slow", "a2", REPLY)
    for i in range(5):
        await queue(database, f"other{i}", "b", REPLY)
    outbox = ChannelOutbox(database, sender, Limits(global_rate=30))
    started = time.monotonic()
    await run_until_empty(outbox, database)
    times = {c + ":" + r.text: t - started for c, r, t in sender.sent}
    assert all(times[f"other{i}:b"] < 1.0 for i in range(5))  # nobody else waited
    assert times["slow:a1"] >= 2.9 and times["slow:a2"] > times["slow:a1"]  # order kept in the chat
    assert await statuses(database) == Counter({"sent": 7})


async def test_server_errors_are_retried_with_backoff_and_a_lost_answer_is_never_repeated(
    database: Database,
) -> None:
    def answer(chat: str, reply: Reply, attempt: int) -> SendResult:
        if reply.text == "5xx" and attempt <= 2:
            return SendResult(SendStatus.RETRY, retry_after=0.1, error="Bad Gateway")
        if reply.text == "late":
            return SendResult(SendStatus.UNKNOWN, error="no answer (SocketTimeoutError)")
        if reply.text == "bad":
            return SendResult(SendStatus.FAILED, error="Bad Request: message text is empty")
        return SendResult(SendStatus.SENT)

    sender = RecordingSender(answer=answer)
    for text in ("5xx", "late", "bad", "ok"):
        await queue(database, "c", text, REPLY)
    await run_until_empty(ChannelOutbox(database, sender, FAST), database)
    assert sender.attempts == Counter({"5xx": 3, "late": 1, "bad": 1, "ok": 1})
    async with database.uow() as uow:
        rows = {r.payload["text"]: r for r in await uow.outbox.for_chat("telegram", "c")}
    assert {t: (r.status, r.attempts) for t, r in rows.items()} == {
        "5xx": ("sent", 3),
        "late": ("unknown", 1),
        "bad": ("failed", 1),
        "ok": ("sent", 1),
    }
    assert sender.texts("c") == ["5xx", "ok"]  # the failed and the unknown ones are not resent


# --- several processes -------------------------------------------------------------------------


async def test_one_process_sends_at_a_time_and_another_takes_over_when_it_dies(database: Database) -> None:
    first_sender, second_sender = RecordingSender(), RecordingSender()
    await make_users(database, 40)
    first = ChannelOutbox(database, first_sender, Limits(global_rate=20), lease_ttl=1.5)
    second = ChannelOutbox(database, second_sender, Limits(global_rate=20), lease_ttl=1.5)
    tasks = [asyncio.create_task(first.run())]
    async with asyncio.timeout(5):
        while len(first_sender.sent) < 5:
            await asyncio.sleep(0.02)
    tasks.append(asyncio.create_task(second.run()))
    await asyncio.sleep(0.5)
    assert second_sender.sent == []  # the lease holder alone sends
    first.kill()
    await asyncio.sleep(0.3)  # a write that was already on the wire when it died may still land
    await expire_claims_and_leases(database)  # its claims would run out within 30 s anyway
    await settled(database, timeout=20)
    second.stop()
    await asyncio.gather(*tasks)
    got = Counter(c for c, _r, _t in first_sender.sent + second_sender.sent)
    counts = await statuses(database)
    assert set(got.values()) == {1}, "nobody twice"
    assert second_sender.sent, "the second process took over"
    assert counts["sent"] + counts["unknown"] == 40


# --- smaller things -----------------------------------------------------------------------------


async def test_duplicate_enqueue_with_the_same_key_is_ignored(database: Database) -> None:
    async with database.uow() as uow:
        user = await uow.users.ensure("telegram", "1", "1", "vi")
        first = await uow.outbox.enqueue(
            "telegram", "1", Reply("a").to_json(), user_id=user.id, dedupe_key="k"
        )
        again = await uow.outbox.enqueue(
            "telegram", "1", Reply("a").to_json(), user_id=user.id, dedupe_key="k"
        )
        assert (first, again) == (True, False)
        assert await uow.outbox.pending_count() == 1


async def test_a_reply_that_replaces_a_delivered_message_carries_its_platform_id(database: Database) -> None:
    zalo, console = RecordingSender("zalo"), RecordingSender("console", message_ids=False)

    async def queue_r(channel: str, chat: str, text: str, key: str, replaces: str | None = None) -> None:
        extras = {REPLACES: replaces} if replaces else {}
        async with database.uow() as uow:
            await uow.outbox.enqueue(channel, chat, Reply(text, extras=extras).to_json(), dedupe_key=key)

    async def send_all() -> None:
        outboxes = [ChannelOutbox(database, sender, FAST) for sender in (zalo, console)]
        tasks = [asyncio.create_task(o.run()) for o in outboxes]
        await settled(database)
        for o in outboxes:
            o.stop()
        await asyncio.gather(*tasks)

    await queue_r("zalo", "z1", "10 %", "p:0")
    await queue_r("console", "local", "10 %", "c:0")
    await send_all()
    await queue_r("zalo", "z1", "50 %", "p:1", replaces="p:0")
    await queue_r("zalo", "z2", "50 %", "q:1", replaces="p:0")  # another chat's message: not this one's
    await queue_r("zalo", "z1", "?", "p:x", replaces="p:unknown")
    await queue_r("console", "local", "50 %", "c:1", replaces="c:0")  # sent, but no platform id known
    await send_all()

    edits = {(chat, r.text): r.extras.get(EDIT_MESSAGE_ID) for chat, r, _t in zalo.sent + console.sent}
    assert edits == {
        ("z1", "10 %"): None,
        ("local", "10 %"): None,
        ("z1", "50 %"): "m1",  # the sender decides: Zalo cannot edit, so it sends a new message
        ("z2", "50 %"): None,
        ("z1", "?"): None,
        ("local", "50 %"): None,
    }
    async with database.uow() as uow:
        rows = await uow.outbox.for_chat("zalo", "z1") + await uow.outbox.for_chat("console", "local")
    recorded = {r.dedupe_key: (r.status, r.message_id) for r in rows}
    assert recorded["p:0"] == ("sent", "m1") and recorded["c:0"] == recorded["c:1"] == ("sent", None)
    assert recorded["p:1"][1] not in (None, "m1")  # a new message, with its own id


async def test_the_console_prints_a_new_message_when_asked_to_edit(tmp_path: Path) -> None:
    out = io.StringIO()
    sender = ConsoleSender(ConsoleSession(out=out, files_dir=tmp_path))
    result = await sender.send("local", Reply("50 %", extras={EDIT_MESSAGE_ID: "7"}))
    assert result.status is SendStatus.SENT and "50 %" in out.getvalue()


@pytest.mark.parametrize("paid", [False, True])
async def test_paid_broadcast_rows_are_sent_with_allow_paid_broadcast(database: Database, paid: bool) -> None:
    async with FakeBotApi() as api, TelegramSender("123:TEST", api.base_url) as sender:
        extras = {"paid_broadcast": True} if paid else {}
        async with database.uow() as uow:
            await uow.outbox.enqueue(
                "telegram", "5", Reply("Thông báo", extras=extras).to_json(), priority=BROADCAST
            )
        await run_until_empty(ChannelOutbox(database, sender, FAST), database)
        (call,) = api.calls_to("sendMessage")
    assert bool(call.params.get("allow_paid_broadcast")) is paid


async def test_a_full_queue_waiting_for_its_rate_does_not_spin(database: Database) -> None:
    """More due messages than the outbox holds at once, sent at 5 a second: between two sends the
    loop sleeps (a spinning loop starved everything else in the process, replies included)."""
    await make_users(database, 40)
    async with FakeBotApi() as api, TelegramSender("123:TEST", api.base_url) as sender:
        outbox = ChannelOutbox(database, sender, Limits(global_rate=5, chat_interval=0.0))
        steps = 0
        step = outbox._step

        async def counted() -> float | None:
            nonlocal steps
            steps += 1
            return await step()

        outbox._step = counted  # type: ignore[method-assign]
        task = asyncio.create_task(outbox.run())
        await asyncio.sleep(2.0)
        outbox.stop()
        await task
    sent = len(delivered(api))
    assert 6 <= sent <= 14  # about 5 a second
    assert steps < 10 * sent  # a few rounds per send, not thousands
