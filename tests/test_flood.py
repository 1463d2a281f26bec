"""One person cannot silence the bot: a short burst, then about a message a second; "chậm lại"
once and silence after it; an extreme flood blocks them for a while (audited, admins told);
and another person's answer still goes out at once while the flood is being worked through."""

from __future__ import annotations

import asyncio
import time

from bot.engine.flood import FloodGuard, Verdict
from bot.events import Incoming, Kind
from bot.inbox import InboxWorker
from bot.outbox import ChannelOutbox, Limits
from storage.uow import Database
from tests.harness import BotHarness
from tests.test_outbox import RecordingSender


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_a_second_one_warning_then_silence_then_a_block() -> None:
    clock = Clock()
    guard = FloodGuard(rate=1.0, burst=6, block_after=100, clock=clock)
    who = ("telegram", "1")
    assert [guard.admit(who) for _ in range(6)] == [Verdict.ADMIT] * 6
    assert guard.admit(who) is Verdict.WARN
    assert guard.admit(who) is Verdict.DROP
    clock.now += 1.0
    assert guard.admit(who) is Verdict.ADMIT  # about one a second is fine
    verdicts = [guard.admit(who) for _ in range(100)]
    assert verdicts[0] is Verdict.WARN and verdicts.count(Verdict.BLOCK) == 1
    assert guard.admit(("telegram", "2")) is Verdict.ADMIT  # someone else is not affected
    clock.now += 60
    assert guard.admit(who) is Verdict.ADMIT  # a quiet minute later, all is forgiven


async def test_a_flooder_is_told_once_then_ignored_and_an_extreme_flood_is_blocked(
    database: Database,
) -> None:
    bot = BotHarness(database, admin_ids="telegram:1")
    clock = Clock()
    bot.conversation.flood = FloodGuard(clock=clock)
    admin = bot.person("1")
    await bot.register(admin, role_label="Nông dân", name="Quản Trị", phone="0912000001")
    spam = bot.person("66")
    answers = [await spam.says("/trogiup") for _ in range(12)]
    texts = [r[0].text if r else "" for r in answers]
    assert all("Hướng dẫn nhanh" in t for t in texts[:6])
    assert "chậm lại một chút" in texts[6]
    assert texts[7:] == [""] * 5  # silence after the one warning
    for _ in range(100):
        await spam.says("spam")
    user = await bot.user(spam)
    assert user.blocked_until is not None and user.blocked_until > bot.clock.now()
    async with bot.db.uow() as uow:
        audited = [(e.action, e.target) for e in await uow.audit.recent()]
    assert ("auto_block", "telegram:66") in audited
    assert any("bị chặn tạm" in t and "/bochan telegram:66" in t for t in await bot.outbox_texts(admin))
    clock.now += 3600  # the flood guard forgives, the block does not until it ends
    assert await spam.says("/start") == []


async def test_another_persons_reply_goes_out_promptly_during_a_flood(database: Database) -> None:
    bot = BotHarness(database)
    sender = RecordingSender()
    outbox = ChannelOutbox(database, sender, Limits(global_rate=30, chat_interval=1.0))
    inbox = InboxWorker(database, bot.conversation.handle, concurrency=1, poll_interval=0.05)
    flood = [
        Incoming("telegram", "66", "66", Kind.TEXT, text=f"/trogiup {i}", update_id=f"f{i}")
        for i in range(200)
    ]
    await inbox.accept(flood)
    tasks = [asyncio.create_task(inbox.run()), asyncio.create_task(outbox.run())]
    try:
        await asyncio.sleep(0.2)  # the flood is being worked through
        asked = time.monotonic()
        await inbox.accept([Incoming("telegram", "77", "77", Kind.TEXT, text="/start", update_id="calm")])
        outbox.wake()
        async with asyncio.timeout(10):
            while not sender.texts("77"):
                outbox.wake()
                await asyncio.sleep(0.02)
        answered = next(t for c, _r, t in sender.sent if c == "77")
    finally:
        await inbox.stop()
        outbox.stop()
        await asyncio.gather(*tasks)
    assert answered - asked < 2.0
    flood_answers = sender.texts("66")
    assert len(flood_answers) <= 8  # the burst and one warning, not 200 answers
