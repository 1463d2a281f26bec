"""Everything the bot holds about one person, to show them, and to erase it.

Erasure keeps the trade records others rely on (a counterpart's history, the officials' totals):
the lots, orders and deals stay with their quantities, prices and dates, attributed to an
anonymous account; what identifies the person (name, phone, bank account, messenger id, the
messages they wrote and received) is removed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models

M = models
LIVE_DEALS = ("accepted", "scheduled", "picked_up", "disputed")


def _row(obj: Any, *skip: str) -> dict[str, Any]:
    out = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        out[column.key] = value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
    return out


class PersonalDataRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def everything(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row about ``user_id``, by kind (the person's own copy of their data)."""
        s = self.session
        user = await s.get(M.User, user_id)
        if user is None:
            return {}
        lots = list(
            await s.scalars(
                select(M.HarvestLot).where(M.HarvestLot.owner_id == user_id).order_by(M.HarvestLot.id)
            )
        )
        lot_ids = [lot.id for lot in lots]
        shares = (
            list(
                await s.scalars(
                    select(M.LotShare).where(M.LotShare.lot_id.in_(lot_ids)).order_by(M.LotShare.id)
                )
            )
            if lot_ids
            else []
        )
        orders = list(
            await s.scalars(
                select(M.PurchaseOrder)
                .where(M.PurchaseOrder.trader_id == user_id)
                .order_by(M.PurchaseOrder.id)
            )
        )
        order_ids = [o.id for o in orders]
        deals = list(
            await s.scalars(
                select(M.Match)
                .where(or_(M.Match.lot_id.in_(lot_ids or [0]), M.Match.order_id.in_(order_ids or [0])))
                .order_by(M.Match.id)
            )
        )
        payouts = list(
            await s.scalars(select(M.Payout).where(M.Payout.user_id == user_id).order_by(M.Payout.id))
        )
        topics = list(await s.scalars(select(M.Subscription).where(M.Subscription.user_id == user_id)))
        reports = list(await s.scalars(select(M.GougingReport).where(M.GougingReport.reporter_id == user_id)))
        audit = list(
            await s.scalars(
                select(M.AuditEntry).where(M.AuditEntry.actor_id == user_id).order_by(M.AuditEntry.id)
            )
        )
        accounts = list(
            await s.scalars(select(M.Account).where(M.Account.user_id == user_id).order_by(M.Account.id))
        )
        return {
            "profile": [_row(user)],
            "accounts": [_row(x) for x in accounts],
            "lots": [_row(x) for x in lots],
            "households": [_row(x) for x in shares],
            "orders": [_row(x) for x in orders],
            "deals": [_row(x) for x in deals],
            "payouts": [_row(x) for x in payouts],
            "subscriptions": [_row(x) for x in topics],
            "gouging_reports": [_row(x) for x in reports],
            "audit": [_row(x, "prev_hash", "hash") for x in audit],
        }

    async def deals_in_progress(self, user_id: int) -> int:
        """Deals agreed but not yet paid (erasing the person now would strand the other side)."""
        stmt = (
            select(func.count())
            .select_from(M.Match)
            .join(M.HarvestLot, M.HarvestLot.id == M.Match.lot_id)
            .join(M.PurchaseOrder, M.PurchaseOrder.id == M.Match.order_id)
            .where(
                M.Match.status.in_(LIVE_DEALS),
                or_(M.HarvestLot.owner_id == user_id, M.PurchaseOrder.trader_id == user_id),
            )
        )
        return int(await self.session.scalar(stmt) or 0)

    async def erase(self, user_id: int, now: dt.datetime) -> None:
        """Remove what identifies the person; keep the trade records, attributed to no one."""
        s = self.session
        user = await s.get(M.User, user_id)
        if user is None:
            return
        accounts = list(await s.scalars(select(M.Account).where(M.Account.user_id == user_id)))
        chats = {(a.channel, a.chat_id) for a in accounts} | {(user.channel, user.chat_id)}
        phone = user.phone
        await s.execute(
            update(M.User)
            .where(M.User.id == user_id)
            .values(
                external_id=f"erased:{user_id}",
                chat_id=f"erased:{user_id}",
                name=None,
                phone=None,
                ward_code=None,
                bank_bin=None,
                bank_account=None,
                consent_at=None,
                erased_at=now,
                notify_channel=None,
                bot_blocked=True,  # nothing is ever sent to an erased account
            )
        )
        # Every messenger account of the person goes: writing again from any of them is a new person.
        await s.execute(delete(M.Account).where(M.Account.user_id == user_id))
        await s.execute(delete(M.LinkCode).where(M.LinkCode.user_id == user_id))
        for a in accounts:
            await s.execute(
                delete(M.LinkCode).where(
                    M.LinkCode.requested_by_channel == a.channel,
                    M.LinkCode.requested_by_external_id == a.external_id,
                )
            )
        lot_ids = select(M.HarvestLot.id).where(M.HarvestLot.owner_id == user_id).scalar_subquery()
        await s.execute(update(M.LotShare).where(M.LotShare.lot_id.in_(lot_ids)).values(phone=None))
        await s.execute(update(M.Payout).where(M.Payout.user_id == user_id).values(user_id=None, phone=None))
        await s.execute(delete(M.Subscription).where(M.Subscription.user_id == user_id))
        await s.execute(delete(M.PendingGrant).where(M.PendingGrant.phone == (phone or "")))
        await s.execute(
            update(M.OutboxMessage)
            .where(M.OutboxMessage.user_id == user_id, M.OutboxMessage.status == "pending")
            .values(status="cancelled")
        )
        for channel, chat in sorted(chats):
            await s.execute(
                delete(M.ConversationState).where(
                    M.ConversationState.channel == channel, M.ConversationState.chat_id == chat
                )
            )
            await s.execute(
                delete(M.ChatMenu).where(M.ChatMenu.channel == channel, M.ChatMenu.chat_id == chat)
            )
            # The messages they wrote and were sent: their words and the contacts of others.
            await s.execute(
                delete(M.InboxUpdate).where(
                    M.InboxUpdate.channel == channel,
                    M.InboxUpdate.chat_id == chat,
                    M.InboxUpdate.status != "pending",
                )
            )
            await s.execute(
                delete(M.OutboxMessage).where(
                    M.OutboxMessage.channel == channel,
                    M.OutboxMessage.chat_id == chat,
                    M.OutboxMessage.status.not_in(("pending", "sending")),
                    M.OutboxMessage.announcement_id.is_(None),
                )
            )

    # --- retention ---------------------------------------------------------------------------
    async def prune_conversations(self, idle_before: dt.datetime) -> int:
        """Forget flows left half-way long ago, and the menus of chats silent since."""
        done = await self.session.execute(
            delete(M.ConversationState).where(M.ConversationState.updated_at < idle_before)
        )
        menus = await self.session.execute(delete(M.ChatMenu).where(M.ChatMenu.delivered_at < idle_before))
        return int(done.rowcount or 0) + int(menus.rowcount or 0)  # type: ignore[attr-defined]
