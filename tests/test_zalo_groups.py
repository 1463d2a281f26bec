"""A cooperative's Zalo group with the bot in it: the bot answers what is addressed to it (a
mention, a command) in the group, stays silent on the members' own talk, and a member's private
address never moves to the group. The real channel, inbox, engine and outbox run against the
fake Zalo Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.channels.zalo import ZaloChannel, ZaloSender
from bot.engine.screens import Screen
from bot.outbox import ChannelOutbox, Limits
from bot.presentation.notify import notify
from bot.services.audience import Audience
from storage.uow import Database
from tests.fakes.zalo_api import BOT_DISPLAY_NAME, FakeZaloApi
from tests.harness import BotHarness
from tests.test_broadcast import announce, author, plan_again

TOKEN = "1459232241454765289:TEST-zalo-token"
LAN, BINH = "e4ea2cd5189df1c3a88c", "6ede9afa66b88fe6d6a9"
GROUP = "grp-htx-quang-lang"


@pytest.fixture
async def zalo(database: Database) -> AsyncIterator[tuple[FakeZaloApi, BotHarness, ChannelOutbox]]:
    async with FakeZaloApi() as api, ZaloSender(TOKEN, api.base_url) as sender:
        outbox = ChannelOutbox(
            database, sender, Limits(global_rate=100, chat_interval=0.05, group_interval=0.05)
        )
        bot = BotHarness(database, wake_outbox=outbox.wake)
        async with bot.db.uow() as uow:  # today's reference price of na in Lạng Sơn
            await uow.prices.add(
                product_code="na", province_code=20, price=25_000, valid_from=bot.clock.today(), set_by=None
            )
        channel = ZaloChannel(TOKEN, api.base_url, bot.inbox, poll_timeout=1, bot_name=BOT_DISPLAY_NAME)
        tasks = [asyncio.create_task(bot.inbox.run()), asyncio.create_task(outbox.run())]
        await channel.start_polling()
        api.add_group(GROUP, LAN, BINH)
        try:
            yield api, bot, outbox
        finally:
            await channel.stop()
            await bot.inbox.stop()
            outbox.stop()
            await asyncio.gather(*tasks)


async def handled(bot: BotHarness, timeout: float = 10) -> None:
    """Wait until the inbox has handled everything the channel saved."""
    await asyncio.sleep(1.2)  # one long poll: what was pushed is in the inbox
    async with asyncio.timeout(timeout):
        while True:
            async with bot.db.reader() as uow:
                if await uow.inbox.pending_count() == 0:
                    return
            await asyncio.sleep(0.05)


async def test_a_mention_in_the_group_is_answered_there_and_her_notifications_stay_private(zalo) -> None:
    api, bot, outbox = zalo
    api.push_text(LAN, "/trogiup")  # Lan has talked to the bot privately before
    await api.wait_for_text(LAN, "Hướng dẫn nhanh")

    api.push_group_text(GROUP, LAN, "giá na", mention=True)  # "@NongSanBot giá na"
    answer = await api.wait_for_text(GROUP, "25.000")
    assert "Giá tham chiếu Na hôm nay" in answer and "Tỉnh Lạng Sơn: 25.000" in answer
    async with bot.db.uow() as uow:
        lan = await uow.users.by_external("zalo", LAN)
    assert lan is not None and lan.chat_id == LAN  # writing in the group moved nothing

    async with bot.db.uow() as uow:
        await notify(uow, bot.services, lan, Screen("Lô na của bạn đã có người mua."))
    outbox.wake()
    await api.wait_for_text(LAN, "đã có người mua")
    assert not any("đã có người mua" in t for t in api.texts_to(GROUP))


async def test_the_members_own_talk_gets_no_answer_and_leaves_no_trace(zalo) -> None:
    api, bot, _outbox = zalo
    api.push_group_text(GROUP, BINH, "giá na hôm nay bao nhiêu nhỉ?")  # to each other, not to the bot
    api.push_group_text(GROUP, LAN, "chắc 25 nghìn")
    api.push_sticker(BINH, chat_id=GROUP, chat_type="GROUP")
    api.push_group_text(GROUP, BINH, "/trogiup")  # a command is meant for the bot
    await api.wait_for_text(GROUP, "Hướng dẫn nhanh")
    await handled(bot)

    assert len(api.texts_to(GROUP)) == 1  # only the answer to the command
    async with bot.db.uow() as uow:
        assert await uow.users.by_external("zalo", LAN) is None  # chatter keeps no record of who wrote
        binh = await uow.users.by_external("zalo", BINH)
    assert binh is not None and binh.chat_id == BINH  # known from the command; private address his own


async def test_a_stranger_asking_the_bot_in_the_group_gets_the_answer_in_the_group(zalo) -> None:
    api, bot, _outbox = zalo
    api.push_group_text(GROUP, BINH, "@nong san bot cho hỏi giá na")
    answer = await api.wait_for_text(GROUP, "25.000")
    assert "Giá tham chiếu Na hôm nay" in answer and "Tỉnh Lạng Sơn: 25.000" in answer
    await handled(bot)
    assert api.texts_to(BINH) == []  # nothing sent privately to someone who never wrote there
    async with bot.db.uow() as uow:
        binh = await uow.users.by_external("zalo", BINH)
    assert binh is not None and binh.chat_id == BINH  # his own id, as a private address would be


async def test_a_member_subscribes_the_group_and_the_provinces_announcements_reach_it_once(zalo) -> None:
    api, bot, outbox = zalo
    api.push_group_text(GROUP, LAN, "/dangky")  # Lan has never registered: she is told how
    assert "nhắn riêng /start" in await api.wait_for_text(GROUP, "/dangky")
    async with bot.db.uow() as uow:
        binh = await uow.users.ensure("zalo", BINH, BINH, "vi")
        await uow.users.register(
            binh.id, name="Lý Văn Bình", phone="0912000777", role="coop_rep", province_code=20,
            ward_code=6463, now=bot.clock.now(),
        )  # fmt: skip
    api.push_group_text(GROUP, BINH, "/dangky")
    said = await api.wait_for_text(GROUP, "Nhóm này sẽ nhận thông báo")
    assert "Tỉnh Lạng Sơn" in said

    writer = await author(bot.db)
    now = bot.clock.now()
    to_province = await announce(bot.db, writer, "Họp HTX tối nay 19h.", Audience(province_code=20), now)
    await announce(bot.db, writer, "Chỉ đại diện HTX.", Audience(roles=("coop_rep",)), now)
    assert to_province.recipients >= 1 and await plan_again(bot.db, to_province.announcement, now) == 0
    outbox.wake()
    text = await api.wait_for_text(GROUP, "Họp HTX tối nay 19h.")
    assert text.startswith("📢 THÔNG BÁO")
    await asyncio.sleep(0.5)
    assert sum("Họp HTX" in t for t in api.texts_to(GROUP)) == 1  # once, whatever was planned twice
    await api.wait_for_text(BINH, "Chỉ đại diện HTX.")  # one role: its people, privately ...
    assert not any("Chỉ đại diện HTX" in t for t in api.texts_to(GROUP))  # ... not the groups

    api.push_group_text(GROUP, BINH, "/dangky")  # once more: off
    await api.wait_for_text(GROUP, "thôi nhận thông báo")
    async with bot.db.reader() as uow:
        assert await uow.groups.subscription("zalo", GROUP) is None
