"""Personal data as the law asks (Law 91/2025/QH15, Decree 356/2025/ND-CP): consent recorded,
everything held about a person shown on request, and erasure that keeps the trade records
consistent for the counterparts and the officials' totals."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from bot.domain_events import LotChanged, OrderChanged, emit
from storage import dto
from storage.uow import UnitOfWork


async def record_consent(uow: UnitOfWork, user: dto.User, now: dt.datetime) -> None:
    """The person agreed to the processing described to them (kept with the time)."""
    await uow.users.update(user.id, consent_at=now)
    await uow.events.record("user", user.id, user.id, "consent", {})


async def my_data(uow: UnitOfWork, user: dto.User) -> dict[str, list[dict[str, Any]]]:
    """Everything the bot holds about the person, by kind (for their own copy)."""
    return await uow.personal.everything(user.id)


class Erasure(enum.StrEnum):
    ERASED = "erased"
    DEALS_IN_PROGRESS = "deals_in_progress"  # finish (or cancel) them first: the other side relies on them


async def erase_account(uow: UnitOfWork, user: dto.User, now: dt.datetime) -> tuple[Erasure, int]:
    """Delete the person's account: open lots and orders are withdrawn (the matcher hears of it),
    what identifies them is erased, the trade records stay for the counterparts and the totals.
    Refused while a deal is agreed but not yet paid; returns (outcome, deals in progress)."""
    in_progress = await uow.personal.deals_in_progress(user.id)
    if in_progress:
        return Erasure.DEALS_IN_PROGRESS, in_progress
    for lot in await uow.lots.of_owner(user.id, limit=10_000):
        for match in await uow.matches.for_lot(lot.id, ("proposed",)):  # offers nobody may take up now
            if await uow.matches.transition(
                match.id, ("proposed",), status="cancelled", closed_reason="account deleted"
            ):
                await uow.orders.give_back(match.order_id, match.kg)
                await emit(uow, OrderChanged(match.order_id))
        if await uow.lots.close(lot.id, "cancelled", "account deleted"):
            await emit(uow, LotChanged(lot.id))
    for order in await uow.orders.of_trader(user.id, limit=10_000):
        for match in await uow.matches.for_order(order.id, ("proposed",)):
            if await uow.matches.transition(
                match.id, ("proposed",), status="cancelled", closed_reason="account deleted"
            ):
                await uow.lots.give_back(match.lot_id, match.kg)
                await emit(uow, LotChanged(match.lot_id))
        if await uow.orders.close(order.id, "cancelled", "account deleted"):
            await emit(uow, OrderChanged(order.id))
    await uow.personal.erase(user.id, now)
    await uow.audit.add(user.id, "account_erased", f"user:{user.id}", details={})
    return Erasure.ERASED, 0


async def enforce_retention(uow: UnitOfWork, *, now: dt.datetime, conversations_days: int) -> int:
    """Forget flows left half-way and stale menus after ``conversations_days`` days."""
    return await uow.personal.prune_conversations(now - dt.timedelta(days=conversations_days))
