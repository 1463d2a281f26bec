"""Dialect-aware statements the two backends spell differently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql": the backend this session talks to."""
    return session.get_bind().dialect.name


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = dialect_name(session)
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless it clashes with a unique key; True when it was inserted.

    Unlike catching IntegrityError this never aborts the surrounding PostgreSQL transaction.
    """
    stmt = _insert(session, table).values(**values).on_conflict_do_nothing()
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def insert_ignore_many(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Bulk :func:`insert_ignore`; returns how many rows were new."""
    if not rows:
        return 0
    result = await session.execute(_insert(session, table).values(list(rows)).on_conflict_do_nothing())
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def upsert(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert rows, or update every non-key column of the existing row with the same keys."""
    if not rows:
        return
    stmt = _insert(session, table).values(list(rows))
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    stmt = (
        stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)
        if updates
        else stmt.on_conflict_do_nothing()
    )
    await session.execute(stmt)
