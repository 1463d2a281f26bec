"""Which pickups are due a reminder now (the evening before, one hour before) and which make up
today's schedules. The messages are composed in :mod:`bot.presentation.market`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

from bot.services.slots import PickupView, day_bounds, pickups_between
from storage import dto
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

EVENING = dt.time(18, 0)
HOUR_AHEAD = dt.timedelta(hours=1)
REP, TRADER = "rep", "trader"
EVE, HOUR = "eve", "hour"  # the two reminders of a pickup


async def due_reminders(
    uow: UnitOfWork, now: dt.datetime, local_now: dt.datetime, tz: ZoneInfo
) -> list[tuple[str, PickupView]]:
    """(kind, pickup): pickups starting within the hour, and from 18:00 on, tomorrow's."""
    # The job fires every 5 minutes; the extra second lets the 6:00 run catch a 7:00 pickup.
    due = [(HOUR, v) for v in await pickups_between(uow, now, now + HOUR_AHEAD + dt.timedelta(seconds=1))]
    if local_now.time() >= EVENING:
        tomorrow = local_now.date() + dt.timedelta(days=1)
        due += [(EVE, v) for v in await pickups_between(uow, *day_bounds(tomorrow, tz))]
    return due


def parties(view: PickupView) -> list[tuple[str, dto.User]]:
    """(role, person) of both sides of a pickup that still exist."""
    return [(role, p) for role, p in ((REP, view.rep), (TRADER, view.trader)) if p is not None]


async def schedules_of_day(
    uow: UnitOfWork, day: dt.date, tz: ZoneInfo
) -> dict[tuple[int, int], tuple[dto.User, list[tuple[PickupView, str]]]]:
    """Per (point, person): the person and their pickups of ``day`` there, with the role they come in."""
    grouped: defaultdict[tuple[int, int], list[tuple[PickupView, str]]] = defaultdict(list)
    people: dict[int, dto.User] = {}
    for view in await pickups_between(uow, *day_bounds(day, tz)):
        for role, person in parties(view):
            people[person.id] = person
            grouped[(view.pickup.point_id, person.id)].append((view, role))
    return {key: (people[key[1]], items) for key, items in grouped.items()}
