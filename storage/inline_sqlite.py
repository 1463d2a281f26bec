"""SQLite for the writing engine, run on the event loop itself instead of aiosqlite's thread.

Why not aiosqlite here: it runs each connection in a thread and every call (cursor, execute,
fetch, close, commit) is a round trip to it — four per statement. Measured with
``scripts/bench_e2e.py``, those round trips (queue, thread wake-up, GIL hand-over, the loop's
self-pipe) cost more CPU than the statements themselves: our writes are small and indexed (a
few hundred microseconds; long jobs write in batches of ~50 ms, see DESIGN.md), so running them
in place is cheaper than handing them over. Long reads (reports, exports, the matcher's
start-up) keep aiosqlite through :meth:`storage.uow.Database.reader`, off the loop.

The one wait that could be long is another process's write lock (a CLI command while the bot
runs). The connection's busy timeout is 0, so SQLite answers "locked" at once, and the
statement is tried again after an asynchronous sleep until ``busy_timeout`` has passed:
the loop keeps serving while it waits. A statement refused with SQLITE_BUSY did nothing, so
trying it again is safe.

SQLAlchemy's aiosqlite dialect drives this object through ``async_creator``: it implements
the part of aiosqlite's ``Connection`` and ``Cursor`` that the dialect uses.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

_BUSY = ("database is locked", "database is busy")


async def _patiently[T](call: Callable[[], T], busy_timeout: float) -> T:
    """``call()``, tried again while another connection holds the lock, up to ``busy_timeout``."""
    deadline: float | None = None
    delay = 0.001
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not str(exc).startswith(_BUSY):
                raise
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + busy_timeout
            if now >= deadline:
                raise
            await asyncio.sleep(min(delay, deadline - now))
            delay = min(delay * 2, 0.05)


class InlineCursor:
    """An aiosqlite-like cursor whose calls complete in place."""

    def __init__(self, cursor: sqlite3.Cursor, busy_timeout: float) -> None:
        self._cursor = cursor
        self._busy_timeout = busy_timeout

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await _patiently(lambda: self._cursor.execute(sql, parameters), self._busy_timeout)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)
        await _patiently(lambda: self._cursor.executemany(sql, rows), self._busy_timeout)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _InPlace:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set the isolation level."""

    @staticmethod
    def put_nowait(request: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = request
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """An aiosqlite-like connection over a plain ``sqlite3`` connection, used on the event loop."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout: float) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn  # aiosqlite's name; None once closed
        self._tx = _InPlace()
        self._busy_timeout = busy_timeout

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        """A new cursor (the dialect enters it with ``async with``)."""
        return InlineCursor(self._conn.cursor(), self._busy_timeout)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await _patiently(self._conn.commit, self._busy_timeout)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def creator(database: str, busy_timeout: float) -> Callable[[], Any]:
    """The ``async_creator`` of an engine whose connections run in place."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(database, timeout=0, check_same_thread=False, isolation_level=None)
        return InlineConnection(conn, busy_timeout)

    return connect
