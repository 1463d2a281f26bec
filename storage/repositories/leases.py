"""Leases held by one process at a time (the scheduler leader), and the scheduler's job runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.sql import dialect_name

Lease = models.SchedulerLease
JobRun = models.JobRun


def _insert(session: AsyncSession, table: Any) -> Any:
    """INSERT with the dialect's ON CONFLICT support."""
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    return dialect.insert(table if isinstance(table, Table) else table.__table__)


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    name: str
    holder: str
    expires_at: dt.datetime


class LeaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def acquire_or_renew(self, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        """Take the lease if it is free, expired or already ours, until ``now + ttl``; True if we hold it.

        One conditional upsert: concurrent contenders are serialised by the row's unique key,
        and only one of them finds the condition true.
        """
        stmt = _insert(self.session, Lease).values(name=name, holder=holder, expires_at=now + ttl)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=or_(Lease.holder == holder, Lease.expires_at < now),
        )
        await self.session.execute(stmt)
        current = await self.session.scalar(select(Lease.holder).where(Lease.name == name))
        return current == holder

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up (a clean shutdown), so a standby need not wait for it to expire."""
        await self.session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))

    async def get(self, name: str) -> LeaseInfo | None:
        row = await self.session.get(Lease, name, populate_existing=True)
        return dto.from_row(LeaseInfo, row) if row else None


class JobRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def last(self, name: str) -> dt.datetime | None:
        """When the job last finished a run, or None if it never did."""
        return await self.session.scalar(select(JobRun.last_run_at).where(JobRun.name == name))

    async def record(self, name: str, at: dt.datetime) -> None:
        """Remember a finished run; the time only moves forward (a late catch-up never rewinds it)."""
        stmt = _insert(self.session, JobRun).values(name=name, last_run_at=at)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"last_run_at": stmt.excluded.last_run_at},
            where=JobRun.last_run_at < stmt.excluded.last_run_at,
        )
        await self.session.execute(stmt)
