"""A named lease in the database, held by one process at a time (a sender, a poller, the scheduler)."""

from __future__ import annotations

import datetime as dt
import logging
import time

from storage.types import utcnow
from storage.uow import Database

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Takes and renews the lease ``name`` for ``holder``; :meth:`check` is cheap between renewals."""

    def __init__(self, db: Database, name: str, holder: str, ttl: float = 15.0) -> None:
        self.db, self.name, self.holder, self.ttl = db, name, holder, ttl
        self._until = 0.0  # monotonic time our hold certainly lasts
        self._next_renewal = 0.0
        self.held = False

    @property
    def valid(self) -> bool:
        """True while the lease is certainly ours (stop acting the moment it may not be)."""
        return self.held and time.monotonic() < self._until

    async def check(self) -> bool:
        """Renew the lease when a third of it has passed (or take it when free); True while held."""
        now = time.monotonic()
        if now < self._next_renewal:
            return self.valid
        self._next_renewal = now + self.ttl / 3
        try:
            async with self.db.uow() as uow:
                held = await uow.leases.acquire_or_renew(
                    self.name, self.holder, utcnow(), dt.timedelta(seconds=self.ttl)
                )
        except Exception:
            log.exception("lease %s: check failed", self.name)
            held = False
        if held and not self.held:
            log.info("lease %s: taken by this process", self.name)
        elif self.held and not held:
            log.warning("lease %s: lost", self.name)
        self.held = held
        if held:
            self._until = now + self.ttl
        return self.valid

    def seconds_to_next_check(self) -> float:
        return max(0.0, self._next_renewal - time.monotonic())

    async def release(self) -> None:
        """Give the lease up so a standby need not wait for it to expire."""
        if not self.held:
            return
        self.held = False
        try:
            async with self.db.uow() as uow:
                await uow.leases.release(self.name, self.holder)
        except Exception:
            log.exception("lease %s: release failed", self.name)
