"""Telegram rendering of neutral replies and conversion of updates to neutral events.

Shared by :class:`bot.channels.telegram.TelegramChannel` (direct replies) and
:class:`bot.channels.telegram.TelegramSender` (outbox), so both send exactly the same thing.
Texts go out as plain text (no parse mode), so nothing a person or a flow writes needs escaping.
"""

from __future__ import annotations

import re

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.channels import textsplit
from bot.channels.textsplit import utf16_units
from bot.events import Choice, Incoming, Kind, Reply, Request

__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "edit_reply",
    "send_reply",
    "split_text",
    "telegram_chat_id",
    "to_incoming",
]

CHANNEL = "telegram"
TEXT_LIMIT = 4096  # Telegram counts UTF-16 code units
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes

# Used only when a flow sends a request keyboard without a label; flows should pass one.
DEFAULT_REQUEST_LABELS = {
    Request.PHONE: "📱 Chia sẻ số điện thoại",
    Request.LOCATION: "📍 Gửi vị trí",
}


def telegram_chat_id(chat_id: str | int) -> int | str:
    """Numeric chat ids as int; ``@channel`` usernames stay strings."""
    if isinstance(chat_id, int):
        return chat_id
    return int(chat_id) if re.fullmatch(r"-?\d+", chat_id) else chat_id


# -- incoming ----------------------------------------------------------------------------------


def _strip_mention(text: str, bot_username: str | None) -> str:
    """``/start@our_bot args`` → ``/start args``: in groups Telegram addresses commands that way."""
    if not bot_username or not text.startswith("/"):
        return text
    command, sep, rest = text.partition(" ")
    name, at, target = command.partition("@")
    if at and target.lower() == bot_username.lower():
        return name + sep + rest
    return text


def _mentions_bot(msg: Message, bot_username: str | None, bot_id: int | None) -> bool:
    """True when the message names the bot: "@username" (a mention entity) or a text mention."""
    for entity, value in msg.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if entity.type == MessageEntity.TEXT_MENTION:
            if entity.user is not None and bot_id is not None and entity.user.id == bot_id:
                return True
        elif bot_username and value.lstrip("@").lower() == bot_username.lower():
            return True
    return False


def _without_username(text: str, bot_username: str | None) -> str:
    """``@our_bot giá na`` → ``giá na``: the mention is how the person called the bot, not what they asked."""
    if not bot_username:
        return text
    return re.sub(rf"(?<!\w)@{re.escape(bot_username)}\b[\s,:]*", "", text, flags=re.IGNORECASE).strip()


def _addressed(msg: Message, text: str | None, bot_username: str | None, bot_id: int | None) -> bool:
    """In a group, whether a message is meant for the bot: a command, a mention, a reply to it."""
    if text is not None and text.startswith("/"):
        return True
    replied = msg.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    return _mentions_bot(msg, bot_username, bot_id)


def to_incoming(
    update: Update, *, bot_username: str | None = None, bot_id: int | None = None
) -> Incoming | None:
    """Translate a PTB update; ``None`` for updates that are not a person talking to the bot.

    In a group, ``addressed`` tells whether the bot is meant (a command, a mention of
    ``bot_username``, a reply to one of the bot's messages, a button); the mention is taken out
    of the text.
    """
    update_id = str(update.update_id)
    cq = update.callback_query
    if cq is not None:
        user = cq.from_user
        chat = cq.message.chat if cq.message is not None else None
        return Incoming(
            channel=CHANNEL,
            chat_id=str(chat.id if chat is not None else user.id),
            user_id=str(user.id),
            kind=Kind.BUTTON if cq.data is not None else Kind.OTHER,
            payload=cq.data,
            update_id=update_id,
            display_name=user.full_name,
            language_code=user.language_code,
            is_group=chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP),
        )

    edited = update.edited_message is not None
    msg = update.message or update.edited_message
    # Channel posts, membership changes, polls...: nobody to answer.
    if msg is None or msg.from_user is None or msg.from_user.is_bot:
        return None
    user = msg.from_user
    chat_id = str(msg.chat.id)
    is_group = msg.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    base = {
        "channel": CHANNEL,
        "chat_id": chat_id,
        "user_id": str(user.id),
        "update_id": update_id,
        "display_name": user.full_name,
        "language_code": user.language_code,
        "is_group": is_group,
        "addressed": not is_group or _addressed(msg, msg.text, bot_username, bot_id),
    }
    if edited:
        return Incoming(kind=Kind.OTHER, **base)  # type: ignore[arg-type]
    if msg.text is not None:
        # A reply-keyboard button arrives as its label; the engine reads labels like typed text.
        text = _strip_mention(msg.text, bot_username)
        if is_group and not text.startswith("/"):
            text = _without_username(text, bot_username)
        return Incoming(kind=Kind.TEXT, text=text, **base)  # type: ignore[arg-type]
    if msg.contact is not None:
        # Only the person's own number counts: anyone can forward someone else's contact card.
        if msg.contact.user_id is not None and msg.contact.user_id == user.id:
            return Incoming(kind=Kind.CONTACT, phone=msg.contact.phone_number, **base)  # type: ignore[arg-type]
        return Incoming(kind=Kind.OTHER, **base)  # type: ignore[arg-type]
    if msg.location is not None:
        loc = msg.location
        return Incoming(kind=Kind.LOCATION, latitude=loc.latitude, longitude=loc.longitude, **base)  # type: ignore[arg-type]
    return Incoming(kind=Kind.OTHER, **base)  # type: ignore[arg-type]


