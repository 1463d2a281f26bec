"""/cuatoi: a person's open lots (farmers, coop reps) or orders (traders), five a page, each with
buttons to change the volume, extend the window or cancel it."""

from __future__ import annotations

import datetime as dt

from bot import formatting as fmt
from bot.dialog import STAY, Command, Ctx, Flow, Router
from bot.events import Choice
from bot.handlers import trade_steps as ts
from bot.handlers.common import show_menu
from bot.handlers.paging import nav_buttons
from bot.handlers.roles import SUPPLIERS, TRADER, require_role
from bot.i18n import _, lazy_gettext
from bot.services import lots, orders
from bot.services.quantities import RuleError, parse_quantity_kg, parse_window
from storage import dto

ORDER = 30  # menu position: report a lot, post an order, then "mine"
flow = Flow("mine", first="list")
OWNERS = SUPPLIERS | {TRADER}
PAGE_SIZE = 5
BACK = "mine_back"
EXTEND_DAYS = (1, 3, 7)

Item = dto.Lot | dto.Order


def _trader(ctx: Ctx) -> bool:
    return ctx.user.role == TRADER


def _window(item: Item) -> tuple[dt.date, dt.date]:
    if isinstance(item, dto.Lot):
        return item.ready_from, item.ready_to
    return item.pickup_from, item.pickup_to


def _describe(ctx: Ctx, item: Item) -> str:
    """One line: number, product, what is left, price or grade, window, status."""
    detail = ts.grade_label(item.grade) if isinstance(item, dto.Lot) else fmt.price_per_kg(item.price)
    return _("#{id} {product} – còn {left}/{total} · {detail} · {window} · {status}").format(
        id=item.id,
        product=ts.product_name(ctx, item.product_code),
        left=fmt.kg(item.remaining_kg),
        total=fmt.kg(item.quantity_kg),
        detail=detail,
        window=fmt.date_range(*_window(item)),
        status=ts.status_label(item.status),
    )


async def _own(ctx: Ctx, item_id: int) -> Item:
    """The person's own open lot or order (RuleError otherwise)."""
    if _trader(ctx):
        return await orders.own_open_order(ctx.uow, ctx.user, item_id)
    return await lots.own_open_lot(ctx.uow, ctx.user, item_id)


async def cmd_mine(ctx: Ctx, _args: str) -> None:
    """/cuatoi: list my open lots or orders."""
    if not await require_role(ctx, OWNERS, "cuatoi"):
        return
    await flow.start(ctx, {"page": 0})


# --- the list ----------------------------------------------------------------------------------


