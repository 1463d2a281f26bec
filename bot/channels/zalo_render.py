"""Zalo rendering of neutral replies and conversion of Zalo Bot API updates to neutral events.

Shared by :class:`bot.channels.zalo.ZaloChannel` (direct replies) and
:class:`bot.channels.zalo.ZaloSender` (outbox), so both send exactly the same thing.
Pure functions, no I/O: the HTTP side lives in :mod:`bot.channels.zalo`.

Zalo has no buttons, so choices become numbered lines followed by a hint; the dialog engine
resolves a typed digit, a label, or a label typed without diacritics (``bot.pipeline``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from bot.channels import textsplit
from bot.channels.numbered import options_lines
from bot.events import FILE_NAME, FILE_URL, IS_PHOTO, Incoming, Kind, Reply
from bot.i18n import _

__all__ = [
    "CHANNEL",
    "TEXT_LIMIT",
    "photo_url",
    "render_calls",
    "render_messages",
    "render_text",
    "split_text",
    "to_incoming",
    "updates_in",
]

CHANNEL = "zalo"
# sendMessage: "text ... với độ dài từ 1 đến 2000 ký tự" (Zalo Bot API docs, sendMessage).
TEXT_LIMIT = 2000
EVENT_TEXT = "message.text.received"
UPDATE_ID_LIMIT = 64  # processed_updates.update_id is a String(64)


# -- incoming ----------------------------------------------------------------------------------


def updates_in(result: Any) -> Iterator[dict[str, Any]]:
    """The updates in a getUpdates ``result`` or a webhook body, whatever the wrapping.

    The docs show ``result`` as a single update object; lists, ``null`` (nothing new) and a
    flat webhook body (``{"event_name": ..., "message": ...}``) are accepted too.
    """
    if isinstance(result, list):
        for item in result:
            yield from updates_in(item)
    elif isinstance(result, dict):
        if "result" in result and "message" not in result and "event_name" not in result:
            yield from updates_in(result["result"])
        elif "message" in result or "event_name" in result:
            yield result


def derived_update_id(message: dict[str, Any], chat_id: str) -> str:
    """A stable duplicate-detection key: Zalo sends no ``update_id``, so use the message's id.

    ``chat:message_id`` when it fits the 64-character column; otherwise (or without a
    message_id) a digest of the same data, so a redelivered update always gets the same key.
    """
    message_id = message.get("message_id")
    if isinstance(message_id, str | int) and str(message_id):
        key = f"{chat_id}:{message_id}"
        if len(key) <= UPDATE_ID_LIMIT:
            return key
        source = key
    else:
        # No id at all: the whole message is what a redelivery would repeat byte for byte.
        source = json.dumps(message, sort_keys=True, ensure_ascii=False, default=str)
    return "h:" + hashlib.sha256(source.encode()).hexdigest()[:48]


def _str_id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def to_incoming(update: dict[str, Any]) -> Incoming | None:
    """Translate one Zalo update; ``None`` when it is not a person talking to the bot.

    ``message.text.received`` becomes :attr:`Kind.TEXT`; images, stickers and every other
    event become :attr:`Kind.OTHER` (answered politely, never parsed).
    """
    message = update.get("message")
    if not isinstance(message, dict):
        return None  # "unsupported" events without a message, "bot added to group"...
    raw_from, raw_chat = message.get("from"), message.get("chat")
    sender: dict[str, Any] = raw_from if isinstance(raw_from, dict) else {}
    chat: dict[str, Any] = raw_chat if isinstance(raw_chat, dict) else {}
    if sender.get("is_bot") is True:
        return None  # never answer bots: two bots would talk to each other forever
    user_id = _str_id(sender.get("id"))
    chat_id = _str_id(chat.get("id")) or user_id
    if user_id is None:
        user_id = chat_id
    if chat_id is None or user_id is None:
        return None
    name = sender.get("display_name") or sender.get("name") or sender.get("first_name")
    event_name = update.get("event_name")
    text = message.get("text")
    is_text = isinstance(text, str) and (event_name == EVENT_TEXT or event_name is None)
    return Incoming(
        channel=CHANNEL,
        chat_id=chat_id,
        user_id=user_id,
        kind=Kind.TEXT if is_text else Kind.OTHER,
        text=text if is_text else None,
        update_id=derived_update_id(message, chat_id),
        display_name=name if isinstance(name, str) and name.strip() else None,
        is_group=str(chat.get("chat_type", "")).upper() == "GROUP",
    )


# -- outgoing ----------------------------------------------------------------------------------


def _file_url(reply: Reply) -> str | None:
    url = reply.extras.get(FILE_URL)
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def photo_url(reply: Reply) -> str | None:
    """The address of the photo to send with ``reply`` (a signed link from ``bot.files``), if any."""
    return _file_url(reply) if reply.extras.get(IS_PHOTO) else None


def render_text(reply: Reply) -> str:
    """A reply as one plain text: numbered options and a hint instead of buttons, a document as
    its download link (a photo goes by sendPhoto, see :func:`render_calls`)."""
    lines = [reply.text] if reply.text.strip() else []
    lines += options_lines(reply)
    url = _file_url(reply)
    if url is not None and photo_url(reply) is None:
        name = reply.extras.get(FILE_NAME) or ""
        lines.append(_("📎 Tải tệp «{name}»: {url}").format(name=name, url=url))
    elif reply.attachment is not None:
        # The bytes themselves cannot go: sendPhoto takes a URL only, and the Bot API has no upload.
        lines.append(_("(Không gửi được tệp «{name}» qua Zalo.)").format(name=reply.attachment.filename))
    return "\n".join(lines)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split ``text`` into messages of at most ``limit`` units, on line boundaries when possible."""
    return textsplit.split_text(text, limit)


def render_messages(reply: Reply, limit: int = TEXT_LIMIT) -> list[str]:
    """The texts to send for ``reply``, in order (each a sendMessage); raises on an empty reply."""
    messages = split_text(render_text(reply), limit)
    if not messages:
        raise ValueError("empty reply: nothing to send")
    return messages


def render_calls(reply: Reply, limit: int = TEXT_LIMIT) -> list[tuple[str, dict[str, str]]]:
    """The Bot API calls that deliver ``reply``, in order, without ``chat_id``; raises on an empty reply.

    A photo goes first, by its URL (sendPhoto), with the text as its caption when it fits in one
    message (captions take 1–2000 characters like texts); otherwise the texts follow it.
    """
    url = photo_url(reply)
    texts = split_text(render_text(reply), limit)
    if url is None:
        if not texts:
            raise ValueError("empty reply: nothing to send")
        return [("sendMessage", {"text": t}) for t in texts]
    if len(texts) == 1:
        return [("sendPhoto", {"photo": url, "caption": texts[0]})]
    return [("sendPhoto", {"photo": url}), *(("sendMessage", {"text": t}) for t in texts)]
