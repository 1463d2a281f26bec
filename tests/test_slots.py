"""Pickup slots: made from opening hours, booked by the database's own arithmetic, never overfilled."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.services.slots import (
    Booking,
    book_slot,
    earliest_fitting_slot,
    ensure_slots,
    parse_hours,
    release_booking,
    slots_with_room,
)
from storage import dto
from storage.uow import Database
from tests.harness import TZ

DAY = dt.date(2026, 9, 11)


# --- data built straight through the repositories (shared with the scheduler tests) ----------------


async def add_user(
    db: Database, ext: str, role: str, name: str, phone: str, province: int = 20, ward: int = 6463
) -> dto.User:
    """A registered person with a role."""
    async with db.uow() as uow:
        user = await uow.users.ensure("telegram", ext, ext, "vi")
        await uow.users.register(
            user.id,
            name=name,
            phone=phone,
            role=role,
            province_code=province,
            ward_code=ward,
            now=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
        )
        return await uow.users.get(user.id)  # type: ignore[return-value]


async def add_point(db: Database, name: str = "Chợ Chi Lăng", **values: object) -> dto.CollectionPoint:
    defaults: dict[str, object] = {
        "province_code": 20,
        "ward_code": 6463,
        "address": "Thôn Trung Tâm",
        "opening_hours": "6:00-18:00",
        "slot_capacity_kg": 20_000,
        "slot_capacity_trucks": 4,
        "status": "active",
    }
    async with db.uow() as uow:
        return await uow.points.add(name=name, **{**defaults, **values})


async def add_match(
    db: Database,
    rep: dto.User,
    trader: dto.User,
    point: dto.CollectionPoint,
    *,
    kg: int = 2_000,
    product: str = "na",
    status: str = "accepted",
) -> dto.Match:
    """A lot of ``rep`` and an order of ``trader`` matched for ``kg`` (accepted by both)."""
    async with db.uow() as uow:
        lot = await uow.lots.add(
            owner_id=rep.id,
            product_code=product,
            quantity_kg=kg,
            grade="1",
            collection_point_id=point.id,
            ready_from=DAY - dt.timedelta(days=1),
            ready_to=DAY + dt.timedelta(days=3),
        )
        order = await uow.orders.add(
            trader_id=trader.id,
            product_code=product,
            quantity_kg=kg,
            price=30_000,
            pickup_from=DAY - dt.timedelta(days=1),
            pickup_to=DAY + dt.timedelta(days=3),
        )
        match = await uow.matches.add(lot_id=lot.id, order_id=order.id, kg=kg, price=30_000, expires_at=None)
        await uow.matches.transition(match.id, ("proposed",), status=status)
        return await uow.matches.get(match.id)  # type: ignore[return-value]


async def schedule(
    db: Database, match: dto.Match, point: dto.CollectionPoint, local_start: dt.datetime
) -> int:
    """Book ``match`` into the slot of ``point`` starting at ``local_start``; the slot's id."""
    async with db.uow() as uow:
        slots = await ensure_slots(uow, point, local_start.date(), TZ)
        slot = next(s for s in slots if s.starts_at == local_start.astimezone(dt.UTC))
        assert await book_slot(uow, match_id=match.id, slot_id=slot.id) is Booking.BOOKED
        return slot.id


@pytest.fixture
async def people(database: Database) -> tuple[dto.User, dto.User, dto.User]:
    rep = await add_user(database, "701", "coop_rep", "HTX Na Chi Lăng", "0912000701")
    trader = await add_user(database, "702", "trader", "Trần Văn Bình", "0987000702")
    trader2 = await add_user(database, "703", "trader", "Lê Thị Cúc", "0987000703")
    return rep, trader, trader2


# --- tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "hours"),
    [("6:00-18:00", ((6, 0), (18, 0))), ("6h-17h30", ((6, 0), (17, 30))), ("từ 6h30 đến 17h", ((6, 30), (17, 0))),
     ("6 - 18", ((6, 0), (18, 0))), ("18-6", None), ("sáng", None), ("6:00-6:30", None)],
)  # fmt: skip
def test_opening_hours_as_typed(typed: str, hours: tuple[tuple[int, int], tuple[int, int]] | None) -> None:
    parsed = parse_hours(typed)
    assert (
        None if parsed is None else ((parsed[0].hour, parsed[0].minute), (parsed[1].hour, parsed[1].minute))
    ) == hours


async def test_hourly_slots_are_made_once_from_the_opening_hours(database: Database) -> None:
    point = await add_point(database, opening_hours="6:00-18:00")
    async with database.uow() as uow:
        first = await ensure_slots(uow, point, DAY, TZ)
    async with database.uow() as uow:
        again = await ensure_slots(uow, point, DAY, TZ)
    assert len(first) == 12 and [s.id for s in first] == [s.id for s in again]
    assert first[0].starts_at == dt.datetime(2026, 9, 11, 6, tzinfo=TZ)
    assert first[-1].ends_at == dt.datetime(2026, 9, 11, 18, tzinfo=TZ)
    assert (first[0].capacity_kg, first[0].capacity_trucks, first[0].booked_kg) == (20_000, 4, 0)


