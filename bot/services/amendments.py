"""Changing an accepted match: one side asks (a new price, fewer kilograms), the other answers.

A lot's or an order's new price or smaller volume never silently changes a deal both sides
accepted. Each affected match gets an amendment asked of the other side; only their consent
changes the match (its price, or its kilograms with the difference returned to the other side's
remaining volume and re-matched). A refusal, or no answer within AMENDMENT_HOURS, leaves it as
it was. Every step is recorded in the match's history and the audit log, and emitted as a
domain event for the notifications; each answer is decided by a conditional UPDATE, so answering
twice changes things once.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain_events import (
    AmendmentDecided,
    AmendmentExpired,
    AmendmentProposed,
    LotChanged,
    OrderChanged,
    emit,
)
from bot.i18n import _
from bot.services.lots import check_new_volume
from bot.services.matches import MADE, REP, SIDE_ROLES, TRADER, Deal, load_deal, split_shares
from bot.services.quantities import RuleError
from storage import dto
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.container import Services

PRICE, KG = "price", "kg"
EXPIRE_BATCH = 100


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NOT_YOURS = "not_yours"  # not the side asked (the proposer, or a stranger)
    NOT_ALLOWED = "not_allowed"  # the side asked, but no longer in a role that answers for it
    CLOSED = "closed"  # answered, expired, or the match can no longer change


@dataclass(frozen=True, slots=True)
class Pending:
    """An amendment with its match and parties (for messages and lists)."""

    amendment: dto.Amendment
    deal: Deal

    @property
    def proposer(self) -> dto.User:
        return self.deal.rep if self.amendment.side == TRADER else self.deal.trader


@dataclass(frozen=True, slots=True)
class Answered:
    """How an answer to an amendment ended."""

    outcome: Outcome
    amendment_id: int
    pending: Pending | None = None
    needed: frozenset[str] = frozenset()
    changed: bool = False


async def load(uow: UnitOfWork, amendment_id: int) -> Pending | None:
    """The amendment with its deal; None if either is gone."""
    amendment = await uow.amendments.get(amendment_id)
    if amendment is None:
        return None
    deal = await load_deal(uow, amendment.match_id)
    return Pending(amendment, deal) if deal is not None else None


# --- asking ---------------------------------------------------------------------------------------


async def _propose(
    uow: UnitOfWork, deal: Deal, proposer: dto.User, kind: str, new_value: int, now: dt.datetime, hours: float
) -> dto.Amendment | None:
    side = deal.side_of(proposer.id)
    if side is None:
        return None
    old_value = deal.match.price if kind == PRICE else deal.match.kg
    for earlier in await uow.amendments.pending_for_match(deal.match.id, kind):  # the latest ask stands
        await uow.amendments.transition(earlier.id, ("pending",), status="superseded", decided_at=now)
    if new_value == old_value:
        return None
    answerer = deal.other(proposer.id)
    amendment = await uow.amendments.add(
        match_id=deal.match.id,
        proposer_id=proposer.id,
        answerer_id=answerer.id,
        side=TRADER if side == REP else REP,
        kind=kind,
        old_value=old_value,
        new_value=new_value,
        expires_at=now + dt.timedelta(hours=hours),
    )
    details = {"amendment": amendment.id, "kind": kind, "old": old_value, "new": new_value}
    await uow.events.record("match", deal.match.id, proposer.id, "amendment_proposed", details)
    await uow.audit.add(proposer.id, "amendment_proposed", f"match:{deal.match.id}", details=details)
    await emit(uow, AmendmentProposed(amendment.id))
    return amendment


async def _made_deals(uow: UnitOfWork, item: dto.Lot | dto.Order) -> list[Deal]:
    if isinstance(item, dto.Lot):
        found = await uow.matches.for_lot(item.id, MADE)
    else:
        found = await uow.matches.for_order(item.id, MADE)
    deals = [await load_deal(uow, m.id) for m in found]
    return [d for d in deals if d is not None]


async def ask_price(
    uow: UnitOfWork, actor: dto.User, item: dto.Lot | dto.Order, price: int, now: dt.datetime, hours: float
) -> list[dto.Amendment]:
    """Ask the other side of each accepted match on ``item`` to take the new price.

    A trader's new price is asked of every deal at another price. A lot's asking price is a
    floor (deals are made at the trader's price): only deals below the new floor are asked.
    """
    asked = []
    for deal in await _made_deals(uow, item):
        below = deal.match.price < price if isinstance(item, dto.Lot) else deal.match.price != price
        if below and (amendment := await _propose(uow, deal, actor, PRICE, price, now, hours)):
            asked.append(amendment)
    return asked


async def volume_floor(uow: UnitOfWork, item: dto.Lot | dto.Order) -> int:
    """The smallest total ``item`` can be cut to: proposals still unanswered keep their kilograms,
    each accepted deal keeps at least 1 kg (less would be cancelling it)."""
    promised = item.quantity_kg - item.remaining_kg
    return promised - sum(d.match.kg - 1 for d in await _made_deals(uow, item))


def plan_cuts(made: list[dto.Match], shortfall: int) -> list[tuple[dto.Match, int]]:
    """(match, new kg) taking ``shortfall`` kg off the latest deals first, each keeping 1 kg at least."""
    cuts = []
    for match in sorted(made, key=lambda m: m.id, reverse=True):
        if shortfall <= 0:
            break
        take = min(shortfall, match.kg - 1)
        if take > 0:
            cuts.append((match, match.kg - take))
            shortfall -= take
    return cuts


async def _rescale_shares(uow: UnitOfWork, lot_id: int, old_total: int, new_total: int) -> None:
    """A pooled lot's households keep their proportions of a smaller total."""
    shares = await uow.lots.shares(lot_id)
    if not shares or old_total == new_total:
        return
    parts = split_shares(shares, old_total, new_total)
    await uow.lots.replace_shares(
        lot_id,
        [
            dto.LotShare(s.household, s.phone, kg)
            for s, (_name, kg) in zip(shares, parts, strict=True)
            if kg > 0
        ],
    )


async def ask_volume_cut(
    uow: UnitOfWork, actor: dto.User, item: dto.Lot | dto.Order, new_kg: int, now: dt.datetime, hours: float
) -> list[dto.Amendment]:
    """A new total below what is promised: nothing more is offered (the unpromised rest is taken
    off now), and the accepted deals are asked to give up the difference, the latest first."""
    promised = item.quantity_kg - item.remaining_kg
    check_new_volume(promised, new_kg, await volume_floor(uow, item))
    is_lot = isinstance(item, dto.Lot)
    kind = "lot" if is_lot else "order"
    if item.remaining_kg > 0:
        repo = uow.lots if is_lot else uow.orders
        if not await repo.set_quantity(item.id, promised):
            raise RuleError(_("#{id} vừa thay đổi. Vui lòng thử lại.").format(id=item.id), "volume")
        if is_lot:
            await _rescale_shares(uow, item.id, item.quantity_kg, promised)
        await emit(uow, LotChanged(item.id) if is_lot else OrderChanged(item.id))
    await uow.events.record(
        kind, item.id, actor.id, "change_volume", {"old": item.quantity_kg, "new": promised, "asked": new_kg}
    )
    made = [d.match for d in await _made_deals(uow, item)]
    asked = []
    for match, kg in plan_cuts(made, promised - new_kg):
        deal = await load_deal(uow, match.id)
        if deal is not None and (amendment := await _propose(uow, deal, actor, KG, kg, now, hours)):
            asked.append(amendment)
    return asked


# --- answering ------------------------------------------------------------------------------------


async def decide(
    uow: UnitOfWork, amendment_id: int, user: dto.User, accept: bool, *, now: dt.datetime
) -> Answered:
    """The asked side's answer; the match changes only on consent, and only while it can."""
    pending = await load(uow, amendment_id)
    if pending is None:
        return Answered(Outcome.CLOSED, amendment_id)
    amendment, deal = pending.amendment, pending.deal
    side = deal.side_of(user.id)
    if side is None or side != amendment.side:
        return Answered(Outcome.NOT_YOURS, amendment_id)
    if user.role not in SIDE_ROLES[side]:
        return Answered(Outcome.NOT_ALLOWED, amendment_id, needed=SIDE_ROLES[side])
    if amendment.status != "pending" or amendment.expires_at <= now:
        return Answered(Outcome.CLOSED, amendment_id, pending)
    match = deal.match
    current = match.price if amendment.kind == PRICE else match.kg
    if match.status not in MADE or current != amendment.old_value:
        # Picked up, cancelled, or changed by another answer since: this ask no longer applies.
        await uow.amendments.transition(amendment.id, ("pending",), status="void", decided_at=now)
        return Answered(Outcome.CLOSED, amendment_id, pending)
    status = "accepted" if accept else "declined"
    if not await uow.amendments.transition(
        amendment.id, ("pending",), status=status, decided_at=now, decided_by=user.id
    ):
        return Answered(Outcome.CLOSED, amendment_id, pending)
    if accept and not await _apply(uow, pending):
        # Only a concurrent change gets here: undo everything (the update is tried again).
        raise RuntimeError(f"match {match.id} changed while amendment {amendment.id} was applied")
    details = {"amendment": amendment.id, "kind": amendment.kind, "old": current, "new": amendment.new_value}
    await uow.events.record("match", match.id, user.id, f"amendment_{status}", details)
    await uow.audit.add(user.id, f"amendment_{status}", f"match:{match.id}", details=details)
    await emit(uow, AmendmentDecided(amendment.id, accept))
    fresh = await load(uow, amendment.id)
    return Answered(Outcome.ACCEPTED if accept else Outcome.DECLINED, amendment_id, fresh, changed=True)


async def _apply(uow: UnitOfWork, pending: Pending) -> bool:
    """Change the match; for fewer kilograms, the proposer's total shrinks by the difference and
    the other side gets it back to sell or buy elsewhere."""
    amendment, deal = pending.amendment, pending.deal
    match = deal.match
    if amendment.kind == PRICE:
        return await uow.matches.transition(match.id, MADE, price=amendment.new_value)
    diff = match.kg - amendment.new_value
    if not await uow.matches.transition(match.id, MADE, kg=amendment.new_value):
        return False
    if match.slot_id is not None:
        await uow.slots.release_kg(match.slot_id, diff)
    if amendment.side == TRADER:  # the rep cut the lot: the trader's order wants the kilograms again
        if not await uow.lots.shrink(deal.lot.id, diff):
            return False
        await _rescale_shares(uow, deal.lot.id, deal.lot.quantity_kg, deal.lot.quantity_kg - diff)
        await uow.orders.give_back(deal.order.id, diff)
    else:  # the trader cut the order: the lot has the kilograms to sell again
        if not await uow.orders.shrink(deal.order.id, diff):
            return False
        await uow.lots.give_back(deal.lot.id, diff)
    await emit(uow, LotChanged(deal.lot.id))
    await emit(uow, OrderChanged(deal.order.id))
    return True


# --- lists and the clock --------------------------------------------------------------------------


async def waiting_for(uow: UnitOfWork, user: dto.User, now: dt.datetime) -> list[Pending]:
    """Amendments still waiting for ``user``'s answer, oldest first."""
    found = []
    for amendment in await uow.amendments.pending_for_answerer(user.id):
        if amendment.expires_at <= now:
            continue
        pending = await load(uow, amendment.id)
        if pending is not None and pending.deal.match.status in MADE:
            found.append(pending)
    return found


async def expire_amendments(services: Services) -> int:
    """Amendments nobody answered in time lapse; the match stays as it was, the proposer is told."""
    total = 0
    while True:
        async with services.db.uow() as uow:
            due = await uow.amendments.due_to_expire(services.clock.now(), EXPIRE_BATCH)
            expired = 0
            for amendment in due:
                if not await uow.amendments.transition(
                    amendment.id, ("pending",), status="expired", decided_at=services.clock.now()
                ):
                    continue
                await uow.events.record(
                    "match", amendment.match_id, None, "amendment_expired", {"amendment": amendment.id}
                )
                await emit(uow, AmendmentExpired(amendment.id))
                expired += 1
        if expired:
            services.wake_events()
        total += expired
        if len(due) < EXPIRE_BATCH:
            return total
