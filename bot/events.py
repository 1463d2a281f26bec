"""Neutral messenger events: what a channel adapter hands in and what it renders out.

Nothing here knows about a particular messenger; adapters in ``bot.channels`` translate.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class Kind(enum.StrEnum):
    """What a person did."""

    TEXT = "text"
    BUTTON = "button"
    CONTACT = "contact"
    LOCATION = "location"
    OTHER = "other"  # sticker, voice, photo...: answered politely, never parsed


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a person sent, in neutral form."""

    channel: str  # the messenger's name, as registered in bot.channels.registry
    chat_id: str
    user_id: str
    kind: Kind
    text: str | None = None
    payload: str | None = None  # button data, at most 64 bytes (the strictest messenger's limit)
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    update_id: str | None = None  # platform update id, for duplicate detection
    display_name: str | None = None
    language_code: str | None = None
    is_group: bool = False
    # Meant for the bot: always in a private chat; in a group, a command, a mention of the bot or
    # (where the messenger shows it) a reply to the bot. The bot stays out of the rest of a group's talk.
    addressed: bool = True

    @property
    def user_key(self) -> str:
        """Stable identity across the system: ``channel:user_id``."""
        return f"{self.channel}:{self.user_id}"

    def to_json(self) -> dict[str, Any]:
        """Serialisable form, stored in the inbox (only the fields that differ from their default)."""
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and value != f.default:
                data[f.name] = value.value if isinstance(value, enum.Enum) else value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incoming:
        """Inverse of :meth:`to_json`."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["kind"] = Kind(values.get("kind", Kind.OTHER))
        return cls(**values)

    def cleaned(self) -> Incoming:
        """The same event with every typed string made safe (see :func:`clean_text`)."""
        return dataclasses.replace(
            self,
            text=clean_text(self.text) if self.text is not None else None,
            payload=clean_text(self.payload, keep_newlines=False) if self.payload is not None else None,
            phone=clean_text(self.phone, keep_newlines=False) if self.phone is not None else None,
            display_name=(
                clean_text(self.display_name, keep_newlines=False) if self.display_name is not None else None
            ),
        )


# C0 and C1 control characters except tab and newline, plus NUL; PostgreSQL refuses NUL in
# text, and none of them means anything in a chat message.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_NO_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _ascii_digit(ch: str) -> str:
    value = unicodedata.decimal(ch, None)
    return str(value) if value is not None else ch


def clean_text(text: str, *, keep_newlines: bool = True) -> str:
    """Typed text as the rest of the bot may assume it: NFC, no control characters, ASCII digits.

    Digits from other scripts ("١٢", fullwidth "１２") become 0-9 so every number parser reads them.
    """
    text = unicodedata.normalize("NFC", text)
    text = (_CONTROL if keep_newlines else _CONTROL_NO_NEWLINE).sub("", text.replace("\r\n", "\n"))
    if not text.isascii():
        text = "".join(_ascii_digit(ch) if ch.isdecimal() and not ch.isascii() else ch for ch in text)
    return text


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: the label a person sees and the payload the bot gets back."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a messenger can do, declared by its adapter; the engine renders and words by these.

    Nothing outside ``bot.channels`` asks which messenger it is, only what it can do.
    """

    display_name: str  # as people call the messenger
    buttons: bool  # tappable buttons under a message (else numbered lines to answer by typing)
    edits: bool  # a sent message can be changed in place
    contact_request: bool  # a button that shares the person's phone number
    location_request: bool  # a button that shares the person's location
    files: str  # "upload" (bytes), "url" (a link the messenger fetches) or "none"
    max_length: int  # characters in one message
    groups: bool  # the bot can be in group chats
    paid_broadcast: bool = False  # faster broadcasts for a fee (paid in the messenger's own currency)
    public: bool = True  # anyone may write (a fair share per person applies); not a local chat


