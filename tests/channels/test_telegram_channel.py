"""The Telegram adapter with the real PTB client against a local fake Bot API.

Each test reads like a conversation: the farmer does something on the phone, the engine gets a
neutral event, the fake server records what the bot sent back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.telegram import TelegramChannel, file_url_for
from bot.channels.telegram_render import split_text
from bot.events import Attachment, Choice, Incoming, Kind, Reply, Request
from tests.fakes.telegram_api import FakeBotApi

TOKEN = "123456:TEST-token"
FARMER = 5001
PHONE = "84912345678"


@pytest.fixture
async def channel(api: FakeBotApi, handler: Any) -> AsyncIterator[TelegramChannel]:
    ch = TelegramChannel(
        TOKEN, api.base_url, handler, commands=[("start", "Bắt đầu"), ("huy", "Huỷ")], poll_timeout=1
    )
    await ch.start_polling()
    yield ch
    await ch.stop()


def inline_buttons(markup: dict[str, Any] | None) -> list[list[tuple[str, str]]]:
    assert markup is not None
    return [[(b["text"], b["callback_data"]) for b in row] for row in markup["inline_keyboard"]]


async def test_text_reaches_engine_and_reply_carries_inline_keyboard(api, handler, channel) -> None:
    api.push_text(FARMER, "xin chào", first_name="Lan", last_name="Nguyễn")

    (event,) = await handler.wait_for(1)
    assert event.kind is Kind.TEXT
    assert event.text == "xin chào"
    assert (event.channel, event.chat_id, event.user_id) == ("telegram", str(FARMER), str(FARMER))
    assert event.display_name == "Lan Nguyễn"
    assert event.language_code == "vi"
    assert event.update_id is not None and not event.is_group

    (sent,) = await api.wait_for_calls("sendMessage")
    assert sent.chat_id == FARMER
    assert sent.text == "Chào bạn! Bạn muốn làm gì?"
    assert inline_buttons(sent.reply_markup) == [[("Bán", "role:sell"), ("Mua", "role:buy")]]


async def test_startup_calls_and_base_urls(api, channel) -> None:
    assert [c.method for c in api.calls[:3]] == ["getMe", "deleteWebhook", "setMyCommands"]
    commands = api.calls_to("setMyCommands")[0].params["commands"]
    assert commands == [
        {"command": "start", "description": "Bắt đầu"},
        {"command": "huy", "description": "Huỷ"},
    ]
    assert channel.bot.base_url == api.base_url + TOKEN
    assert channel.bot.base_file_url == api.file_base_url + TOKEN
    assert file_url_for("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"


async def test_button_press_arrives_as_button_and_spinner_stops(api, handler, channel) -> None:
    api.push_callback(FARMER, "role:sell", message_id=42)

    (event,) = await handler.wait_for(1)
    assert event.kind is Kind.BUTTON
    assert event.payload == "role:sell"
    assert event.chat_id == str(FARMER)
    await api.wait_for_calls("answerCallbackQuery")


async def test_own_contact_gives_phone_but_someone_elses_does_not(api, handler, channel) -> None:
    api.push_contact(FARMER, PHONE)
    api.push_contact(FARMER, "84987654321", contact_user_id=FARMER + 1)

    own, other = await handler.wait_for(2)
    assert own.kind is Kind.CONTACT and own.phone == PHONE
    assert other.kind is Kind.OTHER and other.phone is None


async def test_location_sticker_and_edit(api, handler, channel) -> None:
    api.push_location(FARMER, 21.85, 106.76)
    api.push_sticker(FARMER)
    api.push_edited_text(FARMER, "sửa lại")

    location, sticker, edited = await handler.wait_for(3)
    assert location.kind is Kind.LOCATION
    assert (location.latitude, location.longitude) == (21.85, 106.76)
    assert sticker.kind is Kind.OTHER and sticker.text is None
    assert edited.kind is Kind.OTHER and edited.text is None


async def test_group_command_is_marked_as_group_without_bot_mention(api, handler, channel) -> None:
    api.push_text(FARMER, "/gia@nongsan_test_bot na", chat_id=-100123, chat_type="supergroup")

    (event,) = await handler.wait_for(1)
    assert event.is_group and event.chat_id == "-100123" and event.user_id == str(FARMER)
    assert event.text == "/gia na"  # the bot's own @mention is Telegram plumbing, not content


async def test_rejected_set_my_commands_does_not_stop_startup(handler, caplog) -> None:
    async with FakeBotApi(reject_methods={"setMyCommands", "deleteWebhook"}) as api:
        ch = TelegramChannel(TOKEN, api.base_url, handler, commands=[("start", "Bắt đầu")], poll_timeout=1)
        with caplog.at_level(logging.WARNING):
            await ch.start_polling()
        try:
            api.push_text(FARMER, "chào")
            await handler.wait_for(1)
            await api.wait_for_calls("sendMessage")
        finally:
            await ch.stop()
    assert "setMyCommands rejected" in caplog.text
    assert "deleteWebhook rejected" in caplog.text


async def test_handler_error_is_logged_without_text_and_polling_continues(
    api, handler, channel, caplog
) -> None:
    def answer(event: Incoming) -> list[Reply]:
        if event.text and event.text.startswith("lỗi"):
            raise ValueError(f"cannot parse {event.text}")
        return [Reply("ok")]

    handler.answer = answer
    with caplog.at_level(logging.ERROR):
        api.push_text(FARMER, f"lỗi {PHONE}")
        api.push_text(FARMER, "tiếp")
        await handler.wait_for(2)
        (sent,) = await api.wait_for_calls("sendMessage")
    assert sent.text == "ok"
    assert "handler failed (ValueError)" in caplog.text
    assert PHONE not in caplog.text and "lỗi" not in caplog.text


async def test_long_text_is_split_on_lines_with_keyboard_on_last_part(api, handler, channel) -> None:
    long_text = "\n".join(f"Dòng {i}: na Chi Lăng loại 1, 25.000 ₫/kg" for i in range(300))
    handler.answer = lambda event: [Reply(long_text, (Choice("Đồng ý", "ok"),))]
    api.push_text(FARMER, "bảng giá")

    parts = len(split_text(long_text))
    assert parts > 2
    calls = await api.wait_for_calls("sendMessage", parts)
    texts = [c.text for c in calls]
    assert all(len(t) <= 4096 for t in texts)
    assert "\n".join(texts) == long_text
    assert [c.reply_markup is not None for c in calls] == [False] * (len(calls) - 1) + [True]


async def test_phone_request_keyboard_then_removed(api, handler, channel) -> None:
    def answer(event: Incoming) -> list[Reply]:
        if event.kind is Kind.CONTACT:
            return [Reply("Cảm ơn, đã lưu số điện thoại.")]
        return [
            Reply(
                "Bấm nút để gửi số điện thoại", (Choice("📱 Gửi số điện thoại", ""),), request=Request.PHONE
            )
        ]

    handler.answer = answer
    api.push_text(FARMER, "/start")
    (ask,) = await api.wait_for_calls("sendMessage", 1)
    keyboard = ask.reply_markup
    assert keyboard is not None and keyboard["one_time_keyboard"] is True
    assert keyboard["keyboard"] == [[{"text": "📱 Gửi số điện thoại", "request_contact": True}]]

    api.push_contact(FARMER, PHONE)
    calls = await api.wait_for_calls("sendMessage", 2)
    assert calls[1].reply_markup == {"remove_keyboard": True}


async def test_attachment_goes_out_as_photo_with_caption(api, handler, channel) -> None:
    chart = Attachment("gia_na.png", b"\x89PNG fake", is_photo=True)
    handler.answer = lambda event: [Reply("Giá na tuần này", attachment=chart)]
    api.push_text(FARMER, "biểu đồ")

    (photo,) = await api.wait_for_calls("sendPhoto")
    assert photo.files == {"photo": "gia_na.png"}
    assert photo.text == "Giá na tuần này"


@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")  # raised inside PTB
async def test_429_on_direct_reply_is_retried(api, handler, channel) -> None:
    api.fail_next_429(1, retry_after=1)
    api.push_text(FARMER, "chào")

    first, second = await api.wait_for_calls("sendMessage", 2, timeout=5)
    assert (first.status, second.status) == (429, 200)


def test_split_text_prefers_line_boundaries_and_handles_huge_lines() -> None:
    assert split_text("a\nb", limit=3) == ["a\nb"]
    assert split_text("aaa\nbbb", limit=4) == ["aaa", "bbb"]
    words = " ".join(["xoài"] * 3000)  # one 15 000-character line
    parts = split_text(words)
    assert all(len(p) <= 4096 for p in parts) and "".join(parts) == words
    emoji = "🍈" * 3000  # 2 UTF-16 units each: at most 2048 per message
    assert [len(p) for p in split_text(emoji)] == [2048, 952]


# -- webhook -----------------------------------------------------------------------------------

SECRET = "s3cret-token_ABC"


@pytest.fixture
async def webhook(api: FakeBotApi, handler: Any) -> AsyncIterator[tuple[TelegramChannel, TestClient]]:
    ch = TelegramChannel(TOKEN, api.base_url, handler, webhook_secret=SECRET)
    await ch.start_webhook("https://bot.example.vn/telegram")
    app = web.Application()
    app.router.add_post("/telegram", ch.handle_webhook)
    async with TestClient(TestServer(app)) as client:
        yield ch, client
    await ch.stop()


def text_update(update_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1757900000,
            "chat": {"id": FARMER, "type": "private", "first_name": "Lan"},
            "from": {"id": FARMER, "is_bot": False, "first_name": "Lan"},
            "text": text,
        },
    }


async def test_webhook_with_good_secret_is_processed(api, handler, webhook) -> None:
    _, client = webhook
    (registered,) = api.calls_to("setWebhook")
    assert registered.params["url"] == "https://bot.example.vn/telegram"
    assert registered.params["secret_token"] == SECRET

    resp = await client.post(
        "/telegram", json=text_update(77, "giá na"), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    )
    assert resp.status == 200
    (event,) = await handler.wait_for(1)
    assert (event.kind, event.text, event.update_id) == (Kind.TEXT, "giá na", "77")
    await api.wait_for_calls("sendMessage")


@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}])
async def test_webhook_with_wrong_or_missing_secret_is_forbidden(handler, webhook, headers) -> None:
    _, client = webhook
    resp = await client.post("/telegram", json=text_update(78, "x"), headers=headers)
    assert resp.status == 403
    assert handler.events == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not JSON"),
        (json.dumps([1, 2]), "not a Telegram update"),
        ("{}", "not a Telegram update"),
    ],
)
async def test_webhook_with_malformed_body_is_rejected(handler, webhook, body, reason) -> None:
    _, client = webhook
    resp = await client.post(
        "/telegram",
        data=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert reason in await resp.text()
    assert handler.events == []


async def test_one_chat_in_order_while_other_chats_run_concurrently(api) -> None:
    release_first = asyncio.Event()
    seen: list[tuple[str, str | None]] = []

    async def engine(event: Incoming) -> list[Reply]:
        seen.append((event.chat_id, event.text))
        if event.text == "1":
            await release_first.wait()  # farmer's first message is slow to handle
        if event.chat_id == str(FARMER + 1):
            release_first.set()  # ...and only another chat's update can unblock it
        return [Reply(f"re {event.text}")]

    ch = TelegramChannel(TOKEN, api.base_url, engine, poll_timeout=1)
    await ch.start_polling()
    try:
        for text in ("1", "2", "3"):
            api.push_text(FARMER, text)
        api.push_text(FARMER + 1, "x")
        calls = await api.wait_for_calls("sendMessage", 4)
    finally:
        await ch.stop()
    farmer_order = [c.text for c in calls if c.chat_id == FARMER]
    assert farmer_order == ["re 1", "re 2", "re 3"]
    assert [t for c, t in seen if c == str(FARMER)] == ["1", "2", "3"]
