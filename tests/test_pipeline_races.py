"""Two quick messages from one person never race: per chat, updates run one after the other,
within a process (a lock) and across processes sharing the database (a transaction-scoped lock)."""

from __future__ import annotations

import asyncio

from bot.dialog import Command, Ctx
from bot.events import Incoming, Kind
from bot.pipeline import Pipeline
from storage.uow import Database
from tests.harness import BotHarness


async def slow_counter(ctx: Ctx, _args: str) -> None:
    """Read a counter from the chat's state, dawdle, write it back incremented."""
    seen = int(ctx.data.get("count", 0))
    await asyncio.sleep(0.05)  # plenty of time for a second update to sneak in, were it allowed
    ctx.enter("count", "idle", {"count": seen + 1})
    ctx.say(str(seen + 1))


def counting_pipeline(bot: BotHarness) -> Pipeline:
    bot.services.router.command(Command("dem", slow_counter, "dem", needs_registration=False, in_menu=False))
    return Pipeline(bot.services)


def event(n: int) -> Incoming:
    return Incoming(
        channel="telegram", chat_id="77", user_id="77", kind=Kind.TEXT, text="/dem", update_id=f"r{n}"
    )


async def counter(db: Database) -> int:
    async with db.uow() as uow:
        state = await uow.conversations.get("telegram", "77")
    return int(state.data["count"]) if state else 0


async def test_two_quick_messages_in_one_process_are_handled_in_turn(database: Database) -> None:
    pipeline = counting_pipeline(BotHarness(database))
    answers = await asyncio.gather(*(pipeline(event(i)) for i in range(4)))
    assert sorted(a[0].text for a in answers) == ["1", "2", "3", "4"]
    assert await counter(database) == 4


async def test_two_processes_sharing_the_database_do_not_race_on_one_chat(database: Database) -> None:
    first, second = counting_pipeline(BotHarness(database)), counting_pipeline(BotHarness(database))
    await asyncio.gather(first(event(10)), second(event(11)), first(event(12)), second(event(13)))
    assert await counter(database) == 4
