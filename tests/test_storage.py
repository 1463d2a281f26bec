"""The schema: migrations walk up and down cleanly and match the models; the unit of work is all-or-nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from storage import migrate
from storage.models import Base
from storage.uow import Database
from tests.conftest import prepare_database


@pytest.fixture
async def empty_db(backend: str, db_url: tuple[str, dict[str, object]], tmp_path) -> Database:  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    else:
        url, kwargs = db_url
        db = Database(url, **kwargs)
        await migrate.downgrade(db.engine, "base")
    yield db
    if backend == "postgres":
        await prepare_database(db)  # leave the shared schema as the other tests expect it
    await db.dispose()


async def table_names(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_stairway_every_revision_upgrades_downgrades_and_upgrades_again(empty_db: Database) -> None:
    revisions = migrate.revisions()
    assert revisions, "no migrations found"
    previous = "base"
    for revision in revisions:
        await migrate.upgrade(empty_db.engine, revision)
        await migrate.downgrade(empty_db.engine, previous)
        await migrate.upgrade(empty_db.engine, revision)
        previous = revision
    assert {t.name for t in Base.metadata.sorted_tables} <= await table_names(empty_db)
    await migrate.downgrade(empty_db.engine, "base")
    assert await table_names(empty_db) <= {"alembic_version"}


async def test_migrations_produce_exactly_the_models(empty_db: Database) -> None:
    await migrate.upgrade(empty_db.engine)

    def diff(conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        return compare_metadata(ctx, Base.metadata)

    async with empty_db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_unit_of_work_rolls_back_everything_on_error(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.uow() as uow:
            user = await uow.users.ensure("telegram", "42", "42", "vi")
            await uow.audit.add(user.id, "test")
            raise RuntimeError("crash mid-update")
    async with database.uow() as uow:
        assert await uow.users.by_external("telegram", "42") is None
        assert await uow.audit.recent() == []


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    async with db.engine.connect() as conn:
        mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
        in_place = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
        fks = (await conn.execute(text("PRAGMA foreign_keys"))).scalar()
    async with db.reader() as uow:
        reader = (await uow.session.execute(text("PRAGMA busy_timeout"))).scalar()
    await db.dispose()
    # The writer runs on the event loop, so SQLite itself must never wait there: the adapter
    # waits (asynchronously) instead. The reader, in aiosqlite's thread, lets SQLite wait.
    assert (mode, in_place, reader, fks) == ("wal", 0, 10_000, 1)


async def test_a_writer_waiting_for_another_process_lock_keeps_the_event_loop_free(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A CLI command holding the write lock for a while: the bot's unit of work waits for it
    without blocking the loop, then goes on; nothing is lost."""
    import asyncio
    import sqlite3

    path = tmp_path / "locked.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with db.uow() as uow:
            await uow.session.execute(text("INSERT INTO t VALUES (2)"))

    ticking = asyncio.create_task(ticker())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.5)
    assert not writing.done()  # still waiting for the lock ...
    assert ticks >= 20  # ... while the loop kept running
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writing, 5)
    ticking.cancel()
    async with db.reader() as uow:
        rows = (await uow.session.execute(text("SELECT x FROM t ORDER BY x"))).scalars().all()
    await db.dispose()
    assert rows == [1, 2]


async def test_reference_data_is_loaded_from_the_catalog_and_the_provinces_package(
    database: Database,
) -> None:
    async with database.uow() as uow:
        products, provinces, wards = await uow.reference.counts()
    assert products >= 30
    assert provinces == 34
    assert wards > 3000


async def test_handled_updates_are_pruned_after_two_days_pending_ones_never(database: Database) -> None:
    import datetime as dt

    from sqlalchemy import update

    from bot.services.housekeeping import prune_inbox
    from storage.dto import NewUpdate
    from storage.models import InboxUpdate
    from tests.harness import BotHarness

    bot = BotHarness(database)
    rows = [NewUpdate("telegram", str(n), "7", {"kind": "text"}) for n in (1, 2, 3)]
    async with database.uow() as uow:
        assert await uow.inbox.add_many(rows) == 3
        assert await uow.inbox.add_many(rows[:1]) == 0  # redelivered: a duplicate
        three_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        await uow.session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(["1", "3"]))
            .values(received_at=three_days_ago)
        )
        await uow.session.execute(
            update(InboxUpdate).where(InboxUpdate.update_id.in_(["1", "2"])).values(status="done")
        )
    assert await prune_inbox(bot.services) == 1  # "3" is old but not handled yet: kept
    async with database.uow() as uow:
        assert await uow.inbox.add_many(rows[1:2]) == 0  # still remembered: a duplicate
        assert await uow.inbox.add_many(rows[:1]) == 1  # forgotten, as Telegram no longer redelivers it


async def test_the_audit_chain_migration_chains_existing_entries_and_goes_back(empty_db: Database) -> None:
    """Entries written before revision 0005 get seq, prev_hash and hash; the chain verifies and grows."""
    await migrate.upgrade(empty_db.engine, "0003")
    old_log = sa.table(  # the table as revision 0003 left it
        "audit_log",
        sa.column("action", sa.String()),
        sa.column("target", sa.String()),
        sa.column("allowed", sa.Boolean()),
        sa.column("details", sa.JSON()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    async with empty_db.engine.begin() as conn:
        for i, (action, details) in enumerate(
            (
                ("bootstrap_admin", {}),
                ("grant_role", {"to": "official", "from": None}),
                ("export_data", {"tables": {"lots": 3}, "with_phones": False}),
            )
        ):
            moment = dt.datetime(2026, 9, 1, 8, i, 30, 123456, tzinfo=dt.UTC)
            await conn.execute(
                old_log.insert().values(
                    action=action,
                    target=f"telegram:{i}",
                    allowed=i != 1,
                    details=details,
                    created_at=moment
                    if empty_db.url.startswith("postgresql")
                    else moment.replace(tzinfo=None),
                )
            )
    await migrate.upgrade(empty_db.engine)
    async with empty_db.uow() as uow:
        check = await uow.audit.verify()
        assert check.intact and check.checked == 3
        added = await uow.audit.add(None, "grant_role", "telegram:9")
        assert added.seq == 4 and added.prev_hash == check.head_hash
    async with empty_db.uow() as uow:
        assert (await uow.audit.verify()).checked == 4

    await migrate.downgrade(empty_db.engine, "0003")
    async with empty_db.engine.connect() as conn:
        columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("audit_log")})
        count = (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar()
    assert not {"seq", "prev_hash", "hash"} & columns and count == 4
    await migrate.upgrade(empty_db.engine)
    async with empty_db.uow() as uow:
        assert (await uow.audit.verify()).checked == 4
