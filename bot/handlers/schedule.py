"""Pickup schedules (/lichlay): everyone sees their own upcoming pickups; officials see a
collection point's day at a glance, slot by slot."""

from __future__ import annotations

import datetime as dt

from bot.engine.context import Ctx
from bot.engine.router import Command, Router
from bot.handlers.roles import STAFF
from bot.i18n import lazy_gettext
from bot.presentation import market
from bot.presentation.market import MyPickups, ProvincePoints, ShowPointDay
from bot.services import slots as service

ORDER = 45
AHEAD = dt.timedelta(days=30)


async def my_pickups(ctx: Ctx) -> None:
    """The person's scheduled pickups from an hour ago on, as rep or as trader."""
    views = await service.pickups_of(ctx.uow, ctx.user.id, ctx.now - dt.timedelta(hours=1), ctx.now + AHEAD)
    ctx.show(market.my_pickups_screen(ctx.services, ctx.user, views))


async def province_points(ctx: Ctx) -> None:
    if ctx.user.province_code is None:
        ctx.say(market.no_province_text())
        return
    ctx.show(market.province_points_screen(await service.active_points(ctx.uow, ctx.user.province_code)))


async def cmd_schedule(ctx: Ctx, _args: str) -> None:
    """/lichlay."""
    if ctx.user.role in STAFF:
        await province_points(ctx)
    else:
        await my_pickups(ctx)


async def on_mine(ctx: Ctx, _act: MyPickups) -> None:
    await my_pickups(ctx)


async def on_points(ctx: Ctx, _act: ProvincePoints) -> None:
    await province_points(ctx)


async def on_point_day(ctx: Ctx, act: ShowPointDay) -> None:
    try:
        day = dt.date.fromisoformat(act.day) if act.day else ctx.today
    except ValueError:
        day = ctx.today
    found = await service.point_day(ctx.uow, ctx.user, act.point_id, day, ctx.settings.tz)
    if found is None:
        ctx.say(market.point_not_found_text())
        return
    ctx.show(market.point_day_screen(ctx.services, found, ctx.today))


def register(router: Router) -> None:
    router.command(
        Command(
            "lichlay",
            cmd_schedule,
            lazy_gettext("Lịch lấy hàng"),
            description=lazy_gettext("xem lịch lấy hàng"),
        )
    )
    router.on(MyPickups, on_mine)
    # A point's whole day (who brings what to whom) is for officials; refusals are audited.
    router.on(ProvincePoints, on_points, roles=STAFF, audit_as="point_day")
    router.on(ShowPointDay, on_point_day, roles=STAFF, audit_as="point_day")
