"""/cuatoi: a person's open lots (farmers, coop reps) or orders (traders), five a page, each with
buttons to change the volume, extend the window, cancel it (with a reason), change the price or
move the window.

The list is the one step of the flow ``mine``: a sentence typed there that is not about the
list ("bán 3 tạ na mai thu") is read as the new request it is. Its buttons are typed actions,
so a list still in the chat above keeps working after the person has moved on. A change is the
flow ``mine_change`` (the new volume and, for a pooled lot, the households' parts; the new end
date; the reason; the new price; the new window), after which the list is shown again.

Volume not yet proposed is re-matched at once. Accepted deals never change silently: a volume
below what is promised, or a price the deals are not at, is asked of the other side of each
deal (bot/services/amendments.py) and changes it only on their consent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from bot import formatting as fmt
from bot.engine.actions import Action, action
from bot.engine.context import Ctx
from bot.engine.flow import Accept, Flow, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.router import Command, Router
from bot.engine.screens import Option, Screen
from bot.engine.widgets import Choice, Select, TextInput, Widget, problem
from bot.handlers import trade_steps as ts
from bot.handlers.common import show_menu
from bot.handlers.roles import SUPPLIERS, TRADER
from bot.i18n import _, lazy_gettext
from bot.parsing import answers
from bot.presentation import trade as show
from bot.presentation.labels import product_name
from bot.services import amendments, lots, orders, trade
from bot.services.quantities import RuleError, check_price, parse_window
from bot.textnorm import fold
from storage import dto

ORDER = 30  # menu position: report a lot, post an order, then "mine"
OWNERS = SUPPLIERS | {TRADER}
PAGE_SIZE = 5
EXTEND_DAYS = (1, 3, 7)


class Do(enum.StrEnum):
    VOLUME = "v"
    EXTEND = "x"
    CANCEL = "c"
    PRICE = "p"
    WINDOW = "w"


@action("mi")
@dataclass(frozen=True, slots=True)
class MineItem(Action):
    """A button of the list: do something to one of the person's lots or orders."""

    do: Do
    item: int
    page: int


@action("mp")
@dataclass(frozen=True, slots=True)
class MinePage(Action):
    """A page of the list (also "« Quay lại" from a change)."""

    page: int


class ListStep(enum.StrEnum):
    LIST = "list"


class ChangeStep(enum.StrEnum):
    VOLUME = "volume"
    RESHARE = "reshare"
    EXTEND = "extend"
    REASON = "reason"
    PRICE = "price"
    WINDOW = "window"


mine = Flow("mine", ListStep, roles=OWNERS, action_name="cuatoi")
change = Flow("mine_change", ChangeStep, roles=OWNERS, action_name="cuatoi")


def _trader(ctx: Ctx) -> bool:
    return ctx.user.role == TRADER


async def _own(ctx: Ctx, item_id: int, *, matched_too: bool = True) -> trade.Item:
    """The person's own open (or fully matched) lot or order (RuleError otherwise)."""
    if _trader(ctx):
        return await orders.own_open_order(ctx.uow, ctx.user, item_id, matched_too=matched_too)
    return await lots.own_open_lot(ctx.uow, ctx.user, item_id, matched_too=matched_too)


def _empty_text(ctx: Ctx) -> str:
    if _trader(ctx):
        return _("Bạn chưa có đơn đặt mua nào đang mở. Gõ /dathang để đặt mua.")
    return _("Bạn chưa có lô hàng nào đang mở. Gõ /thuhoach để báo thu hoạch.")


async def show_list(ctx: Ctx, page: int) -> None:
    """The list (as the open question of the flow ``mine``), or the menu when nothing is open."""
    found = await trade.my_open_items(
        ctx.uow, ctx.user, orders=_trader(ctx), page=page, size=PAGE_SIZE, today=ctx.today
    )
    if found.total == 0:
        ctx.leave()
        show_menu(ctx, _empty_text(ctx))
        return
    await mine.start(ctx, {"page": found.page})


async def cmd_mine(ctx: Ctx, _args: str) -> None:
    """/cuatoi: list my open lots or orders."""
    await show_list(ctx, 0)


# --- the list ------------------------------------------------------------------------------------------


