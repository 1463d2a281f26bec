"""Fixtures for the messenger adapters: a fake Bot API, a recording dialog engine, fake time."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

# ``tests.fakes`` is imported by absolute name; plain ``pytest`` does not put the repository
# root on sys.path (``pythonpath = ["."]`` in pyproject.toml would make this unnecessary).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bot.events import Choice, Incoming, Reply  # noqa: E402
from tests.fakes.telegram_api import FakeBotApi  # noqa: E402

TOKEN = "123456:TEST-token"


def menu_reply(event: Incoming) -> list[Reply]:
    """The default answer of the recording engine: a greeting with two buttons side by side."""
    return [Reply("Chào bạn! Bạn muốn làm gì?", (Choice("Bán", "role:sell"), Choice("Mua", "role:buy")), 2)]


class RecordingHandler:
    """A stand-in dialog engine: records every event and answers with ``answer(event)``."""

    def __init__(self, answer: Callable[[Incoming], list[Reply]] = menu_reply) -> None:
        self.answer = answer
        self.events: list[Incoming] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: Incoming) -> list[Reply]:
        self.events.append(event)
        self._changed.set()
        return self.answer(event)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Incoming]:
        """Wait until ``count`` events arrived."""
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.events


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


class FakeTime:
    """Virtual clock: ``sleep`` parks the caller until :meth:`run` advances time to its deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, delay), next(self._seq), fut))
        await fut

    async def run(self, awaitable: Awaitable[Any]) -> Any:
        """Drive ``awaitable`` to completion, jumping the clock from one wake-up to the next."""
        task = asyncio.ensure_future(awaitable)
        while not task.done():
            for _ in range(3):  # let woken callers reserve their next slot before time moves on
                await asyncio.sleep(0)
            if self._sleepers and not task.done():
                deadline, _, fut = heapq.heappop(self._sleepers)
                self.now = max(self.now, deadline)
                fut.set_result(None)
        return task.result()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
