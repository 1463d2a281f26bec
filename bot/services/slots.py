"""Pickup slots: hourly windows at a collection point, each with room for so many kg and trucks.

Slots are made on demand from the point's opening hours (idempotently: one per point and start
time). Booking is one conditional UPDATE, so the database decides who gets the last room when two
traders choose at the same moment; a slot's capacity is never exceeded. Also here: what a trader
may book for a made deal, and the pickups booked at a point or for a person (schedules).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.domain_events import SlotBooked, emit
from bot.services.matches import MADE, Deal, load_deal
from bot.textnorm import fold
from storage import dto
from storage.repositories.slots import Pickup, PickupSlot
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
    await emit(uow, SlotBooked(match_id, slot_id))  # the rep learns who comes when
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


# --- a trader books a made deal -------------------------------------------------------------------


class Refusal(enum.StrEnum):
    """Why a trader cannot book a pickup for a match now."""

    NOT_YOURS = "not_yours"
    NOT_MADE = "not_made"  # not accepted by both yet, or closed since
    POINT_CLOSED = "point_closed"  # the lot's collection point is not active


@dataclass(frozen=True, slots=True)
class Pickable:
    """A made deal its trader may book, and the days a pickup can be on."""

    deal: Deal
    point: dto.CollectionPoint
    first_day: dt.date
    last_day: dt.date


@dataclass(frozen=True, slots=True)
class SlotDay:
    """The slots with room for a deal on one day (``day`` None: none anywhere in its window)."""

    pickable: Pickable
    day: dt.date | None
    slots: tuple[PickupSlot, ...]
    has_next: bool  # a later day of the window may be looked at


@dataclass(frozen=True, slots=True)
class Booked:
    pickable: Pickable
    slot: PickupSlot


async def pickable(uow: UnitOfWork, trader: dto.User, match_id: int, today: dt.date) -> Pickable | Refusal:
    """The deal ``match_id`` if ``trader`` may book its pickup now, else why not."""
    deal = await load_deal(uow, match_id)
    if deal is None or deal.trader.id != trader.id:
        return Refusal.NOT_YOURS
    if deal.match.status not in MADE:
        return Refusal.NOT_MADE
    if deal.point is None or deal.point.status != "active":
        return Refusal.POINT_CLOSED
    start, end = deal.window
    start = max(start, today)
    end = min(max(start, end), start + dt.timedelta(days=MAX_SEARCH_DAYS))
    return Pickable(deal, deal.point, start, end)


async def free_slots(
    uow: UnitOfWork,
    trader: dto.User,
    match_id: int,
    *,
    day: dt.date | None,
    today: dt.date,
    now: dt.datetime,
    tz: ZoneInfo = DEFAULT_TZ,
) -> SlotDay | Refusal:
    """The first day from ``day`` (default: the deal's first) with slots that take the deal's kg."""
    found = await pickable(uow, trader, match_id, today)
    if isinstance(found, Refusal):
        return found
    kg = found.deal.match.kg
    current = max(day or found.first_day, found.first_day)
    while current <= found.last_day:
        free = await slots_with_room(uow, found.point.id, current, kg, tz=tz, after=now)
        if free:
            return SlotDay(found, current, tuple(free), current < found.last_day)
        current += dt.timedelta(days=1)
    return SlotDay(found, None, (), False)


async def book_for_trader(
    uow: UnitOfWork,
    trader: dto.User,
    match_id: int,
    slot_id: int | None,
    *,
    today: dt.date,
    now: dt.datetime,
    tz: ZoneInfo = DEFAULT_TZ,
) -> Booked | Booking | Refusal:
    """Book the chosen slot (None: the earliest that fits) for the trader's made deal."""
    found = await pickable(uow, trader, match_id, today)
    if isinstance(found, Refusal):
        return found
    if slot_id is None:
        earliest = await earliest_fitting_slot(
            uow,
            found.point.id,
            found.deal.match.kg,
            first_day=found.first_day,
            last_day=found.last_day,
            tz=tz,
            after=now,
        )
        if earliest is None:
            return Booking.FULL
        slot_id = earliest.id
    outcome = await book_slot(uow, match_id=match_id, slot_id=slot_id)
    if outcome is not Booking.BOOKED:
        return outcome
    slot = await uow.slots.get(slot_id)
    assert slot is not None
    return Booked(found, slot)


# --- schedules ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PickupView:
    """A pickup with the people and the place resolved, for rendering."""

    pickup: Pickup
    rep: dto.User | None
    trader: dto.User | None
    point: dto.CollectionPoint | None


@dataclass(frozen=True, slots=True)
class PointDay:
    """One point's day: its slots and who comes in each."""

    point: dto.CollectionPoint
    day: dt.date
    slots: list[PickupSlot]
    pickups: list[PickupView]


async def resolve(uow: UnitOfWork, pickups: list[Pickup]) -> list[PickupView]:
    """Load the reps, traders and points of ``pickups`` in three queries."""
    users = await uow.users.by_ids([p.rep_id for p in pickups] + [p.trader_id for p in pickups])
    points = await uow.points.by_ids(sorted({p.point_id for p in pickups}))
    return [
        PickupView(p, users.get(p.rep_id), users.get(p.trader_id), points.get(p.point_id)) for p in pickups
    ]


async def pickups_of(uow: UnitOfWork, user_id: int, start: dt.datetime, end: dt.datetime) -> list[PickupView]:
    """The person's scheduled pickups starting in [start, end), as rep or as trader."""
    return await resolve(uow, await uow.slots.pickups(start, end, person_id=user_id))


async def pickups_between(uow: UnitOfWork, start: dt.datetime, end: dt.datetime) -> list[PickupView]:
    """Every scheduled pickup starting in [start, end)."""
    return await resolve(uow, await uow.slots.pickups(start, end))


async def point_day(
    uow: UnitOfWork, user: dto.User, point_id: int, day: dt.date, tz: ZoneInfo = DEFAULT_TZ
) -> PointDay | None:
    """A point's slots and pickups on ``day``; None unless it is in the official's province (admins: any)."""
    point = await uow.points.get(point_id)
    if point is None or (point.province_code != user.province_code and user.role != "admin"):
        return None
    slots = await ensure_slots(uow, point, day, tz)
    views = await resolve(uow, await uow.slots.pickups(*day_bounds(day, tz), point_id=point.id))
    return PointDay(point, day, slots, views)


async def active_points(uow: UnitOfWork, province_code: int) -> list[dto.CollectionPoint]:
    """The province's active collection points."""
    return await uow.points.in_province(province_code)
