"""A broadcast to thousands through the real outbox against the fake Bot API: the rate limit is
enforced, 429s and blocked chats happen, the sender stops half-way, and nobody gets it twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update

from bot.channels import registry
from bot.channels.telegram import TelegramSender
from bot.clock import Clock
from bot.config import Settings
from bot.container import Services
from bot.domain_events import NOTIFY, EventBus, Subscriber
from bot.engine.actions import ActionCodec
from bot.engine.router import Router
from bot.events import Reply, SendResult, SendStatus
from bot.outbox import ChannelOutbox, Limits
from bot.presentation import broadcasts, notifications
from bot.services import announcements as service
from bot.services.announcements import Created, NewAnnouncement
from bot.services.audience import Audience
from storage import dto, models
from storage.repositories.announcements import Announcement
from storage.uow import Database
from tests.fakes.telegram_api import FakeBotApi
from tests.harness import TEST_SECRET

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_CHAT = 100_000
# The real limit is 30/s (see scripts/bench_broadcast.py); the same strictness at a higher rate
# keeps the suite fast.
RATE = 500


async def bulk_users(db: Database, n: int, *, role: str = "farmer", first: int = FIRST_CHAT) -> list[int]:
    """``n`` registered people inserted in one statement; returns their ids."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "channel": "telegram",
            "external_id": str(first + i),
            "chat_id": str(first + i),
            "name": f"Hộ {i}",
            "role": role,
            "province_code": 20,
            "ward_code": 6463,
            "locale": "vi" if i % 10 else "en",
            "registered_at": now,
            "bot_blocked": False,
            "banned": False,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    async with db.uow() as uow:
        await uow.session.execute(insert(models.User), rows)
        ids = await uow.session.scalars(
            select(models.User.id).where(models.User.external_id.in_([r["external_id"] for r in rows]))
        )
        return sorted(ids)


async def author(db: Database) -> dto.User:
    async with db.uow() as uow:
        user = await uow.users.ensure("telegram", "42", "42", "vi")
        await uow.users.register(
            user.id,
            name="Cán bộ Sở",
            phone="0911000042",
            role="official",
            province_code=20,
            ward_code=6463,
            now=dt.datetime.now(dt.UTC),
        )
        return await uow.users.get(user.id)  # type: ignore[return-value]


def services(db: Database) -> Services:
    settings = Settings(database_url=db.url, _env_file=None)  # type: ignore[call-arg]
    return Services(
        settings=settings,
        clock=Clock(TZ),
        db=db,
        router=Router(),
        codec=ActionCodec(TEST_SECRET),
        messengers=registry.capabilities(),
    )


async def settle_events(svc: Services) -> None:
    """What the notifications subscriber does with the events queued so far (plans, reports)."""
    notifications.load_renderers()
    bus = EventBus(svc.db)
    bus.subscribe([Subscriber(NOTIFY, notifications.on_event)])
    await bus.drain(svc)


async def announce(
    db: Database, writer: dto.User, text: str, audience: Audience, now: dt.datetime
) -> Created:
    """An official's announcement, saved and then planned by the notifications."""
    async with db.uow() as uow:
        created = await service.create(uow, writer, NewAnnouncement(text, audience), now=now)
    assert isinstance(created, Created)
    await settle_events(services(db))
    return created


async def plan_again(db: Database, ann: Announcement, now: dt.datetime) -> int:
    async with db.uow() as uow:
        return await broadcasts.plan_delivery(uow, services(db), ann.id, now=now)


async def progress_reports(svc: Services, channel: str, chat_id: str) -> int:
    """Run the scheduler's progress job and its events: how many messages the author got."""
    async with svc.db.uow() as uow:
        before = len(await uow.outbox.for_chat(channel, chat_id))
    await service.report_progress(svc)
    await settle_events(svc)
    async with svc.db.uow() as uow:
        return len(await uow.outbox.for_chat(channel, chat_id)) - before


async def statuses(db: Database, announcement_id: int) -> Counter[str]:
    async with db.uow() as uow:
        return Counter(await uow.outbox.counts(announcement_id))


