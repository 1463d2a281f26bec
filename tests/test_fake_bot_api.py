"""The fake Bot API's own features that benchmarks and end-to-end tests rely on: Telegram's limits
in strict mode, injected server faults, webhook delivery to several bot processes, update timing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.telegram_api import SECRET_HEADER, FakeBotApi, Faults


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, api: FakeBotApi, method: str, timeout: float = 5, **params: Any
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        f"{api.base_url}123:T/{method}", json=params, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as response:
        return response.status, await response.json()


async def test_strict_mode_keeps_telegrams_limits(http: aiohttp.ClientSession) -> None:
    async with FakeBotApi(strict=True) as api:
        private = [(await call(http, api, "sendMessage", chat_id=42, text=f"tin {i}"))[0] for i in range(4)]
        assert private == [200, 200, 200, 429]  # a short burst, then about one a second
        status, body = await call(http, api, "sendMessage", chat_id=42, text="lại")
        assert status == 429 and body["parameters"]["retry_after"] >= 1

        # 30 over any one second across chats.
        await asyncio.sleep(1.1)
        results = await asyncio.gather(
            *(call(http, api, "sendMessage", chat_id=1000 + i, text="x") for i in range(35))
        )
        assert sum(status == 200 for status, _body in results) == 30
        assert api.count_429_by_limit["global"] == 5
    assert len(api.delivered[42]) == 3

    async with FakeBotApi(strict_group_per_minute=20) as api:  # the group limit alone, to be quick
        group = [(await call(http, api, "sendMessage", chat_id=-100, text=f"nhóm {i}"))[0] for i in range(21)]
        assert group.count(200) == 20 and group[-1] == 429
        assert api.count_429_by_limit["group"] == 1


async def test_injected_faults(http: aiohttp.ClientSession) -> None:
    async with FakeBotApi(faults=Faults.parse("5xx=1")) as api:
        status, _body = await call(http, api, "sendMessage", chat_id=1, text="a")
        assert status == 502 and not api.delivered[1] and api.fault_counts["5xx"] == 1
        assert (await call(http, api, "getMe"))[0] == 200  # only sending methods fail

    async with FakeBotApi(faults=Faults.parse("timeout=1,hang=2")) as api:
        with pytest.raises(TimeoutError):
            await call(http, api, "sendMessage", timeout=0.3, chat_id=1, text="a")
        assert not api.delivered[1]  # never delivered, never answered in time

    async with FakeBotApi(faults=Faults.parse("late=1,late_s=0.6")) as api:
        with pytest.raises(TimeoutError):
            await call(http, api, "sendMessage", timeout=0.3, chat_id=1, text="a")
        assert [c.text for c in api.delivered[1]] == ["a"]  # delivered although the client gave up

    with pytest.raises(ValueError, match="unknown fault"):
        Faults.parse("slow=0.1")


async def test_updates_are_timed_from_offered_to_first_reply(http: aiohttp.ClientSession) -> None:
    async with FakeBotApi() as api:
        update_id = api.push_text(77, "/start")
        _status, body = await call(http, api, "getUpdates", timeout=5)
        assert [u["update_id"] for u in body["result"]] == [update_id]
        await call(http, api, "sendMessage", chat_id=77, text="Chào")
        await call(http, api, "getUpdates", offset=update_id + 1)
        timing = api.timings[update_id]
        assert timing.taken_at is not None and timing.acked_at is not None
        assert timing.latency is not None and 0 <= timing.latency < 1
        assert (await api.wait_delivery(77, 0, timeout=1)) is api.delivered[77][0]
        assert await api.wait_delivery(77, 1, timeout=0.05) is None


async def bot_process(received: list[tuple[int, str, int]], number: int, fail_first: bool) -> web.AppRunner:
    """A stand-in bot process's webhook endpoint: records (process, secret, update id)."""
    failed: list[bool] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        if fail_first and not failed:
            failed.append(True)
            return web.Response(status=500)
        received.append((number, request.headers.get(SECRET_HEADER, ""), body["update_id"]))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhook/telegram", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


async def test_webhook_delivery_round_robin_with_the_secret_and_retries(http: aiohttp.ClientSession) -> None:
    received: list[tuple[int, str, int]] = []
    runners = [await bot_process(received, 0, False), await bot_process(received, 1, True)]
    try:
        async with FakeBotApi() as api:
            api.deliver_by_webhook()
            pushed = [api.push_text(500 + i, f"tin {i}") for i in range(4)]  # before any URL is known
            for runner in runners:
                port = runner.addresses[0][1]
                url = f"http://127.0.0.1:{port}/webhook/telegram"
                await call(http, api, "setWebhook", url=url, secret_token="s3cret")
            started = time.monotonic()
            await api.webhook_idle(timeout=10)
            assert time.monotonic() - started < 5
            assert sorted(u for _n, _s, u in received) == pushed
            assert {s for _n, s, _u in received} == {"s3cret"}
            assert {n for n, _s, _u in received} == {0, 1}  # both processes got work
            assert api.webhook_failures == 1  # the refused POST went out again
            assert all(api.timings[u].acked_at is not None for u in pushed)
    finally:
        for runner in runners:
            await runner.cleanup()
