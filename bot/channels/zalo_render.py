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
import re
from collections.abc import Iterator, Sequence
from typing import Any

from bot.channels import textsplit
from bot.channels.numbered import options_lines
from bot.events import FILE_NAME, FILE_URL, IS_PHOTO, Incoming, Kind, Reply
from bot.i18n import _
from bot.textnorm import nfc, strip_diacritics

__all__ = [
    "CHANNEL",
    "TEXT_LIMIT",
    "bot_names",
    "photo_url",
    "render_calls",
    "render_messages",
    "render_text",
    "split_text",
    "strip_mention",
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


def bot_names(me: dict[str, Any] | None, configured: Sequence[str | None] = ()) -> tuple[str, ...]:
    """The names people may mention the bot by: the configured display name, and what getMe tells
    (``account_name`` such as "bot.NongSanBot", with and without its "bot." prefix)."""
    names: list[str] = [n for n in configured if n]
    for key in ("display_name", "name", "account_name"):
        value = (me or {}).get(key)
        if isinstance(value, str) and value.strip():
            names.append(value.strip())
            if value.lower().startswith("bot.") and len(value) > 4:
                names.append(value[4:])
    return tuple(dict.fromkeys(names))


def _folded_chars(text: str) -> tuple[str, list[int]]:
    """``text`` lower-cased without diacritics, and for each folded character its index in ``text``."""
    folded: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for f in strip_diacritics(ch).lower():
            folded.append(f)
            where.append(i)
    return "".join(folded), where


def strip_mention(text: str, names: Sequence[str]) -> str | None:
    """``text`` without the bot's mention ("@Bot Nông Sản giá na" → "giá na"), or None when it
    does not mention the bot.

    Zalo's updates carry no mention entities: the app writes "@" and the display name into the
    text. Matched leniently: case, diacritics, spaces, dots and underscores inside the name are
    ignored ("@NongSanBot" = "@Nông Sản Bot" = "@nong_san_bot"), not a longer name.
    """
    text = nfc(text)
    folded, where = _folded_chars(text)
    for name in sorted(names, key=len, reverse=True):
        letters = [c for c in strip_diacritics(name).lower() if c.isalnum()]
        if not letters:
            continue
        pattern = re.compile("@" + r"[\s._]*".join(re.escape(c) for c in letters) + r"(?![^\W_])")
        m = pattern.search(folded)
        if m is not None:
            start, end = where[m.start()], where[m.end() - 1] + 1
            rest = f"{text[:start].rstrip()} {text[end:].lstrip(' ,:;')}"
            return rest.strip()
    return None


def to_incoming(update: dict[str, Any], *, names: Sequence[str] = ()) -> Incoming | None:
    """Translate one Zalo update; ``None`` when it is not a person talking to the bot.

    ``message.text.received`` becomes :attr:`Kind.TEXT`; images, stickers and every other
    event become :attr:`Kind.OTHER` (answered politely, never parsed). In a group, a message is
    addressed to the bot when it is a slash command or mentions one of the bot's ``names``
    (the mention is taken out of the text); the engine stays out of the rest.
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
    raw_text = message.get("text")
    text = (
        raw_text if isinstance(raw_text, str) and (event_name == EVENT_TEXT or event_name is None) else None
    )
    is_group = str(chat.get("chat_type", "")).upper() == "GROUP"
    addressed = True
    if is_group:
        unmentioned = strip_mention(text, names) if text is not None and names else None
        addressed = unmentioned is not None or (text is not None and text.lstrip().startswith("/"))
        if unmentioned is not None:
            text = unmentioned
    return Incoming(
        channel=CHANNEL,
        chat_id=chat_id,
        user_id=user_id,
        kind=Kind.TEXT if text is not None else Kind.OTHER,
        text=text,
        update_id=derived_update_id(message, chat_id),
        display_name=name if isinstance(name, str) and name.strip() else None,
        is_group=is_group,
        addressed=addressed,
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
