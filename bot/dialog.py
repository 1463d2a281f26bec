"""The dialog engine's building blocks: the per-update context, flows made of steps, routing.

A flow is a set of named steps; each step has an ``ask`` (what the bot says) and an
``answer`` (what it does with the reply, returning the next step). State lives in the
database, keyed by (channel, chat), so a flow resumes after a restart on any messenger.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.events import Attachment, Choice, Incoming, Kind, Reply, Request
from bot.textnorm import fold
from storage import dto

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.container import Services
    from storage.uow import UnitOfWork

STAY = "__stay__"  # ask the same step again
KEYBOARD_SHOWN = "_keyboard"  # data key: a phone/location keyboard is on the person's screen
DONE = "__done__"  # the flow is over; state is cleared

Asker = Callable[["Ctx"], Awaitable[None]]
Answerer = Callable[["Ctx"], Awaitable[str]]
CommandHandler = Callable[["Ctx", str], Awaitable[None]]

_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


def parse_command(text: str) -> tuple[str, str] | None:
    """("capquyen", "telegram:1 official") from "/capquyen@nongsan_bot telegram:1 official"."""
    m = _COMMAND.match(text.strip())
    return (m.group(1).lower(), (m.group(2) or "").strip()) if m else None


@dataclass
class Ctx:
    """Everything one update's handling needs, and what it produces."""

    event: Incoming
    user: dto.User
    uow: UnitOfWork
    services: Services
    flow: str = ""
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
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
    def payload(self) -> str | None:
        """Button data, including a typed digit or label resolved against the last buttons shown."""
        return self.event.payload if self.event.kind == Kind.BUTTON else None

    # --- producing output -------------------------------------------------------------
    def say(
        self,
        text: str,
        choices: Iterable[Choice] = (),
        *,
        columns: int = 1,
        request: Request | None = None,
        attachment: Attachment | None = None,
    ) -> None:
        """Queue a direct reply to the person who wrote."""
        reply = Reply(str(text), tuple(choices), columns=columns, request=request, attachment=attachment)
        self.replies.append(reply)
        buttons = [[c.label, c.payload] for c in reply.choices if c.payload]
        if buttons:
            # Remembered so "2", "Thương lái" or "thuong lai" typed on Zalo or the console (or
            # a reply-keyboard button on Telegram, which arrives as its label) reads as that button.
            self.data["_choices"] = buttons
            self.state_changed = True
        if request is not None:
            self.data[KEYBOARD_SHOWN] = True  # the next answer without one takes it away
            self.state_changed = True

    def on_commit(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` after the transaction commits (wake the matcher, the outbox...)."""
        self.after_commit.append(hook)

    # --- state ------------------------------------------------------------------------
    def enter(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        self.flow, self.step, self.data = flow, step, dict(data or {})
        self.state_changed = True

    def leave(self) -> None:
        self.flow, self.step, self.data = "", "", {}
        self.state_changed = True

    def remember(self, **values: Any) -> None:
        """Store answers in the flow's data (JSON-serialisable values only)."""
        self.data.update(values)
        self.state_changed = True


@dataclass
class Step:
    ask: Asker
    answer: Answerer


class Flow:
    """A named conversation made of steps; register steps with :meth:`ask` and :meth:`answer`."""

    def __init__(self, name: str, first: str, *, max_text_length: int | None = None) -> None:
        self.name = name
        self.first = first
        # A flow that takes long texts (announcements) raises the pipeline's general limit.
        self.max_text_length = max_text_length
        self._asks: dict[str, Asker] = {}
        self._answers: dict[str, Answerer] = {}

    def ask(self, step: str) -> Callable[[Asker], Asker]:
        def register(fn: Asker) -> Asker:
            self._asks[step] = fn
            return fn

        return register

    def answer(self, step: str) -> Callable[[Answerer], Answerer]:
        def register(fn: Answerer) -> Answerer:
            self._answers[step] = fn
            return fn

        return register

    def steps(self) -> set[str]:
        return set(self._asks) | set(self._answers)

    async def start(self, ctx: Ctx, data: dict[str, Any] | None = None, step: str | None = None) -> None:
        """Enter the flow at its first (or the given) step and ask it."""
        ctx.enter(self.name, step or self.first, data)
        await self._asks[ctx.step](ctx)

    async def goto(self, ctx: Ctx, step: str) -> None:
        """Jump to ``step`` inside this flow and ask it."""
        ctx.step = step
        ctx.state_changed = True
        await self._asks[step](ctx)

    async def handle(self, ctx: Ctx) -> None:
        """Feed the person's answer to the current step and move on."""
        answer = self._answers.get(ctx.step)
        if answer is None:  # a step removed by an upgrade: start the flow again cleanly
            await self.start(ctx, {k: v for k, v in ctx.data.items() if not k.startswith("_")})
            return
        # The answer consumes the buttons it was given; a next step without buttons must not
        # read a typed "2" as the second button of this one.
        if ctx.data.pop("_choices", None) is not None:
            ctx.state_changed = True
        nxt = await answer(ctx)
        if ctx.flow != self.name:  # the answer started another flow or left
            return
        if nxt == DONE:
            ctx.leave()
        elif nxt == STAY:
            await self._asks[ctx.step](ctx)
        else:
            await self.goto(ctx, nxt)


@dataclass(frozen=True)
class Command:
    """A slash command: who may use it and where it shows in the menu."""

    name: str
    handler: CommandHandler
    label: object  # button text: a lazy string, translated when the menu is drawn
    roles: frozenset[str] | None = None  # None: anyone registered
    needs_registration: bool = True
    in_menu: bool = True
    description: object | None = None


class Router:
    """Commands, flows and button-payload prefixes, looked up by the pipeline."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.aliases: dict[str, str] = {}
        self.flows: dict[str, Flow] = {}
        self.actions: dict[str, CommandHandler] = {}
        self.free_text: list[Callable[[Ctx], Awaitable[bool]]] = []

    def command(self, cmd: Command, *aliases: str) -> None:
        self.commands[cmd.name] = cmd
        for alias in aliases:
            self.aliases[alias] = cmd.name

    def flow(self, flow: Flow) -> Flow:
        self.flows[flow.name] = flow
        return flow

    def action(self, prefix: str, handler: CommandHandler) -> None:
        """Buttons whose payload is ``prefix:rest`` call ``handler(ctx, rest)`` in any state."""
        self.actions[prefix] = handler

    def text_handler(self, handler: Callable[[Ctx], Awaitable[bool]]) -> None:
        """Free text outside a flow is offered to these in order until one returns True."""
        self.free_text.append(handler)

    def find(self, name: str) -> Command | None:
        return self.commands.get(self.aliases.get(name, name))

    def menu_for(self, user: dto.User) -> list[Command]:
        """Commands this person may use, in registration order."""
        return [
            c
            for c in self.commands.values()
            if c.in_menu
            and (c.roles is None or (user.role in c.roles))
            and (user.registered or not c.needs_registration)
        ]


def resolve_choice(text: str, choices: Sequence[Sequence[str]]) -> str | None:
    """The payload of the button a person typed: its number, its label, or the label without diacritics."""
    t = text.strip().rstrip(".)")
    if t.isdigit() and 1 <= int(t) <= len(choices):
        return choices[int(t) - 1][1]
    key = fold(text)
    for label, payload in choices:
        if fold(label) == key:
            return payload
    return None
