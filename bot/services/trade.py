"""What harvest lots and purchase orders share: withdrawing one, and expiring those past their window.

Each change is recorded in the entity's history in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from bot.services.quantities import RuleError
from storage import dto
from storage.uow import UnitOfWork


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