def _item_options(item: trade.Item, page: int, alone: bool) -> list[Option]:
    """Đổi KL / Gia hạn / Hủy for one item; typed "gia han 7" (or "gia han" when it is the only one) too."""
    n = item.id
    volume = [f"doi kl {n}", f"doi khoi luong {n}", f"{n} doi kl"]
    extend = [f"gia han {n}", f"{n} gia han"]
    cancel = [f"huy {n}", f"{n} huy"]
    price = [f"doi gia {n}", f"{n} doi gia"]
    window = [f"doi ngay {n}", f"{n} doi ngay", f"doi thoi gian {n}"]
    if alone:
        volume += ["doi kl", "doi khoi luong"]
        extend += ["gia han"]
        price += ["doi gia"]
        window += ["doi ngay", "doi thoi gian"]
    options = [
        Option(_("#{id} Đổi KL").format(id=n), MineItem(Do.VOLUME, n, page), tuple(volume)),
        Option(_("#{id} Gia hạn").format(id=n), MineItem(Do.EXTEND, n, page), tuple(extend)),
        Option(_("#{id} Hủy").format(id=n), MineItem(Do.CANCEL, n, page), tuple(cancel)),
        Option(_("#{id} Đổi giá").format(id=n), MineItem(Do.PRICE, n, page), tuple(price)),
        Option(_("#{id} Đổi ngày").format(id=n), MineItem(Do.WINDOW, n, page), tuple(window)),
    ]
    if item.status == "matched":  # all promised: its deals are changed, not withdrawn from here
        del options[2]
    return options


@dataclass
class ItemList(Widget):
    """The person's open lots or orders, a page at a time, with their buttons."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        found = await trade.my_open_items(
            ctx.uow,
            ctx.user,
            orders=_trader(ctx),
            page=int(ctx.answers.get("page", 0)),
            size=PAGE_SIZE,
            today=ctx.today,
        )
        if found.total == 0:
            return Screen(_empty_text(ctx))
        title = (
            _("Đơn đặt mua đang mở của bạn ({total}), trang {page}/{pages}:")
            if _trader(ctx)
            else _("Lô hàng đang mở của bạn ({total}), trang {page}/{pages}:")
        )
        lines = [title.format(total=found.total, page=found.page + 1, pages=found.pages)]
        lines += [show.item_line(ctx.services, i) for i in found.items]
        options: list[Option] = []
        for item in found.items:
            options += _item_options(item, found.page, alone=len(found.items) == 1)
        if found.page > 0:
            options.append(Option(_("« Trước"), MinePage(found.page - 1), ("truoc",)))
        if found.page < found.pages - 1:
            options.append(Option(_("Sau »"), MinePage(found.page + 1), ("sau", "tiep")))
        return Screen("\n".join(lines), tuple(options), columns=3)

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        key = fold(text)
        if key.startswith(
            (
                "gia han",
                "doi kl",
                "doi khoi luong",
                "huy lo",
                "huy don",
                "doi gia",
                "doi ngay",
                "doi thoi gian",
            )
        ):
            return Retry(_("Gõ kèm số của lô hoặc đơn, ví dụ: gia hạn 7."))
        if ctx.caps.buttons:
            return NotUnderstood(_("Vui lòng chọn một mục bên dưới, hoặc gõ /huy để thoát."))
        return NotUnderstood(_("Vui lòng gõ số của một mục bên dưới, hoặc gõ /huy để thoát."))


mine.step(ListStep.LIST, ItemList(), key="list")


@mine.committer
async def _never(ctx: Ctx) -> None:  # the list answers with actions; it has nothing to save
    ctx.leave()


async def on_page(ctx: Ctx, act: MinePage) -> None:
    if ctx.flow == mine.name:
        ctx.remember(page=act.page)  # the engine shows the list again: the open question
        return
    await show_list(ctx, act.page)


async def on_item(ctx: Ctx, act: MineItem) -> None:
    """A button of a list, maybe one shown long ago: the item must still be the person's and open."""
    try:
        item = await _own(ctx, act.item, matched_too=act.do is not Do.CANCEL)
    except RuleError as e:
        ctx.say(e.message)
        return
    promised = item.quantity_kg - item.remaining_kg
    pooled = isinstance(item, dto.Lot) and await lots.has_shares(ctx.uow, item.id)
    await change.start(
        ctx,
        {
            "do": act.do.value,
            "id": item.id,
            "page": act.page,
            "product": item.product_code,
            "quantity": item.quantity_kg,
            "promised": promised,
            "since": trade.window_of(item)[0].isoformat(),
            "until": trade.window_of(item)[1].isoformat(),
            "pooled": pooled,
            "price_old": item.asking_price if isinstance(item, dto.Lot) else item.price,
        },
    )


