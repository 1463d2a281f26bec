"""The part of the lot flow (/thuhoach) and the order flow (/dathang) that is the same: starting
with answers from free text, the product, quantity, price and window steps, and the summary
with its edit menu. Each flow describes what differs in a :class:`TradeFlow`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot import formatting as fmt
from bot.dialog import DONE, STAY, Ctx, Flow
from bot.events import Choice
from bot.handlers import trade_steps as ts
from bot.handlers.common import show_menu
from bot.handlers.roles import require_role
from bot.i18n import _
from bot.services.lots import popular_products
from bot.services.quantities import RuleError, check_price, check_quantity, parse_price
from bot.textnorm import fold


def prefill_place(ctx: Ctx, prefill: dict[str, Any]) -> tuple[int | None, int | None]:
    """(province, ward) free text named: a known ward with its province, else a known province."""
    places = ctx.services.places
    ward = places.ward(prefill["ward_code"]) if isinstance(prefill.get("ward_code"), int) else None
    if ward is not None:
        return ward.province_code, ward.ward_code
    province = prefill.get("province_code")
    return (province, None) if province in places.provinces else (None, None)


def prefill_answers(ctx: Ctx, prefill: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """Put the product, quantity, price and window free text gave into ``data``; the problems found."""
    problems: list[str] = []
    product = ctx.services.catalog.get(str(prefill.get("product") or ""))
    if product is not None:
        data["product"] = product.code
    try:
        if prefill.get("quantity_kg") is not None:
            data["quantity_kg"] = check_quantity(float(prefill["quantity_kg"]))
    except (RuleError, ValueError, TypeError) as e:
        problems.append(e.message if isinstance(e, RuleError) else _("Khối lượng không hợp lệ."))
    if prefill.get("price_vnd_per_kg") is not None:
        data["price"] = prefill["price_vnd_per_kg"]
    if prefill.get("date_from") or prefill.get("date_to"):
        data["date_from"] = prefill.get("date_from") or prefill["date_to"]
        data["date_to"] = prefill.get("date_to") or prefill["date_from"]
    return problems


@dataclass(frozen=True, kw_only=True)
class TradeFlow:
    """What the lot and the order flow do differently in the steps they share."""

    flow: Flow
    kind: str  # what the market is told about once saved: "lot" or "order"
    command: str  # the slash command, named when the role check fails
    roles: frozenset[str]
    steps: tuple[tuple[str, str], ...]  # (step, the data key that says it is answered), in order
    # The questions, translated when asked.
    product_question: object
    quantity_question: object
    price_question: object
    window_question: object
    price_optional: bool
    home_province: Callable[[Ctx], int | None]  # for popular products and the reference price
    recheck: Callable[[Ctx], list[str]]  # drop answers the product or today make wrong; why
    quantity_changed: Callable[[Ctx], list[str]]  # what a new quantity makes wrong; why
    check_window: Callable[[Ctx, dt.date, dt.date], None]  # raises RuleError
    edit_fields: Callable[[Ctx], list[tuple[str, str]]]  # (step, label) offered by "Sửa"
    prepare: Callable[[Ctx, str], str]  # get a step ready to be answered again; the step to go to
    save: Callable[[Ctx], Awaitable[tuple[int, str]]]  # the new id and the message saying so

    def next(self, ctx: Ctx) -> str:
        """The first step still unanswered, else the summary."""
        return ts.next_step(ctx, self.steps)

    def keep(self, ctx: Ctx, **answer: Any) -> str:
        """Remember an answer and move on."""
        ctx.remember(**answer)
        return self.next(ctx)

    async def begin(self, ctx: Ctx, data: dict[str, Any], problems: list[str]) -> None:
        """Enter the flow with answers already known, explain what was wrong, ask what is missing."""
        ctx.enter(self.flow.name, self.flow.first, data)
        problems += self.recheck(ctx)
        for problem in problems:
            ctx.say(problem)
        await self.flow.goto(ctx, self.next(ctx))

    def register_steps(self) -> None:
        """Add the shared steps to the flow."""
        f = self.flow
        f.ask("product")(self.ask_product)
        f.answer("product")(self.on_product)
        f.ask("quantity")(self.ask_quantity)
        f.answer("quantity")(self.on_quantity)
        f.ask("price")(self.ask_price)
        f.answer("price")(self.on_price)
        f.ask("window")(self.ask_window)
        f.answer("window")(self.on_window)
        f.answer("summary")(self.on_summary)
        f.ask("edit")(self.ask_edit)
        f.answer("edit")(self.on_edit)

    # --- product, quantity, price, window ----------------------------------------------------------

    async def ask_product(self, ctx: Ctx) -> None:
        codes = await popular_products(ctx.uow, self.home_province(ctx))
        ctx.say(str(self.product_question), ts.product_choices(ctx, codes), columns=2)

    async def on_product(self, ctx: Ctx) -> str:
        product = ts.read_product(ctx)
        if product is None:
            return STAY
        ctx.remember(product=product.code)
        for problem in self.recheck(ctx):
            ctx.say(problem)
        return self.next(ctx)

    async def ask_quantity(self, ctx: Ctx) -> None:
        ctx.say(str(self.quantity_question))

    async def on_quantity(self, ctx: Ctx) -> str:
        kg = ts.read_quantity(ctx)
        if kg is None:
            return STAY
        ctx.remember(quantity_kg=kg)
        for problem in self.quantity_changed(ctx):
            ctx.say(problem)
        return self.next(ctx)

    async def ask_price(self, ctx: Ctx) -> None:
        product = ts.product_of(ctx)
        lines = [str(self.price_question)]
        province = self.home_province(ctx)
        if province:
            ref = await ctx.uow.prices.current(product.code, province, ctx.today)
            if ref is not None:
                lines.append(_("Giá tham chiếu hiện nay: {price}.").format(price=fmt.price_per_kg(ref.price)))
        ctx.say("\n".join(lines), [Choice(_("Bỏ qua"), "price:skip")] if self.price_optional else [])

    async def on_price(self, ctx: Ctx) -> str:
        if self.price_optional and (ctx.payload == "price:skip" or fold(ctx.text) in ("bo qua", "khong")):
            return self.keep(ctx, price=None)
        try:
            price = check_price(ts.product_of(ctx), parse_price(ctx.text) if ctx.text else None)
        except RuleError as e:
            ctx.say(e.message)
            return STAY
        return self.keep(ctx, price=price)

    async def ask_window(self, ctx: Ctx) -> None:
        ctx.say(str(self.window_question), ts.window_choices(), columns=2)

    async def on_window(self, ctx: Ctx) -> str:
        window = ts.read_window(ctx)
        if window is None:
            return STAY
        try:
            self.check_window(ctx, *window)
        except RuleError as e:
            ctx.say(e.message)
            return STAY
        return self.keep(ctx, date_from=window[0].isoformat(), date_to=window[1].isoformat())

    # --- summary, edit, save -----------------------------------------------------------------------

    async def on_summary(self, ctx: Ctx) -> str:
        if ctx.payload == ts.EDIT:
            return "edit"
        if ctx.payload == ts.CANCEL:
            ctx.leave()
            show_menu(ctx, _("Đã hủy. Không có gì được lưu."))
            return DONE
        if ctx.payload != ts.CONFIRM:
            ctx.say(_("Vui lòng bấm Xác nhận, Sửa hoặc Hủy."))
            return STAY
        if not await require_role(ctx, self.roles, self.command):  # the role may have changed meanwhile
            ctx.leave()
            return DONE
        try:
            saved_id, message = await self.save(ctx)
        except RuleError as e:
            ctx.say(e.message)
            return self.prepare(ctx, e.field)
        ts.announce(ctx, self.kind, saved_id)
        ctx.leave()
        show_menu(ctx, message)
        return DONE

    async def ask_edit(self, ctx: Ctx) -> None:
        ts.ask_edit(ctx, self.edit_fields(ctx))

    async def on_edit(self, ctx: Ctx) -> str:
        step = ts.answer_edit(ctx, [s for s, _label in self.edit_fields(ctx)])
        return self.prepare(ctx, step) if step not in (STAY, "summary") else step
