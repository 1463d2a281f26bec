"""Fixtures for the messenger adapters: a fake Bot API and a recording inbox."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

# ``tests.fakes`` is imported by absolute name; plain ``pytest`` does not put the repository
# root on sys.path (``pythonpath = ["."]`` in pyproject.toml would make this unnecessary).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bot.events import Incoming  # noqa: E402
from tests.fakes.telegram_api import FakeBotApi  # noqa: E402

TOKEN = "123456:TEST-token"


class RecordingSink:
    """A stand-in inbox: records the events a channel hands in; can be told to fail (a database outage)."""

    def __init__(self) -> None:
        self.events: list[Incoming] = []
        self.failing = False
        self.calls = 0
        self._changed = asyncio.Event()

    async def __call__(self, events: Sequence[Incoming]) -> int:
        self.calls += 1
        if self.failing:
            raise ConnectionError("database unavailable")
        self.events.extend(events)
        self._changed.set()
        return len(events)

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
def sink() -> RecordingSink:
    return RecordingSink()