# --- the changes -----------------------------------------------------------------------------------------


@dataclass
class WithBack(Widget):
    """A widget with "« Quay lại" to the list added under its question."""

    inner: Widget

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        screen = await self.inner.ask(ctx, flow, spec)
        back = Option(_("« Quay lại"), MinePage(int(ctx.answers.get("page", 0))), ("quay lai",))
        return dataclasses.replace(screen, options=(*screen.options, back))

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        return await self.inner.on_choice(ctx, flow, spec, value)

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        return await self.inner.on_text(ctx, flow, spec, text)

    async def on_share(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> StepResult:
        return await self.inner.on_share(ctx, flow, spec)


def _doing(do: Do) -> Any:
    return lambda ctx: ctx.answers.get("do") == do.value


def _volume_question(ctx: Ctx) -> str:
    a = ctx.answers
    return _("#{id} {product}: hiện {total}, đã hứa bán {promised}. Khối lượng mới là bao nhiêu?").format(
        id=a["id"],
        product=product_name(ctx.services, a["product"]),
        total=fmt.kg(a["quantity"]),
        promised=fmt.kg(a["promised"]),
    )


async def _check_volume(ctx: Ctx, value: Any) -> int:
    item = await _own(ctx, int(ctx.answers["id"]))
    # Below what is promised only as far as accepted deals can be asked to take less.
    floor = await amendments.volume_floor(ctx.uow, item)
    return lots.check_new_volume(item.quantity_kg - item.remaining_kg, value, floor)


def _price_question(ctx: Ctx) -> str:
    a = ctx.answers
    old = a.get("price_old")
    return _("#{id} {product}: giá hiện tại {price}. Giá mới là bao nhiêu? Ví dụ: 25k · 25.000").format(
        id=a["id"],
        product=product_name(ctx.services, a["product"]),
        price=fmt.price_per_kg(old) if old else _("chưa đặt"),
    )


def _check_new_price(ctx: Ctx, value: Any) -> int:
    product = ctx.services.catalog.get(ctx.answers["product"])
    if product is None:
        raise RuleError(_("Không có sản phẩm này. Vui lòng chọn lại."), "price")
    return check_price(product, value)


def _window_question(ctx: Ctx) -> str:
    a = ctx.answers
    return _(
        "#{id} {product}: hiện {window}. Thời gian mới? Ví dụ: 15-20/9 · từ 15 đến 20/9 · tuần sau"
    ).format(
        id=a["id"],
        product=product_name(ctx.services, a["product"]),
        window=fmt.date_range(dt.date.fromisoformat(a["since"]), dt.date.fromisoformat(a["until"])),
    )


async def _check_new_window(ctx: Ctx, value: Any) -> list[str]:
    start, end = value
    item = await _own(ctx, int(ctx.answers["id"]))
    if isinstance(item, dto.Lot):
        lots.check_lot_new_window(item, start, end, ctx.services.catalog, ctx.today)
    else:
        orders.check_order_new_window(item, start, end, ctx.today)
    return [start.isoformat(), end.isoformat()]


@dataclass
class NewEnd(Widget):
    """A later end date: "Thêm 1/3/7 ngày", or typed ("25/9", "tuần sau")."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        a = ctx.answers
        options = [
            flow.option(spec, _("Thêm {n} ngày").format(n=n), f"+{n}", f"them {n} ngay", f"{n} ngay")
            for n in EXTEND_DAYS
        ]
        text = _(
            "#{id} {product}: đang đến {day}. Gia hạn đến ngày nào? Chọn hoặc gõ ngày (ví dụ: 25/9)."
        ).format(
            id=a["id"],
            product=product_name(ctx.services, a["product"]),
            day=fmt.date(dt.date.fromisoformat(a["until"])),
        )
        return Screen(text, tuple(options), columns=3)

    async def _accept(self, ctx: Ctx, new_to: dt.date) -> StepResult:
        try:
            item = await _own(ctx, int(ctx.answers["id"]))
            if isinstance(item, dto.Lot):
                lots.check_extension(item, new_to, ctx.services.catalog, ctx.today)
            else:
                orders.check_extension(item, new_to, ctx.today)
        except RuleError as e:
            return Retry(problem(e))
        return Accept(new_to.isoformat())

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if not value.startswith("+") or not value[1:].isdigit():
            return Retry()
        until = dt.date.fromisoformat(ctx.answers["until"])
        return await self._accept(ctx, until + dt.timedelta(days=int(value[1:])))

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        period = answers.read_period(text, ctx.today)
        if period is None or (period[0] is None and period[1] is None):
            return NotUnderstood(_("Tôi chưa hiểu ngày. Ví dụ: 25/9."))
        start, end = period
        return await self._accept(ctx, end or start)  # type: ignore[arg-type]


def _reasons(ctx: Ctx) -> list[str]:
    if _trader(ctx):
        return [_("Đã mua đủ hàng"), _("Đổi kế hoạch"), _("Báo nhầm")]
    return [_("Đã bán nơi khác"), _("Hàng hỏng, mất mùa"), _("Báo nhầm")]


def _reason_question(ctx: Ctx) -> str:
    a = ctx.answers
    return _("Hủy #{id} {product}? Chọn hoặc gõ lý do:").format(
        id=a["id"], product=product_name(ctx.services, a["product"])
    )


def _read_reason(_ctx: Ctx, text: str) -> str | None:
    reason = " ".join(text.split())
    return reason if len(reason) >= 2 else None


def _check_reason(ctx: Ctx, value: Any) -> str:
    value = str(value)
    if value.startswith("why:") and value[4:].isdigit():
        reasons = _reasons(ctx)
        return reasons[min(int(value[4:]), len(reasons) - 1)]
    return value[:200]


change.step(
    ChangeStep.VOLUME,
    WithBack(
        TextInput(
            _volume_question,
            lambda _ctx, text: answers.read_amount_kg(text),
            lazy_gettext("Tôi chưa hiểu khối lượng. Ví dụ: 2,5 tấn · 3 tạ · 1500 kg."),
            check=_check_volume,
        )
    ),
    key="volume",
    when=_doing(Do.VOLUME),
)
# A pooled lot whose total changes: the households' parts are given again for the new total.
change.step(
    ChangeStep.RESHARE,
    WithBack(ts.HouseholdShares(lambda ctx: int(ctx.answers["volume"]), skippable=False)),
    key="shares",
    when=lambda ctx: (
        _doing(Do.VOLUME)(ctx)
        and bool(ctx.answers.get("pooled"))
        and ctx.answers.get("volume") != ctx.answers.get("quantity")
        # below what is promised: the parts shrink in proportion as the deals agree
        and int(ctx.answers.get("volume", 0)) >= int(ctx.answers.get("promised", 0))
    ),
)
change.step(ChangeStep.EXTEND, WithBack(NewEnd()), key="until_new", when=_doing(Do.EXTEND))
change.step(
    ChangeStep.PRICE,
    WithBack(
        TextInput(
            _price_question,
            lambda ctx, text: answers.read_amount_vnd_per_kg(text, ctx.answers.get("product")),
            lazy_gettext("Tôi chưa hiểu giá. Ví dụ: 25k · 25.000 · 25000đ."),
            check=_check_new_price,
        )
    ),
    key="price",
    when=_doing(Do.PRICE),
)
change.step(
    ChangeStep.WINDOW,
    WithBack(
        TextInput(
            _window_question,
            lambda ctx, text: parse_window(text, ctx.today),
            lazy_gettext("Tôi chưa hiểu ngày. Ví dụ: 15-20/9."),
            check=_check_new_window,
        )
    ),
    key="window",
    when=_doing(Do.WINDOW),
)
change.step(
    ChangeStep.REASON,
    WithBack(
        Select(
            _reason_question,
            lambda ctx: [Choice(r, f"why:{i}") for i, r in enumerate(_reasons(ctx))],
            read=_read_reason,
            invalid=lazy_gettext("Vui lòng chọn hoặc gõ lý do hủy."),
            check=_check_reason,
            columns=1,
        )
    ),
    key="reason",
    when=_doing(Do.CANCEL),
)


@change.committer
async def apply(ctx: Ctx) -> None:
    """Make the change, say so, and show the list again."""
    a = ctx.answers
    item_id, page = int(a["id"]), int(a.get("page", 0))
    try:
        message = await _apply(ctx, item_id, a)
    except RuleError as e:
        message = e.message
    ctx.say(message)
    await show_list(ctx, page)

    async def wake() -> None:  # the matcher
        ctx.services.wake_events()

    ctx.on_commit(wake)


async def _apply(ctx: Ctx, item_id: int, a: dict[str, Any]) -> str:
    do = Do(a["do"])
    hours = ctx.services.settings.amendment_hours
    if do is Do.VOLUME and int(a["volume"]) < int(a["promised"]):
        asked = await amendments.ask_volume_cut(
            ctx.uow, ctx.user, await _own(ctx, item_id), int(a["volume"]), ctx.now, hours
        )
        return show.volume_cut(item_id, int(a["volume"]), len(asked))
    if do is Do.VOLUME:
        if _trader(ctx):
            changed: trade.Item = await orders.change_order_volume(ctx.uow, ctx.user, item_id, a["volume"])
        else:
            shares = ts.shares_of(a["shares"]) if "shares" in a else None
            changed = await lots.change_lot_volume(ctx.uow, ctx.user, item_id, a["volume"], shares)
        return show.volume_changed(item_id, int(a["quantity"]), changed.quantity_kg)
    if do is Do.EXTEND:
        new_to = dt.date.fromisoformat(a["until_new"])
        if _trader(ctx):
            changed = await orders.extend_order(ctx.uow, ctx.user, item_id, new_to, ctx.today)
        else:
            changed = await lots.extend_lot(
                ctx.uow, ctx.user, item_id, new_to, ctx.services.catalog, ctx.today
            )
        return show.extended(changed)
    if do is Do.PRICE:
        if _trader(ctx):
            changed = await orders.change_order_price(
                ctx.uow, ctx.user, item_id, a["price"], ctx.services.catalog
            )
        else:
            changed = await lots.change_lot_price(
                ctx.uow, ctx.user, item_id, a["price"], ctx.services.catalog
            )
        asked = await amendments.ask_price(ctx.uow, ctx.user, changed, int(a["price"]), ctx.now, hours)
        message = show.price_changed(changed, a.get("price_old"))
        return f"{message}\n{show.amendments_asked(len(asked))}" if asked else message
    if do is Do.WINDOW:
        start, end = (dt.date.fromisoformat(d) for d in a["window"])
        if _trader(ctx):
            changed = await orders.change_order_window(ctx.uow, ctx.user, item_id, start, end, ctx.today)
        else:
            changed = await lots.change_lot_window(
                ctx.uow, ctx.user, item_id, start, end, ctx.services.catalog, ctx.today
            )
        return show.window_changed(changed)
    if _trader(ctx):
        await orders.cancel_order(ctx.uow, ctx.user, item_id, a["reason"])
    else:
        await lots.cancel_lot(ctx.uow, ctx.user, item_id, a["reason"])
    return show.cancelled(item_id, a["reason"])


def register(router: Router) -> None:
    # The roles here decide who sees the menu button; the engine checks them at every use.
    router.command(
        Command(
            "cuatoi",
            cmd_mine,
            lazy_gettext("Của tôi"),
            roles=OWNERS,
            description=lazy_gettext("xem, đổi, gia hạn hoặc hủy lô hàng/đơn của bạn"),
        )
    )
    router.flow(mine)
    router.flow(change)
    router.on(MineItem, on_item, roles=OWNERS, audit_as="cuatoi")
    router.on(MinePage, on_page, roles=OWNERS, audit_as="cuatoi")
    router.keeps_flow_quiet.add("cuatoi")
