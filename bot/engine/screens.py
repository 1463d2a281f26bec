"""What the bot shows, before it is a message: a text, options with typed actions, a share request.

A :class:`Screen` becomes a neutral :class:`bot.events.Reply` only when it is queued: each
option's action is encoded (signed) as the button payload, and the labels, payloads and typed
synonyms travel with the message so that, once it is delivered, a person can answer it by
typing its number or its label (see :mod:`bot.engine.menus`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.engine.actions import Action, ActionCodec
from bot.events import SYNONYMS, TYPED_QUESTION, Attachment, Choice, Reply, Request


@dataclass(frozen=True, slots=True)
class Option:
    """One answer the person can give by tapping (or typing its number, label or a synonym)."""

    label: str
    action: Action
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Screen:
    """One message the bot wants to show."""

    text: str
    options: tuple[Option, ...] = ()
    columns: int = 1
    request: Request | None = None  # offer the messenger's phone/location share button
    request_label: str = ""  # that button's label
    attachment: Attachment | None = None
    remove_keyboard: bool = False
    typed_question: bool = False  # asks for a typed answer: see bot.events.TYPED_QUESTION

    def to_reply(self, codec: ActionCodec) -> Reply:
        """The neutral reply, options encoded as signed payloads."""
        choices = [Choice(o.label, codec.encode(o.action)) for o in self.options]
        synonyms = [list(o.synonyms) for o in self.options]
        if self.request is not None:
            # The share button comes first and carries no payload; the options follow it.
            choices.insert(0, Choice(self.request_label, ""))
            synonyms.insert(0, [])
        extras: dict[str, Any] = {SYNONYMS: synonyms} if any(synonyms) else {}
        if self.typed_question:
            extras[TYPED_QUESTION] = True
        return Reply(
            self.text,
            tuple(choices),
            columns=self.columns,
            request=self.request,
            attachment=self.attachment,
            extras=extras,
            remove_keyboard=self.remove_keyboard,
        )
