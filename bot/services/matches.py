"""A proposal's life: both sides accept, one declines, nobody answers, or the trader backs out.

Declined, expired and cancelled matches give their volume back to the lot and the order and
tell the matcher (LotChanged/OrderChanged); every answer is recorded and emits the event that
tells the other side. Each change is one transaction, decided by a conditional UPDATE, so an
answer given twice (a double tap, a button and a typed code) changes things once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain_events import (
    LotChanged,
    MatchAccepted,
    MatchCancelled,
    MatchDeclined,
    MatchExpired,
    MatchWaiting,
    OrderChanged,
    emit,
)
from storage import dto
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.container import Services

REP, TRADER = "rep", "trader"
# Who may answer for each side now: a trader demoted since the proposal no longer speaks for the order.
SIDE_ROLES = {REP: frozenset({"farmer", "coop_rep"}), TRADER: frozenset({"trader"})}
MADE = ("accepted", "scheduled")  # a deal both sides accepted, booked into a slot or not


class Decision(enum.StrEnum):
    """What a party answers."""

    ACCEPT = "a"
    DECLINE = "d"
    CANCEL = "c"  # the trader backs out of a made deal (a proposal still open is declined)


class Outcome(enum.StrEnum):
    WAITING = "waiting"  # this side accepted, the other has not yet
    ACCEPTED = "accepted"  # both accepted: the deal is made
    DECLINED = "declined"
    CANCELLED = "cancelled"
    NOT_YOURS = "not_yours"  # not a party to this match
    NOT_ALLOWED = "not_allowed"  # a party, but no longer in a role that may answer for that side
    CLOSED = "closed"  # already decided, expired or cancelled (or no such match)


@dataclass(frozen=True, slots=True)
class Deal:
    """A match with everything around it: the lot and its rep, the order and its trader, the point."""

    match: dto.Match
    lot: dto.Lot
    order: dto.Order
    rep: dto.User
    trader: dto.User
    point: dto.CollectionPoint | None

    def side_of(self, user_id: int) -> str | None:
        """ "rep", "trader", or None for someone who is not a party."""
        return REP if user_id == self.rep.id else TRADER if user_id == self.trader.id else None

    def other(self, user_id: int) -> dto.User:
        """The party facing ``user_id``."""
        return self.trader if user_id == self.rep.id else self.rep

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        """The days both the lot is ready and the trader picks up."""
        return max(self.lot.ready_from, self.order.pickup_from), min(self.lot.ready_to, self.order.pickup_to)


@dataclass(frozen=True, slots=True)
class Answered:
    """How a party's answer ended."""

    outcome: Outcome
    match_id: int
    deal: Deal | None = None
    shares: tuple[tuple[str, int], ...] = ()  # households' parts of an accepted pooled lot
    needed: frozenset[str] = frozenset()  # NOT_ALLOWED: the roles that may answer for that side
    changed: bool = False  # something was recorded (and the other side will be told)


def split_shares(shares: list[dto.LotShare], total_kg: int, matched_kg: int) -> list[tuple[str, int]]:
    """Each household's part of ``matched_kg``, in proportion to its share (largest remainder)."""
    if not shares or total_kg <= 0:
        return []
    exact = [s.kg * matched_kg / total_kg for s in shares]
    parts = [int(x) for x in exact]
    rest = matched_kg - sum(parts)
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - parts[i], reverse=True)[:rest]:
        parts[i] += 1
    return [(s.household, n) for s, n in zip(shares, parts, strict=True)]


async def load_deal(uow: UnitOfWork, match_id: int) -> Deal | None:
    """The match ``match_id`` with its lot, order, parties and point; None if there is none."""
    match = await uow.matches.get(match_id)
    if match is None:
        return None
    lot, order = await uow.lots.get(match.lot_id), await uow.orders.get(match.order_id)
    if lot is None or order is None:
        return None
    people = await uow.users.by_ids([lot.owner_id, order.trader_id])
    rep, trader = people.get(lot.owner_id), people.get(order.trader_id)
    if rep is None or trader is None:
        return None
    point = await uow.points.get(lot.collection_point_id) if lot.collection_point_id else None
    return Deal(match, lot, order, rep, trader, point)


async def household_split(uow: UnitOfWork, deal: Deal) -> tuple[tuple[str, int], ...]:
    """Each household's kilograms of the matched volume (pooled lots; empty otherwise)."""
    shares = await uow.lots.shares(deal.lot.id)
    return tuple(split_shares(shares, deal.lot.quantity_kg, deal.match.kg))


async def reference_price(uow: UnitOfWork, deal: Deal, today: dt.date) -> int | None:
    """The reference price of the lot's product in the point's province today, if an official set one."""
    if deal.point is None:
        return None
    ref = await uow.prices.current(deal.lot.product_code, deal.point.province_code, today)
    return ref.price if ref else None


async def _release(
    uow: UnitOfWork, match: dto.Match, actor: int | None, action: str, reason: str | None
) -> None:
    await uow.lots.give_back(match.lot_id, match.kg)
    await uow.orders.give_back(match.order_id, match.kg)
    if match.slot_id is not None:  # the pickup slot's room goes back too
        await uow.slots.release(match.slot_id, match.kg)
    await uow.events.record("match", match.id, actor, action, {"kg": match.kg, "reason": reason})
    # The volume is free again: the matcher looks at both sides.
    await emit(uow, LotChanged(match.lot_id))
    await emit(uow, OrderChanged(match.order_id))


