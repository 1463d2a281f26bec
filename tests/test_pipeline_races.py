"""Two quick messages from one person never race: a chat's updates are handled one after the
other in the order they arrived, by one worker or by several processes sharing the database."""

from __future__ import annotations

import asyncio

from bot.engine.context import Ctx
from bot.engine.router import Command
from bot.events import Incoming, Kind
from bot.inbox import InboxWorker
from storage.uow import Database
from tests.harness import BotHarness


async def slow_counter(ctx: Ctx, _args: str) -> None:
    """Read a counter kept in the person's row, dawdle, write it back incremented."""
    seen = int(ctx.user.name or 0)
    await asyncio.sleep(0.05)  # plenty of time for a second update to sneak in, were it allowed
    await ctx.uow.users.update(ctx.user.id, name=str(seen + 1))
    ctx.say(str(seen + 1))


def worker(bot: BotHarness) -> InboxWorker:
    """One process's inbox worker, handling up to four chats at once."""
    bot.services.router.command(Command("dem", slow_counter, "dem", needs_registration=False, in_menu=False))
    return InboxWorker(bot.db, bot.conversation.handle, concurrency=4, poll_interval=0.05)


def event(n: int) -> Incoming:
    return Incoming(
        channel="telegram", chat_id="77", user_id="77", kind=Kind.TEXT, text="/dem", update_id=f"r{n}"
    )


async def answers(db: Database) -> list[str]:
    async with db.uow() as uow:
        rows = await uow.outbox.for_chat("telegram", "77")
    return [row.payload["text"] for row in rows]


async def run_until_done(db: Database, *workers: InboxWorker) -> None:
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        async with asyncio.timeout(20):
            while True:
                async with db.uow() as uow:
                    if await uow.inbox.pending_count() == 0:
                        break
                await asyncio.sleep(0.05)
    finally:
        for w in workers:
            await w.stop()
        await asyncio.gather(*tasks)


async def test_four_quick_messages_in_one_process_are_handled_in_turn(database: Database) -> None:
    one = worker(BotHarness(database))
    await one.accept([event(i) for i in range(4)])
    await run_until_done(database, one)
    assert await answers(database) == ["1", "2", "3", "4"]


async def test_two_processes_sharing_the_database_do_not_race_on_one_chat(database: Database) -> None:
    first, second = worker(BotHarness(database)), worker(BotHarness(database))
    await first.accept([event(10), event(11)])
    await second.accept([event(12), event(13)])
    await run_until_done(database, first, second)
    assert await answers(database) == ["1", "2", "3", "4"]
    assert first.handled + second.handled == 4
