"""The database handle and the unit of work: one transaction per incoming update."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import is_sqlite, make_engine, make_sessionmaker
from storage.repositories.accounts import AccountRepository
from storage.repositories.amendments import AmendmentRepository
from storage.repositories.announcements import AnnouncementRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.conversations import ConversationRepository
from storage.repositories.deals import DealRepository
from storage.repositories.domain_events import DomainEventRepository
from storage.repositories.events import EventRepository
from storage.repositories.files import FileRepository
from storage.repositories.grants import GrantRepository
from storage.repositories.groups import GroupRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.leases import JobRunRepository, LeaseRepository
from storage.repositories.lots import LotRepository
from storage.repositories.matches import MatchRepository
from storage.repositories.menus import MenuRepository
from storage.repositories.notices import NoticeRepository
from storage.repositories.orders import OrderRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.personal import PersonalDataRepository
from storage.repositories.points import PointRepository
from storage.repositories.prices import PriceRepository
from storage.repositories.reference import ReferenceRepository
from storage.repositories.reports import ReportRepository
from storage.repositories.secrets import SecretRepository
from storage.repositories.slots import SlotRepository
from storage.repositories.users import UserRepository

# Set while a task holds a writing unit of work on SQLite: a second one in the same task would
# wait forever for the lock the first holds.
_WRITING: contextvars.ContextVar[bool] = contextvars.ContextVar("writing_uow", default=False)


class NestedUnitOfWork(RuntimeError):
    """A unit of work was opened inside another one on SQLite (it would deadlock)."""


class UnitOfWork:
    """Opens a session and a transaction; commits on a clean exit, rolls back on an exception.

    Repositories hang off it as attributes; nothing else in the code base commits. On SQLite
    the process's writers queue on one lock (first come, first served) instead of polling the
    database's busy timeout, so a burst never ends in "database is locked".
    """

    session: AsyncSession

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        write_lock: asyncio.Lock | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._lock = write_lock
        self._read_only = read_only
        self._token: contextvars.Token[bool] | None = None
        self._held = False

    async def __aenter__(self) -> Self:
        if self._lock is not None:
            if _WRITING.get():
                raise NestedUnitOfWork("a unit of work is already open in this task")
            await self._lock.acquire()
            self._held = True
            self._token = _WRITING.set(True)
        try:
            self.session = self._sessionmaker()
            await self.session.begin()
            if self._read_only and self.session.get_bind().dialect.name == "postgresql":
                await self.session.execute(text("SET TRANSACTION READ ONLY"))
        except BaseException:
            self._release()
            raise
        return self

    # Repositories are made when first used: most units of work touch three or four of them.
    @functools.cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.session)

    @functools.cached_property
    def accounts(self) -> AccountRepository:
        return AccountRepository(self.session)

    @functools.cached_property
    def conversations(self) -> ConversationRepository:
        return ConversationRepository(self.session)

    @functools.cached_property
    def inbox(self) -> InboxRepository:
        return InboxRepository(self.session)

    @functools.cached_property
    def domain_events(self) -> DomainEventRepository:
        return DomainEventRepository(self.session)

    @functools.cached_property
    def menus(self) -> MenuRepository:
        return MenuRepository(self.session)

    @functools.cached_property
    def secrets(self) -> SecretRepository:
        return SecretRepository(self.session)

    @functools.cached_property
    def files(self) -> FileRepository:
        return FileRepository(self.session)

    @functools.cached_property
    def grants(self) -> GrantRepository:
        return GrantRepository(self.session)

    @functools.cached_property
    def deals(self) -> DealRepository:
        return DealRepository(self.session)

    @functools.cached_property
    def personal(self) -> PersonalDataRepository:
        return PersonalDataRepository(self.session)

    @functools.cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.session)

    @functools.cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.session)

    @functools.cached_property
    def reference(self) -> ReferenceRepository:
        return ReferenceRepository(self.session)

    @functools.cached_property
    def lots(self) -> LotRepository:
        return LotRepository(self.session)

    @functools.cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self.session)

    @functools.cached_property
    def matches(self) -> MatchRepository:
        return MatchRepository(self.session)

    @functools.cached_property
    def amendments(self) -> AmendmentRepository:
        return AmendmentRepository(self.session)

    @functools.cached_property
    def groups(self) -> GroupRepository:
        return GroupRepository(self.session)

    @functools.cached_property
    def points(self) -> PointRepository:
        return PointRepository(self.session)

    @functools.cached_property
    def prices(self) -> PriceRepository:
        return PriceRepository(self.session)

    @functools.cached_property
    def events(self) -> EventRepository:
        return EventRepository(self.session)

    @functools.cached_property
    def announcements(self) -> AnnouncementRepository:
        return AnnouncementRepository(self.session)

    @functools.cached_property
    def reports(self) -> ReportRepository:
        return ReportRepository(self.session)

    @functools.cached_property
    def slots(self) -> SlotRepository:
        return SlotRepository(self.session)

    @functools.cached_property
    def leases(self) -> LeaseRepository:
        return LeaseRepository(self.session)

    @functools.cached_property
    def job_runs(self) -> JobRunRepository:
        return JobRunRepository(self.session)

    @functools.cached_property
    def notices(self) -> NoticeRepository:
        return NoticeRepository(self.session)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            try:
                await self.session.close()
            finally:
                self._release()

    def _release(self) -> None:
        if self._token is not None:
            _WRITING.reset(self._token)
            self._token = None
        if self._held and self._lock is not None:
            self._held = False
            self._lock.release()


class Database:
    """The engine and session factory for one database URL."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self._engine_kwargs = engine_kwargs
        self.engine: AsyncEngine = make_engine(url, **engine_kwargs)
        self.sessionmaker = make_sessionmaker(self.engine)
        self._write_lock = asyncio.Lock() if is_sqlite(url) else None
        self._read_engine: AsyncEngine | None = None
        self._read_sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._glance_engine: AsyncEngine | None = None
        self._glance_sessionmaker: async_sessionmaker[AsyncSession] | None = None

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        """A new unit of work (use as ``async with db.uow() as uow:``)."""
        return UnitOfWork(self.sessionmaker, self._write_lock)

    def reader(self) -> UnitOfWork:
        """A read-only unit of work for long reads; on SQLite it never waits for (or blocks) writers."""
        if self._write_lock is None:
            return UnitOfWork(self.sessionmaker, read_only=True)
        if self._read_sessionmaker is None:
            self._read_engine = make_engine(self.url, read_only=True, **self._engine_kwargs)
            self._read_sessionmaker = make_sessionmaker(self._read_engine)
        return UnitOfWork(self._read_sessionmaker, read_only=True)

    def glance(self) -> UnitOfWork:
        """A read-only unit of work for a short indexed read done very often (the inbox's heads):
        on SQLite it neither waits for the writer nor leaves the event loop."""
        if self._write_lock is None:
            return UnitOfWork(self.sessionmaker, read_only=True)
        if self._glance_sessionmaker is None:
            self._glance_engine = make_engine(self.url, read_only=True, in_place=True, **self._engine_kwargs)
            self._glance_sessionmaker = make_sessionmaker(self._glance_engine)
        return UnitOfWork(self._glance_sessionmaker, read_only=True)

    async def dispose(self) -> None:
        await self.engine.dispose()
        for engine in (self._read_engine, self._glance_engine):
            if engine is not None:
                await engine.dispose()
