"""Zalo rendering of neutral replies and conversion of Zalo Bot API updates to neutral events.

Shared by :class:`bot.channels.zalo.ZaloChannel` (direct replies) and
:class:`bot.channels.zalo.ZaloSender` (outbox), so both send exactly the same thing.
Pure functions, no I/O: the HTTP side lives in :mod:`bot.channels.zalo`.

Zalo has no buttons, so choices become numbered lines followed by a hint; the conversation engine
resolves a typed digit, a label, or a label typed without diacritics (``bot.engine.menus``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from bot.channels import textsplit
from bot.channels.numbered import options_lines
from bot.events import Incoming, Kind, Reply
from bot.i18n import _

__all__ = [
    "CHANNEL",
    "TEXT_LIMIT",
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


def render_text(reply: Reply) -> str:
    """A reply as one plain text: numbered options and a hint instead of buttons."""
    lines = [reply.text] if reply.text.strip() else []
    lines += options_lines(reply)
    if reply.attachment is not None:
        # sendPhoto takes a public URL only; the Bot API has no upload of bytes.
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
