"""The audit log of privileged actions, allowed or refused: append-only and hash-chained.

Each entry stores ``prev_hash`` (the hash of the entry before it, :data:`GENESIS` for the first)
and ``hash``, the SHA-256 of a canonical JSON of (prev_hash, seq, actor, action, target,
allowed, details, created_at). Changing, removing or reordering entries breaks the chain at the
first entry touched; :meth:`AuditRepository.verify` finds it. There is deliberately no method
to change or delete an entry.

Appending reads the chain's head and writes after it, so writers must take turns: SQLite
already admits one writer at a time (BEGIN IMMEDIATE); on PostgreSQL a transaction-scoped
advisory lock is taken first, held until the surrounding unit of work commits or rolls back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.sql import dialect_name
from storage.types import utcnow

Entry = models.AuditEntry
GENESIS = "0" * 64
# Any fixed number, different from the migration lock's: serialises appends to the chain.
_CHAIN_LOCK_KEY = 0x61756474
BATCH = 1000


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    actor_id: int | None,
    action: str,
    target: str | None,
    allowed: bool,
    details: dict[str, Any],
    created_at: dt.datetime,
) -> str:
    """The SHA-256 (hex) that seals one entry and, through ``prev_hash``, every entry before it."""
    moment = created_at.replace(tzinfo=dt.UTC) if created_at.tzinfo is None else created_at.astimezone(dt.UTC)
    canonical = _json(
        {
            "prev_hash": prev_hash,
            "seq": seq,
            "actor_id": actor_id,
            "action": action,
            "target": target,
            "allowed": bool(allowed),
            "details": details,
            "created_at": moment.isoformat(timespec="microseconds"),
        }
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_entries(
    entries: list[dto.AuditEntry], after: dto.AuditEntry | None
) -> tuple[dto.AuditEntry, str] | None:
    """The first entry of ``entries`` (in chain order, following ``after``) that breaks the chain, and how."""
    prev_seq, prev_hash = (after.seq, after.hash) if after else (0, GENESIS)
    for e in entries:
        if e.seq != prev_seq + 1:
            return e, "sequence"
        if e.prev_hash != prev_hash:
            return e, "link"
        expected = entry_hash(
            prev_hash=e.prev_hash,
            seq=e.seq,
            actor_id=e.actor_id,
            action=e.action,
            target=e.target,
            allowed=e.allowed,
            details=e.details,
            created_at=e.created_at,
        )
        if e.hash != expected:
            return e, "hash"
        prev_seq, prev_hash = e.seq, e.hash
    return None


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        actor_id: int | None,
        action: str,
        target: str | None = None,
        *,
        allowed: bool = True,
        details: dict[str, Any] | None = None,
    ) -> dto.AuditEntry:
        """Append an entry to the chain (inside the caller's transaction)."""
        if dialect_name(self.session) == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
        head = (
            await self.session.execute(select(Entry.seq, Entry.hash).order_by(Entry.seq.desc()).limit(1))
        ).first()
        seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS)
        # Stored exactly as hashed: what JSON would make of tuples, dates and the like.
        clean: dict[str, Any] = json.loads(_json(details or {}))
        target = target[:120] if target is not None else None
        created_at = utcnow()
        row = Entry(
            seq=seq,
            actor_id=actor_id,
            action=action[:40],
            target=target,
            allowed=allowed,
            details=clean,
            created_at=created_at,
            prev_hash=prev_hash,
            hash=entry_hash(
                prev_hash=prev_hash,
                seq=seq,
                actor_id=actor_id,
                action=action[:40],
                target=target,
                allowed=allowed,
                details=clean,
                created_at=created_at,
            ),
        )
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(dto.AuditEntry, row)

    async def recent(self, limit: int = 20, offset: int = 0) -> list[dto.AuditEntry]:
        """Newest first."""
        rows = await self.session.scalars(
            select(Entry).order_by(Entry.seq.desc()).limit(limit).offset(offset)
        )
        return [dto.from_row(dto.AuditEntry, r) for r in rows]

    async def chain(self, batch: int = BATCH) -> AsyncIterator[list[dto.AuditEntry]]:
        """Every entry in chain order, ``batch`` at a time."""
        after = 0
        while True:
            rows = await self.session.scalars(
                select(Entry).where(Entry.seq > after).order_by(Entry.seq).limit(batch)
            )
            entries = [dto.from_row(dto.AuditEntry, r) for r in rows]
            if not entries:
                return
            yield entries
            after = entries[-1].seq

    async def verify(self, batch: int = BATCH) -> dto.AuditCheck:
        """Walk the whole chain; the first broken entry, if any."""
        last: dto.AuditEntry | None = None
        checked = 0
        async for entries in self.chain(batch):
            broken = check_entries(entries, last)
            if broken is not None:
                entry, problem = broken
                return dto.AuditCheck(
                    checked + entries.index(entry), last.hash if last else None, entry, problem
                )
            checked += len(entries)
            last = entries[-1]
        return dto.AuditCheck(checked, last.hash if last else None)
