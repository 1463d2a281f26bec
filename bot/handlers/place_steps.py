"""The "which province?" and "which xã/phường?" questions, shared by every flow that asks them.

A province is picked from the popular ones, paged through all 34, or typed ("lang son", "LS",
an old name); a ward is typed (searched in the province, asking which one when several share
the name) or picked from the province's list a page at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.engine.context import Ctx
from bot.engine.flow import Accept, Flow, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.screens import Screen
from bot.engine.widgets import PAGE, Text, Widget, text_of
from bot.i18n import _
from bot.parsing import answers

PAGE_SIZE = 8
OTHER, LIST = "~other", "~list"


def _paged[T](items: list[T], page: int) -> tuple[list[T], int, int]:
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    return items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], page, pages


@dataclass
class ProvinceStep(Widget):
    """A province: popular ones first, "Tỉnh khác…" pages through all, or typed."""

    question: Text
    popular: tuple[int, ...] = ()
    invalid: Text = ""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        places = ctx.services.places
        page = ctx.screen.get("page")
        if page is None and self.popular:
            codes = list(self.popular)
            nav = [flow.option(spec, _("Tỉnh khác…"), f"{PAGE}0", "tinh khac", "khac")]
        else:
            ordered = sorted(places.provinces, key=lambda c: places.provinces[c].name.split(" ", 1)[-1])
            codes, page, pages = _paged(ordered, int(page or 0))
            nav = []
            if page > 0:
                nav.append(flow.option(spec, _("« Trước"), f"{PAGE}{page - 1}", "truoc"))
            if page < pages - 1:
                nav.append(flow.option(spec, _("Sau »"), f"{PAGE}{page + 1}", "sau", "tiep"))
        options = [flow.option(spec, places.provinces[c].name, str(c)) for c in codes]
        return Screen(await text_of(ctx, self.question), (*options, *nav), columns=2)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value.startswith(PAGE):
            ctx.keep(page=int(value[len(PAGE) :] or 0))
            return Retry()
        code = int(value) if value.isdigit() else None
        return Accept(code) if code in ctx.services.places.provinces else Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        places = ctx.services.places
        province, _ward = answers.read_place(text)
        if province is None and (found := places.find_province(text)) is not None:
            province = found.province_code
        if province is None or province not in places.provinces:
            message = await text_of(ctx, self.invalid) or _(
                "Không tìm thấy tỉnh «{text}». Vui lòng chọn hoặc gõ lại tên tỉnh."
            ).format(text=text[:40])
            return NotUnderstood(message)
        return Accept(province)


@dataclass
class WardStep(Widget):
    """A ward of the province ``province(ctx)`` names: typed, or from the list a page at a time."""

    question: Text
    province: Callable[[Ctx], int]

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        places = ctx.services.places
        province_code = self.province(ctx)
        name = places.provinces[province_code].name
        candidates = ctx.screen.get("candidates")
        if candidates:
            options = [flow.option(spec, places.wards[c].name, str(c)) for c in candidates]
            return Screen(_("Có nhiều xã/phường trùng tên. Bạn ở đâu?"), tuple(options), columns=2)
        page = ctx.screen.get("page")
        if page is None:
            return Screen(
                (await text_of(ctx, self.question)).format(province=name),
                (flow.option(spec, _("Xem danh sách xã/phường"), f"{PAGE}0", "xem danh sach", "danh sach"),),
            )
        wards, page, pages = _paged(places.wards_of(province_code), int(page))
        options = [flow.option(spec, w.ward_name or "", str(w.ward_code)) for w in wards]
        if page > 0:
            options.append(flow.option(spec, _("« Trước"), f"{PAGE}{page - 1}", "truoc"))
        if page < pages - 1:
            options.append(flow.option(spec, _("Sau »"), f"{PAGE}{page + 1}", "sau", "tiep"))
        text = _("Xã/phường của {province} (trang {page}/{pages}):").format(
            province=name, page=page + 1, pages=pages
        )
        return Screen(text, tuple(options), columns=2)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value.startswith(PAGE):
            ctx.keep(page=int(value[len(PAGE) :] or 0), candidates=None)
            return Retry()
        ward = ctx.services.places.ward(int(value)) if value.isdigit() else None
        if ward is None or ward.province_code != self.province(ctx):
            return Retry()
        return Accept(ward.ward_code)

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        places = ctx.services.places
        province_code = self.province(ctx)
        found = places.find_wards(text, province_code)
        if len(found) > 1:
            ctx.keep(candidates=[p.ward_code for p in found])
            return Retry()
        if not found:
            return NotUnderstood(
                _(
                    "Không tìm thấy xã/phường «{text}» ở {province}. Vui lòng gõ lại hoặc xem danh sách."
                ).format(text=text[:40], province=places.provinces[province_code].name)
            )
        return Accept(found[0].ward_code)
