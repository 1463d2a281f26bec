"""The kinds of question a flow asks, rendered the same way on every messenger.

Each widget turns its step into a :class:`Screen` (the question and its options) and reads the
answer: a button (or a typed number, label or synonym the engine matched to one) arrives at
:meth:`Widget.on_choice`; anything else typed arrives at :meth:`Widget.on_text`, read with the
same parser that reads whole sentences; a shared contact or location at :meth:`Widget.on_share`.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from babel.support import LazyProxy

from bot.engine import wording
from bot.engine.context import Ctx
from bot.engine.flow import Accept, Cancelled, Jump, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.screens import Option, Screen
from bot.events import Kind, Request
from bot.i18n import _
from bot.parsing import answers

if TYPE_CHECKING:
    from bot.engine.flow import Flow

Text = str | Callable[[Ctx], str] | Callable[[Ctx], Awaitable[str]] | object
Reader = Callable[[Ctx, str], Any]
Check = Callable[[Ctx, Any], Any]  # returns the value to keep; raises ValueError(.message) when wrong
OptionsFn = Callable[[Ctx], Awaitable[Sequence["Choice"]]] | Callable[[Ctx], Sequence["Choice"]]

# Reserved option values (never a real answer): what a widget's own buttons mean.
PAGE, DONE, NONE, BACK, SKIP = "~p", "~done", "~none", "~back", "~skip"


@dataclass(frozen=True, slots=True)
class Choice:
    """An answer a widget offers: ``value`` is stored (a short string), ``label`` is shown."""

    label: str
    value: str
    synonyms: tuple[str, ...] = ()


async def text_of(ctx: Ctx, text: Text) -> str:
    """A question given as a string, a lazy string, or a function of the context (maybe async)."""
    if callable(text) and not isinstance(text, LazyProxy):
        value = text(ctx)
        if inspect.isawaitable(value):
            value = await value
        return str(value)
    return str(text)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def problem(err: ValueError) -> str:
    """The person-facing explanation a rule check raised."""
    return str(getattr(err, "message", None) or err)


class Widget:
    """Base: a widget that only asks; subclasses read answers."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        raise NotImplementedError

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        return Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        return NotUnderstood(_("Vui lòng chọn một mục bên dưới."))

    async def on_share(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> StepResult:
        return Retry(wording.only_reads(ctx.caps))


async def _checked(ctx: Ctx, check: Check | None, value: Any) -> StepResult:
    if check is None:
        return Accept(value)
    try:
        return Accept(await _maybe_await(check(ctx, value)))
    except ValueError as err:
        return Retry(problem(err))


@dataclass
class TextInput(Widget):
    """A typed answer read by ``read`` (None: not understood), checked by ``check``.

    ``extra`` buttons answer with their value as is (e.g. "Bỏ qua" → None with value ``SKIP``).
    """

    question: Text
    read: Reader
    invalid: Text
    check: Check | None = None
    extra: Sequence[Choice] | Callable[[Ctx], Sequence[Choice]] = ()  # suggestions, "Bỏ qua"...
    skip_value: Any = None  # what the SKIP button stores

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        extra = self.extra(ctx) if callable(self.extra) else self.extra
        options = [flow.option(spec, c.label, c.value, *c.synonyms) for c in extra]
        return Screen(await text_of(ctx, self.question), tuple(options), columns=2, typed_question=True)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == SKIP:
            return Accept(self.skip_value)
        return await _checked(ctx, self.check, value)

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        value = await _maybe_await(self.read(ctx, text))
        if value is None:
            return NotUnderstood(await text_of(ctx, self.invalid))
        return await _checked(ctx, self.check, value)


@dataclass
class Select(Widget):
    """One of several options (buttons), or typed: read by ``read`` when given.

    With ``page_size`` the options are shown a page at a time with ‹ › buttons; typing still
    finds any of them.
    """

    question: Text
    options: OptionsFn
    read: Reader | None = None
    invalid: Text = ""
    check: Check | None = None
    columns: int = 2
    page_size: int | None = None
    extra: Sequence[Choice] = ()  # always shown after the options (e.g. "Đề xuất điểm mới")

    async def _all(self, ctx: Ctx) -> list[Choice]:
        return list(await _maybe_await(self.options(ctx)))

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        choices = await self._all(ctx)
        nav: list[Option] = []
        if self.page_size and len(choices) > self.page_size:
            pages = -(-len(choices) // self.page_size)
            page = min(max(int(ctx.screen.get("page", 0)), 0), pages - 1)
            choices = choices[page * self.page_size : (page + 1) * self.page_size]
            if page > 0:
                nav.append(flow.option(spec, _("‹ Trước"), f"{PAGE}{page - 1}", "truoc"))
            if page < pages - 1:
                nav.append(flow.option(spec, _("Sau ›"), f"{PAGE}{page + 1}", "sau", "tiep"))
        options = [flow.option(spec, c.label, c.value, *c.synonyms) for c in [*choices, *self.extra]]
        return Screen(await text_of(ctx, self.question), (*options, *nav), columns=self.columns)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value.startswith(PAGE):
            ctx.keep(page=int(value[len(PAGE) :] or 0))
            return Retry()
        return await _checked(ctx, self.check, value)

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        if self.read is None:
            return NotUnderstood(await text_of(ctx, self.invalid) or _("Vui lòng chọn một mục bên dưới."))
        value = await _maybe_await(self.read(ctx, text))
        if value is None:
            return NotUnderstood(await text_of(ctx, self.invalid) or _("Vui lòng chọn một mục bên dưới."))
        return await _checked(ctx, self.check, value)


@dataclass
class MultiSelect(Widget):
    """Several options toggled on and off, then "Xong" (or "none of them"); typed lists too.

    ``read_many`` reads a typed answer as a set of option values (empty: not understood).
    ``exclusive`` groups values of which only one may be on (e.g. one OCOP star rating).
    """

    question: Text
    options: OptionsFn
    read_many: Callable[[Ctx, str], Sequence[str]]
    invalid: Text
    none_label: Text | None = None
    exclusive: Sequence[Sequence[str]] = ()
    columns: int = 2
    summary: Callable[[Ctx, list[str]], str] | None = None  # "Đã chọn: …"

    def _draft(self, ctx: Ctx) -> list[str]:
        return list(ctx.screen.get("draft", ctx.screen.get("previous") or []))

    def _toggle(self, draft: list[str], value: str, on: bool | None = None) -> list[str]:
        if value in draft and on is not True:
            return [v for v in draft if v != value]
        if value in draft:
            return draft
        for group in self.exclusive:
            if value in group:
                draft = [v for v in draft if v not in group]
        return [*draft, value]

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        draft = self._draft(ctx)
        choices = list(await _maybe_await(self.options(ctx)))
        options = [
            flow.option(spec, (f"✅ {c.label}" if c.value in draft else c.label), c.value, *c.synonyms)
            for c in choices
        ]
        options.append(flow.option(spec, _("Xong"), DONE, "xong", "ok", "roi", "het"))
        if self.none_label is not None:
            options.append(flow.option(spec, await text_of(ctx, self.none_label), NONE, "khong", "khong co"))
        text = await text_of(ctx, self.question)
        if self.summary is not None:
            text += "\n" + self.summary(ctx, draft)
        return Screen(text, tuple(options), columns=self.columns)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == NONE:
            return Accept([])
        if value == DONE:
            return Accept(self._draft(ctx))
        ctx.keep(draft=self._toggle(self._draft(ctx), value))
        return Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        if answers.read_yes_no(text) is False and self.none_label is not None:
            return Accept([])
        found = list(self.read_many(ctx, text))
        if not found:
            return NotUnderstood(await text_of(ctx, self.invalid))
        draft = self._draft(ctx)
        for value in found:
            draft = self._toggle(draft, value, on=True)
        ctx.keep(draft=draft)
        return Retry()


@dataclass
class Period(Widget):
    """A day or a range of days: preset buttons (today, tomorrow…) or typed ("15-20/9", "tuần sau")."""

    question: Text
    presets: Sequence[tuple[Text, int, int]] = field(default_factory=list)  # (label, from, to) days ahead
    check: Check | None = None
    invalid: Text = ""
    columns: int = 2

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        options = [
            flow.option(spec, await text_of(ctx, label), f"{start}:{end}")
            for label, start, end in self.presets
        ]
        return Screen(await text_of(ctx, self.question), tuple(options), columns=self.columns)

    async def _accept(self, ctx: Ctx, start: dt.date, end: dt.date) -> StepResult:
        return await _checked(ctx, self.check, [start.isoformat(), end.isoformat()])

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        first, _sep, last = value.partition(":")
        try:
            start = ctx.today + dt.timedelta(days=int(first))
            end = ctx.today + dt.timedelta(days=int(last or first))
        except ValueError:
            return Retry()
        return await self._accept(ctx, start, end)

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        read = answers.read_period(text, ctx.today)
        invalid = await text_of(ctx, self.invalid) or _(
            "Tôi chưa hiểu ngày. Ví dụ: 15/9 · 15-20/9 · từ 15 đến 20/9 · tuần sau."
        )
        if read is None:
            return NotUnderstood(invalid)
        start, end = read
        if start is None and end is None:
            return NotUnderstood(invalid)
        start = start or ctx.today  # "trước 20/9": from today
        end = end or start  # "từ 15/9": that day
        if end < start:
            return Retry(_("Ngày kết thúc phải sau ngày bắt đầu."))
        return await self._accept(ctx, start, end)


@dataclass
class Phone(Widget):
    """A phone number: a share button where the messenger has one, or typed in any usual form."""

    question: Text
    question_typed: Text
    share_label: Text
    invalid: Text

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        if ctx.caps.contact_request:
            return Screen(
                await text_of(ctx, self.question),
                request=Request.PHONE,
                request_label=await text_of(ctx, self.share_label),
                typed_question=True,
            )
        return Screen(await text_of(ctx, self.question_typed), typed_question=True)

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        phone = answers.read_phone(text)
        if phone is None:
            return Retry(await text_of(ctx, self.invalid))
        return Accept(phone)

    async def on_share(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> StepResult:
        if ctx.event.kind == Kind.CONTACT and (phone := answers.read_phone(ctx.event.phone or "")):
            return Accept(phone)
        return Retry(await text_of(ctx, self.invalid))


@dataclass
class Summary(Widget):
    """The answers, to confirm, edit (choose a step to answer again) or cancel."""

    title: Text
    rows: Callable[[Ctx], Awaitable[Sequence[tuple[str, str]]]] | Callable[[Ctx], Sequence[tuple[str, str]]]
    question: Text = ""
    confirm_label: Text = ""
    cancelled: Text = ""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        if ctx.screen.get("editing"):
            editable = [s for s in flow.active(ctx) if s.edit_label is not None]
            options = [flow.option(spec, str(s.edit_label), f"edit:{s.name}") for s in editable]
            options.append(flow.option(spec, _("« Quay lại"), BACK, "quay lai"))
            return Screen(_("Bạn muốn sửa mục nào?"), tuple(options), columns=2)
        rows = await _maybe_await(self.rows(ctx))
        lines = [await text_of(ctx, self.title), *(f"• {label}: {value}" for label, value in rows)]
        lines.append(await text_of(ctx, self.question) or _("Lưu lại?"))
        buttons = (
            flow.option(
                spec,
                await text_of(ctx, self.confirm_label) or _("Xác nhận"),
                DONE,
                "xac nhan",
                "dong y",
                "ok",
                "luu",
                "co",
                "yes",
            ),
            flow.option(spec, _("Sửa"), "edit", "sua", "sua lai"),
            flow.option(spec, _("Hủy"), "cancel", "huy", "thoi"),
        )
        return Screen("\n".join(lines), buttons, columns=3)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == DONE:
            return Accept(True)
        if value == "edit":
            ctx.keep(editing=True)
            return Retry()
        if value == BACK:
            ctx.keep(editing=False)
            return Retry()
        if value == "cancel":
            return Cancelled(await text_of(ctx, self.cancelled) or _("Đã hủy. Không có gì được lưu."))
        target = flow.spec(value.removeprefix("edit:")) if value.startswith("edit:") else None
        if target is not None and target.edit_label is not None:
            return Jump(target.name)
        return Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        if ctx.screen.get("editing"):
            return NotUnderstood(_("Vui lòng chọn một mục bên dưới."))
        yes = answers.read_yes_no(text)
        if yes is True:
            return Accept(True)
        return NotUnderstood(wording.confirm_edit_or_cancel(ctx.caps))
