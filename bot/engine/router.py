"""What the engine can route to: slash commands, flows, button actions and sentence handlers.

Built once at start-up by :func:`bot.handlers.build_router` from the flow modules; the engine
looks things up here and checks the rights they declare every time they are used.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.engine.actions import Action, action
from bot.engine.context import Ctx
from bot.engine.flow import Flow
from storage import dto

CommandHandler = Callable[[Ctx, str], Awaitable[None]]
ActionHandler = Callable[[Ctx, Any], Awaitable[None]]
TextHandler = Callable[[Ctx], Awaitable[bool]]


@action("c")
@dataclass(frozen=True, slots=True)
class RunCommand(Action):
    """A menu button: run a command as if its /name had been typed."""

    name: str


@dataclass(frozen=True)
class Command:
    """A slash command: who may use it, where it shows in the menu, whether it works in groups."""

    name: str
    handler: CommandHandler
    label: object  # button text: a lazy string, translated when the menu is drawn
    roles: frozenset[str] | None = None  # None: anyone registered
    needs_registration: bool = True
    in_menu: bool = True
    description: object | None = None
    in_groups: bool = False  # answered in group chats too (price questions, help)
    staff: bool = False  # refusals are audited (privileged commands)


@dataclass(frozen=True)
class ActionRoute:
    handler: ActionHandler
    roles: frozenset[str] | None  # None: anyone (registered or not)
    audit_as: str  # the audit log's name for a refused press
    in_groups: bool


@dataclass(frozen=True)
class TextRoute:
    handler: TextHandler
    in_groups: bool
    in_flows: bool  # also tried inside a flow, when the step did not understand the text


Refuse = Callable[[Ctx, frozenset[str] | None, str], Awaitable[None]]
Fallback = Callable[[Ctx], Awaitable[None]]
UnknownCommand = Callable[[Ctx, str], Awaitable[None]]


async def _missing(*_args: object) -> None:
    raise RuntimeError("the handlers did not register this part of the router")


class Router:
    """Commands, flows, typed button actions and sentence handlers, looked up by the engine.

    The handlers also supply the few answers the engine gives itself (all wording lives there):
    ``refuse`` (a polite, audited refusal), ``start_registration``, ``fallback`` (text nobody
    understood) and ``unknown_command``.
    """

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.aliases: dict[str, str] = {}
        self.flows: dict[str, Flow] = {}
        self.actions: dict[type[Action], ActionRoute] = {}
        self.texts: list[TextRoute] = []
        self.menu_order: list[str] = []
        self.refuse: Refuse = _missing
        self.start_registration: Fallback = _missing
        self.fallback: Fallback = _missing
        self.unknown_command: UnknownCommand = _missing
        # Commands after which the open question is not repeated (they say where the person is).
        self.keeps_flow_quiet: set[str] = set()

    def command(self, cmd: Command, *aliases: str) -> None:
        self.commands[cmd.name] = cmd
        self.menu_order.append(cmd.name)
        for alias in aliases:
            self.aliases[alias] = cmd.name

    def flow(self, flow: Flow) -> Flow:
        self.flows[flow.name] = flow
        return flow

    def on(
        self,
        kind: type[Action],
        handler: ActionHandler,
        *,
        roles: frozenset[str] | None = None,
        audit_as: str | None = None,
        in_groups: bool = False,
    ) -> None:
        """Buttons carrying a ``kind`` action call ``handler(ctx, action)``, rights checked first."""
        self.actions[kind] = ActionRoute(handler, roles, audit_as or kind.__name__, in_groups)

    def text(self, handler: TextHandler, *, in_groups: bool = False, in_flows: bool = False) -> None:
        """Sentences are offered to these in order until one returns True."""
        self.texts.append(TextRoute(handler, in_groups, in_flows))

    def find(self, name: str) -> Command | None:
        return self.commands.get(self.aliases.get(name, name))

    def menu_for(self, user: dto.User) -> list[Command]:
        """Commands this person may use, in menu order."""
        return [
            c
            for c in self.commands.values()
            if c.in_menu
            and (c.roles is None or user.role in c.roles)
            and (user.registered or not c.needs_registration)
        ]
