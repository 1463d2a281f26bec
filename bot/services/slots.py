"""Pickup slots: hourly windows at a collection point, each with room for so many kg and trucks.

Slots are made on demand from the point's opening hours (idempotently: one per point and start
time). Booking is one conditional UPDATE, so the database decides who gets the last room when two
traders choose at the same moment; a slot's capacity is never exceeded.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from zoneinfo import ZoneInfo

from bot.textnorm import fold
from storage import dto
from storage.repositories.slots import PickupSlot
from storage.uow import UnitOfWork

# Where the campaigns run; callers pass ``settings.tz`` when they have it.
DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_HOURS = (dt.time(6, 0), dt.time(18, 0))
SLOT_LENGTH = dt.timedelta(hours=1)
MAX_SEARCH_DAYS = 31

_TIME = r"(\d{1,2})(?:\s*[:h.]\s*(\d{2})?)?\s*(?:h|g|gio)?"
_HOURS = re.compile(rf"^(?:tu\s+)?{_TIME}\s*(?:-|–|den|toi)\s*{_TIME}$")


class Booking(enum.StrEnum):
    """How an attempt to book a slot for a match ended."""

    BOOKED = "booked"
    FULL = "full"  # not enough kg or truck places left: choose another slot
    NOT_BOOKABLE = "not_bookable"  # the match is no longer accepted, or the slot is elsewhere

    def __bool__(self) -> bool:
        # So that "if await book_slot(...):" means "if it was booked".
        return self is Booking.BOOKED


def parse_hours(text: str) -> tuple[dt.time, dt.time] | None:
    """Opening hours from "6:00-18:00", "6h-18h", "6 - 18", "từ 6h30 đến 17h"; None if unreadable."""
    m = _HOURS.match(fold(text).replace(" gio", "h"))
    if not m:
        return None
    h1, m1, h2, m2 = (int(g) if g else 0 for g in m.groups())
    if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
        return None
    opens = dt.time(h1, m1)
    closes = dt.time(23, 59) if h2 == 24 else dt.time(h2, m2)
    if dt.datetime.combine(dt.date.min, closes) - dt.datetime.combine(dt.date.min, opens) < SLOT_LENGTH:
        return None
    return opens, closes


def hours_text(opens: dt.time, closes: dt.time) -> str:
    """6:00-18:00, the form stored on the point."""
    return f"{opens.hour}:{opens.minute:02d}-{closes.hour}:{closes.minute:02d}"


def slot_times(
    point: dto.CollectionPoint, day: dt.date, tz: ZoneInfo = DEFAULT_TZ
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The hourly (start, end) windows of ``day`` at ``point``, in UTC."""
    opens, closes = parse_hours(point.opening_hours or "") or DEFAULT_HOURS
    start = dt.datetime.combine(day, opens, tzinfo=tz)
    end = dt.datetime.combine(day, closes, tzinfo=tz)
    times = []
    while start + SLOT_LENGTH <= end:
        times.append((start.astimezone(dt.UTC), (start + SLOT_LENGTH).astimezone(dt.UTC)))
        start += SLOT_LENGTH
    return times


def day_bounds(day: dt.date, tz: ZoneInfo = DEFAULT_TZ) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight to midnight, as UTC instants."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


async def ensure_slots(
    uow: UnitOfWork, point: dto.CollectionPoint, day: dt.date, tz: ZoneInfo = DEFAULT_TZ
) -> list[PickupSlot]:
    """Every slot of ``day`` at an active point, created if missing (safe to call again)."""
    if point.status == "active":
        await uow.slots.ensure(
            point.id, slot_times(point, day, tz), point.slot_capacity_kg, point.slot_capacity_trucks
        )
    return await uow.slots.between(point.id, *day_bounds(day, tz))


async def slots_with_room(
    uow: UnitOfWork,
    point_id: int,
    day: dt.date,
    kg: int,
    *,
    tz: ZoneInfo = DEFAULT_TZ,
    after: dt.datetime | None = None,
) -> list[PickupSlot]:
    """Slots of ``day`` at a point that still take ``kg`` more and one more truck (not starting before ``after``)."""
    point = await uow.points.get(point_id)
    if point is None or point.status != "active":
        return []
    await ensure_slots(uow, point, day, tz)
    start, end = day_bounds(day, tz)
    if after is not None:
        start = max(start, after)
    return await uow.slots.between(point_id, start, end, room_for_kg=kg)


async def earliest_fitting_slot(
    uow: UnitOfWork,
    point_id: int,
    kg: int,
    *,
    first_day: dt.date,
    last_day: dt.date,
    tz: ZoneInfo = DEFAULT_TZ,
    after: dt.datetime | None = None,
) -> PickupSlot | None:
    """The first slot between two days (inclusive) with room for ``kg``, or None."""
    last_day = min(last_day, first_day + dt.timedelta(days=MAX_SEARCH_DAYS))
    day = first_day
    while day <= last_day:
        found = await slots_with_room(uow, point_id, day, kg, tz=tz, after=after)
        if found:
            return found[0]
        day += dt.timedelta(days=1)
    return None


async def book_slot(uow: UnitOfWork, *, match_id: int, slot_id: int, kg: int | None = None) -> Booking:
    """Book ``kg`` (default: the match's kg) of a slot for an accepted match and mark it scheduled.

    A match already scheduled elsewhere is moved: its old booking is released in the same
    transaction. Nothing changes unless the result is ``Booking.BOOKED``.
    """
    match = await uow.matches.get(match_id)
    slot = await uow.slots.get(slot_id)
    if match is None or slot is None or match.status not in ("accepted", "scheduled"):
        return Booking.NOT_BOOKABLE
    if match.slot_id == slot_id:
        return Booking.BOOKED
    lot = await uow.lots.get(match.lot_id)
    if lot is not None and lot.collection_point_id not in (None, slot.point_id):
        return Booking.NOT_BOOKABLE
    kg = match.kg if kg is None else kg
    if not await uow.slots.book(slot_id, kg):
        return Booking.FULL
    if not await uow.matches.transition(
        match_id, (match.status,), slot_id=slot_id, status="scheduled"
    ):  # changed under us (declined, cancelled): give the room back
        await uow.slots.release(slot_id, kg)
        return Booking.NOT_BOOKABLE
    if match.slot_id is not None:
        await uow.slots.release(match.slot_id, match.kg)
    await uow.events.record("match", match_id, None, "schedule", {"slot_id": slot_id, "kg": kg})
    return Booking.BOOKED


async def release_booking(uow: UnitOfWork, match_id: int) -> bool:
    """Free a scheduled match's slot (before a cancellation or a new choice); the match goes back to accepted."""
    match = await uow.matches.get(match_id)
    if match is None or match.slot_id is None or match.status != "scheduled":
        return False
    if not await uow.matches.transition(match_id, ("scheduled",), slot_id=None, status="accepted"):
        return False
    await uow.slots.release(match.slot_id, match.kg)
    await uow.events.record("match", match_id, None, "unschedule", {"slot_id": match.slot_id})
    return True
