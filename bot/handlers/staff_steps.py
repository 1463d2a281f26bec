"""Questions the staff flows share: a province or "everywhere", a ward or "the whole province".

Built on the registration's province and ward questions (typed names, pages of the list), with
one more option each: the whole country (stored as None) or the whole province (None).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.engine.context import Ctx
from bot.engine.flow import Accept, Flow, StepResult, StepSpec
from bot.engine.screens import Screen
from bot.engine.widgets import PAGE, Text, text_of
from bot.handlers.place_steps import ProvinceStep, WardStep
from bot.i18n import _

EVERYWHERE = "~all"


@dataclass
class ProvinceOrAll(ProvinceStep):
    """A province (the ones ``shortlist`` offers first, any other typed or paged), or everywhere."""

    everywhere: Text = ""
    shortlist: Callable[[Ctx], Sequence[int]] = lambda ctx: ()

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        places = ctx.services.places
        everywhere = flow.option(
            spec, await text_of(ctx, self.everywhere), EVERYWHERE, "ca nuoc", "toan quoc"
        )
        if ctx.screen.get("page") is None:
            codes = [c for c in dict.fromkeys(self.shortlist(ctx)) if c in places.provinces]
            options = [flow.option(spec, places.provinces[c].name, str(c)) for c in codes]
            more = flow.option(spec, _("Tỉnh khác…"), f"{PAGE}0", "tinh khac", "khac")
            return Screen(await text_of(ctx, self.question), (*options, everywhere, more), columns=2)
        paged = await ProvinceStep.ask(dataclasses.replace(self, popular=()), ctx, flow, spec)
        return dataclasses.replace(paged, options=(*paged.options, everywhere))

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == EVERYWHERE:
            return Accept(None)
        return await super().on_choice(ctx, flow, spec, value)


@dataclass
class WardOrAll(WardStep):
    """A ward of the province, or the whole province."""

    whole: Text = ""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        screen = await super().ask(ctx, flow, spec)
        whole = flow.option(spec, await text_of(ctx, self.whole), EVERYWHERE, "ca tinh", "tat ca")
        return dataclasses.replace(screen, options=(*screen.options, whole))

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == EVERYWHERE:
            return Accept(None)
        return await super().on_choice(ctx, flow, spec, value)
