"""The aiohttp transport under python-telegram-bot's receiving side: what a Bot API server gets,
and what PTB sees when the server cannot be reached or does not answer in time."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_http import AiohttpRequest
from tests.fakes.telegram_api import FakeBotApi

TOKEN = "123456:TEST-token"


async def _server(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_fields_and_files_reach_the_server_as_telegram_expects() -> None:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        seen.append({k: (v.filename if hasattr(v, "filename") else str(v)) for k, v in form.items()})
        return web.json_response({"ok": True, "result": True})

    runner, url = await _server(handler)
    request = AiohttpRequest()
    await request.initialize()
    try:
        param = RequestParameter.from_input
        plain = RequestData([param("chat_id", 5001), param("text", "Chào bà con")])
        status, body = await request.do_request(f"{url}/sendMessage", "POST", plain)
        document = InputFile(b"a;b\n1;2\n", filename="bao-cao.csv")
        upload = RequestData([param("chat_id", 5001), param("document", document)])
        await request.do_request(f"{url}/sendDocument", "POST", upload)
    finally:
        await request.shutdown()
        await runner.cleanup()

    assert status == 200 and b'"ok": true' in body
    assert seen[0] == {"chat_id": "5001", "text": "Chào bà con"}
    assert seen[1]["chat_id"] == "5001" and seen[1]["document"] == "bao-cao.csv"


async def test_no_server_is_a_network_error_and_no_answer_a_timeout() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{free.getsockname()[1]}"

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"ok": True, "result": []})

    runner, url = await _server(slow)
    request = AiohttpRequest(read_timeout=0.3, connect_timeout=1)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await request.do_request(f"{nobody}/getUpdates", "POST")
        with pytest.raises(TimedOut):
            await request.do_request(f"{url}/getUpdates", "POST")
    finally:
        await request.shutdown()
        await runner.cleanup()
    assert not isinstance(refused.value, TimedOut) and "ClientConnectorError" in refused.value.message


async def test_the_channels_bot_polls_the_fake_bot_api_through_it() -> None:
    async with FakeBotApi() as api:
        api.push_text(7001, "xin chào")
        bot = Bot(
            TOKEN, base_url=api.base_url, request=AiohttpRequest(), get_updates_request=AiohttpRequest()
        )
        async with bot:
            updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["xin chào"]
    assert isinstance(TelegramChannel(TOKEN, api.base_url, sink=None).bot.request, AiohttpRequest)  # type: ignore[arg-type]
