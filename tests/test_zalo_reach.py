"""A Zalo user is never dropped for one error. Zalo answers 403 "Internal server error" for
passing faults as well as for a bot it blocked, so the real outbox, Zalo sender, inbox and
engine run against the fake Zalo Bot API: a refused message is tried again, refusals are counted,
and only refusals in a row spanning a day count as "blocked" — until the person writes again."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.channels.zalo import ZaloChannel, ZaloSender
from bot.engine.screens import Screen
from bot.outbox import ChannelOutbox, Limits
from bot.presentation.notify import notify
from bot.services import announcements
from bot.services.audience import Audience
from storage import dto, models
from storage.types import utcnow
from storage.uow import Database
from tests.fakes.zalo_api import FakeZaloApi
from tests.harness import BotHarness

TOKEN = "1459232241454765289:TEST-zalo-token"
LAN = "e4ea2cd5189df1c3a88c"
NEWS = "Thu mua na Chi Lăng từ 5 giờ sáng mai tại HTX Quang Lang."


@pytest.fixture
async def zalo(database: Database) -> AsyncIterator[tuple[FakeZaloApi, BotHarness, ChannelOutbox]]:
    async with FakeZaloApi() as api, ZaloSender(TOKEN, api.base_url) as sender:
        outbox = ChannelOutbox(database, sender, Limits(global_rate=100, chat_interval=0.05))
        bot = BotHarness(database, wake_outbox=outbox.wake)
        channel = ZaloChannel(TOKEN, api.base_url, bot.inbox, poll_timeout=1)
        tasks = [asyncio.create_task(bot.inbox.run()), asyncio.create_task(outbox.run())]
        await channel.start_polling()
        try:
            yield api, bot, outbox
        finally:
            await channel.stop()
            await bot.inbox.stop()
            outbox.stop()
            await asyncio.gather(*tasks)


async def farmer(bot: BotHarness, external_id: str = LAN) -> dto.User:
    """A registered farmer on Zalo (registered before this story begins)."""
    async with bot.db.uow() as uow:
        user = await uow.users.ensure("zalo", external_id, external_id, "vi")
        await uow.users.register(
            user.id,
            name="Hoàng Thị Lan",
            phone="0912345678",
            role="farmer",
            province_code=20,
            ward_code=6463,
            now=utcnow(),
        )
        registered = await uow.users.get(user.id)
    assert registered is not None
    return registered


async def tell(bot: BotHarness, outbox: ChannelOutbox, user: dto.User, text: str) -> bool:
    """The bot queues a message for ``user`` on its own initiative (a notification)."""
    async with bot.db.uow() as uow:
        queued = await notify(uow, bot.services, user, Screen(text))
    outbox.wake()
    return queued


async def refusals(api: FakeZaloApi, chat_id: str, n: int, timeout: float = 15) -> None:
    """Wait until Zalo refused ``n`` sends to ``chat_id``."""
    async with asyncio.timeout(timeout):
        while len([c for c in api.calls_to("sendMessage") if c.chat_id == chat_id and not c.ok]) < n:
            await asyncio.sleep(0.02)


async def reread(bot: BotHarness, user: dto.User) -> dto.User:
    async with bot.db.uow() as uow:
        fresh = await uow.users.get(user.id)
    assert fresh is not None
    return fresh


async def failures(bot: BotHarness, user: dto.User, at_least: int, timeout: float = 5) -> dto.User:
    """The user once the outbox has recorded ``at_least`` refused sends."""
    async with asyncio.timeout(timeout):
        while (fresh := await reread(bot, user)).send_failures < at_least:
            await asyncio.sleep(0.02)
    return fresh


async def statuses(bot: BotHarness, chat_id: str, timeout: float = 5) -> list[str]:
    """The final states of the messages to ``chat_id`` (waits while some are still being recorded)."""
    async with asyncio.timeout(timeout):
        while True:
            async with bot.db.uow() as uow:
                rows = await uow.session.scalars(
                    select(models.OutboxMessage.status)
                    .where(models.OutboxMessage.chat_id == chat_id)
                    .order_by(models.OutboxMessage.id)
                )
                found = list(rows)
            if not {"pending", "sending"} & set(found):
                return found
            await asyncio.sleep(0.02)


async def test_one_403_delays_a_message_and_the_next_announcement_still_arrives(zalo) -> None:
    api, bot, outbox = zalo
    lan = await farmer(bot)
    api.fail_next_sends(1, 403, "Internal server error")  # a passing fault, as Zalo words it

    assert await tell(bot, outbox, lan, "Lô na 2 tấn của bạn đã có người mua.")
    during = await failures(bot, lan, 1)
    assert (during.bot_blocked, during.send_failures) == (False, 1)

    # An official announces meanwhile: Lan is still in the audience.
    async with bot.db.uow() as uow:
        official = await uow.users.ensure("zalo", "official-1", "official-1", "vi")
        created = await announcements.create(
            uow, official, announcements.NewAnnouncement(NEWS, Audience(roles=("farmer",))), now=utcnow()
        )
    assert isinstance(created, announcements.Created) and created.recipients == 1
    await bot.bus.drain(bot.services)  # the notifications plan the delivery
    outbox.wake()

    await api.wait_for_text(LAN, "đã có người mua", timeout=10)  # tried again, delivered
    await api.wait_for_text(LAN, NEWS, timeout=10)
    assert await statuses(bot, LAN) == ["sent", "sent"]
    after = await reread(bot, lan)
    assert (after.bot_blocked, after.send_failures, after.failing_since) == (False, 0, None)


async def test_403s_again_and_again_within_the_hour_do_not_block(zalo) -> None:
    api, bot, outbox = zalo
    lan = await farmer(bot)
    api.blocked_chats.add(LAN)  # every send refused for now

    assert await tell(bot, outbox, lan, "Giá tham chiếu na hôm nay: 25.000 ₫/kg")
    now = await failures(bot, lan, 3)  # three refusals in a row, seconds apart
    assert not now.bot_blocked
    # She can still be told things: the next message is queued, not skipped.
    assert await tell(bot, outbox, lan, "Nhắc lịch: lấy hàng 7 giờ sáng mai.")

    api.blocked_chats.discard(LAN)  # whatever it was has passed
    await api.wait_for_text(LAN, "Giá tham chiếu na", timeout=70)
    await api.wait_for_text(LAN, "Nhắc lịch", timeout=10)
    assert await statuses(bot, LAN) == ["sent", "sent"]
    assert (await reread(bot, lan)).send_failures == 0


async def test_refusals_over_a_day_block_and_writing_again_unblocks(zalo) -> None:
    api, bot, outbox = zalo
    lan = await farmer(bot)
    # Two refusals yesterday, none delivered since (as the counters say).
    yesterday = utcnow() - dt.timedelta(hours=25)
    async with bot.db.uow() as uow:
        await uow.users.update(lan.id, send_failures=2, failing_since=yesterday)
    api.blocked_chats.add(LAN)

    assert await tell(bot, outbox, lan, "Lô na của bạn sắp hết hạn.")
    await refusals(api, LAN, 1)
    async with asyncio.timeout(5):
        while not (blocked := await reread(bot, lan)).bot_blocked:
            await asyncio.sleep(0.02)
    assert blocked.send_failures == 3
    assert await statuses(bot, LAN) == ["blocked"]
    assert not await tell(bot, outbox, blocked, "Thông báo khác")  # skipped: she blocked the bot

    # Lan unblocks the bot and writes: she is reachable again, the count starts over.
    api.blocked_chats.discard(LAN)
    api.push_text(LAN, "/trogiup")
    await api.wait_for_text(LAN, "Hướng dẫn nhanh", timeout=10)
    back = await reread(bot, lan)
    assert (back.bot_blocked, back.send_failures, back.failing_since) == (False, 0, None)


async def test_a_refused_answer_in_a_group_counts_nothing_against_the_person(zalo) -> None:
    api, bot, outbox = zalo
    lan = await farmer(bot)
    group = "grp-htx-quang-lang"
    api.blocked_chats.add(group)  # the bot was removed from the group, say
    async with bot.db.uow() as uow:
        await uow.outbox.enqueue(
            "zalo", group, {"text": "Giá na: 25.000 ₫/kg"}, user_id=lan.id, is_group=True
        )
    outbox.wake()
    await refusals(api, group, 2)
    await asyncio.sleep(0.1)
    assert (await reread(bot, lan)).send_failures == 0
