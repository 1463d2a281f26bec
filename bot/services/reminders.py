"""Pickup reminders (the evening before, one hour before) and each point's morning schedule.

Every message carries a dedupe key, so a job run twice, or run again after a restart, queues
nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.events import Reply
from bot.i18n import _, use_locale
from bot.services.notify import notify
from bot.services.quantities import grade_label
from bot.services.slots import day_bounds
from storage import dto
from storage.repositories.slots import Pickup
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from bot.services.container import Services

EVENING = dt.time(18, 0)
HOUR_AHEAD = dt.timedelta(hours=1)
REP, TRADER = "rep", "trader"


@dataclass(frozen=True, slots=True)
class PickupView:
    """A pickup with the people and the place resolved, for rendering."""

    pickup: Pickup
    rep: dto.User | None
    trader: dto.User | None
    point: dto.CollectionPoint | None


async def resolve(uow: UnitOfWork, pickups: list[Pickup]) -> list[PickupView]:
    """Load the reps, traders and points of ``pickups`` in three queries."""
    users = await uow.users.by_ids([p.rep_id for p in pickups] + [p.trader_id for p in pickups])
    points = await uow.points.by_ids(sorted({p.point_id for p in pickups}))
    return [
        PickupView(p, users.get(p.rep_id), users.get(p.trader_id), points.get(p.point_id)) for p in pickups
    ]


def hours(p: Pickup, tz: ZoneInfo) -> str:
    """07:00–08:00 in local time."""
    return f"{p.starts_at.astimezone(tz):%H:%M}–{p.ends_at.astimezone(tz):%H:%M}"


def _who(user: dto.User | None) -> str:
    if user is None:
        return "?"
    return f"{user.name} ({user.phone})" if user.phone else str(user.name)


def _goods(services: Services, p: Pickup) -> str:
    product = services.catalog.get(p.product_code)
    return _("{kg} {product}, {grade}").format(
        kg=fmt.kg(p.kg), product=product.name_vi if product else p.product_code, grade=grade_label(p.grade)
    )


def _where(point: dto.CollectionPoint | None) -> str:
    if point is None:
        return "?"
    return f"{point.name}, {point.address}" if point.address else point.name


def pickup_line(services: Services, view: PickupView, role: str) -> str:
    """One line of a schedule as ``role`` reads it: what to bring or receive, when, from or for whom."""
    p, tz = view.pickup, services.settings.tz
    if role == REP:
        text = _("{hours}: mang {goods} giao cho thương lái {trader}")
        return text.format(hours=hours(p, tz), goods=_goods(services, p), trader=_who(view.trader))
    text = _("{hours}: nhận {goods} của {rep}")
    return text.format(hours=hours(p, tz), goods=_goods(services, p), rep=_who(view.rep))


def _reminder(services: Services, view: PickupView, role: str, kind: str) -> str:
    p, tz = view.pickup, services.settings.tz
    local_start = p.starts_at.astimezone(tz)
    when = (
        _("ngày mai {day}, {hours}") if kind == "eve" else _("hôm nay {hours} (còn khoảng 1 giờ nữa)")
    ).format(day=fmt.date(local_start.date()), hours=hours(p, tz))
    values = {
        "when": when,
        "goods": _goods(services, p),
        "where": _where(view.point),
        "trader": _who(view.trader),
        "rep": _who(view.rep),
        "price": fmt.price_per_kg(p.price),
    }
    if role == REP:
        text = _(
            "⏰ Nhắc lịch giao hàng {when}: mang {goods} đến {where} giao cho thương lái {trader}. "
            "Giá đã chốt: {price}."
        )
    else:
        text = _("⏰ Nhắc lịch lấy hàng {when}: nhận {goods} của {rep} tại {where}. Giá đã chốt: {price}.")
    return text.format(**values)


async def send_pickup_reminders(services: Services) -> int:
    """Remind both sides of every scheduled pickup: from 18:00 the evening before, and in the hour
    before it starts. Returns how many reminders were queued (0 when all were sent already)."""
    now, local_now, tz = services.clock.now(), services.clock.local_now(), services.settings.tz
    queued = 0
    async with services.db.uow() as uow:
        # The job fires every 5 minutes; the extra second lets the 6:00 run catch a 7:00 pickup.
        batches = [("hour", await uow.slots.pickups(now, now + HOUR_AHEAD + dt.timedelta(seconds=1)))]
        if local_now.time() >= EVENING:
            tomorrow = local_now.date() + dt.timedelta(days=1)
            batches.append(("eve", await uow.slots.pickups(*day_bounds(tomorrow, tz))))
        for kind, pickups in batches:
            for view in await resolve(uow, pickups):
                for role, person in ((REP, view.rep), (TRADER, view.trader)):
                    if person is None:
                        continue
                    with use_locale(person.locale):
                        text = _reminder(services, view, role, kind)
                    key = f"remind:{kind}:{view.pickup.match_id}:{role}"
                    if await notify(uow, person, Reply(text), dedupe_key=key):
                        queued += 1
    if queued:
        services.wake_outbox()
    return queued


async def send_morning_schedules(services: Services) -> int:
    """Each person with pickups today gets one message per collection point listing them all."""
    today, tz = services.clock.today(), services.settings.tz
    queued = 0
    async with services.db.uow() as uow:
        views = await resolve(uow, await uow.slots.pickups(*day_bounds(today, tz)))
        lines: defaultdict[tuple[int, int], list[tuple[PickupView, str]]] = defaultdict(list)
        people: dict[int, dto.User] = {}
        for view in views:
            for role, person in ((REP, view.rep), (TRADER, view.trader)):
                if person is not None:
                    people[person.id] = person
                    lines[(view.pickup.point_id, person.id)].append((view, role))
        for (point_id, person_id), items in lines.items():
            person = people[person_id]
            with use_locale(person.locale):
                head = _("📋 Lịch lấy hàng hôm nay {day} tại {where}:").format(
                    day=fmt.date(today), where=_where(items[0][0].point)
                )
                body = [f"• {pickup_line(services, view, role)}" for view, role in items]
            key = f"digest:{point_id}:{today.isoformat()}:{person_id}"
            if await notify(uow, person, Reply("\n".join([head, *body])), dedupe_key=key):
                queued += 1
    if queued:
        services.wake_outbox()
    return queued