async def test_booking_schedules_the_match_and_respects_kg_and_trucks(database: Database, people) -> None:  # type: ignore[no-untyped-def]
    rep, trader, _ = people
    point = await add_point(database, slot_capacity_kg=5_000, slot_capacity_trucks=2)
    m1 = await add_match(database, rep, trader, point, kg=3_000)
    m2 = await add_match(database, rep, trader, point, kg=3_000)
    m3 = await add_match(database, rep, trader, point, kg=1_000)
    m4 = await add_match(database, rep, trader, point, kg=1_000)
    async with database.uow() as uow:
        seven = (await slots_with_room(uow, point.id, DAY, 3_000, tz=TZ))[1]
        assert await book_slot(uow, match_id=m1.id, slot_id=seven.id, kg=3_000) is Booking.BOOKED
        assert (
            await book_slot(uow, match_id=m2.id, slot_id=seven.id, kg=3_000) is Booking.FULL
        )  # 6.000 > 5.000 kg
        assert await book_slot(uow, match_id=m3.id, slot_id=seven.id, kg=1_000) is Booking.BOOKED
        assert not await book_slot(uow, match_id=m4.id, slot_id=seven.id, kg=1_000)  # FULL: a third truck
        assert seven.id not in [s.id for s in await slots_with_room(uow, point.id, DAY, 1, tz=TZ)]
        slot = await uow.slots.get(seven.id)
        assert slot is not None and (slot.booked_kg, slot.booked_trucks) == (4_000, 2)
        booked = await uow.matches.get(m1.id)
        assert booked is not None and (booked.status, booked.slot_id) == ("scheduled", seven.id)
        assert (await uow.matches.get(m2.id)).status == "accepted"  # type: ignore[union-attr]

        # The earliest slot with room for the second 3 t is at 6:00; moving m1 there frees 7:00.
        first = await earliest_fitting_slot(uow, point.id, 3_000, first_day=DAY, last_day=DAY, tz=TZ)
        assert first is not None and first.starts_at == dt.datetime(2026, 9, 11, 6, tzinfo=TZ)
        assert await book_slot(uow, match_id=m1.id, slot_id=first.id) is Booking.BOOKED
        assert (await uow.slots.get(seven.id)).booked_kg == 1_000  # type: ignore[union-attr]
        assert await release_booking(uow, m1.id)
        released = await uow.matches.get(m1.id)
        assert released is not None and (released.status, released.slot_id) == ("accepted", None)
        assert (await uow.slots.get(first.id)).booked_kg == 0  # type: ignore[union-attr]

        proposed = await add_match_in(uow, m2)
        assert await book_slot(uow, match_id=proposed, slot_id=first.id) is Booking.NOT_BOOKABLE


async def add_match_in(uow, like: dto.Match) -> int:  # type: ignore[no-untyped-def]
    """A still-proposed match on the same lot and order: not bookable yet."""
    match = await uow.matches.add(
        lot_id=like.lot_id, order_id=like.order_id, kg=500, price=30_000, expires_at=None
    )
    return int(match.id)


async def test_two_traders_race_for_the_last_room_and_exactly_one_wins(
    database: Database,
    people,
    backend: str,  # type: ignore[no-untyped-def]
) -> None:
    rep, trader, trader2 = people
    point = await add_point(database, slot_capacity_kg=20_000, slot_capacity_trucks=4)
    filler = await add_match(database, rep, trader, point, kg=17_000)
    a = await add_match(database, rep, trader, point, kg=2_000)
    b = await add_match(database, rep, trader2, point, kg=2_000)
    slot_id = await schedule(database, filler, point, dt.datetime(2026, 9, 11, 9, tzinfo=TZ))
    # On PostgreSQL both transactions first see room (the naive check would pass twice), then
    # book at the same moment. SQLite serialises writers at BEGIN, so no barrier there.
    barrier = asyncio.Barrier(2) if backend == "postgres" else None

    async def attempt(match: dto.Match) -> Booking:
        async with database.uow() as uow:
            if barrier is not None:
                slot = await uow.slots.get(slot_id)
                assert slot is not None and slot.room_kg >= match.kg
                await barrier.wait()
            return await book_slot(uow, match_id=match.id, slot_id=slot_id, kg=match.kg)

    results = await asyncio.gather(attempt(a), attempt(b))
    assert sorted(results) == sorted([Booking.BOOKED, Booking.FULL])
    async with database.uow() as uow:
        slot = await uow.slots.get(slot_id)
        statuses = {(await uow.matches.get(m.id)).status for m in (a, b)}  # type: ignore[union-attr]
    assert slot is not None and (slot.booked_kg, slot.booked_trucks) == (19_000, 2)
    assert statuses == {"scheduled", "accepted"}
