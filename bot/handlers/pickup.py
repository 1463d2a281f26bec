"""After both sides accept: the trader picks a pickup slot at the collection point (or takes the
earliest that fits); the rep is told who comes when, with how many kilograms (SlotBooked)."""

from __future__ import annotations

import datetime as dt

from bot.engine.context import Ctx
from bot.engine.router import Router
from bot.handlers.roles import TRADER
from bot.presentation import market
from bot.presentation.market import EARLIEST, BookSlot, ShowSlots
from bot.services import slots as service
from bot.services.slots import Booking, Refusal

ORDER = 55
TRADERS = frozenset({TRADER})


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


async def show_slots(ctx: Ctx, match_id: int, day: dt.date | None = None) -> None:
    """Slots with room on the first suitable day (or ``day``), with a "next day" button."""
    found = await service.free_slots(
        ctx.uow, ctx.user, match_id, day=day, today=ctx.today, now=ctx.now, tz=ctx.settings.tz
    )
    if isinstance(found, Refusal):
        ctx.say(market.refusal_text(found, match_id))
        return
    ctx.show(market.slots_screen(ctx.services, found))


async def on_show(ctx: Ctx, act: ShowSlots) -> None:
    await show_slots(ctx, act.match_id, _day(act.day))


async def on_book(ctx: Ctx, act: BookSlot) -> None:
    """Book the chosen (or earliest fitting) slot; the database refuses a full one."""
    slot_id = None if act.slot_id == EARLIEST else act.slot_id
    outcome = await service.book_for_trader(
        ctx.uow, ctx.user, act.match_id, slot_id, today=ctx.today, now=ctx.now, tz=ctx.settings.tz
    )
    if isinstance(outcome, Refusal):
        ctx.say(market.refusal_text(outcome, act.match_id))
        return
    if outcome is Booking.FULL and slot_id is None:
        await show_slots(ctx, act.match_id)  # nothing fits anywhere: the slots screen says so
        return
    ctx.say(market.booking_text(ctx.services, outcome, act.match_id))
    if outcome is Booking.FULL:
        await show_slots(ctx, act.match_id)
    elif isinstance(outcome, service.Booked):
        services = ctx.services

        async def wake() -> None:  # the rep hears of it at once
            services.wake_events()
            services.wake_outbox()

        ctx.on_commit(wake)


def register(router: Router) -> None:
    router.on(ShowSlots, on_show, roles=TRADERS, audit_as="pickup_slot")
    router.on(BookSlot, on_book, roles=TRADERS, audit_as="pickup_slot")