async def wait_settled(db: Database, announcement_id: int, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            c = await statuses(db, announcement_id)
            if c["pending"] == 0 and c["sending"] == 0:
                return
            await asyncio.sleep(0.05)


def delivered(api: FakeBotApi) -> Counter[str]:
    return Counter(str(c.chat_id) for c in api.calls_to("sendMessage") if c.ok)


async def test_a_thousand_people_each_get_exactly_one_copy(database: Database) -> None:
    n = 1000  # bench_broadcast.py runs 3,000 and more; here the exactly-once rules
    ids = await bulk_users(database, n)
    writer = await author(database)
    blocked = {FIRST_CHAT + i for i in range(7, n, 97)}
    now = dt.datetime.now(dt.UTC)
    created = await announce(
        database, writer, "Thu mua na Chi Lăng từ 5 giờ sáng mai.", Audience(roles=("farmer",)), now
    )
    ann = created.announcement
    assert created.recipients == n
    async with database.uow() as uow:
        assert (await uow.announcements.get(ann.id)).total == n  # type: ignore[union-attr]
    assert await plan_again(database, ann, now) == 0  # planning again (a crash while planning) adds nobody

    async with FakeBotApi(blocked_chats=blocked, strict_global_rate=RATE) as api:
        api.fail_next_429(5, retry_after=1)
        async with TelegramSender("123:TEST", api.base_url) as sender:
            first = ChannelOutbox(database, sender, Limits(global_rate=RATE))
            task = asyncio.create_task(first.run())
            await api.wait_for_calls("sendMessage", n // 2, timeout=90)
            first.stop()  # the process is told to stop half-way: the sends in flight are finished
            await task
            half = sum(delivered(api).values())
            assert n // 3 < half < n

            assert await plan_again(database, ann, now) == 0
            second = ChannelOutbox(database, sender, Limits(global_rate=RATE))
            task = asyncio.create_task(second.run())
            await wait_settled(database, ann.id, timeout=40)
            second.stop()
            await task

        got = delivered(api)
        expected = {str(FIRST_CHAT + i) for i in range(n)} - {str(c) for c in blocked}
        assert set(got) == expected and set(got.values()) == {1}  # everyone once, nobody twice
        assert api.count_429 >= 5
        assert await statuses(database, ann.id) == Counter(
            {"sent": n - len(blocked), "blocked": len(blocked)}
        )
        english = [c.text for c in api.calls_to("sendMessage") if c.ok and int(c.chat_id) % 10 == 0]
        assert english and all("Thu mua na Chi Lăng" in t for t in english)

    async with database.uow() as uow:
        marked = await uow.session.scalar(
            select(func.count()).select_from(models.User).where(models.User.bot_blocked.is_(True))
        )
        assert marked == len(blocked)
        assert len(ids) == n

    svc = services(database)
    assert await progress_reports(svc, "telegram", "42") == 1
    async with database.uow() as uow:
        assert (await uow.announcements.get(ann.id)).status == "done"
        report = await uow.outbox.for_chat("telegram", "42")
    assert f"{n - len(blocked):,}".replace(",", ".") in report[-1].payload["text"]
    assert "đã gửi xong" in report[-1].payload["text"]


async def test_a_hard_crash_mid_wave_sends_nobody_twice_and_settles_the_unknown(database: Database) -> None:
    n = 300
    await bulk_users(database, n)
    writer = await author(database)
    now = dt.datetime.now(dt.UTC)
    created = await announce(database, writer, "Họp HTX", Audience(), now)
    ann = created.announcement
    assert created.recipients == n + 1  # everyone, the author included

    async with FakeBotApi(strict_global_rate=200) as api, TelegramSender("123:TEST", api.base_url) as sender:
        crashed = ChannelOutbox(database, sender, Limits(global_rate=200), lease_ttl=1.0, claim_lease=1.0)
        task = asyncio.create_task(crashed.run())
        await api.wait_for_calls("sendMessage", 110, timeout=60)
        crashed.kill()  # killed: the sends in flight are never recorded
        await task
        # Restarted at once: its lease and the rows it left 'sending' settle when their (short) leases end.
        restarted = ChannelOutbox(database, sender, Limits(global_rate=200), lease_ttl=1.0, claim_lease=1.0)
        task = asyncio.create_task(restarted.run())
        await wait_settled(database, ann.id, timeout=30)
        restarted.stop()
        await task
        got = delivered(api)

    counts = await statuses(database, ann.id)
    assert set(got.values()) == {1}  # nobody twice
    assert counts["unknown"] <= 20  # at most the sends in flight are unknown...
    assert counts["sent"] + counts["unknown"] == n + 1  # ...and nothing silently dropped
    assert counts["sent"] <= len(got) <= counts["sent"] + counts["unknown"]


async def test_the_authors_progress_message_is_edited_in_place_then_the_final_report(
    database: Database,
) -> None:
    await bulk_users(database, 8)
    writer = await author(database)
    svc = services(database)
    ann = (
        await announce(database, writer, "Giá tham chiếu mới", Audience(roles=("farmer",)), svc.clock.now())
    ).announcement
    Outbox = models.OutboxMessage
    async with database.uow() as uow:
        # The recipients' deliveries are settled by hand below; the worker only sends the author's.
        await uow.session.execute(
            update(Outbox)
            .where(Outbox.announcement_id == ann.id)
            .values(not_before=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        )
        rows = list(
            await uow.session.scalars(
                select(Outbox.id).where(Outbox.announcement_id == ann.id).order_by(Outbox.id)
            )
        )

    async def settle(count: int, status: str = "sent") -> None:
        async with database.uow() as uow:
            await uow.session.execute(update(Outbox).where(Outbox.id.in_(rows[:count])).values(status=status))

    def to_author(api: FakeBotApi, method: str) -> list[tuple[int, str]]:
        return [
            (int(c.params.get("message_id", 0)), c.text or "")
            for c in api.calls_to(method)
            if c.ok and int(c.chat_id) == 42
        ]

    async with FakeBotApi() as api, TelegramSender("123:TEST", api.base_url) as sender:
        worker = ChannelOutbox(database, sender, Limits(global_rate=100))

        assert await progress_reports(svc, "telegram", "42") == 0  # nothing delivered yet: nothing to tell
        await settle(1)
        assert await progress_reports(svc, "telegram", "42") == 1
        assert await progress_reports(svc, "telegram", "42") == 0  # the same counts are not repeated
        assert await worker.drain() == 1
        [first] = api.calls_to("sendMessage")
        assert "đã gửi 1/8, còn lại 7" in (first.text or "")
        first_id = max(mid for (chat, mid) in api.messages if chat == 42)

        await settle(2)
        assert await progress_reports(svc, "telegram", "42") == 1
        await settle(3)
        assert await progress_reports(svc, "telegram", "42") == 0  # one update waits already: never two
        assert await worker.drain() == 1
        assert to_author(api, "editMessageText") == [
            (first_id, "📨 Thông báo #1: đã gửi 2/8, còn lại 6, lỗi 0, đã chặn bot 0.")
        ]
        assert await progress_reports(svc, "telegram", "42") == 1  # 3/8 now
        assert await worker.drain() == 1
        assert [mid for mid, _ in to_author(api, "editMessageText")] == [first_id, first_id]
        assert len(api.calls_to("sendMessage")) == 1  # still the one message, updated

        # The official deleted the message: the edit is refused, a new message takes its place...
        api.delete_message(42, first_id)
        await settle(4)
        assert await progress_reports(svc, "telegram", "42") == 1
        assert await worker.drain() == 1
        assert not api.calls_to("editMessageText")[-1].ok
        new = api.calls_to("sendMessage")[-1]
        assert new.ok and "đã gửi 4/8, còn lại 4" in (new.text or "")
        second_id = max(mid for (chat, mid) in api.messages if chat == 42)
        assert second_id != first_id
        # ...and later updates edit that one.
        await settle(6)
        await settle(1, "failed")
        assert await progress_reports(svc, "telegram", "42") == 1
        assert await worker.drain() == 1
        assert to_author(api, "editMessageText")[-1] == (
            second_id,
            "📨 Thông báo #1: đã gửi 5/8, còn lại 2, lỗi 1, đã chặn bot 0.",
        )

        await settle(8, "blocked")
        await settle(5)
        assert await progress_reports(svc, "telegram", "42") == 1
        assert await worker.drain() == 1
        final = api.calls_to("sendMessage")[-1]  # a new message: the author is notified of the end
        assert final.text == "✅ Thông báo #1 đã gửi xong: 5 người nhận được, 0 lỗi, 3 đã chặn bot (tổng 8)."
        assert await progress_reports(svc, "telegram", "42") == 0
        assert len(to_author(api, "sendMessage")) == 3

    async with database.uow() as uow:
        mine = await uow.outbox.for_chat("telegram", "42")
    assert [(r.status, r.message_id) for r in mine] == [
        ("sent", str(first_id)),
        ("sent", str(first_id)),
        ("sent", str(first_id)),
        ("sent", str(second_id)),
        ("sent", str(second_id)),
        ("sent", str(max(mid for (chat, mid) in api.messages if chat == 42))),
    ]


async def test_on_zalo_which_cannot_edit_progress_comes_as_a_new_message_per_quarter(
    database: Database,
) -> None:
    await bulk_users(database, 8)
    svc = services(database)
    async with database.uow() as uow:
        user = await uow.users.ensure("zalo", "z42", "z42", "vi")
        await uow.users.register(
            user.id,
            name="Cán bộ",
            phone="0911000043",
            role="official",
            province_code=20,
            ward_code=6463,
            now=dt.datetime.now(dt.UTC),
        )
        writer = await uow.users.get(user.id)
        assert writer is not None
    ann = (await announce(database, writer, "Họp", Audience(roles=("farmer",)), svc.clock.now())).announcement
    async with database.uow() as uow:
        rows = list(
            await uow.session.scalars(
                select(models.OutboxMessage.id)
                .where(models.OutboxMessage.announcement_id == ann.id)
                .order_by(models.OutboxMessage.id)
            )
        )

    async def settle(count: int) -> None:
        async with database.uow() as uow:
            await uow.session.execute(
                update(models.OutboxMessage)
                .where(models.OutboxMessage.id.in_(rows[:count]))
                .values(status="sent")
            )

    await settle(1)
    assert await progress_reports(svc, "zalo", "z42") == 0  # 12 %: below the first quarter
    await settle(2)
    assert await progress_reports(svc, "zalo", "z42") == 1  # 25 %
    await settle(3)
    assert await progress_reports(svc, "zalo", "z42") == 0  # same quarter: no new message
    await settle(6)
    assert await progress_reports(svc, "zalo", "z42") == 1  # 75 %: only the highest quarter crossed
    async with database.uow() as uow:
        mine = await uow.outbox.for_chat("zalo", "z42")
    assert [(r.dedupe_key, r.payload.get("extras")) for r in mine] == [
        (f"annrep:{ann.id}:25", None),
        (f"annrep:{ann.id}:75", None),
    ]


class CancelOnFirstSend:
    """A sender that records chats, and has the official press "stop" as the first message leaves."""

    channel = "telegram"

    def __init__(self, db: Database, announcement_id: int, official: dto.User) -> None:
        self.db, self.announcement_id, self.official = db, announcement_id, official
        self.chats: list[str] = []

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        self.chats.append(chat_id)
        if len(self.chats) == 1:  # the wave's other sends run concurrently with this one
            async with self.db.uow() as uow:
                assert (await service.cancel(uow, self.announcement_id, self.official)).cancelled
        return SendResult(SendStatus.SENT)


async def test_stopping_a_running_broadcast_withdraws_messages_already_claimed(database: Database) -> None:
    await bulk_users(database, 12)
    writer = await author(database)
    now = dt.datetime.now(dt.UTC)
    ann = (await announce(database, writer, "Họp", Audience(roles=("farmer",)), now)).announcement
    sender = CancelOnFirstSend(database, ann.id, writer)
    # The whole batch is claimed before the first message goes out; the cancel lands meanwhile
    # (10 a second: a loaded machine still commits the cancel before the third send).
    worker = ChannelOutbox(database, sender, Limits(global_rate=10, chat_interval=0))
    await worker.drain()
    counts = await statuses(database, ann.id)
    assert len(sender.chats) == counts["sent"] <= 3  # only what was already on its way
    assert counts["sent"] + counts["cancelled"] == 12 and counts["cancelled"] >= 9
