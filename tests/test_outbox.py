"""The outbox against a local fake Bot API: pacing, 429s, blocked users, restarts without duplicates."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections import Counter
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.channels.console import ConsoleSender
from bot.channels.telegram import TelegramSender
from bot.clock import Clock
from bot.events import EDIT_MESSAGE_ID, REPLACES, Choice, Reply, SendResult, SendStatus
from bot.outbox import OutboxWorker
from bot.ratelimit import SmoothRateLimiter
from storage import models
from storage.uow import Database
from tests.fakes.telegram_api import FakeBotApi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


async def make_users(db: Database, n: int, first_id: int = 7000) -> list[int]:
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
            )
    return ids


async def statuses(db: Database) -> Counter[str]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(models.OutboxMessage.status))
        return Counter(rows)


def delivered(api: FakeBotApi) -> Counter[str]:
    return Counter(str(c.chat_id) for c in api.calls_to("sendMessage") if c.ok)


async def run_until_empty(worker: OutboxWorker, db: Database, timeout: float = 20) -> None:
    task = asyncio.create_task(worker.run())
    async with asyncio.timeout(timeout):
        while True:
            counts = await statuses(db)
            if counts["pending"] == 0 and counts["sending"] == 0:
                break
            await asyncio.sleep(0.05)
    worker.stop()
    await task


async def test_every_message_is_sent_once_with_429s_and_blocked_users(database: Database) -> None:
    async with FakeBotApi(
        blocked_chats={7003, 7007}, strict_global_rate=30, strict_per_chat_interval=1.0
    ) as api:
        api.fail_next_429(2, retry_after=1)
        await make_users(database, 40)
        sender = TelegramSender("123:TEST", api.base_url)
        await sender.start()
        try:
            worker = OutboxWorker(
                database, {"telegram": sender}, Clock(TZ), SmoothRateLimiter(global_rate=30)
            )
            await run_until_empty(worker, database)
        finally:
            await sender.stop()

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
        sender = TelegramSender("123:TEST", api.base_url)
        await sender.start()
        try:
            first = OutboxWorker(
                database, {"telegram": sender}, Clock(TZ), SmoothRateLimiter(global_rate=30), wave=10
            )
            task = asyncio.create_task(first.run())
            await api.wait_for_calls("sendMessage", 20, timeout=10)
            first.stop()
            await task
            half = sum(delivered(api).values())
            assert 20 <= half < 60

            second = OutboxWorker(
                database, {"telegram": sender}, Clock(TZ), SmoothRateLimiter(global_rate=30)
            )
            await run_until_empty(second, database)
        finally:
            await sender.stop()
        got = delivered(api)
        assert len(got) == 60 and set(got.values()) == {1}
        assert await statuses(database) == Counter({"sent": 60})


async def test_a_crash_mid_send_never_sends_twice_and_reports_the_unknown(database: Database) -> None:
    async with FakeBotApi() as api:
        await make_users(database, 30)
        sender = TelegramSender("123:TEST", api.base_url)
        await sender.start()
        try:
            crashed = OutboxWorker(
                database, {"telegram": sender}, Clock(TZ), SmoothRateLimiter(global_rate=30), wave=5
            )
            task = asyncio.create_task(crashed.run())
            await api.wait_for_calls("sendMessage", 7, timeout=10)
            task.cancel()  # the process dies: no chance to record the wave in flight
            await asyncio.gather(task, return_exceptions=True)
            # Time passes beyond the lease (claimed rows reappear); a new process starts.
            async with database.uow() as uow:
                await uow.session.execute(
                    update(models.OutboxMessage)
                    .where(models.OutboxMessage.status.in_(("sending", "pending")))
                    .values(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
                )
            restarted = OutboxWorker(
                database, {"telegram": sender}, Clock(TZ), SmoothRateLimiter(global_rate=30)
            )
            await run_until_empty(restarted, database)
        finally:
            await sender.stop()
        got = delivered(api)
        counts = await statuses(database)
        assert set(got.values()) == {1}  # nobody twice
        assert counts["failed"] <= 5  # at most the wave in flight is uncertain ...
        assert counts["sent"] + counts["failed"] == 30  # ... and nothing is silently dropped
        async with database.uow() as uow:
            rows = list(
                await uow.session.scalars(
                    select(models.OutboxMessage).where(models.OutboxMessage.status == "failed")
                )
            )
        assert all(r.error == "interrupted: delivery unknown" for r in rows)


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


class RecordingSender:
    """A messenger without edits (like Zalo or the console): records what it was asked to send."""

    def __init__(self, channel: str, message_ids: bool = True) -> None:
        self.channel, self.message_ids = channel, message_ids
        self.sent: list[tuple[str, Reply]] = []

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        self.sent.append((chat_id, reply))
        return SendResult(SendStatus.SENT, message_id=f"m{len(self.sent)}" if self.message_ids else None)


async def test_a_reply_that_replaces_a_delivered_message_carries_its_platform_id(database: Database) -> None:
    zalo, console = RecordingSender("zalo"), RecordingSender("console", message_ids=False)
    worker = OutboxWorker(
        database, {"zalo": zalo, "console": console}, Clock(TZ), SmoothRateLimiter(global_rate=1000)
    )

    async def queue(channel: str, chat: str, text: str, key: str, replaces: str | None = None) -> None:
        extras = {REPLACES: replaces} if replaces else {}
        async with database.uow() as uow:
            await uow.outbox.enqueue(channel, chat, Reply(text, extras=extras).to_json(), dedupe_key=key)

    await queue("zalo", "z1", "10 %", "p:0")
    await queue("console", "local", "10 %", "c:0")
    assert await worker.drain_once() == 2
    await queue("zalo", "z1", "50 %", "p:1", replaces="p:0")
    await queue("zalo", "z2", "50 %", "q:1", replaces="p:0")  # another chat's message: not this one's
    await queue("zalo", "z1", "?", "p:x", replaces="p:unknown")
    await queue("console", "local", "50 %", "c:1", replaces="c:0")  # sent, but no platform id known
    assert await worker.drain_once() == 4

    edits = {(chat, r.text): r.extras.get(EDIT_MESSAGE_ID) for chat, r in zalo.sent + console.sent}
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


async def test_the_console_prints_a_new_message_when_asked_to_edit() -> None:
    out = io.StringIO()
    result = await ConsoleSender(out).send("local", Reply("50 %", extras={EDIT_MESSAGE_ID: "7"}))
    assert result.status is SendStatus.SENT and "50 %" in out.getvalue()
