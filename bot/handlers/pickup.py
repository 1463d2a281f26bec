"""After both sides accept: the trader picks a pickup slot at the collection point (or takes the
earliest that fits); the rep is told who comes when, with how many kilograms."""

from __future__ import annotations

import datetime as dt

from bot import formatting as fmt
from bot.dialog import Ctx, Router
from bot.events import Choice, Reply
from bot.handlers.roles import TRADER, require_role
from bot.i18n import _, use_locale
from bot.services.notify import notify
from bot.services.slots import Booking, book_slot, earliest_fitting_slot, slots_with_room
from storage import dto

ORDER = 55
TRADERS = frozenset({TRADER})
MAX_SLOT_BUTTONS = 8


async def _load(ctx: Ctx, match_id: int) -> tuple[dto.Match, dto.Lot, dto.Order, dto.CollectionPoint] | None:
    """The match if this trader may schedule it now; otherwise says why and returns None."""
    uow = ctx.uow
    match = await uow.matches.get(match_id)
    lot = await uow.lots.get(match.lot_id) if match else None
    order = await uow.orders.get(match.order_id) if match else None
    if match is None or lot is None or order is None or order.trader_id != ctx.user.id:
        ctx.say(_("Đơn này không phải của bạn."))
        return None
    if match.status not in ("accepted", "scheduled"):
        ctx.say(_("Đơn #{id} chưa chốt hoặc đã đóng, không đặt giờ lấy hàng được.").format(id=match.id))
        return None
    point = await uow.points.get(lot.collection_point_id) if lot.collection_point_id else None
    if point is None or point.status != "active":
        ctx.say(_("Điểm tập kết của lô này chưa hoạt động. Vui lòng liên hệ cán bộ."))
        return None
    return match, lot, order, point


def _window(ctx: Ctx, lot: dto.Lot, order: dto.Order) -> tuple[dt.date, dt.date]:
    start = max(lot.ready_from, order.pickup_from, ctx.today)
    return start, max(start, min(lot.ready_to, order.pickup_to))


async def show_slots(ctx: Ctx, match_id: int, day: dt.date | None = None) -> None:
    """Slots with room on the first suitable day (or ``day``), with "next day" and "earliest" buttons."""
    loaded = await _load(ctx, match_id)
    if loaded is None:
        return
    match, lot, order, point = loaded
    first, last = _window(ctx, lot, order)
    tz = ctx.services.settings.tz
    day = day or first
    while day <= last:
        free = await slots_with_room(ctx.uow, point.id, day, match.kg, tz=tz, after=ctx.now)
        if free:
            break
        day += dt.timedelta(days=1)
    else:
        ctx.say(
            _(
                "Không còn khung giờ trống cho {kg} tại {point} từ {start} đến {end}. Vui lòng liên hệ cán bộ."
            ).format(kg=fmt.kg(match.kg), point=point.name, start=fmt.date(first), end=fmt.date(last))
        )
        return
    choices = [
        Choice(
            f"{s.starts_at.astimezone(tz):%H:%M}–{s.ends_at.astimezone(tz):%H:%M}",
            f"slot:book:{match.id}:{s.id}",
        )
        for s in free[:MAX_SLOT_BUTTONS]
    ]
    if day < last:
        choices.append(
            Choice(_("Ngày sau »"), f"slot:day:{match.id}:{(day + dt.timedelta(days=1)).isoformat()}")
        )
    ctx.say(
        _("Chọn giờ lấy {kg} tại {point}, ngày {day}:").format(
            kg=fmt.kg(match.kg), point=point.name, day=fmt.date(day)
        ),
        choices,
        columns=2,
    )


async def book(ctx: Ctx, match_id: int, slot_id: int | None) -> None:
    """Book the chosen (or earliest fitting) slot; the database refuses a full one."""
    loaded = await _load(ctx, match_id)
    if loaded is None:
        return
    match, lot, order, point = loaded
    tz = ctx.services.settings.tz
    if slot_id is None:
        first, last = _window(ctx, lot, order)
        earliest = await earliest_fitting_slot(
            ctx.uow, point.id, match.kg, first_day=first, last_day=last, tz=tz, after=ctx.now
        )
        if earliest is None:
            await show_slots(ctx, match_id)
            return
        slot_id = earliest.id
    outcome = await book_slot(ctx.uow, match_id=match.id, slot_id=slot_id)
    if outcome == Booking.FULL:
        ctx.say(_("Khung giờ này vừa hết chỗ. Vui lòng chọn giờ khác."))
        await show_slots(ctx, match_id)
        return
    if outcome != Booking.BOOKED:
        ctx.say(_("Không đặt được khung giờ này cho đơn #{id}.").format(id=match.id))
        return
    slot = await ctx.uow.slots.get(slot_id)
    assert slot is not None
    when = slot.starts_at.astimezone(tz)
    product = ctx.services.catalog.get(lot.product_code)
    name = product.name_vi if product else lot.product_code
    ctx.say(
        _("Đã đặt giờ lấy hàng: {time} ngày {day} tại {point} ({kg} {product}).").format(
            time=f"{when:%H:%M}",
            day=fmt.date(when.date()),
            point=point.name,
            kg=fmt.kg(match.kg),
            product=name,
        )
    )
    rep = await ctx.uow.users.get(lot.owner_id)
    if rep is not None:
        with use_locale(rep.locale):
            text = _(
                "🚚 Thương lái {trader} sẽ đến {point} lúc {time} ngày {day} lấy {kg} {product} (đơn #{id})."
            ).format(
                trader=ctx.user.name,
                point=point.name,
                time=f"{when:%H:%M}",
                day=fmt.date(when.date()),
                kg=fmt.kg(match.kg),
                product=name,
                id=match.id,
            )
        await notify(ctx.uow, rep, Reply(text), dedupe_key=f"scheduled:{match.id}:{slot_id}")
        ctx.on_commit(_wake(ctx))


def _wake(ctx: Ctx):  # type: ignore[no-untyped-def]
    async def hook() -> None:
        ctx.services.wake_outbox()

    return hook


async def on_slot(ctx: Ctx, rest: str) -> None:
    """slot:pick:<match> · slot:day:<match>:<YYYY-MM-DD> · slot:book:<match>:<slot> · slot:first:<match>."""
    if not await require_role(ctx, TRADERS, "pickup_slot"):
        return
    parts = rest.split(":")
    try:
        action, match_id = parts[0], int(parts[1])
        if action == "pick":
            await show_slots(ctx, match_id)
        elif action == "day":
            await show_slots(ctx, match_id, dt.date.fromisoformat(parts[2]))
        elif action == "book":
            await book(ctx, match_id, int(parts[2]))
        elif action == "first":
            await book(ctx, match_id, None)
        else:
            raise ValueError(action)
    except (IndexError, ValueError):
        ctx.say(_("Nút này không còn dùng được."))


def register(router: Router) -> None:
    router.action("slot", on_slot)