# -- outgoing ----------------------------------------------------------------------------------


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split ``text`` into Telegram messages of at most ``limit`` UTF-16 units, on line boundaries if possible."""
    return textsplit.split_text(text, limit)


def _rows[T](items: list[T], columns: int) -> list[list[T]]:
    step = max(1, columns)
    return [items[i : i + step] for i in range(0, len(items), step)]


def _inline_markup(choices: tuple[Choice, ...], columns: int) -> InlineKeyboardMarkup:
    for c in choices:
        if not c.payload or len(c.payload.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError(f"button payload must be 1-{CALLBACK_DATA_LIMIT} bytes")
    buttons = [InlineKeyboardButton(c.label, callback_data=c.payload) for c in choices]
    return InlineKeyboardMarkup(_rows(buttons, columns))


def _request_markup(reply: Reply) -> ReplyKeyboardMarkup:
    """Request button first (labelled by the first choice), other choices as text buttons."""
    assert reply.request is not None
    first, *others = reply.choices or (None,)
    label = first.label if first is not None else DEFAULT_REQUEST_LABELS[reply.request]
    request_button = KeyboardButton(
        label,
        request_contact=reply.request is Request.PHONE or None,
        request_location=reply.request is Request.LOCATION or None,
    )
    extra = [KeyboardButton(c.label) for c in others if c is not None]
    rows = [[request_button], *_rows(extra, reply.columns)]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


async def send_reply(bot: Bot, chat_id: str | int, reply: Reply) -> Message:
    """Send one neutral reply (possibly as several messages); returns the last message sent.

    Choices become an inline keyboard on the last message; ``request`` becomes a one-time reply
    keyboard whose first button asks for the phone/location; ``remove_keyboard`` takes such a
    keyboard away. Raises PTB's ``TelegramError``s.
    """
    tg_chat = telegram_chat_id(chat_id)
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None
    if reply.request is not None:
        markup = _request_markup(reply)
    elif reply.choices:
        markup = _inline_markup(reply.choices, reply.columns)
    elif reply.remove_keyboard:
        markup = ReplyKeyboardRemove()

    chunks = split_text(reply.text)
    last: Message | None = None
    att = reply.attachment
    if att is not None:
        fits = len(chunks) <= 1 and utf16_units(reply.text.strip()) <= CAPTION_LIMIT
        caption = (chunks[0] if chunks else None) if fits else None
        media_markup = markup if fits else None
        file = InputFile(att.data, filename=att.filename)
        if att.is_photo:
            last = await bot.send_photo(tg_chat, file, caption=caption, reply_markup=media_markup)
        else:
            last = await bot.send_document(tg_chat, file, caption=caption, reply_markup=media_markup)
        if fits:
            chunks = []
    elif not chunks:
        raise ValueError("empty reply: no text and no attachment")

    paid = bool(reply.extras.get("paid_broadcast"))
    for i, chunk in enumerate(chunks):
        is_last = i == len(chunks) - 1
        last = await bot.send_message(
            tg_chat,
            chunk,
            reply_markup=markup if is_last else None,
            allow_paid_broadcast=True if paid else None,
        )
    assert last is not None
    return last


async def edit_reply(bot: Bot, chat_id: str | int, message_id: str | int, reply: Reply) -> bool:
    """Show ``reply`` in place of the earlier message ``message_id``; False when that cannot be done.

    Only a text reply of one message, with no attachment and no request keyboard, can replace
    a message (Telegram edits text and inline keyboards only). False also when Telegram refuses
    the edit (message deleted, too old, not the bot's...): the caller then sends a new message.
    Telegram's "message is not modified" means it already shows this text, so that counts as done.
    Other errors (blocked, rate limited, network) are raised as PTB's ``TelegramError``s.
    """
    if reply.attachment is not None or reply.request is not None or not re.fullmatch(r"\d+", str(message_id)):
        return False
    chunks = split_text(reply.text)
    if len(chunks) != 1:
        return False
    markup = _inline_markup(reply.choices, reply.columns) if reply.choices else None
    try:
        await bot.edit_message_text(
            chunks[0], chat_id=telegram_chat_id(chat_id), message_id=int(message_id), reply_markup=markup
        )
    except BadRequest as exc:
        return "message is not modified" in exc.message.lower()
    return True