async def decide(
    uow: UnitOfWork, match_id: int, user: dto.User, decision: Decision, *, now: dt.datetime
) -> Answered:
    """Record one party's answer to a proposal (or the trader's cancellation of a made deal)."""
    deal = await load_deal(uow, match_id)
    if deal is None:
        return Answered(Outcome.CLOSED, match_id)
    side = deal.side_of(user.id)
    if side is None:
        return Answered(Outcome.NOT_YOURS, match_id)
    if user.role not in SIDE_ROLES[side]:
        return Answered(Outcome.NOT_ALLOWED, match_id, needed=SIDE_ROLES[side])
    match = deal.match
    if decision is Decision.CANCEL and match.status in MADE:
        if side != TRADER:
            return Answered(Outcome.NOT_ALLOWED, match_id, needed=SIDE_ROLES[TRADER])
        return await _cancel(uow, deal, user)
    if match.status != "proposed":
        return Answered(Outcome.CLOSED, match_id, deal)
    if decision is Decision.ACCEPT:
        return await _accept(uow, deal, user, side, now)
    return await _decline(uow, deal, user, side)


async def _decline(uow: UnitOfWork, deal: Deal, user: dto.User, side: str) -> Answered:
    match = deal.match
    if not await uow.matches.transition(
        match.id, ("proposed",), status="declined", closed_reason=f"declined by {side}"
    ):
        return Answered(Outcome.CLOSED, match.id, deal)
    await _release(uow, match, user.id, "declined", side)
    await emit(uow, MatchDeclined(match.id, user.id))
    return Answered(Outcome.DECLINED, match.id, deal, changed=True)


async def _accept(uow: UnitOfWork, deal: Deal, user: dto.User, side: str, now: dt.datetime) -> Answered:
    match = deal.match
    column = "rep_accepted_at" if side == REP else "trader_accepted_at"
    if getattr(match, column) is None:
        if not await uow.matches.transition(match.id, ("proposed",), **{column: now}):
            return Answered(Outcome.CLOSED, match.id, deal)
        await uow.events.record("match", match.id, user.id, f"accepted_by_{side}")
        fresh = await uow.matches.get(match.id)
        assert fresh is not None
        match = fresh
        if not (match.rep_accepted_at and match.trader_accepted_at):
            await emit(uow, MatchWaiting(match.id, user.id))
            return Answered(Outcome.WAITING, match.id, dataclasses.replace(deal, match=match), changed=True)
    elif not (match.rep_accepted_at and match.trader_accepted_at):
        return Answered(Outcome.WAITING, match.id, deal)  # pressed twice: nothing new
    if not await uow.matches.transition(match.id, ("proposed",), status="accepted"):
        # The other side's answer got there at the same moment and made the deal.
        fresh = await uow.matches.get(match.id)
        made = fresh is not None and fresh.status in MADE
        return Answered(Outcome.ACCEPTED if made else Outcome.CLOSED, match.id, deal)
    await uow.events.record("match", match.id, None, "accepted")
    await emit(uow, MatchAccepted(match.id, user.id))
    fresh = await uow.matches.get(match.id)
    assert fresh is not None
    deal = dataclasses.replace(deal, match=fresh)
    return Answered(Outcome.ACCEPTED, match.id, deal, await household_split(uow, deal), changed=True)


async def _cancel(uow: UnitOfWork, deal: Deal, user: dto.User) -> Answered:
    """The trader backs out of a made deal: recorded and audited, the volume goes back and is re-matched."""
    match = deal.match
    if not await uow.matches.transition(
        match.id, MADE, status="cancelled", closed_reason="cancelled by trader"
    ):
        return Answered(Outcome.CLOSED, match.id, deal)
    await _release(uow, match, user.id, "cancelled_by_trader", None)
    await uow.audit.add(user.id, "trader_cancelled_match", f"match:{match.id}", details={"kg": match.kg})
    await emit(uow, MatchCancelled(match.id, user.id))
    return Answered(Outcome.CANCELLED, match.id, deal, changed=True)


async def waiting_for(uow: UnitOfWork, user: dto.User) -> list[Deal]:
    """Proposals still waiting for ``user``'s answer, oldest first."""
    deals = [await load_deal(uow, m.id) for m in await uow.matches.waiting_for(user.id)]
    return [d for d in deals if d is not None]


EXPIRE_BATCH = 100


async def expire_proposals(services: Services) -> int:
    """Proposals nobody answered in time: released, re-matched, both sides told (a scheduler job)."""
    total = 0
    while True:
        expired = 0
        async with services.db.uow() as uow:  # a small batch per transaction: short writes
            due = await uow.matches.due_to_expire(services.clock.now(), EXPIRE_BATCH)
            for match in due:
                if not await uow.matches.transition(
                    match.id, ("proposed",), status="expired", closed_reason="no answer in time"
                ):
                    continue
                await _release(uow, match, None, "expired", None)
                await emit(uow, MatchExpired(match.id))
                expired += 1
        if expired:
            services.wake_events()
        total += expired
        if len(due) < EXPIRE_BATCH:
            return total
