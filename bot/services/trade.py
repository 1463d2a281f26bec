"""What harvest lots and purchase orders share: withdrawing one, expiring those past their window,
a person's own open lots or orders a page at a time, and the look-ups the two flows make
(collection points, the reference price).

Each change is recorded in the entity's history in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.services.quantities import RuleError
from storage import dto
from storage.uow import UnitOfWork

Item = dto.Lot | dto.Order


class Trade(Protocol):
    """A lot or an order, as cancelling and expiring see it."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def remaining_kg(self) -> int: ...


class TradeRepository[T: Trade](Protocol):
    """The lot or the order repository, as cancelling and expiring use it."""

    async def get(self, entity_id: int, /) -> T | None: ...
    async def close(self, entity_id: int, status: str, reason: str | None = None, /) -> bool: ...
    async def due_to_expire(self, today: dt.date, limit: int = ..., /) -> list[T]: ...


async def withdraw[T: Trade](
    uow: UnitOfWork, repo: TradeRepository[T], kind: str, item: T, actor: dto.User, reason: str, closed: str
) -> T:
    """Cancel an open lot or order (``kind``), keeping the reason; ``closed`` explains a lost race."""
    reason = reason.strip()[:200]
    if not await repo.close(item.id, "cancelled", reason):
        raise RuleError(closed)
    await uow.events.record(
        kind, item.id, actor.id, "cancel", {"old": item.status, "new": "cancelled", "reason": reason}
    )
    return await repo.get(item.id)  # type: ignore[return-value]


async def expire_past[T: Trade](
    uow: UnitOfWork, repo: TradeRepository[T], kind: str, today: dt.date, window_end: str, limit: int = 500
) -> list[T]:
    """Close up to ``limit`` open lots or orders whose window (ending at attribute ``window_end``) is past."""
    expired = []
    for item in await repo.due_to_expire(today, limit):
        if await repo.close(item.id, "expired"):
            await uow.events.record(
                kind,
                item.id,
                None,
                "expire",
                {
                    "old": item.status,
                    "new": "expired",
                    "remaining_kg": item.remaining_kg,
                    window_end: getattr(item, window_end).isoformat(),
                },
            )
            expired.append(item)
    return expired


def window_of(item: Item) -> tuple[dt.date, dt.date]:
    """A lot's ready window or an order's pickup window."""
    if isinstance(item, dto.Lot):
        return item.ready_from, item.ready_to
    return item.pickup_from, item.pickup_to


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a person's open lots or orders, newest first."""

    items: tuple[Item, ...]
    total: int
    page: int  # the page actually shown (0-based)
    pages: int


async def my_open_items(
    uow: UnitOfWork, user: dto.User, *, orders: bool, page: int, size: int, today: dt.date | None = None
) -> Page:
    """The person's open orders (``orders``) or lots, page ``page`` (clamped); with ``today``, also
    the fully matched ones whose window has not passed (their deals may still be changed)."""
    total = (
        await uow.orders.count_of_trader(user.id, matched_until=today)
        if orders
        else await uow.lots.count_of_owner(user.id, matched_until=today)
    )
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    offset = page * size
    items: Sequence[Item] = (
        await uow.orders.of_trader(user.id, limit=size, offset=offset, matched_until=today)
        if orders
        else await uow.lots.of_owner(user.id, limit=size, offset=offset, matched_until=today)
    )
    return Page(tuple(items), total, page, pages)


async def point(uow: UnitOfWork, point_id: int) -> dto.CollectionPoint | None:
    """A collection point by id."""
    return await uow.points.get(point_id)


async def points_by_ids(uow: UnitOfWork, ids: Sequence[int]) -> list[dto.CollectionPoint]:
    """The collection points with these ids that exist, in the order given."""
    found = await uow.points.by_ids(list(ids))
    return [found[i] for i in ids if i in found]


async def reference_price(
    uow: UnitOfWork, product_code: str, province_code: int, today: dt.date
) -> int | None:
    """The reference price (VND/kg) an official set for the product in the province, in force today."""
    ref = await uow.prices.current(product_code, province_code, today)
    return ref.price if ref else None


async def lot(uow: UnitOfWork, lot_id: int) -> dto.Lot | None:
    """A lot by id, whoever owns it (for messages about it)."""
    return await uow.lots.get(lot_id)


async def order(uow: UnitOfWork, order_id: int) -> dto.Order | None:
    """An order by id, whoever posted it (for messages about it)."""
    return await uow.orders.get(order_id)


async def owner(uow: UnitOfWork, item: Item) -> dto.User | None:
    """The person who reported the lot or posted the order."""
    return await uow.users.get(item.owner_id if isinstance(item, dto.Lot) else item.trader_id)