class Request(enum.StrEnum):
    """Special keyboards asking the phone to share something."""

    PHONE = "phone"
    LOCATION = "location"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo or a document sent with a reply."""

    filename: str
    data: bytes
    is_photo: bool = False


# Reply.extras keys. REPLACES: the dedupe key of an earlier outbox row to the same chat whose
# message this one should replace; the outbox worker turns it into EDIT_MESSAGE_ID (the
# platform's id of that message) for the sender. Senders that cannot edit send a new message.
REPLACES = "replaces"
EDIT_MESSAGE_ID = "edit_message_id"
SYNONYMS = "synonyms"  # per choice, typed words that also mean it (see Reply.menu)
# A question answered by typing (a name, a quantity): once it reaches the chat, a number typed
# answers it rather than an older numbered list.
TYPED_QUESTION = "typed_question"
# For messengers that fetch files by URL, an attachment travels as a signed link to the bot's own
# web server (``bot.files``): its address, its name and whether it is a photo.
FILE_URL = "file_url"
FILE_NAME = "file_name"
IS_PHOTO = "is_photo"


@dataclass(frozen=True, slots=True)
class Reply:
    """One message the bot sends: text, optional buttons, optional request or attachment."""

    text: str
    choices: tuple[Choice, ...] = ()
    columns: int = 1  # buttons per row where there are buttons; numbered lines ignore it
    request: Request | None = None
    attachment: Attachment | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # Take away a phone/location keyboard shown earlier (messengers that have one).
    remove_keyboard: bool = False

    def menu(self) -> list[list[Any]]:
        """[label, payload, synonyms] of the choices a person may answer by typing, once delivered."""
        synonyms = self.extras.get(SYNONYMS) or [[] for _ in self.choices]
        return [
            [c.label, c.payload, list(syn)]
            for c, syn in zip(self.choices, synonyms, strict=False)
            if c.payload
        ]

    def to_json(self) -> dict[str, Any]:
        """Serialisable form, stored in the outbox."""
        data: dict[str, Any] = {"text": self.text}
        if self.choices:
            data["choices"] = [[c.label, c.payload] for c in self.choices]
            data["columns"] = self.columns
        if self.request:
            data["request"] = self.request.value
        if self.attachment:
            a = self.attachment
            data["attachment"] = {
                "filename": a.filename,
                "data": base64.b64encode(a.data).decode("ascii"),
                "is_photo": a.is_photo,
            }
        if self.extras:
            data["extras"] = self.extras
        if self.remove_keyboard:
            data["remove_keyboard"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        """Inverse of :meth:`to_json`."""
        att = data.get("attachment")
        return cls(
            text=data["text"],
            choices=tuple(Choice(label, payload) for label, payload in data.get("choices", ())),
            columns=data.get("columns", 1),
            request=Request(data["request"]) if data.get("request") else None,
            attachment=(
                Attachment(att["filename"], base64.b64decode(att["data"]), att.get("is_photo", False))
                if att
                else None
            ),
            extras=data.get("extras", {}),
            remove_keyboard=bool(data.get("remove_keyboard", False)),
        )


class SendStatus(enum.StrEnum):
    """How one delivery attempt ended."""

    SENT = "sent"
    RETRY = "retry"  # certainly not delivered (429, 5xx, no connection): try again after ``retry_after``
    BLOCKED = "blocked"  # the person blocked the bot or the chat is gone: never retry
    # The messenger refused this chat, which may pass: it gives the same answer for a passing fault
    # as for a bot it blocked. Retried like RETRY; the person counts as blocked only after repeated
    # refusals over time (see ``bot.outbox.BlockPolicy``).
    REFUSED = "refused"
    FAILED = "failed"  # permanent error (bad request): never retry
    # The request went out but no answer came back: it may have arrived. Never repeated blindly.
    UNKNOWN = "unknown"


# SendResult.error for a platform's "too many requests": the pause applies to the whole bot.
RATE_LIMITED = "rate limited"


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of :meth:`Sender.send`."""

    status: SendStatus
    retry_after: float = 0.0
    error: str | None = None
    message_id: str | None = None


class Sender(Protocol):
    """What the outbox needs from a channel: deliver one reply to one chat."""

    channel: str

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        """Deliver ``reply``; never raises for platform errors, reports them in the result."""
        ...


class UpdateSink(Protocol):
    """Where a channel hands what it received: the inbox.

    Returns once the events are saved (committed); only then may the channel acknowledge them
    to the messenger (answer the webhook 200, move the polling offset). Raises if they could
    not be saved, and the channel must then let the messenger deliver them again.
    """

    async def __call__(self, events: Sequence[Incoming]) -> int: ...
