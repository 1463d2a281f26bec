"""The outbox's Telegram sender: every platform outcome becomes a SendResult, never an exception."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.channels.telegram import TelegramSender
from bot.events import EDIT_MESSAGE_ID, Attachment, Choice, Reply, SendStatus
from bot.outbox import ChannelOutbox, Limits
from storage.uow import Database
from tests.fakes.telegram_api import BOT_USER, FakeBotApi

TOKEN = "123456:TEST-token"
# PTB 22 itself warns when it builds a RetryAfter; nothing to fix on our side.
pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")


@contextlib.asynccontextmanager
async def fake_and_sender(**faults: Any) -> AsyncIterator[tuple[FakeBotApi, TelegramSender]]:
    """A fake Bot API with ``faults`` and a started sender pointed at it."""
    async with contextlib.AsyncExitStack() as stack:
        api = await stack.enter_async_context(FakeBotApi(**faults))
        sender = await stack.enter_async_context(TelegramSender(TOKEN, api.base_url))
        yield api, sender


@pytest.fixture
async def sender(api: FakeBotApi) -> AsyncIterator[TelegramSender]:
    async with TelegramSender(TOKEN, api.base_url) as s:
        yield s


async def test_ok_is_sent_with_message_id(api, sender) -> None:
    result = await sender.send(
        "5001", Reply("Giá tham chiếu na hôm nay: 25.000 ₫/kg", (Choice("Xem", "p:na"),))
    )

    assert result.status is SendStatus.SENT
    (call,) = api.calls_to("sendMessage")
    assert result.message_id is not None and result.message_id.isdigit()
    assert call.chat_id == 5001
    assert call.reply_markup == {"inline_keyboard": [[{"text": "Xem", "callback_data": "p:na"}]]}


async def test_a_reply_with_edit_message_id_edits_that_message_in_place(api, sender) -> None:
    first = await sender.send("5001", Reply("đã gửi 10/100"))
    assert first.message_id is not None

    edit = {EDIT_MESSAGE_ID: first.message_id}
    result = await sender.send("5001", Reply("đã gửi 50/100", (Choice("Dừng", "ann:stop"),), extras=edit))

    assert (result.status, result.message_id) == (SendStatus.SENT, first.message_id)
    (call,) = api.calls_to("editMessageText")
    assert call.params["message_id"] == int(first.message_id) and call.chat_id == 5001
    assert call.text == "đã gửi 50/100"
    assert call.reply_markup == {"inline_keyboard": [[{"text": "Dừng", "callback_data": "ann:stop"}]]}
    assert len(api.calls_to("sendMessage")) == 1

    # The same content again: Telegram says "message is not modified"; the message shows it, so SENT.
    again = await sender.send("5001", Reply("đã gửi 50/100", (Choice("Dừng", "ann:stop"),), extras=edit))
    assert (again.status, again.message_id) == (SendStatus.SENT, first.message_id)
    assert not api.calls_to("editMessageText")[-1].ok
    assert len(api.calls_to("sendMessage")) == 1


async def test_a_refused_edit_or_an_uneditable_reply_becomes_a_new_message(api, sender) -> None:
    first = await sender.send("5001", Reply("đã gửi 10/100"))
    assert first.message_id is not None
    api.delete_message(5001, first.message_id)

    result = await sender.send("5001", Reply("đã gửi 50/100", extras={EDIT_MESSAGE_ID: first.message_id}))

    assert result.status is SendStatus.SENT and result.message_id not in (None, first.message_id)
    assert [c.ok for c in api.calls_to("editMessageText")] == [False]
    assert [c.text for c in api.calls_to("sendMessage")] == ["đã gửi 10/100", "đã gửi 50/100"]

    # A photo cannot replace a text message: it is sent, no edit is tried.
    photo = Reply("Ảnh", attachment=Attachment("a.png", b"png", is_photo=True), extras={EDIT_MESSAGE_ID: "1"})
    assert (await sender.send("5001", photo)).status is SendStatus.SENT
    assert len(api.calls_to("editMessageText")) == 1 and len(api.calls_to("sendPhoto")) == 1


async def test_an_edit_to_a_chat_that_blocked_the_bot_is_blocked() -> None:
    async with fake_and_sender(blocked_chats={5002}) as (api, s):
        result = await s.send("5002", Reply("đã gửi 50/100", extras={EDIT_MESSAGE_ID: "3"}))
    assert result.status is SendStatus.BLOCKED
    assert len(api.calls_to("editMessageText")) == 1 and api.calls_to("sendMessage") == []


async def test_429_is_retry_with_retry_after(api, sender) -> None:
    api.fail_next_429(1, retry_after=7)

    result = await sender.send("5001", Reply("Thông báo"))

    assert result.status is SendStatus.RETRY
    assert result.retry_after == 7
    assert len(api.calls_to("sendMessage")) == 1  # no hidden retry: the outbox decides


async def test_blocked_and_missing_chats_are_blocked() -> None:
    async with fake_and_sender(blocked_chats={5002}, missing_chats={5003}) as (_, s):
        blocked = await s.send("5002", Reply("Thông báo"))
        missing = await s.send("5003", Reply("Thông báo"))
    assert blocked.status is SendStatus.BLOCKED and "blocked" in (blocked.error or "")
    assert missing.status is SendStatus.BLOCKED


async def test_bad_request_fails_and_a_refused_connection_retries() -> None:
    async with FakeBotApi(reject_methods={"sendMessage"}) as api:
        s = TelegramSender(TOKEN, api.base_url, timeout=1)
        await s.start()
        bad = await s.send("5001", Reply("x"))
    try:
        # The server is gone now: a network fault is worth retrying soon.
        gone = await s.send("5001", Reply("x"))
    finally:
        await s.stop()
    assert bad.status is SendStatus.FAILED
    assert gone.status is SendStatus.RETRY and 0 < gone.retry_after <= 5


async def test_server_errors_are_retried_and_a_missing_answer_is_unknown() -> None:
    """A 5xx is an answer, nothing was delivered: retry, also when its body is a proxy's HTML page
    rather than the API's JSON. No answer within the timeout may have delivered it: unknown."""
    answers = [
        web.json_response(
            {"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500
        ),
        web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
        None,  # never answers
    ]

    async def bot_api(request: web.Request) -> web.Response:
        if request.match_info["method"] == "getMe":
            return web.json_response({"ok": True, "result": BOT_USER})
        answer = answers.pop(0)
        if answer is None:
            await asyncio.sleep(5)
            raise web.HTTPServiceUnavailable
        return answer

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", bot_api)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with TelegramSender(TOKEN, f"http://127.0.0.1:{port}/bot", timeout=0.5) as s:
            results = [await s.send("5001", Reply("Thông báo")) for _ in range(3)]
    finally:
        await runner.cleanup()
    assert [r.status for r in results] == [SendStatus.RETRY, SendStatus.RETRY, SendStatus.UNKNOWN]


async def test_programming_errors_fail_without_raising(sender) -> None:
    empty = await sender.send("5001", Reply("   "))
    too_long_payload = await sender.send("5001", Reply("x", (Choice("A", "p" * 65),)))
    assert empty.status is SendStatus.FAILED
    assert too_long_payload.status is SendStatus.FAILED


async def test_photo_and_document_go_as_multipart(api, sender) -> None:
    photo = await sender.send(
        "5001", Reply("Giá tuần", attachment=Attachment("gia.png", b"PNG", is_photo=True))
    )
    doc = await sender.send("5001", Reply("Báo cáo", attachment=Attachment("bao_cao.xlsx", b"XLSX-bytes")))

    assert photo.status is SendStatus.SENT and doc.status is SendStatus.SENT
    (p,) = api.calls_to("sendPhoto")
    (d,) = api.calls_to("sendDocument")
    assert (p.files, p.file_bytes["photo"], p.text) == ({"photo": "gia.png"}, b"PNG", "Giá tuần")
    assert (d.files, d.file_bytes["document"], d.text) == (
        {"document": "bao_cao.xlsx"},
        b"XLSX-bytes",
        "Báo cáo",
    )


async def test_long_caption_moves_text_after_the_attachment(api, sender) -> None:
    text = "Chi tiết " * 200  # 1 800 characters: too long for a caption
    result = await sender.send(
        "5001", Reply(text, (Choice("OK", "ok"),), attachment=Attachment("a.pdf", b"%PDF"))
    )

    assert result.status is SendStatus.SENT
    (doc,) = api.calls_to("sendDocument")
    (msg,) = api.calls_to("sendMessage")
    assert doc.text is None and doc.reply_markup is None
    assert msg.text.strip() == text.strip() and msg.reply_markup is not None


async def test_strict_server_without_limiter_sees_429s() -> None:
    """Sanity check of the benchmark's teeth: an unpaced burst is caught by strict mode."""
    async with fake_and_sender(strict_global_rate=30, strict_per_chat_interval=1.0) as (api, s):
        results = await asyncio.gather(*(s.send(str(6000 + i), Reply("x")) for i in range(40)))
    assert api.count_429 > 0
    assert sum(r.status is SendStatus.RETRY for r in results) == api.count_429


async def test_the_outbox_pace_keeps_a_strict_server_happy(database: Database) -> None:
    """45 messages (5 chats get two) through the outbox in real time: no 429 at all."""
    chats = [str(7000 + i) for i in range(40)] + [str(7000 + i) for i in range(5)]
    async with database.uow() as uow:
        for chat in chats:
            await uow.outbox.enqueue("telegram", chat, Reply("Thông báo giá na").to_json())
    async with fake_and_sender(strict_global_rate=30, strict_per_chat_interval=1.0) as (api, s):
        outbox = ChannelOutbox(database, s, Limits(global_rate=30))
        task = asyncio.create_task(outbox.run())
        await api.wait_for_calls("sendMessage", 45, timeout=20)
        outbox.stop()
        await task
    assert api.count_429 == 0
    assert all(c.ok for c in api.calls_to("sendMessage"))
    # how fast the pace is measured by scripts/bench_broadcast.py, not here
