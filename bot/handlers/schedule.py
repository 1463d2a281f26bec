"""Pickup schedules (/lichlay): everyone sees their own upcoming pickups; officials see a
collection point's day at a glance, slot by slot."""

from __future__ import annotations

import datetime as dt

from bot import formatting as fmt
from bot.dialog import Command, Ctx, Router
from bot.events import Choice
from bot.handlers.roles import ADMIN, STAFF
from bot.i18n import _, lazy_gettext
from bot.services import audit
from bot.services.reminders import REP, TRADER, pickup_line, resolve
from bot.services.slots import day_bounds, ensure_slots

ORDER = 45
AHEAD = dt.timedelta(days=30)
MAX_SHOWN = 10


async def my_pickups(ctx: Ctx) -> None:
    """The person's scheduled pickups from an hour ago on, as rep or as trader."""
    tz = ctx.settings.tz
    pickups = await ctx.uow.slots.pickups(
        ctx.now - dt.timedelta(hours=1), ctx.now + AHEAD, person_id=ctx.user.id
    )
    if not pickups:
        ctx.say(_("Bạn chưa có lịch lấy hàng nào sắp tới."))
        return
    lines = [_("Lịch lấy hàng sắp tới của bạn:")]
    for view in (await resolve(ctx.uow, pickups))[:MAX_SHOWN]:
        role = REP if view.pickup.rep_id == ctx.user.id else TRADER
        day = fmt.date(view.pickup.starts_at.astimezone(tz).date())
        where = view.point.name if view.point else "?"
        lines.append(f"• {day}, {where} – {pickup_line(ctx.services, view, role)}")
    if len(pickups) > MAX_SHOWN:
        lines.append(_("… và {count} lượt khác.").format(count=len(pickups) - MAX_SHOWN))
    ctx.say("\n".join(lines))


async def point_day(ctx: Ctx, point_id: int, day: dt.date) -> None:
    """Every slot of one point on one day: room left and who comes with how many kg."""
    point = await ctx.uow.points.get(point_id)
    if point is None or (point.province_code != ctx.user.province_code and ctx.user.role != ADMIN):
        ctx.say(_("Không tìm thấy điểm tập kết này trong tỉnh của bạn."))
        return
    tz = ctx.settings.tz
    slots = await ensure_slots(ctx.uow, point, day, tz)
    views = await resolve(ctx.uow, await ctx.uow.slots.pickups(*day_bounds(day, tz), point_id=point.id))
    lines = [_("📋 {point} – ngày {day}:").format(point=point.name, day=fmt.date(day))]
    if not slots:
        lines.append(_("Điểm không có khung giờ nào trong ngày này."))
    for slot in slots:
        lines.append(
            _("{start}–{end}: {booked}/{capacity}, {trucks}/{max_trucks} xe").format(
                start=f"{slot.starts_at.astimezone(tz):%H:%M}",
                end=f"{slot.ends_at.astimezone(tz):%H:%M}",
                booked=fmt.number(slot.booked_kg),
                capacity=fmt.kg(slot.capacity_kg),
                trucks=slot.booked_trucks,
                max_trucks=slot.capacity_trucks,
            )
        )
        for view in views:
            if view.pickup.slot_id == slot.id:
                p = view.pickup
                product = ctx.services.catalog.get(p.product_code)
                lines.append(
                    "   "
                    + _("– {trader} nhận {kg} {product} của {rep}").format(
                        trader=view.trader.name if view.trader else "?",
                        kg=fmt.kg(p.kg),
                        product=product.name_vi if product else p.product_code,
                        rep=view.rep.name if view.rep else "?",
                    )
                )
    nav = [Choice(_("Ngày mai »"), f"lich:pt:{point.id}:{(day + dt.timedelta(days=1)).isoformat()}")]
    if day > ctx.today:
        nav.insert(
            0, Choice(_("« Ngày trước"), f"lich:pt:{point.id}:{(day - dt.timedelta(days=1)).isoformat()}")
        )
    ctx.say("\n".join(lines), [*nav, Choice(_("« Điểm khác"), "lich:points")], columns=2)


async def province_points(ctx: Ctx) -> None:
    if ctx.user.province_code is None:
        ctx.say(_("Tài khoản của bạn chưa có tỉnh. Gõ /start để cập nhật."))
        return
    points = await ctx.uow.points.in_province(ctx.user.province_code)
    if not points:
        ctx.say(_("Tỉnh của bạn chưa có điểm tập kết nào. Gõ /diemtapket để thêm."))
        return
    ctx.say(
        _("Xem lịch hôm nay của điểm tập kết nào?"),
        [Choice(p.name[:40], f"lich:pt:{p.id}") for p in points[:20]]
        + [Choice(_("Lịch của tôi"), "lich:mine")],
    )


async def cmd_schedule(ctx: Ctx, _args: str) -> None:
    """/lichlay."""
    if ctx.user.role in STAFF:
        await province_points(ctx)
    else:
        await my_pickups(ctx)


async def on_action(ctx: Ctx, rest: str) -> None:
    """ "lich:points", "lich:mine", "lich:pt:<id>[:<day>]"."""
    if rest == "mine":
        await my_pickups(ctx)
        return
    if ctx.user.role not in STAFF:  # a point's whole day is for officials: a forged or stale button
        await audit.refused(ctx.uow, ctx.user, "point_day", STAFF)
        await my_pickups(ctx)
        return
    if rest == "points":
        await province_points(ctx)
        return
    parts = rest.split(":")
    if len(parts) >= 2 and parts[0] == "pt" and parts[1].isdigit():
        try:
            day = dt.date.fromisoformat(parts[2]) if len(parts) > 2 else ctx.today
        except ValueError:
            day = ctx.today
        await point_day(ctx, int(parts[1]), day)


def register(router: Router) -> None:
    router.command(
        Command(
            "lichlay",
            cmd_schedule,
            lazy_gettext("Lịch lấy hàng"),
            description=lazy_gettext("xem lịch lấy hàng"),
        )
    )
    router.action("lich", on_action)
