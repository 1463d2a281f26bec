"""Personal data as the law asks (Law 91/2025/QH15, Decree 356/2025/ND-CP): consent recorded,
everything held about a person shown on request, and erasure that keeps the trade records
consistent for the counterparts and the officials' totals."""

from __future__ import annotations

import datetime as dt

from storage import dto
from storage.uow import UnitOfWork


async def record_consent(uow: UnitOfWork, user: dto.User, now: dt.datetime) -> None:
    """The person agreed to the processing described to them (kept with the time)."""
    await uow.users.update(user.id, consent_at=now)
    await uow.events.record("user", user.id, user.id, "consent", {})
