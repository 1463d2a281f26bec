"""A person registers over Zalo: the real inbox, pipeline, flows, database and outbox behind the
Zalo adapter and sender, talking to a local fake of the Zalo Bot API. No buttons: the person
types "1" or the role's name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.channels.zalo import ZaloChannel, ZaloSender
from bot.outbox import ChannelOutbox
from storage.uow import Database
from tests.fakes.zalo_api import FakeZaloApi
from tests.harness import BotHarness

TOKEN = "1459232241454765289:TEST-zalo-token"


@pytest.fixture
async def zalo(database: Database) -> AsyncIterator[tuple[FakeZaloApi, BotHarness]]:
    async with FakeZaloApi() as api, ZaloSender(TOKEN, api.base_url) as sender:
        outbox = ChannelOutbox(database, sender)
        bot = BotHarness(database, wake_outbox=outbox.wake)
        channel = ZaloChannel(TOKEN, api.base_url, bot.inbox, poll_timeout=1)
        tasks = [asyncio.create_task(bot.inbox.run()), asyncio.create_task(outbox.run())]
        await channel.start_polling()
        try:
            yield api, bot
        finally:
            await channel.stop()
            await bot.inbox.stop()
            outbox.stop()
            await asyncio.gather(*tasks)


@pytest.mark.parametrize("role_answer", ["1", "nong dan"])
async def test_farmer_registers_by_typing(zalo: tuple[FakeZaloApi, BotHarness], role_answer: str) -> None:
    api, bot = zalo
    lan = "e4ea2cd5189df1c3a88c"

    async def says(text: str, then: str) -> str:
        seen = len(api.texts_to(lan))
        api.push_text(lan, text)
        return await api.wait_for_text(lan, then, after=seen)

    consent = await says("/start", "Bạn đồng ý")
    assert "1. ✅ Tôi đồng ý\n2. Không đồng ý\nTrả lời bằng số (1–2)" in consent
    question = await says("1", "Bạn là ai")
    assert "1. Nông dân\n2. Đại diện HTX\n3. Thương lái\nTrả lời bằng số (1–3)" in question

    await says(role_answer, "Bạn tên là gì")
    await says("Hoàng Thị Lan", "Số điện thoại")
    assert "Gõ số, ví dụ 0912345678" in api.texts_to(lan)[-1]  # no button to press on Zalo
    await says("0912 345 678", "tỉnh/thành phố")
    await says("lang son", "xã/phường")
    await says("chi lang", "Ngân hàng nào")  # a seller may add a bank account (VietQR), or not
    done = await says("bo qua", "Đăng ký xong")
    assert "Hoàng Thị Lan – Nông dân, Xã Chi Lăng, Tỉnh Lạng Sơn" in done

    async with bot.db.uow() as uow:
        user = await uow.users.by_external("zalo", lan)
    assert user is not None and user.registered
    assert (user.channel, user.chat_id, user.name, user.phone, user.role, user.ward_code) == (
        "zalo",
        lan,
        "Hoàng Thị Lan",
        "0912345678",
        "farmer",
        6463,
    )
    assert all(c.ok for c in api.calls_to("sendMessage"))
