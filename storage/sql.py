"""Dialect-aware statements the two backends spell differently."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql": the backend this session talks to."""
    return session.get_bind().dialect.name


def _insert(dialect: str, table: Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@functools.lru_cache(maxsize=256)
def _insert_ignore(dialect: str, table: Table) -> Any:
    return _insert(dialect, table).on_conflict_do_nothing()


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless it clashes with a unique key; True when it was inserted.

    Unlike catching IntegrityError this never aborts the surrounding PostgreSQL transaction.
    The statement is built once per table; the row goes as its parameters.
    """
    result = await session.execute(_insert_ignore(dialect_name(session), table), values)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def insert_ignore_many(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Bulk :func:`insert_ignore`; returns how many rows were new."""
    if not rows:
        return 0
    result = await session.execute(
        _insert(dialect_name(session), table).values(list(rows)).on_conflict_do_nothing()
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=256)
def _upsert(dialect: str, table: Table, columns: tuple[str, ...], keys: tuple[str, ...]) -> Any:
    stmt = _insert(dialect, table)
    updates = {c: stmt.excluded[c] for c in columns if c not in keys}
    if not updates:
        return stmt.on_conflict_do_nothing()
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)


async def upsert(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert rows, or update every non-key column of the existing row with the same keys.

    Every row names the same columns. The statement is built once per table and columns.
    """
    if not rows:
        return
    stmt = _upsert(dialect_name(session), table, tuple(rows[0]), tuple(keys))
    await session.execute(stmt, list(rows) if len(rows) > 1 else rows[0])