@flow.ask("list")
async def ask_list(ctx: Ctx) -> None:
    uid = ctx.user.id
    if _trader(ctx):
        total = await ctx.uow.orders.count_of_trader(uid)
    else:
        total = await ctx.uow.lots.count_of_owner(uid)
    if total == 0:
        ctx.leave()
        show_menu(
            ctx,
            _("Bạn chưa có đơn đặt mua nào đang mở. Gõ /dathang để đặt mua.")
            if _trader(ctx)
            else _("Bạn chưa có lô hàng nào đang mở. Gõ /thuhoach để báo thu hoạch."),
        )
        return
    pages = -(-total // PAGE_SIZE)
    page = min(max(int(ctx.data.get("page", 0)), 0), pages - 1)
    offset = page * PAGE_SIZE
    items: list[Item] = list(
        await ctx.uow.orders.of_trader(uid, limit=PAGE_SIZE, offset=offset)
        if _trader(ctx)
        else await ctx.uow.lots.of_owner(uid, limit=PAGE_SIZE, offset=offset)
    )
    title = (
        _("Đơn đặt mua đang mở của bạn ({total}), trang {page}/{pages}:")
        if _trader(ctx)
        else _("Lô hàng đang mở của bạn ({total}), trang {page}/{pages}:")
    )
    lines = [title.format(total=total, page=page + 1, pages=pages), *(_describe(ctx, i) for i in items)]
    choices = []
    for item in items:
        choices += [
            Choice(_("#{id} Đổi KL").format(id=item.id), f"m:vol:{item.id}"),
            Choice(_("#{id} Gia hạn").format(id=item.id), f"m:ext:{item.id}"),
            Choice(_("#{id} Hủy").format(id=item.id), f"m:del:{item.id}"),
        ]
    ctx.say("\n".join(lines), choices + nav_buttons(page, pages, "mpage"), columns=3)


@flow.answer("list")
async def on_list(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    if payload.startswith("mpage:"):
        ctx.remember(page=int(payload.removeprefix("mpage:")))
        return STAY
    action, _sep, raw_id = payload.removeprefix("m:").partition(":")
    step = {"vol": "volume", "ext": "extend", "del": "cancel"}.get(action)
    if not payload.startswith("m:") or step is None or not raw_id.isdigit():
        ctx.say(_("Vui lòng chọn một nút bên dưới, hoặc gõ /huy để thoát."))
        return STAY
    try:
        await _own(ctx, int(raw_id))
    except RuleError as e:
        ctx.say(e.message)
        return STAY
    ctx.remember(target=int(raw_id), shares_draft=[], new_kg=None)
    return step


async def _target(ctx: Ctx) -> Item | None:
    """The lot or order being changed; None (and back to the list) if it closed meanwhile."""
    try:
        return await _own(ctx, ctx.data["target"])
    except RuleError as e:
        ctx.say(e.message)
        await flow.goto(ctx, "list")
        return None


def _back() -> list[Choice]:
    return [Choice(_("« Quay lại"), BACK)]


# --- change the volume ----------------------------------------------------------------------------


@flow.ask("volume")
async def ask_volume(ctx: Ctx) -> None:
    item = await _target(ctx)
    if item is None:
        return
    promised = item.quantity_kg - item.remaining_kg
    ctx.say(
        _("#{id} {product}: hiện {total}, đã hứa bán {promised}. Khối lượng mới là bao nhiêu?").format(
            id=item.id,
            product=ts.product_name(ctx, item.product_code),
            total=fmt.kg(item.quantity_kg),
            promised=fmt.kg(promised),
        ),
        _back(),
    )


@flow.answer("volume")
async def on_volume(ctx: Ctx) -> str:
    if ctx.payload == BACK:
        return "list"
    new_kg = parse_quantity_kg(ctx.text) if ctx.text else None
    target = ctx.data["target"]
    try:
        item = await _own(ctx, target)
        kg = lots.check_new_volume(item.quantity_kg - item.remaining_kg, new_kg)
        if isinstance(item, dto.Lot) and await ctx.uow.lots.shares(item.id) and kg != item.quantity_kg:
            # A pooled lot: the households' parts must be given again for the new total.
            ctx.remember(new_kg=kg, shares_draft=[])
            return "reshare"
        if isinstance(item, dto.Lot):
            changed: Item = await lots.change_lot_volume(ctx.uow, ctx.user, target, kg)
        else:
            changed = await orders.change_order_volume(ctx.uow, ctx.user, target, kg)
    except RuleError as e:
        ctx.say(e.message)
        return STAY
    return _changed(
        ctx,
        changed,
        _("Đã đổi khối lượng #{id} từ {old} thành {new}.").format(
            id=target, old=fmt.kg(item.quantity_kg), new=fmt.kg(changed.quantity_kg)
        ),
    )


@flow.ask("reshare")
async def ask_reshare(ctx: Ctx) -> None:
    ts.ask_shares(ctx, ctx.data["new_kg"], skippable=False)


@flow.answer("reshare")
async def on_reshare(ctx: Ctx) -> str:
    shares = ts.answer_shares(ctx, ctx.data["new_kg"])
    if shares is None:
        return STAY
    target = ctx.data["target"]
    try:
        old = await lots.own_open_lot(ctx.uow, ctx.user, target)
        changed = await lots.change_lot_volume(ctx.uow, ctx.user, target, ctx.data["new_kg"], tuple(shares))
    except RuleError as e:
        ctx.say(e.message)
        return "volume" if e.field == "volume" else "list"
    return _changed(
        ctx,
        changed,
        _("Đã đổi khối lượng #{id} từ {old} thành {new}.").format(
            id=target, old=fmt.kg(old.quantity_kg), new=fmt.kg(changed.quantity_kg)
        ),
    )


def _changed(ctx: Ctx, item: Item, message: str) -> str:
    """Confirm a change, tell the market after commit, and show the list again."""
    ts.announce(ctx, "order" if isinstance(item, dto.Order) else "lot", item.id)
    ctx.say(message)
    return "list"


# --- extend the window ---------------------------------------------------------------------------


@flow.ask("extend")
async def ask_extend(ctx: Ctx) -> None:
    item = await _target(ctx)
    if item is None:
        return
    choices = [Choice(_("Thêm {n} ngày").format(n=n), f"ext:{n}") for n in EXTEND_DAYS]
    ctx.say(
        _("#{id} {product}: đang đến {day}. Gia hạn đến ngày nào? Chọn hoặc gõ ngày (ví dụ: 25/9).").format(
            id=item.id, product=ts.product_name(ctx, item.product_code), day=fmt.date(_window(item)[1])
        ),
        choices + _back(),
        columns=3,
    )


@flow.answer("extend")
async def on_extend(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    if payload == BACK:
        return "list"
    target = ctx.data["target"]
    try:
        item = await _own(ctx, target)
        if payload.startswith("ext:"):
            new_to = _window(item)[1] + dt.timedelta(days=int(payload.removeprefix("ext:")))
        else:
            window = parse_window(ctx.text, ctx.today) if ctx.text else None
            if window is None:
                raise RuleError(_("Tôi chưa hiểu ngày. Ví dụ: 25/9."), "extend")
            new_to = window[1]
        if isinstance(item, dto.Lot):
            changed: Item = await lots.extend_lot(
                ctx.uow, ctx.user, target, new_to, ctx.services.catalog, ctx.today
            )
        else:
            changed = await orders.extend_order(ctx.uow, ctx.user, target, new_to, ctx.today)
    except RuleError as e:
        ctx.say(e.message)
        return STAY
    return _changed(ctx, changed, _("Đã gia hạn #{id} đến {day}.").format(id=target, day=fmt.date(new_to)))


# --- cancel ----------------------------------------------------------------------------------------


def _reasons(ctx: Ctx) -> list[str]:
    if _trader(ctx):
        return [_("Đã mua đủ hàng"), _("Đổi kế hoạch"), _("Báo nhầm")]
    return [_("Đã bán nơi khác"), _("Hàng hỏng, mất mùa"), _("Báo nhầm")]


@flow.ask("cancel")
async def ask_cancel(ctx: Ctx) -> None:
    item = await _target(ctx)
    if item is None:
        return
    choices = [Choice(reason, f"why:{i}") for i, reason in enumerate(_reasons(ctx))]
    ctx.say(
        _("Hủy #{id} {product}? Chọn hoặc gõ lý do:").format(
            id=item.id, product=ts.product_name(ctx, item.product_code)
        ),
        choices + _back(),
    )


@flow.answer("cancel")
async def on_cancel(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    if payload == BACK:
        return "list"
    reasons = _reasons(ctx)
    if payload.startswith("why:") and payload.removeprefix("why:").isdigit():
        reason = reasons[min(int(payload.removeprefix("why:")), len(reasons) - 1)]
    else:
        reason = " ".join(ctx.text.split())
    if len(reason) < 2:
        ctx.say(_("Vui lòng chọn hoặc gõ lý do hủy."))
        return STAY
    target = ctx.data["target"]
    try:
        if _trader(ctx):
            changed: Item = await orders.cancel_order(ctx.uow, ctx.user, target, reason)
        else:
            changed = await lots.cancel_lot(ctx.uow, ctx.user, target, reason)
    except RuleError as e:
        ctx.say(e.message)
        return "list"
    return _changed(ctx, changed, _("Đã hủy #{id}. Lý do: {reason}.").format(id=target, reason=reason[:200]))


async def on_list_button(ctx: Ctx, _rest: str) -> None:
    """A button of a list shown earlier: it still works after the person has moved on."""
    if not await require_role(ctx, OWNERS, "cuatoi"):
        return
    if ctx.flow != flow.name:
        ctx.enter(flow.name, "list", {"page": 0})
    ctx.step = "list"
    await flow.handle(ctx)


def register(router: Router) -> None:
    # The roles here decide who sees the menu button; the handler checks them again itself.
    router.command(
        Command(
            "cuatoi",
            cmd_mine,
            lazy_gettext("Của tôi"),
            roles=OWNERS,
            description=lazy_gettext("xem, đổi, gia hạn hoặc hủy lô hàng/đơn của bạn"),
        )
    )
    router.flow(flow)
    router.action("m", on_list_button)
    router.action("mpage", on_list_button)
