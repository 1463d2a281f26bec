"""Shared fixtures: a real database per test (SQLite always, PostgreSQL when TEST_DATABASE_URL is set),
migrated by the real migrations and seeded with the real reference data."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.catalog import CATALOG
from bot.places import gazetteer
from bot.services.reference import sync_reference
from storage import migrate
from storage.models import Base
from storage.uow import Database

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REFERENCE_TABLES = {"products", "provinces", "wards", "alembic_version"}
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def prepare_database(db: Database) -> None:
    await migrate.upgrade(db.engine)
    async with db.uow() as uow:
        await sync_reference(uow, CATALOG, gazetteer())


def _pg_url_with_schema(schema: str) -> tuple[str, dict[str, object]]:
    url = (
        PG_URL.replace("postgresql://", "postgresql+asyncpg://", 1)
        if PG_URL.startswith("postgresql://")
        else PG_URL
    )
    return url, {"connect_args": {"server_settings": {"search_path": schema}}}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await prepare_database(db)
        await db.dispose()

    asyncio.run(build())
    return path


def _pg_reachable(url: str) -> str | None:
    """None when the server answers, else why not."""

    async def probe() -> None:
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        finally:
            await db.dispose()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    problem = _pg_reachable(_pg_url_with_schema("public")[0])
    if problem:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is required but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url, kwargs = _pg_url_with_schema(schema)

    async def build() -> None:
        admin = Database(url)
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await admin.dispose()
        db = Database(url, **kwargs)
        await prepare_database(db)
        await db.dispose()

    async def drop() -> None:
        admin = Database(url)
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()

    asyncio.run(build())
    yield schema
    asyncio.run(drop())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, object]]:
    """URL and engine options of a fresh, migrated, seeded database for this test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "bot.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}", {}
    schema: str = request.getfixturevalue("pg_schema")
    return _pg_url_with_schema(schema)


@pytest.fixture
async def database(db_url: tuple[str, dict[str, object]], backend: str) -> AsyncIterator[Database]:
    url, kwargs = db_url
    db = Database(url, **kwargs)
    if backend == "postgres":
        tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    yield db
    await db.dispose()
