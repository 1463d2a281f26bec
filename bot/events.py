"""Neutral messenger events: what a channel adapter hands in and what it renders out.

Nothing here knows about Telegram or Zalo; adapters in ``bot.channels`` translate.
"""

from __future__ import annotations

import base64
import enum
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

    channel: str  # "telegram" | "zalo" | "console"
    chat_id: str
    user_id: str
    kind: Kind
    text: str | None = None
    payload: str | None = None  # button data, at most 64 bytes (Telegram's callback_data limit)
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    update_id: str | None = None  # platform update id, for duplicate detection
    display_name: str | None = None
    language_code: str | None = None
    is_group: bool = False

    @property
    def user_key(self) -> str:
        """Stable identity across the system: ``channel:user_id``."""
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: the label a person sees and the payload the bot gets back."""

    label: str
    payload: str


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


@dataclass(frozen=True, slots=True)
class Reply:
    """One message the bot sends: text, optional buttons, optional request or attachment."""

    text: str
    choices: tuple[Choice, ...] = ()
    columns: int = 1  # buttons per row on Telegram; Zalo numbers them instead
    request: Request | None = None
    attachment: Attachment | None = None
    extras: dict[str, Any] = field(default_factory=dict)

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
        )


class SendStatus(enum.StrEnum):
    """How one delivery attempt ended."""

    SENT = "sent"
    RETRY = "retry"  # rate limited or a passing network fault: try again after ``retry_after``
    BLOCKED = "blocked"  # the person blocked the bot or the chat is gone: never retry
    FAILED = "failed"  # permanent error (bad request): never retry


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


class UpdateHandler(Protocol):
    """The dialog engine as a channel sees it: one incoming event in, the direct replies out.

    An empty list means "nothing to say" (for example a duplicate update).
    """

    async def __call__(self, event: Incoming) -> list[Reply]: ...
