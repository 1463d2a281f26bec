"""After both sides accept and a slot is booked: the pickup is weighed and confirmed (or disputed
and settled by an official), the trader pays the weighed kg × the agreed price, the seller
confirms receipt, and a pooled lot's payment is split among its households.

A shortfall at the scales goes back to the trader's order and is re-matched; a surplus (within
the tolerance) is offered to the same trader first and otherwise returns to the lot. A trader
who does not come is a no-show: the volume is released at once and the trader's record counts
it. Each step is one conditional write, and emits the domain event the notifications follow.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain_events import (
    DisputeResolved,
    GougingReported,
    LotChanged,
    MatchPaid,
    NoShowQuestion,
    NoShowRecorded,
    OrderChanged,
    PaymentDue,
    PaymentOverdue,
    PaymentRecorded,
    PickupRecorded,
    ReceiptDenied,
    SurplusDecided,
    WeightDisputed,
    emit,
)
from bot.services import money
from storage import dto
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.container import Services

STAFF = frozenset({"official", "admin"})
PICKABLE = ("accepted", "scheduled")  # a pickup is recorded for a deal made (a slot is optional)
CASH, TRANSFER = "cash", "transfer"
ROUNDING_VND = 1000  # payments are rounded to the thousand đồng, as people pay


class Done(enum.StrEnum):
    """How an attempt ended (the flows say it in words)."""

    OK = "ok"
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    WRONG_STATE = "wrong_state"  # already recorded, not picked up yet, already paid...
    TOO_MUCH = "too_much"  # more than the matched kg plus the tolerance
    TOO_EARLY = "too_early"  # a no-show before the slot began


@dataclass(frozen=True, slots=True)
class Parties:
    match: dto.Match
    lot: dto.Lot
    order: dto.Order
    seller: dto.User
    trader: dto.User


async def parties(uow: UnitOfWork, match_id: int) -> Parties | None:
    """The deal and everyone in it; None when there is no such match."""
    match = await uow.matches.get(match_id)
    if match is None:
        return None
    lot, order = await uow.lots.get(match.lot_id), await uow.orders.get(match.order_id)
    if lot is None or order is None:
        return None
    seller, trader = await uow.users.get(lot.owner_id), await uow.users.get(order.trader_id)
    if seller is None or trader is None:
        return None
    return Parties(match, lot, order, seller, trader)


def max_weighed(kg: int, tolerance: float) -> int:
    """The most a pickup of ``kg`` may weigh: the matched kg plus the tolerance."""
    return int(kg * (1 + tolerance))


# --- the pickup and the weighing ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PickupOutcome:
    done: Done
    parties: Parties | None = None
    shortfall_kg: int = 0
    surplus_kg: int = 0
    confirmed: bool = False  # recorded by the seller: their word is the confirmation


async def record_pickup(
    uow: UnitOfWork,
    user: dto.User,
    match_id: int,
    weighed_kg: int,
    grade: str,
    *,
    tolerance: float,
    now: dt.datetime,
) -> PickupOutcome:
    """The trader (or the seller, or an official) records the weighed kg and the grade as checked."""
    p = await parties(uow, match_id)
    if p is None:
        return PickupOutcome(Done.NOT_FOUND)
    if user.id not in (p.trader.id, p.seller.id) and user.role not in STAFF:
        return PickupOutcome(Done.NOT_YOURS, p)
    if p.match.status not in PICKABLE:
        return PickupOutcome(Done.WRONG_STATE, p)
    if not 0 < weighed_kg <= max_weighed(p.match.kg, tolerance):
        return PickupOutcome(Done.TOO_MUCH, p)
    shortfall = max(0, p.match.kg - weighed_kg)
    surplus = max(0, weighed_kg - p.match.kg)
    if not await uow.deals.add_pickup(match_id, weighed_kg, grade, user.id, now, surplus):
        return PickupOutcome(Done.WRONG_STATE, p)
    # What is paid for: the weighed kg, up to what was agreed until the trader takes a surplus.
    paid_kg = min(weighed_kg, p.match.kg)
    if not await uow.matches.transition(
        match_id, PICKABLE, status="picked_up", weighed_kg=paid_kg, picked_up_at=now
    ):
        raise RuntimeError("the match moved while its pickup was recorded")
    if shortfall:
        if p.match.slot_id is not None:
            await uow.slots.release(p.match.slot_id, shortfall)
        # Not there at the scales: the lot was smaller than reported, and the trader still wants
        # the rest, from someone else.
        await uow.deals.add_lot_volume(p.lot.id, -shortfall, remaining=False)
        await uow.orders.give_back(p.order.id, shortfall)
        await emit(uow, OrderChanged(p.order.id))
    await uow.events.record(
        "match",
        match_id,
        user.id,
        "picked_up",
        {"weighed_kg": weighed_kg, "grade": grade, "agreed_kg": p.match.kg},
    )
    by_seller = user.id == p.seller.id
    if by_seller:  # the seller's own figure needs no confirmation from them
        await uow.deals.confirm_pickup(match_id, now)
    await emit(uow, PickupRecorded(match_id, weighed_kg, surplus, by_seller=by_seller))
    await _open_if_ready(uow, match_id, now)
    return PickupOutcome(Done.OK, p, shortfall, surplus, by_seller)


async def decide_surplus(
    uow: UnitOfWork, user: dto.User, match_id: int, take: bool, *, now: dt.datetime
) -> Done:
    """The trader takes the surplus weighed beyond the agreed kg (and pays it), or leaves it to the lot."""
    p = await parties(uow, match_id)
    pickup = await uow.deals.pickup(match_id) if p else None
    if p is None or pickup is None:
        return Done.NOT_FOUND
    if user.id != p.trader.id:
        return Done.NOT_YOURS
    if p.match.status not in ("picked_up", "disputed") or not await uow.deals.decide_surplus(match_id, now):
        return Done.WRONG_STATE
    surplus = pickup.surplus_kg
    await uow.deals.add_lot_volume(p.lot.id, surplus)  # it was there: the lot was bigger than reported
    await uow.lots.give_back(p.lot.id, 0)  # its status follows what is left
    if take and await uow.lots.take(p.lot.id, surplus):
        if not await uow.orders.take(p.order.id, surplus):
            await uow.deals.add_order_volume(p.order.id, surplus)  # bought more than ordered
        await uow.matches.transition(match_id, ("picked_up", "disputed"), weighed_kg=p.match.kg + surplus)
    else:
        take = False
        await emit(uow, LotChanged(p.lot.id))  # back on the market for another trader
    await uow.events.record(
        "match", match_id, user.id, "surplus_taken" if take else "surplus_left", {"kg": surplus}
    )
    await emit(uow, SurplusDecided(match_id, surplus, take))
    await _open_if_ready(uow, match_id, now)
    return Done.OK


@dataclass(frozen=True, slots=True)
class WeightOutcome:
    done: Done
    parties: Parties | None = None
    disputed: bool = False


async def answer_weight(
    uow: UnitOfWork, user: dto.User, match_id: int, *, agree: bool, claimed_kg: int | None, now: dt.datetime
) -> WeightOutcome:
    """The seller confirms the weighed kg, or disputes it with their own figure (an official settles)."""
    p = await parties(uow, match_id)
    if p is None:
        return WeightOutcome(Done.NOT_FOUND)
    if user.id != p.seller.id:
        return WeightOutcome(Done.NOT_YOURS, p)
    if agree:
        if not await uow.deals.confirm_pickup(match_id, now):
            return WeightOutcome(Done.WRONG_STATE, p)
        await _open_if_ready(uow, match_id, now)
        return WeightOutcome(Done.OK, p)
    if claimed_kg is None or claimed_kg <= 0:
        return WeightOutcome(Done.WRONG_STATE, p)
    if not await uow.deals.dispute_pickup(match_id, claimed_kg, now):
        return WeightOutcome(Done.WRONG_STATE, p)
    await uow.matches.transition(match_id, ("picked_up",), status="disputed")
    await uow.events.record("match", match_id, user.id, "weight_disputed", {"claimed_kg": claimed_kg})
    await emit(uow, WeightDisputed(match_id, claimed_kg))
    return WeightOutcome(Done.OK, p, disputed=True)


async def resolve_dispute(
    uow: UnitOfWork, official: dto.User, match_id: int, weighed_kg: int, *, tolerance: float, now: dt.datetime
) -> Done:
    """An official settles a disputed weight (the scales' or the seller's figure); audited."""
    p = await parties(uow, match_id)
    if p is None:
        return Done.NOT_FOUND
    if official.role not in STAFF:
        return Done.NOT_YOURS
    if p.match.status != "disputed":
        return Done.WRONG_STATE
    if not 0 < weighed_kg <= max_weighed(p.match.kg, tolerance):
        return Done.TOO_MUCH
    before = await uow.deals.pickup(match_id)
    if before is None or not await uow.deals.resolve_pickup(match_id, weighed_kg, official.id, now):
        return Done.WRONG_STATE
    # The shortfall booked at the scales follows the figure that now stands (never beyond the deal).
    old_kg, new_kg = min(before.weighed_kg, p.match.kg), min(weighed_kg, p.match.kg)
    if new_kg > old_kg:
        extra = new_kg - old_kg
        await uow.deals.add_lot_volume(p.lot.id, extra, remaining=False)
        if not await uow.orders.take(p.order.id, extra):
            await uow.deals.add_order_volume(p.order.id, extra)
        await emit(uow, OrderChanged(p.order.id))
    elif new_kg < old_kg:
        await uow.deals.add_lot_volume(p.lot.id, new_kg - old_kg, remaining=False)
        await uow.orders.give_back(p.order.id, old_kg - new_kg)
        await emit(uow, OrderChanged(p.order.id))
    taken_surplus = max(0, (p.match.weighed_kg or 0) - p.match.kg)
    await uow.matches.transition(
        match_id, ("disputed",), status="picked_up", weighed_kg=new_kg + taken_surplus
    )
    await uow.audit.add(
        official.id, "dispute_resolved", f"match:{match_id}", details={"weighed_kg": weighed_kg}
    )
    await emit(uow, DisputeResolved(match_id, weighed_kg))
    await _open_if_ready(uow, match_id, now)
    return Done.OK


# --- no-shows ----------------------------------------------------------------------------------------


async def report_no_show(uow: UnitOfWork, user: dto.User, match_id: int, *, now: dt.datetime) -> Done:
    """The trader did not come: the volume goes back to the lot at once and their record counts it."""
    p = await parties(uow, match_id)
    if p is None:
        return Done.NOT_FOUND
    if user.id != p.seller.id and user.role not in STAFF:
        return Done.NOT_YOURS
    if p.match.status not in PICKABLE:
        return Done.WRONG_STATE
    if p.match.slot_id is not None:
        slot = await uow.slots.get(p.match.slot_id)
        if slot is not None and now < slot.starts_at:
            return Done.TOO_EARLY
    if not await uow.matches.transition(
        match_id, PICKABLE, status="no_show", closed_reason="trader did not come"
    ):
        return Done.WRONG_STATE
    await uow.lots.give_back(p.lot.id, p.match.kg)
    if p.match.slot_id is not None:
        await uow.slots.release(p.match.slot_id, p.match.kg)
    count = await uow.deals.count_no_show(p.trader.id)
    await uow.events.record("match", match_id, user.id, "no_show", {"kg": p.match.kg})
    await emit(uow, LotChanged(p.lot.id))
    await emit(uow, NoShowRecorded(match_id, count))
    return Done.OK


# --- the payment ---------------------------------------------------------------------------------


async def _open_if_ready(uow: UnitOfWork, match_id: int, now: dt.datetime) -> None:
    """Once the weight stands and any surplus is decided, the trader owes the money."""
    pickup = await uow.deals.pickup(match_id)
    match = await uow.matches.get(match_id)
    if pickup is None or match is None or match.status != "picked_up" or not pickup.ready_to_pay():
        return
    assert match.weighed_kg is not None
    amount = money.payment_amount(match.weighed_kg, match.price, ROUNDING_VND)
    if await uow.deals.open_payment(match_id, amount, now):
        await emit(uow, PaymentDue(match_id, amount))


async def record_payment(
    uow: UnitOfWork, user: dto.User, match_id: int, method: str, *, now: dt.datetime
) -> Done:
    """The trader says they paid (cash or transfer); the seller is asked to confirm receipt."""
    p = await parties(uow, match_id)
    if p is None:
        return Done.NOT_FOUND
    if user.id != p.trader.id:
        return Done.NOT_YOURS
    payment = await uow.deals.payment(match_id)
    if payment is None or p.match.status != "picked_up" or method not in (CASH, TRANSFER):
        return Done.WRONG_STATE
    if not await uow.deals.record_payment(match_id, method, now):
        return Done.WRONG_STATE
    await uow.events.record("match", match_id, user.id, "payment_recorded", {"method": method})
    await emit(uow, PaymentRecorded(match_id, payment.amount_vnd, method))
    return Done.OK


@dataclass(frozen=True, slots=True)
class ReceiptOutcome:
    done: Done
    parties: Parties | None = None
    payouts: tuple[money.PayoutLine, ...] = ()


async def confirm_receipt(
    uow: UnitOfWork, user: dto.User, match_id: int, *, received: bool, floor: int | None, now: dt.datetime
) -> ReceiptOutcome:
    """The seller confirms the money arrived: the deal is paid, a pooled lot's payment is split
    among its households (the parts add up exactly), and a final price below the anti-gouging
    ``floor`` alerts the officials."""
    p = await parties(uow, match_id)
    if p is None:
        return ReceiptOutcome(Done.NOT_FOUND)
    if user.id != p.seller.id:
        return ReceiptOutcome(Done.NOT_YOURS, p)
    payment = await uow.deals.payment(match_id)
    if payment is None or p.match.status != "picked_up":
        return ReceiptOutcome(Done.WRONG_STATE, p)
    if not received:
        await emit(uow, ReceiptDenied(match_id))
        return ReceiptOutcome(Done.OK, p)
    if not await uow.deals.confirm_receipt(match_id, now):
        return ReceiptOutcome(Done.WRONG_STATE, p)
    await uow.matches.transition(match_id, ("picked_up",), status="paid", paid_at=now)
    weighed = p.match.weighed_kg or 0
    shares = await uow.lots.shares(p.lot.id)
    lines = money.household_payouts(
        [(s.household, s.phone, s.kg) for s in shares], weighed, payment.amount_vnd, p.seller.coop_fee_pct
    )
    if lines:
        rows = []
        for line in lines:
            household_user = await uow.deals.user_by_phone(line.phone) if line.phone else None
            named = line.household
            if household_user is not None and household_user.name and named == line.phone:
                named = household_user.name  # a part the rep gave by phone only: the person's own name
            rows.append(
                {
                    "household": named,
                    "phone": line.phone,
                    "kg": line.kg,
                    "gross_vnd": line.gross,
                    "fee_vnd": line.fee,
                    "net_vnd": line.net,
                    "user_id": household_user.id if household_user else None,
                }
            )
        await uow.deals.add_payouts(match_id, rows)
    await uow.events.record("match", match_id, user.id, "paid", {"amount": payment.amount_vnd})
    below = floor is not None and p.match.price < floor
    await emit(uow, MatchPaid(match_id, payment.amount_vnd, below_floor=below, floor=floor))
    return ReceiptOutcome(Done.OK, p, tuple(lines))


async def overdue_payments(
    uow: UnitOfWork, *, now: dt.datetime, remind_after: dt.timedelta, limit: int = 200
) -> list[dto.Payment]:
    """Payments due for longer than ``remind_after``, not recorded, not reminded in the last day."""
    return await uow.deals.overdue(now - remind_after, now - dt.timedelta(hours=23), limit)


async def pickable_for(uow: UnitOfWork, user: dto.User) -> list[Parties]:
    """The deals this person may record a pickup for (a trader's or a seller's own, accepted or scheduled)."""
    found = await uow.deals.for_trader(user.id, PICKABLE) + await uow.deals.for_seller(user.id, PICKABLE)
    out = [p for m in sorted({m.id for m in found}) if (p := await parties(uow, m)) is not None]
    return out


async def to_pay_for(uow: UnitOfWork, user: dto.User) -> list[tuple[Parties, dto.Payment]]:
    """A trader's picked-up deals not yet paid, with what each costs."""
    out = []
    for match in await uow.deals.for_trader(user.id, ("picked_up",)):
        payment = await uow.deals.payment(match.id)
        p = await parties(uow, match.id)
        if payment is not None and payment.received_at is None and p is not None:
            out.append((p, payment))
    return out


