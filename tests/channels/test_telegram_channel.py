"""The Telegram adapter with the real PTB client against a local fake Bot API: what a farmer does
on the phone arrives in the inbox as a neutral event, and is acknowledged to Telegram only once
saved; what the bot says is rendered by the outbox's sender (tests/channels/test_telegram_sender.py
covers its errors).
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

from bot.channels.telegram import TelegramChannel, TelegramSender, file_url_for
from bot.channels.telegram_render import split_text
from bot.events import Attachment, Choice, Kind, Reply, Request
from tests.channels.conftest import RecordingSink
from tests.fakes.telegram_api import FakeBotApi

TOKEN = "123456:TEST-token"
FARMER = 5001
PHONE = "84912345678"


@pytest.fixture
async def channel(api: FakeBotApi, sink: RecordingSink) -> AsyncIterator[TelegramChannel]:
    ch = TelegramChannel(
        TOKEN, api.base_url, sink, commands=[("start", "Bắt đầu"), ("huy", "Huỷ")], poll_timeout=1
    )
    await ch.start_polling()
    yield ch
    await ch.stop()


@pytest.fixture
async def sender(api: FakeBotApi) -> AsyncIterator[TelegramSender]:
    async with TelegramSender(TOKEN, api.base_url) as s:
        yield s


def inline_buttons(markup: dict[str, Any] | None) -> list[list[tuple[str, str]]]:
    assert markup is not None
    return [[(b["text"], b["callback_data"]) for b in row] for row in markup["inline_keyboard"]]


async def test_text_reaches_the_inbox_and_a_reply_carries_an_inline_keyboard(
    api, sink, channel, sender
) -> None:
    api.push_text(FARMER, "xin chào", first_name="Lan", last_name="Nguyễn")

    (event,) = await sink.wait_for(1)
    assert event.kind is Kind.TEXT
    assert event.text == "xin chào"
    assert (event.channel, event.chat_id, event.user_id) == ("telegram", str(FARMER), str(FARMER))
    assert event.display_name == "Lan Nguyễn"
    assert event.language_code == "vi"
    assert event.update_id is not None and not event.is_group

    await sender.send(
        event.chat_id,
        Reply("Chào bạn! Bạn muốn làm gì?", (Choice("Bán", "role:sell"), Choice("Mua", "role:buy")), 2),
    )
    (sent,) = await api.wait_for_calls("sendMessage")
    assert sent.chat_id == FARMER
    assert sent.text == "Chào bạn! Bạn muốn làm gì?"
    assert inline_buttons(sent.reply_markup) == [[("Bán", "role:sell"), ("Mua", "role:buy")]]


async def test_polling_confirms_updates_only_once_the_inbox_saved_them(api, sink, channel) -> None:
    sink.failing = True  # the database is down
    first = api.push_text(FARMER, "1")
    async with asyncio.timeout(5):
        while sink.calls < 2:  # tried, failed, tried again: never dropped
            await asyncio.sleep(0.05)
    assert sink.events == []
    sink.failing = False
    api.push_text(FARMER, "2")
    events = await sink.wait_for(2, timeout=40)
    assert [e.text for e in events] == ["1", "2"]
    assert events[0].update_id == str(first)
    await asyncio.sleep(1.5)  # a poll or two later: confirmed, so never handed in again
    assert [e.text for e in sink.events] == ["1", "2"]


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


async def test_button_press_arrives_as_button_and_spinner_stops(api, sink, channel) -> None:
    api.push_callback(FARMER, "role:sell", message_id=42)

    (event,) = await sink.wait_for(1)
    assert event.kind is Kind.BUTTON
    assert event.payload == "role:sell"
    assert event.chat_id == str(FARMER)
    await api.wait_for_calls("answerCallbackQuery")
    assert sink.calls == 1  # answered after it was saved


async def test_own_contact_gives_phone_but_someone_elses_does_not(api, sink, channel) -> None:
    api.push_contact(FARMER, PHONE)
    api.push_contact(FARMER, "84987654321", contact_user_id=FARMER + 1)

    own, other = await sink.wait_for(2)
    assert own.kind is Kind.CONTACT and own.phone == PHONE
    assert other.kind is Kind.OTHER and other.phone is None


async def test_location_sticker_and_edit(api, sink, channel) -> None:
    api.push_location(FARMER, 21.85, 106.76)
    api.push_sticker(FARMER)
    api.push_edited_text(FARMER, "sửa lại")

    location, sticker, edited = await sink.wait_for(3)
    assert location.kind is Kind.LOCATION
    assert (location.latitude, location.longitude) == (21.85, 106.76)
    assert sticker.kind is Kind.OTHER and sticker.text is None
    assert edited.kind is Kind.OTHER and edited.text is None


async def test_group_command_is_marked_as_group_without_bot_mention(api, sink, channel) -> None:
    api.push_text(FARMER, "/gia@nongsan_test_bot na", chat_id=-100123, chat_type="supergroup")

    (event,) = await sink.wait_for(1)
    assert event.is_group and event.chat_id == "-100123" and event.user_id == str(FARMER)
    assert event.text == "/gia na"  # the bot's own @mention is Telegram plumbing, not content


async def test_in_a_group_only_commands_mentions_and_replies_to_the_bot_are_addressed(
    api, sink, channel
) -> None:
    group = {"chat_id": -100123, "chat_type": "supergroup"}
    bot = {"id": 7000000001, "is_bot": True, "first_name": "Nông Sản Bot", "username": "nongsan_test_bot"}
    mention = "@nongsan_test_bot giá na"
    api.push_text(FARMER, "/gia na", **group)
    api.push_text(FARMER, mention, entities=[{"type": "mention", "offset": 0, "length": 17}], **group)
    earlier = api.make_message(7000000001, text="Giá na: 25.000 ₫/kg", **group)
    earlier["from"] = bot
    api.push_text(FARMER, "còn hồng thì sao?", reply_to_message=earlier, **group)
    api.push_text(FARMER, "mai ai đi chợ không?", **group)  # the members' own talk
    api.push_text(
        FARMER, "@someone_else giá na", entities=[{"type": "mention", "offset": 0, "length": 13}], **group
    )
    api.push_text(FARMER, "giá na")  # a private chat: always meant for the bot

    events = await sink.wait_for(6)
    assert [(e.text, e.addressed) for e in events] == [
        ("/gia na", True),
        ("giá na", True),  # the mention is how she called the bot, not what she asked
        ("còn hồng thì sao?", True),
        ("mai ai đi chợ không?", False),
        ("@someone_else giá na", False),
        ("giá na", True),
    ]


async def test_rejected_set_my_commands_does_not_stop_startup(sink, caplog) -> None:
    async with FakeBotApi(reject_methods={"setMyCommands", "deleteWebhook"}) as api:
        ch = TelegramChannel(TOKEN, api.base_url, sink, commands=[("start", "Bắt đầu")], poll_timeout=1)
        with caplog.at_level(logging.WARNING):
            await ch.start_polling()
        try:
            api.push_text(FARMER, "chào")
            await sink.wait_for(1)
        finally:
            await ch.stop()
    assert "setMyCommands rejected" in caplog.text
    assert "deleteWebhook rejected" in caplog.text


async def test_long_text_is_split_on_lines_with_keyboard_on_last_part(api, sender) -> None:
    long_text = "\n".join(f"Dòng {i}: na Chi Lăng loại 1, 25.000 ₫/kg" for i in range(300))
    await sender.send(str(FARMER), Reply(long_text, (Choice("Đồng ý", "ok"),)))

    parts = len(split_text(long_text))
    assert parts > 2
    calls = await api.wait_for_calls("sendMessage", parts)
    texts = [c.text for c in calls]
    assert all(len(t) <= 4096 for t in texts)
    assert "\n".join(texts) == long_text
    assert [c.reply_markup is not None for c in calls] == [False] * (len(calls) - 1) + [True]


async def test_phone_request_keyboard_then_removed(api, sender) -> None:
    ask = Reply("Bấm nút để gửi số điện thoại", (Choice("📱 Gửi số điện thoại", ""),), request=Request.PHONE)
    await sender.send(str(FARMER), ask)
    (sent,) = await api.wait_for_calls("sendMessage", 1)
    keyboard = sent.reply_markup
    assert keyboard is not None and keyboard["one_time_keyboard"] is True
    assert keyboard["keyboard"] == [[{"text": "📱 Gửi số điện thoại", "request_contact": True}]]

    await sender.send(str(FARMER), Reply("Cảm ơn, đã lưu số điện thoại.", remove_keyboard=True))
    calls = await api.wait_for_calls("sendMessage", 2)
    assert calls[1].reply_markup == {"remove_keyboard": True}


async def test_attachment_goes_out_as_photo_with_caption(api, sender) -> None:
    chart = Attachment("gia_na.png", b"\x89PNG fake", is_photo=True)
    await sender.send(str(FARMER), Reply("Giá na tuần này", attachment=chart))

    (photo,) = await api.wait_for_calls("sendPhoto")
    assert photo.files == {"photo": "gia_na.png"}
    assert photo.text == "Giá na tuần này"


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
async def webhook(api: FakeBotApi, sink: RecordingSink) -> AsyncIterator[tuple[TelegramChannel, TestClient]]:
    ch = TelegramChannel(TOKEN, api.base_url, sink, webhook_secret=SECRET)
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


async def test_webhook_answers_200_only_once_the_update_is_saved(api, sink, webhook) -> None:
    _, client = webhook
    (registered,) = api.calls_to("setWebhook")
    assert registered.params["url"] == "https://bot.example.vn/telegram"
    assert registered.params["secret_token"] == SECRET

    resp = await client.post(
        "/telegram", json=text_update(77, "giá na"), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    )
    assert resp.status == 200
    (event,) = sink.events  # saved before the answer
    assert (event.kind, event.text, event.update_id) == (Kind.TEXT, "giá na", "77")

    sink.failing = True  # the database is down: Telegram must deliver it again later
    resp = await client.post(
        "/telegram", json=text_update(78, "giá hồng"), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    )
    assert resp.status == 503 and len(sink.events) == 1


@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}])
async def test_webhook_with_wrong_or_missing_secret_is_forbidden(sink, webhook, headers) -> None:
    _, client = webhook
    resp = await client.post("/telegram", json=text_update(78, "x"), headers=headers)
    assert resp.status == 403
    assert sink.events == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not JSON"),
        (json.dumps([1, 2]), "not a Telegram update"),
        ("{}", "not a Telegram update"),
    ],
)
async def test_webhook_with_malformed_body_is_rejected(sink, webhook, body, reason) -> None:
    _, client = webhook
    resp = await client.post(
        "/telegram",
        data=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert reason in await resp.text()
    assert sink.events == []
