"""A proposal's life: both sides accept, one declines, nobody answers, or the trader backs out.

Declined, expired and cancelled matches give their volume back to the lot and the order and
ask the matcher to look again; each change is one transaction and is recorded.
"""

from __future__ import annotations

import enum

from bot.domain_events import LotChanged, OrderChanged, emit
from bot.events import Choice, Reply
from bot.formatting import kg
from bot.i18n import _, use_locale
from bot.matching.service import split_shares
from bot.services.container import Services
from bot.services.notify import notify
from storage import dto
from storage.uow import UnitOfWork


class Outcome(enum.StrEnum):
    WAITING = "waiting"  # this side accepted, the other has not yet
    ACCEPTED = "accepted"  # both accepted: the deal is made
    DECLINED = "declined"
    CANCELLED = "cancelled"
    NOT_YOURS = "not_yours"
    CLOSED = "closed"  # already decided, expired or cancelled


async def _parties(uow: UnitOfWork, match: dto.Match) -> tuple[dto.Lot, dto.Order, dto.User, dto.User]:
    lot, order = await uow.lots.get(match.lot_id), await uow.orders.get(match.order_id)
    assert lot is not None and order is not None
    rep, trader = await uow.users.get(lot.owner_id), await uow.users.get(order.trader_id)
    assert rep is not None and trader is not None
    return lot, order, rep, trader


async def _release(
    uow: UnitOfWork, services: Services, match: dto.Match, actor: int | None, action: str, reason: str | None
) -> None:
    await uow.lots.give_back(match.lot_id, match.kg)
    await uow.orders.give_back(match.order_id, match.kg)
    if match.slot_id is not None:  # the pickup slot's room goes back too
        await uow.slots.release(match.slot_id, match.kg)
    await uow.events.record("match", match.id, actor, action, {"kg": match.kg, "reason": reason})
    # The volume is free again: the matcher looks at both sides.
    await emit(uow, LotChanged(match.lot_id))
    await emit(uow, OrderChanged(match.order_id))


def _rematch(services: Services, match: dto.Match):  # type: ignore[no-untyped-def]
    async def hook() -> None:
        services.wake_events()
        services.wake_outbox()

    return hook


async def decide(
    uow: UnitOfWork, services: Services, match_id: int, user: dto.User, accept: bool
) -> tuple[Outcome, dto.Match | None]:
    """Record one side's answer to a proposal."""
    match = await uow.matches.get(match_id)
    if match is None:
        return Outcome.CLOSED, None
    lot, _order, rep, trader = await _parties(uow, match)
    side = "rep" if user.id == rep.id else "trader" if user.id == trader.id else None
    if side is None:
        return Outcome.NOT_YOURS, match
    if match.status != "proposed":
        return Outcome.CLOSED, match
    now = services.clock.now()
    other = trader if side == "rep" else rep
    if not accept:
        if not await uow.matches.transition(
            match.id, ("proposed",), status="declined", closed_reason=f"declined by {side}"
        ):
            return Outcome.CLOSED, match
        await _release(uow, services, match, user.id, "declined", side)
        with use_locale(other.locale):
            text = _(
                "Đề xuất #{id} ({kg}) đã bị bên kia từ chối. Hệ thống sẽ tìm đối tác khác cho bạn."
            ).format(id=match.id, kg=kg(match.kg))
        await notify(uow, other, Reply(text), dedupe_key=f"declined:{match.id}:{other.id}")
        return Outcome.DECLINED, match

    column = "rep_accepted_at" if side == "rep" else "trader_accepted_at"
    await uow.matches.transition(match.id, ("proposed",), **{column: now})
    await uow.events.record("match", match.id, user.id, f"accepted_by_{side}")
    match = await uow.matches.get(match.id)
    assert match is not None
    if not (match.rep_accepted_at and match.trader_accepted_at):
        with use_locale(other.locale):
            text = _("{name} đã đồng ý đề xuất #{id}. Đang chờ bạn trả lời.").format(
                name=user.name, id=match.id
            )
        await notify(uow, other, Reply(text), dedupe_key=f"waiting:{match.id}:{other.id}")
        return Outcome.WAITING, match
    if not await uow.matches.transition(match.id, ("proposed",), status="accepted"):
        return Outcome.CLOSED, match
    match = await uow.matches.get(match.id)
    assert match is not None
    await uow.events.record("match", match.id, None, "accepted")
    shares = split_shares(await uow.lots.shares(lot.id), lot.quantity_kg, match.kg)
    for person in (rep, trader):
        if person.id == user.id:
            continue
        with use_locale(person.locale):
            lines = [
                _("✅ Đơn #{id} đã chốt: {kg}, cả hai bên đã đồng ý.").format(id=match.id, kg=kg(match.kg))
            ]
            if person is rep and shares:
                lines.append(
                    _("Chia theo hộ: {shares}").format(
                        shares=", ".join(f"{name} {kg(n)}" for name, n in shares)
                    )
                )
            lines.append(
                _("Liên hệ: {name} {phone}").format(
                    name=(trader if person is rep else rep).name,
                    phone=(trader if person is rep else rep).phone or "",
                )
            )
            choices: tuple[Choice, ...] = ()
            if person is trader:
                choices = trader_deal_buttons(match.id)
        await notify(
            uow,
            person,
            Reply("\n".join(lines), choices, columns=2),
            dedupe_key=f"accepted:{match.id}:{person.id}",
        )
    return Outcome.ACCEPTED, match


