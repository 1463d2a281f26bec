"""Per-chat sequencing: one chat's updates strictly in order, different chats concurrently.

Messenger-neutral (no PTB here): Telegram's update processor and Zalo's queue both build on
:class:`ChatOrder`; :class:`PerChatRunner` adds the task handling for adapters that own it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from bot.events import Incoming

__all__ = ["ChatOrder", "PerChatRunner"]


class ChatOrder:
    """Turns per chat: work holding a chat's turn runs alone, in the order it asked for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: collections.Counter[str] = collections.Counter()

    @contextlib.asynccontextmanager
    async def turn(self, chat: str) -> AsyncIterator[None]:
        """Wait until the chat's earlier work is done; hold the chat until the block ends."""
        # asyncio.Lock wakes its waiters first in, first out: that is what keeps the order.
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._users[chat] += 1
        try:
            async with lock:
                yield
        finally:
            # Drop the lock when nobody waits on it, so memory follows active chats only.
            self._users[chat] -= 1
            if not self._users[chat]:
                del self._users[chat]
                del self._locks[chat]


class PerChatRunner:
    """Run one chat's events strictly in order, different chats concurrently (bounded)."""

    def __init__(self, run: Callable[[Incoming], Awaitable[None]], max_concurrent: int, *, name: str) -> None:
        self._run = run
        self._name = name
        self._order = ChatOrder()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max_concurrent)

    def put(self, event: Incoming) -> None:
        """Queue ``event`` behind the chat's earlier ones."""
        task = asyncio.create_task(self._run_in_turn(event), name=f"{self._name}-chat-{event.chat_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_in_turn(self, event: Incoming) -> None:
        # The turn first, then a slot: a chat waiting for its own earlier events takes no slot.
        async with self._order.turn(event.chat_id), self._slots:
            await self._run(event)

    async def join(self, grace: float) -> None:
        """Wait for queued events to be processed, cancelling what is left after ``grace`` seconds."""
        tasks = set(self._tasks)
        if not tasks:
            return
        _done, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
