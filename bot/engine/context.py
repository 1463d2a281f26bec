"""Everything the handling of one update needs, and what it produces.

A conversation's state has two parts kept apart: ``answers`` (what the person told the bot,
the input of the flow's commit) and ``screen`` (how the current screen looks: a page number,
toggles not yet confirmed). Both are JSON and live in the database between updates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.engine.screens import Option, Screen
from bot.events import Attachment, Capabilities, Incoming, Kind, Request
from storage import dto

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.container import Services
    from storage.uow import UnitOfWork

Hook = Callable[[], Awaitable[None]]


@dataclass
class Ctx:
    """One update being handled: who wrote, on what messenger, the conversation, the output."""

    event: Incoming
    user: dto.User
    uow: UnitOfWork
    services: Services
    caps: Capabilities
    flow: str = ""
    step: str = ""
    answers: dict[str, Any] = field(default_factory=dict)
    screen: dict[str, Any] = field(default_factory=dict)
    screens: list[Screen] = field(default_factory=list)
    after_commit: list[Hook] = field(default_factory=list)
    state_changed: bool = False

    # --- reading the input ------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def now(self) -> dt.datetime:
        return self.services.clock.now()

    @property
    def today(self) -> dt.date:
        return self.services.clock.today()

    @property
    def text(self) -> str:
        """The typed text, stripped ("" for buttons, contacts...)."""
        return (self.event.text or "").strip() if self.event.kind == Kind.TEXT else ""

    @property
    def in_group(self) -> bool:
        return self.event.is_group

    # --- producing output -------------------------------------------------------------
    def say(
        self,
        text: str,
        options: Iterable[Option] = (),
        *,
        columns: int = 1,
        request: Request | None = None,
        request_label: str = "",
        attachment: Attachment | None = None,
    ) -> None:
        """Show a message to the person who wrote."""
        self.show(
            Screen(
                str(text),
                tuple(options),
                columns=columns,
                request=request,
                request_label=request_label,
                attachment=attachment,
            )
        )

    def show(self, screen: Screen) -> None:
        self.screens.append(screen)

    def on_commit(self, hook: Hook) -> None:
        """Run ``hook`` after the transaction commits (e.g. wake a worker)."""
        self.after_commit.append(hook)

    # --- state ------------------------------------------------------------------------
    def enter(self, flow: str, step: str, answers: dict[str, Any] | None = None) -> None:
        self.flow, self.step = flow, step
        self.answers, self.screen = dict(answers or {}), {}
        self.state_changed = True

    def leave(self) -> None:
        self.flow, self.step, self.answers, self.screen = "", "", {}, {}
        self.state_changed = True

    def remember(self, **answers: Any) -> None:
        """Store answers (JSON-serialisable values only)."""
        self.answers.update(answers)
        self.state_changed = True

    def forget(self, *keys: str) -> None:
        for key in keys:
            self.answers.pop(key, None)
        self.state_changed = True

    def keep(self, **screen: Any) -> None:
        """Store screen state (page numbers, drafts), which is dropped when the step changes."""
        self.screen.update(screen)
        self.state_changed = True
