"""Engine creation: SQLite (WAL, busy timeout, serialised writers) or PostgreSQL via asyncpg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from storage import inline_sqlite

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    """True for an SQLite URL."""
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(
    url: str, *, read_only: bool = False, in_place: bool | None = None, **kwargs: Any
) -> AsyncEngine:
    """An async engine configured for this project's needs on either backend.

    ``read_only`` on SQLite: transactions start deferred and cannot write, so long reads
    (reports, the matcher's start-up) never hold the single writer's lock.
    ``in_place`` on SQLite: statements run on the event loop (see :mod:`storage.inline_sqlite`);
    by default the writing engine does, a read-only one uses aiosqlite's thread.
    """
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True, **kwargs)

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    in_place = (not read_only if in_place is None else in_place) and bool(database) and database != ":memory:"
    if in_place:
        kwargs.setdefault(
            "async_creator", inline_sqlite.creator(str(database), SQLITE_BUSY_TIMEOUT_MS / 1000)
        )
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is what runs.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In place, SQLite must not wait for a lock on the event loop: the adapter waits instead.
        cursor.execute(f"PRAGMA busy_timeout={0 if in_place else SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # One writer at a time, decided at BEGIN: a deferred transaction that later
        # upgrades to a write lock could fail with "database is locked" mid-update.
        # WAL readers never block the writer, so read-only transactions stay deferred.
        # Straight to the driver: this runs for every transaction.
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")
        finally:
            cursor.close()

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (repositories copy them into dataclasses)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
