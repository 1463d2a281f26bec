"""Flows declared once: ordered steps, each with a widget, a guard checked at every step and at
the commit, and a commit that turns the answers into a service call.

A flow module declares a :class:`Flow` with a step enum, adds its steps (:meth:`Flow.step`) and
its commit (:meth:`Flow.committer`). The engine asks the first step whose answer is missing,
feeds the person's answer to that step's widget, stores what it accepts and moves on; when no
step is left it re-checks the guard and commits. Widgets render the same way on every
messenger (buttons, or numbered lines to type) and read typed answers with the free-text parser.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.engine.actions import Action, action
from bot.engine.context import Ctx
from bot.engine.screens import Option, Screen

if TYPE_CHECKING:
    from bot.engine.widgets import Widget


@action("s")
@dataclass(frozen=True, slots=True)
class StepAnswer(Action):
    """A button answering one step of one flow (stale once the flow has moved on)."""

    flow: str
    step: str
    value: str


# --- what a widget makes of an answer ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accept:
    """The answer is read: store ``value`` (JSON) and move on."""

    value: Any


@dataclass(frozen=True, slots=True)
class Retry:
    """Ask the same step again (its screen state may have changed), after ``message`` if any."""

    message: str | None = None


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    """The text is not an answer to this step; the engine may read it as a new request first."""

    message: str


@dataclass(frozen=True, slots=True)
class Jump:
    """Go to another step of the flow (its old answer is dropped so it is asked)."""

    step: str


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The person cancelled the flow from one of its screens; ``message`` says so."""

    message: str


StepResult = Accept | Retry | NotUnderstood | Jump | Cancelled


# --- declaring a flow -------------------------------------------------------------------------------

Predicate = Callable[[Ctx], bool]
AfterHook = Callable[[Ctx], Awaitable[list[str]] | list[str]]  # returns notes to show


@dataclass(frozen=True)
class StepSpec:
    """One step of a flow."""

    name: str
    widget: Widget
    key: str
    when: Predicate | None
    edit_label: object | None  # offered under "Sửa" in the summary (a lazy text), or not editable
    after: AfterHook | None  # runs after the answer is stored: drop answers it makes wrong; notes


class Flow:
    """A named conversation: ordered steps, a guard, a commit."""

    def __init__(
        self,
        name: str,
        steps: type[enum.StrEnum],
        *,
        roles: frozenset[str] | None = None,
        action_name: str | None = None,
        max_text_length: int | None = None,
        private_only: bool = True,
    ) -> None:
        self.name = name
        self.step_enum = steps
        self.roles = roles  # None: anyone registered (registration itself sets its own guard)
        self.action_name = action_name or name  # how refusals are written in the audit log
        # A flow that takes long texts (announcements) raises the general limit.
        self.max_text_length = max_text_length
        self.private_only = private_only
        self.specs: list[StepSpec] = []
        self._commit: Callable[[Ctx], Awaitable[None]] | None = None
        self.needs_registration = True

    # --- declaration ------------------------------------------------------------------------
    def step(
        self,
        name: enum.StrEnum,
        widget: Widget,
        *,
        key: str | None = None,
        when: Predicate | None = None,
        edit_label: object | None = None,
        after: AfterHook | None = None,
    ) -> None:
        """Add a step; its answer is stored under ``key`` (default: the step's name)."""
        if not isinstance(name, self.step_enum):
            raise TypeError(f"{name!r} is not a {self.step_enum.__name__}")
        self.specs.append(StepSpec(name.value, widget, key or name.value, when, edit_label, after))

    def committer(self, fn: Callable[[Ctx], Awaitable[None]]) -> Callable[[Ctx], Awaitable[None]]:
        """Decorator: what to do once every step is answered (call a service, say the outcome)."""
        self._commit = fn
        return fn

    # --- running ----------------------------------------------------------------------------
    def spec(self, name: str) -> StepSpec | None:
        return next((s for s in self.specs if s.name == name), None)

    def active(self, ctx: Ctx) -> list[StepSpec]:
        """The steps that apply to this person and these answers, in order."""
        return [s for s in self.specs if s.when is None or s.when(ctx)]

    def next_spec(self, ctx: Ctx) -> StepSpec | None:
        return next((s for s in self.active(ctx) if s.key not in ctx.answers), None)

    def allowed(self, ctx: Ctx) -> bool:
        """The guard: does this person (as they are now) may be in this flow."""
        if self.needs_registration and not ctx.user.registered:
            return False
        return self.roles is None or ctx.user.role in self.roles

    async def start(self, ctx: Ctx, answers: dict[str, Any] | None = None, notes: Iterable[str] = ()) -> None:
        """Enter the flow with answers already known (from a sentence), say ``notes``, ask the rest."""
        ctx.enter(self.name, "", answers)
        for note in notes:
            ctx.say(note)
        await self.advance(ctx)

    async def advance(self, ctx: Ctx) -> None:
        """Ask the first unanswered step, or commit when none is left."""
        spec = self.next_spec(ctx)
        if spec is None:
            commit = self._commit
            if commit is None:
                raise RuntimeError(f"flow {self.name} has no commit")
            await commit(ctx)
            if ctx.flow == self.name:  # a commit that did not say where to go ends the flow
                ctx.leave()
            return
        if ctx.step != spec.name:
            ctx.step, ctx.screen = spec.name, {}
            ctx.state_changed = True
        await self.ask(ctx, spec)

    async def ask(self, ctx: Ctx, spec: StepSpec) -> None:
        ctx.show(await spec.widget.ask(ctx, self, spec))

    async def settle(self, ctx: Ctx, spec: StepSpec, result: StepResult) -> None:
        """Apply what the widget made of an answer."""
        if isinstance(result, Accept):
            ctx.remember(**{spec.key: result.value})
            ctx.screen = {}
            if spec.after is not None:
                notes = spec.after(ctx)
                if not isinstance(notes, list):
                    notes = await notes
                for note in notes:
                    ctx.say(note)
            await self.advance(ctx)
        elif isinstance(result, Jump):
            target = self.spec(result.step)
            if target is None:
                raise LookupError(result.step)
            ctx.screen = {"previous": ctx.answers.pop(target.key, None)}
            ctx.step = target.name
            ctx.state_changed = True
            await self.ask(ctx, target)
        elif isinstance(result, Cancelled):
            ctx.leave()
            ctx.say(result.message)
        else:
            if result.message:
                ctx.say(result.message)
            await self.ask(ctx, spec)

    def option(self, spec: StepSpec, label: str, value: str, *synonyms: str) -> Option:
        """A button answering ``spec`` with ``value``."""
        return Option(label, StepAnswer(self.name, spec.name, value), tuple(synonyms))


def options_screen(text: str, options: Iterable[Option], columns: int = 1) -> Screen:
    return Screen(text, tuple(options), columns=columns)
