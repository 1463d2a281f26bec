"""PostgreSQL LISTEN on a connection of its own, so a NOTIFY from any process wakes this one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


async def notify(engine: AsyncEngine, channel: str, payload: str) -> None:
    """NOTIFY ``channel`` with ``payload`` in a statement of its own (PostgreSQL; nothing on SQLite)."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})
        await conn.commit()


class Listener:
    """Calls ``callback(payload)`` for every NOTIFY on ``channel``; reconnects when the link drops.

    On SQLite (one process) it does nothing: local wake-ups are enough there.
    """

    def __init__(self, engine: AsyncEngine, channel: str, callback: Callable[[str], None]) -> None:
        self.engine, self.channel, self.callback = engine, channel, callback
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        if self.engine.dialect.name == "postgresql" and self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen:{self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.callback(payload)

    async def _run(self) -> None:
        while True:
            try:
                async with self.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver: Any = raw.driver_connection
                    closed = asyncio.Event()
                    driver.add_termination_listener(lambda _c, closed=closed: closed.set())
                    await driver.add_listener(self.channel, self._on_notify)
                    self.connected.set()
                    self.callback("")  # anything queued while we were not listening
                    try:
                        await closed.wait()
                    finally:
                        self.connected.clear()
                        with contextlib.suppress(Exception):
                            await driver.remove_listener(self.channel, self._on_notify)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN %s lost (%s); reconnecting", self.channel, type(exc).__name__)
            await asyncio.sleep(2)