async def report_gouging(
    uow: UnitOfWork,
    reporter: dto.User,
    *,
    trader_id: int | None,
    trader_name: str | None,
    match_id: int | None,
    product_code: str | None,
    price: int | None,
    note: str,
    now: dt.datetime,
) -> int:
    """A farmer or coop rep reports a trader who pushed the price down: stored, audited, sent to the
    province's officials (event); returns the report's number."""
    report_id = await uow.deals.add_report(
        reporter_id=reporter.id,
        trader_id=trader_id,
        trader_name=(trader_name or "")[:100] or None,
        match_id=match_id,
        product_code=product_code,
        price=price,
        province_code=reporter.province_code,
        note=note.strip()[:500],
        created_at=now,
    )
    await uow.audit.add(
        reporter.id,
        "gouging_report",
        f"gouging:{report_id}",
        details={"trader_id": trader_id, "price": price},
    )
    await emit(uow, GougingReported(report_id))
    return report_id


async def recent_traders(uow: UnitOfWork, seller: dto.User, limit: int = 6) -> list[dto.User]:
    """The traders this seller dealt with lately (for /baoepgia), newest first."""
    statuses = (
        "proposed",
        "accepted",
        "scheduled",
        "picked_up",
        "disputed",
        "paid",
        "no_show",
        "declined",
        "cancelled",
    )
    seen: dict[int, dto.User] = {}
    for match in await uow.deals.for_seller(seller.id, statuses, limit=50):
        p = await parties(uow, match.id)
        if p is not None and p.trader.id not in seen:
            seen[p.trader.id] = p.trader
        if len(seen) >= limit:
            break
    return list(seen.values())


