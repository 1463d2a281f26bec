"""The Zalo adapter against a local fake Zalo Bot API.

Each test reads like a conversation: a farmer does something in Zalo, the inbox gets a neutral
event (saved before Zalo is acknowledged), the outbox's sender renders what the bot says and the
fake server records it. Zalo has no buttons, so the bot numbers the options and the person types
a digit; resolving it is the engine's job, not the channel's.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.zalo import SECRET_HEADER, ZaloChannel, ZaloSender
from bot.channels.zalo_render import (
    TEXT_LIMIT,
    render_calls,
    render_text,
    split_text,
    strip_mention,
    to_incoming,
    updates_in,
)
from bot.events import (
    EDIT_MESSAGE_ID,
    FILE_NAME,
    FILE_URL,
    IS_PHOTO,
    RATE_LIMITED,
    Attachment,
    Choice,
    Incoming,
    Kind,
    Reply,
    Request,
    SendStatus,
)
from tests.channels.conftest import RecordingSink
from tests.fakes.zalo_api import BOT_DISPLAY_NAME, FakeZaloApi

TOKEN = "1459232241454765289:TEST-zalo-token"
FARMER = "e4ea2cd5189df1c3a88c"
TRADER = "6ede9afa66b88fe6d6a9"
PHONE = "0912345678"
SECRET = "zalo-webhook-secret"
MENU = "Chào bạn! Bạn muốn làm gì?\n1. Bán\n2. Mua\nTrả lời bằng số (1–2) hoặc gõ tên mục."


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloApi]:
    async with FakeZaloApi() as fake:
        yield fake


@pytest.fixture
async def channel(zalo: FakeZaloApi, sink: RecordingSink) -> AsyncIterator[ZaloChannel]:
    ch = ZaloChannel(TOKEN, zalo.base_url, sink, poll_timeout=1)
    await ch.start_polling()
    yield ch
    await ch.stop()


@pytest.fixture
async def sender(zalo: FakeZaloApi) -> AsyncIterator[ZaloSender]:
    async with ZaloSender(TOKEN, zalo.base_url, timeout=0.5, network_retry_after=2) as s:
        yield s


# -- polling -----------------------------------------------------------------------------------


async def test_text_reaches_the_inbox_and_choices_go_out_numbered(zalo, sink, channel, sender) -> None:
    message_id = zalo.push_text(FARMER, "xin chào", display_name="Nguyễn Thị Lan")

    (event,) = await sink.wait_for(1)
    assert (event.channel, event.chat_id, event.user_id) == ("zalo", FARMER, FARMER)
    assert (event.kind, event.text, event.payload) == (Kind.TEXT, "xin chào", None)
    assert event.display_name == "Nguyễn Thị Lan" and not event.is_group
    assert event.update_id == f"{FARMER}:{message_id}"  # derived: Zalo sends no update_id

    await sender.send(FARMER, Reply("Chào bạn! Bạn muốn làm gì?", (Choice("Bán", "s"), Choice("Mua", "b"))))
    (sent,) = await zalo.wait_for_calls("sendMessage")
    assert sent.chat_id == FARMER
    assert sent.text == MENU


async def test_typed_digit_reaches_the_inbox_as_plain_text(zalo, sink, channel) -> None:
    zalo.push_text(FARMER, "/start")
    zalo.push_text(FARMER, "2")  # "Mua"; the engine maps it to the button's payload

    _, typed = await sink.wait_for(2)
    assert (typed.kind, typed.text, typed.payload) == (Kind.TEXT, "2", None)


async def test_startup_checks_the_token_and_removes_a_webhook(zalo, channel) -> None:
    assert [c.method for c in zalo.calls[:2]] == ["getMe", "deleteWebhook"]
    assert zalo.calls[0].token == TOKEN  # …/bot<TOKEN>/getMe, as documented
    assert channel.me is not None and channel.me["account_name"] == "bot.NongSanTest"


async def test_wrong_server_fails_loudly_at_start(sink) -> None:
    async with FakeZaloApi(reject_methods={"getMe"}) as api:
        ch = ZaloChannel(TOKEN, api.base_url, sink, poll_timeout=1)
        with pytest.raises(Exception, match="getMe"):
            await ch.start_polling()
        await ch.stop()


async def test_stickers_images_and_groups(zalo, sink, channel) -> None:
    zalo.push_sticker(FARMER)
    zalo.push_image(FARMER, caption="na loại 1")
    zalo.push_text(TRADER, "@NongSanBot giá na", chat_id="grp-hop-tac-xa", chat_type="GROUP")

    events = await sink.wait_for(3)
    sticker, image = [e for e in events if e.chat_id == FARMER]  # one chat: in order
    (group,) = [e for e in events if e.chat_id != FARMER]
    assert (sticker.kind, sticker.text) == (Kind.OTHER, None)
    assert (image.kind, image.text) == (Kind.OTHER, None)  # a caption is not a typed answer
    assert group.is_group and (group.chat_id, group.user_id) == ("grp-hop-tac-xa", TRADER)
    assert group.kind is Kind.TEXT


async def test_in_a_group_only_mentions_of_the_bot_and_commands_are_addressed(zalo, sink) -> None:
    ch = ZaloChannel(TOKEN, zalo.base_url, sink, poll_timeout=1, bot_name=BOT_DISPLAY_NAME)
    await ch.start_polling()
    try:
        zalo.add_group("grp-htx", FARMER, TRADER)
        zalo.push_group_text("grp-htx", FARMER, "giá na hôm nay?", mention=True)  # "@NongSanBot giá na..."
        zalo.push_group_text("grp-htx", TRADER, "@nong san bot: giá hồng")
        zalo.push_group_text("grp-htx", TRADER, "/gia na")
        zalo.push_group_text("grp-htx", FARMER, "mai ai đi chợ không?")  # the members' own talk
        zalo.push_group_text("grp-htx", FARMER, "@NongSanBotX ơi")  # another name, not ours
        zalo.push_sticker(FARMER, chat_id="grp-htx", chat_type="GROUP")
        zalo.push_text(FARMER, "giá na")  # private: always meant for the bot
        events = await sink.wait_for(7)
    finally:
        await ch.stop()
    assert ch.names == ("NongSanBot", "bot.NongSanTest", "NongSanTest")  # and getMe's account name
    assert [(e.text, e.is_group, e.addressed) for e in events] == [
        ("giá na hôm nay?", True, True),  # the mention is how she called the bot, not what she asked
        ("giá hồng", True, True),
        ("/gia na", True, True),
        ("mai ai đi chợ không?", True, False),
        ("@NongSanBotX ơi", True, False),
        (None, True, False),  # nobody mentions a bot with a sticker
        ("giá na", False, True),
    ]


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("@NongSanBot giá na", "giá na"),
        ("@nongsanbot giá na", "giá na"),
        ("@Nông Sản Bot, giá na", "giá na"),
        ("cho hỏi @NongSanBot giá na hôm nay", "cho hỏi giá na hôm nay"),
        ("@NongSanBot", ""),
        ("@NongSanBotX giá na", None),
        ("NongSanBot giá na", None),
        ("@Lan giá na", None),
    ],
)
def test_a_mention_is_found_whatever_the_case_spaces_and_diacritics(text: str, left: str | None) -> None:
    assert strip_mention(text, ("NongSanBot",)) == left


def test_an_addressed_event_survives_the_inbox_and_a_group_chatter_one_too() -> None:
    update = {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": FARMER, "display_name": "Lan", "is_bot": False},
            "chat": {"id": "grp-htx", "chat_type": "GROUP"},
            "text": "mai ai đi chợ không?",
            "message_id": "a1",
        },
    }
    chatter = to_incoming(update, names=("NongSanBot",))
    assert chatter is not None and not chatter.addressed
    assert chatter.to_json()["addressed"] is False
    assert Incoming.from_json(chatter.to_json()) == chatter
    private = to_incoming({**update, "message": {**update["message"], "chat": {"id": FARMER}}})
    assert private is not None and private.addressed and "addressed" not in private.to_json()


async def test_bots_and_updates_without_a_message_are_ignored(zalo, sink, channel) -> None:
    zalo.push_update({"event_name": "message.unsupported.received"})
    zalo.push_text("bot-2", "xin chào", is_bot=True)
    zalo.push_text(FARMER, "chào")

    (event,) = await sink.wait_for(1)
    assert event.user_id == FARMER
    await asyncio.sleep(0.05)
    assert len(sink.events) == 1


async def test_tolerates_a_list_result_and_errors_inside_http_200(sink) -> None:
    async with FakeZaloApi(result_as_list=True, errors_with_http_200=True) as api:
        ch = ZaloChannel(TOKEN, api.base_url, sink, poll_timeout=1)
        await ch.start_polling()
        try:
            await asyncio.sleep(1.2)  # one empty long poll: "ok": false, 408, inside a 200
            api.push_text(FARMER, "một")
            api.push_text(TRADER, "hai")
            events = await sink.wait_for(2)
            assert sorted(e.text or "" for e in events) == ["hai", "một"]
        finally:
            await ch.stop()


async def test_long_text_is_split_on_line_boundaries(zalo, sender) -> None:
    lines = [f"{i:03d}. Hộ {i}: 1.500 kg na Chi Lăng, điểm tập kết Quang Lang" for i in range(120)]
    await sender.send(FARMER, Reply("\n".join(lines)))

    expected = len(split_text("\n".join(lines)))
    sent = await zalo.wait_for_calls("sendMessage", expected)
    texts = [c.text or "" for c in sent]
    assert expected >= 3 and all(c.ok for c in sent)
    assert all(len(t) <= TEXT_LIMIT for t in texts)
    assert "\n".join(texts).splitlines() == lines  # nothing lost, no line cut in two


async def test_messages_are_kept_until_the_inbox_saves_them(zalo, sink, channel) -> None:
    sink.failing = True  # the database is down; Zalo's getUpdates has no offset to hold them back
    zalo.push_text(FARMER, "na loại 1 còn không?")
    async with asyncio.timeout(5):
        while sink.calls < 2:
            await asyncio.sleep(0.05)
    sink.failing = False
    (event,) = await sink.wait_for(1, timeout=10)
    assert event.text == "na loại 1 còn không?"


async def test_polling_backs_off_after_errors_and_keeps_going(zalo, channel, sink) -> None:
    zalo.fail_next_polls(1, status=502)
    await asyncio.sleep(0.05)
    zalo.push_text(FARMER, "vẫn đó chứ?")
    (event,) = await sink.wait_for(1, timeout=5)
    assert event.text == "vẫn đó chứ?"


# -- rendering -------------------------------------------------------------------------------------


def test_phone_request_asks_to_type_the_number() -> None:
    reply = Reply("Số điện thoại của bạn?", (Choice("📱 Gửi số điện thoại", ""),), request=Request.PHONE)
    assert render_text(reply) == "Số điện thoại của bạn?\n(Gõ số điện thoại của bạn)"


def test_attachment_becomes_a_note_after_the_caption() -> None:
    reply = Reply("Báo cáo tuần", attachment=Attachment("bao-cao.csv", b"a;b\n1;2\n"))
    assert render_text(reply).splitlines() == ["Báo cáo tuần", "(Không gửi được tệp «bao-cao.csv» qua Zalo.)"]


def test_a_photo_link_goes_by_sendphoto_with_its_caption_and_a_document_as_a_link() -> None:
    url = "https://nongsan.example.vn/files/ab12/gia-na.png?exp=1&sig=00"
    photo = Reply("Biểu đồ giá na", extras={FILE_URL: url, FILE_NAME: "gia-na.png", IS_PHOTO: True})
    assert render_calls(photo) == [("sendPhoto", {"photo": url, "caption": "Biểu đồ giá na"})]
    long = Reply("na " * 1000, extras=photo.extras)  # too long for one caption: the texts follow
    calls = render_calls(long)
    assert calls[0] == ("sendPhoto", {"photo": url}) and [m for m, _p in calls[1:]] == ["sendMessage"] * 2
    document = Reply("Dữ liệu của bạn", extras={FILE_URL: url, FILE_NAME: "du-lieu.xlsx", IS_PHOTO: False})
    assert render_calls(document) == [
        ("sendMessage", {"text": f"Dữ liệu của bạn\n📎 Tải tệp «du-lieu.xlsx»: {url}"})
    ]


def test_split_breaks_an_overlong_line_at_spaces() -> None:
    text = " ".join(["hồng vành khuyên"] * 300)  # one 4799-character line
    chunks = split_text(text)
    assert len(chunks) == 3 and all(len(c) <= TEXT_LIMIT for c in chunks)
    assert "".join(chunks) == text
    assert all(c.endswith(" ") for c in chunks[:-1])  # never in the middle of a word


def test_wrapped_and_flat_update_shapes_give_the_same_event() -> None:
    message: dict[str, Any] = {
        "from": {"id": FARMER, "display_name": "Lan", "is_bot": False},
        "chat": {"id": FARMER, "chat_type": "PRIVATE"},
        "text": "Xin chào",
        "message_id": "16f6366b3f02645a3d15",
        "date": 1766619597466,
    }
    update = {"event_name": "message.text.received", "message": message}
    (flat,) = [to_incoming(u) for u in updates_in(update)]
    (wrapped,) = [to_incoming(u) for u in updates_in({"ok": True, "result": update})]
    assert flat == wrapped and flat is not None and flat.update_id == f"{FARMER}:16f6366b3f02645a3d15"
    no_id = {**update, "message": {k: v for k, v in message.items() if k != "message_id"}}
    first, again = to_incoming(no_id), to_incoming(no_id)
    assert first is not None and again is not None and first.update_id == again.update_id
    assert (first.update_id or "").startswith("h:")


# -- webhook -----------------------------------------------------------------------------------


@pytest.fixture
async def webhook(zalo: FakeZaloApi, sink: RecordingSink) -> AsyncIterator[tuple[ZaloChannel, TestClient]]:
    ch = ZaloChannel(TOKEN, zalo.base_url, sink, webhook_secret=SECRET)
    await ch.start_webhook("https://bot.example.vn/webhook/zalo")
    app = web.Application()
    app.router.add_post("/webhook/zalo", ch.handle_webhook)
    async with TestClient(TestServer(app)) as client:
        yield ch, client
    await ch.stop()


async def test_webhook_answers_200_only_once_the_update_is_saved(zalo, sink, webhook) -> None:
    _, client = webhook
    assert (zalo.webhook_url, zalo.webhook_secret) == ("https://bot.example.vn/webhook/zalo", SECRET)

    flat = zalo.make_update(FARMER, text="giá na")
    wrapped = {"ok": True, "result": zalo.make_update(TRADER, text="mua hồng")}
    for body in (flat, wrapped):
        resp = await client.post("/webhook/zalo", json=body, headers={SECRET_HEADER: SECRET})
        assert resp.status == 200
    assert sorted((e.chat_id, e.text) for e in sink.events) == [(TRADER, "mua hồng"), (FARMER, "giá na")]
    sink.failing = True
    resp = await client.post("/webhook/zalo", json=flat, headers={SECRET_HEADER: SECRET})
    assert resp.status == 503  # Zalo delivers it again later


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong-secret"}])
async def test_webhook_with_wrong_or_missing_secret_is_forbidden(zalo, sink, webhook, headers) -> None:
    _, client = webhook
    resp = await client.post("/webhook/zalo", json=zalo.make_update(FARMER, text="hi"), headers=headers)
    assert resp.status == 403
    await asyncio.sleep(0.05)
    assert sink.events == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"{not json", "not JSON"), (b"[1, 2]", "not a Zalo update"), (b'{"hello": 1}', "not a Zalo update")],
)
async def test_webhook_with_malformed_body_is_rejected(sink, webhook, body, reason) -> None:
    _, client = webhook
    resp = await client.post(
        "/webhook/zalo", data=body, headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert reason in await resp.text()
    assert sink.events == []


async def test_webhook_mode_needs_a_long_enough_secret(zalo, sink) -> None:
    ch = ZaloChannel(TOKEN, zalo.base_url, sink, webhook_secret="short")
    with pytest.raises(ValueError, match="8-256"):
        await ch.start_webhook("https://bot.example.vn/webhook/zalo")
    assert zalo.calls_to("setWebhook") == []


# -- outbox sender -----------------------------------------------------------------------------


async def test_sender_delivers_with_the_same_rendering(zalo, sender) -> None:
    result = await sender.send(FARMER, Reply("Bạn muốn làm gì?", (Choice("Bán", "s"), Choice("Mua", "b"))))
    assert result.status is SendStatus.SENT and result.message_id
    assert zalo.texts_to(FARMER) == [
        "Bạn muốn làm gì?\n1. Bán\n2. Mua\nTrả lời bằng số (1–2) hoặc gõ tên mục."
    ]


async def test_sender_cannot_edit_so_an_update_arrives_as_a_new_message(zalo, sender) -> None:
    first = await sender.send(FARMER, Reply("đã gửi 10/100"))
    update = await sender.send(FARMER, Reply("đã gửi 50/100", extras={EDIT_MESSAGE_ID: first.message_id}))
    assert update.status is SendStatus.SENT and update.message_id != first.message_id
    assert zalo.texts_to(FARMER) == ["đã gửi 10/100", "đã gửi 50/100"]


@pytest.mark.parametrize(
    ("setup", "status", "error"),
    [
        # Zalo says 403 for a bot it blocked and for passing faults alike: never final at once.
        (lambda api: api.blocked_chats.add(FARMER), SendStatus.REFUSED, "403"),
        (lambda api: api.fail_next_sends(1, 403, "Internal server error"), SendStatus.REFUSED, "403"),
        (lambda api: api.unknown_chats.add(FARMER), SendStatus.REFUSED, "not found"),
        (lambda api: api.fail_next_429(1, retry_after=3), SendStatus.RETRY, RATE_LIMITED),
        (lambda api: api.fail_next_sends(1, 408, "Request timeout"), SendStatus.RETRY, "408"),
        (lambda api: api.fail_next_sends(1, 502, "Bad gateway"), SendStatus.RETRY, "502"),
        (lambda api: api.reject_methods.add("sendMessage"), SendStatus.FAILED, "400"),
        (lambda api: api.slow_sends(2), SendStatus.UNKNOWN, "no answer"),
    ],
    ids=["blocked", "passing-403", "unknown-chat", "rate-limited", "408", "5xx", "bad-request", "timeout"],
)
async def test_sender_maps_errors_to_statuses(zalo, sender, setup, status, error) -> None:
    setup(zalo)
    result = await sender.send(FARMER, Reply("Giá tham chiếu na hôm nay: 25.000 ₫/kg"))
    assert result.status is status
    assert error in (result.error or "")
    if error == RATE_LIMITED:
        assert result.retry_after == 3


async def test_sender_reports_a_refused_connection_as_retry_without_raising() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sender = ZaloSender(TOKEN, f"http://127.0.0.1:{port}/bot", network_retry_after=2)
    try:
        result = await sender.send(FARMER, Reply("xin chào"))
        assert (result.status, result.retry_after) == (SendStatus.RETRY, 2)
        assert TOKEN not in (result.error or "")
        assert (await sender.send(FARMER, Reply("   "))).status is SendStatus.FAILED  # empty reply
    finally:
        await sender.stop()


async def test_sender_does_not_resend_parts_already_delivered(zalo, sender) -> None:
    long = Reply("\n".join(f"Dòng {i}: " + "na " * 30 for i in range(40)))  # two messages
    original_answer = zalo._answer
    sends = 0

    async def second_part_rate_limited(call):  # type: ignore[no-untyped-def]
        nonlocal sends
        if call.method == "sendMessage":
            sends += 1
            if sends == 2:
                zalo.fail_next_429(1, retry_after=1)
        return await original_answer(call)

    zalo._answer = second_part_rate_limited
    first = await sender.send(FARMER, long)
    second = await sender.send(FARMER, long)
    assert (first.status, first.error, second.status) == (SendStatus.RETRY, RATE_LIMITED, SendStatus.SENT)
    assert "\n".join(zalo.texts_to(FARMER)) == long.text  # part one once, part two once