def trader_deal_buttons(match_id: int) -> tuple[Choice, ...]:
    """What a trader can do with a made deal: pick a pickup time, take the earliest, or back out."""
    return (
        Choice(_("Chọn giờ lấy hàng"), f"slot:pick:{match_id}"),
        Choice(_("Giờ sớm nhất"), f"slot:first:{match_id}"),
        Choice(_("Hủy đơn"), f"mt:c:{match_id}"),
    )


async def trader_cancels(
    uow: UnitOfWork, services: Services, match_id: int, user: dto.User
) -> tuple[Outcome, dto.Match | None]:
    """The trader backs out of a made deal: recorded, the volume goes back and is re-matched."""
    match = await uow.matches.get(match_id)
    if match is None:
        return Outcome.CLOSED, None
    _lot, _order, rep, trader = await _parties(uow, match)
    if user.id != trader.id:
        return Outcome.NOT_YOURS, match
    if not await uow.matches.transition(
        match.id, ("accepted", "scheduled"), status="cancelled", closed_reason="cancelled by trader"
    ):
        return Outcome.CLOSED, match
    await _release(uow, services, match, user.id, "cancelled_by_trader", None)
    await uow.audit.add(user.id, "trader_cancelled_match", f"match:{match.id}", details={"kg": match.kg})
    with use_locale(rep.locale):
        text = _(
            "Thương lái {name} đã hủy đơn #{id} ({kg}). Hàng được đưa lại để ghép với người mua khác."
        ).format(name=trader.name, id=match.id, kg=kg(match.kg))
    await notify(uow, rep, Reply(text), dedupe_key=f"cancelled:{match.id}:{rep.id}")
    return Outcome.CANCELLED, match


EXPIRE_BATCH = 100


async def expire_proposals(services: Services) -> int:
    """Proposals nobody answered in time: released and re-matched (the scheduler calls this)."""
    total = 0
    while True:
        expired: list[dto.Match] = []
        async with services.db.uow() as uow:  # a small batch per transaction: short writes
            due = await uow.matches.due_to_expire(services.clock.now(), EXPIRE_BATCH)
            for match in due:
                if not await uow.matches.transition(
                    match.id, ("proposed",), status="expired", closed_reason="no answer in time"
                ):
                    continue
                await _release(uow, services, match, None, "expired", None)
                _lot, _order, rep, trader = await _parties(uow, match)
                for person in (rep, trader):
                    with use_locale(person.locale):
                        text = _("Đề xuất #{id} đã hết hạn vì chưa đủ hai bên trả lời.").format(id=match.id)
                    await notify(uow, person, Reply(text), dedupe_key=f"expired:{match.id}:{person.id}")
                expired.append(match)
        for match in expired:
            await _rematch(services, match)()
        total += len(expired)
        if len(due) < EXPIRE_BATCH:
            return total


def rematch_hook(services: Services, match: dto.Match):  # type: ignore[no-untyped-def]
    """After-commit hook that asks the matcher to look at both sides of ``match`` again."""
    return _rematch(services, match)
