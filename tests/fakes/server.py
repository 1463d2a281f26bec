"""What the fake messenger APIs share: a local aiohttp server on a free port and a call log."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, Self

from aiohttp import web

__all__ = ["FakeApiServer", "error"]


class _Call(Protocol):
    method: str


class FakeApiServer[CallT: _Call]:
    """Serves ``/bot<TOKEN>/<method>`` on 127.0.0.1; use as ``async with Fake() as api``."""

    client_max_size = 1024**2  # aiohttp's default request body limit

    def __init__(self) -> None:
        self.calls: list[CallT] = []
        self.base_url = ""
        self.port = 0
        self._new_update = asyncio.Event()
        self._new_call = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=self.client_max_size)
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{self.port}/bot"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        self._new_update.set()  # release pending long polls
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    # -- assertions ---------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[CallT]:
        """Successful and failed calls of ``method``, in arrival order."""
        return [c for c in self.calls if c.method == method]

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[CallT]:
        """Wait until ``count`` calls of ``method`` arrived; returns them (raises on timeout)."""
        async with asyncio.timeout(timeout):
            while True:
                found = self.calls_to(method)
                if len(found) >= count:
                    return found
                self._new_call.clear()
                await self._new_call.wait()


def error(code: int, description: str) -> tuple[int, dict[str, Any]]:
    """An ``ok: false`` answer as (HTTP status, body)."""
    return code, {"ok": False, "error_code": code, "description": description}