async def ask_no_shows(uow: UnitOfWork, *, ended_before: dt.datetime, limit: int = 200) -> int:
    """Ask the sellers of deals whose slot ended long enough ago with no pickup whether the trader
    came (each deal once); returns how many were asked."""
    asked = 0
    for match in await uow.deals.no_show_candidates(ended_before, limit):
        await uow.events.record("match", match.id, None, "no_show_asked", {})
        await emit(uow, NoShowQuestion(match.id))
        asked += 1
    return asked


async def remind_overdue(
    uow: UnitOfWork, *, now: dt.datetime, remind_after: dt.timedelta, escalate_after: dt.timedelta
) -> int:
    """Remind traders of payments overdue (once a day); the province's officials hear of the ones
    overdue longer than ``escalate_after`` (once). Returns how many reminders went out."""
    count = 0
    for payment in await overdue_payments(uow, now=now, remind_after=remind_after):
        escalate = payment.escalated_at is None and payment.due_since < now - escalate_after
        await uow.deals.reminded(payment.match_id, now, escalated=escalate)
        await emit(uow, PaymentOverdue(payment.match_id, payment.reminders + 1, escalate))
        count += 1
    return count


async def price_floor(uow: UnitOfWork, match_id: int, today: dt.date, margin: float) -> int | None:
    """The anti-gouging floor of a deal's product where it is picked up (None without a reference price)."""
    p = await parties(uow, match_id)
    point = await uow.points.get(p.lot.collection_point_id) if p and p.lot.collection_point_id else None
    if p is None or point is None:
        return None
    ref = await uow.prices.current(p.lot.product_code, point.province_code, today)
    return int(ref.price * (1 - margin)) if ref else None


async def no_show_job(services: Services) -> int:
    """Scheduled: ask about deals whose slot ended ``no_show_grace_hours`` ago with no pickup."""
    grace = dt.timedelta(hours=services.settings.no_show_grace_hours)
    async with services.db.uow() as uow:
        asked = await ask_no_shows(uow, ended_before=services.clock.now() - grace)
    if asked:
        services.wake_events()
    return asked


async def payment_reminder_job(services: Services) -> int:
    """Scheduled: remind traders of unpaid deals; tell the officials of the long-unpaid ones."""
    s = services.settings
    async with services.db.uow() as uow:
        count = await remind_overdue(
            uow,
            now=services.clock.now(),
            remind_after=dt.timedelta(days=s.payment_reminder_days),
            escalate_after=dt.timedelta(days=s.payment_escalation_days),
        )
    if count:
        services.wake_events()
    return count
