"""The database handle and the unit of work: one transaction per incoming update."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import is_sqlite, make_engine, make_sessionmaker
from storage.repositories.announcements import AnnouncementRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.conversations import ConversationRepository
from storage.repositories.events import EventRepository
from storage.repositories.leases import JobRunRepository, LeaseRepository
from storage.repositories.lots import LotRepository
from storage.repositories.matches import MatchRepository
from storage.repositories.notices import NoticeRepository
from storage.repositories.orders import OrderRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.points import PointRepository
from storage.repositories.prices import PriceRepository
from storage.repositories.reference import ReferenceRepository
from storage.repositories.reports import ReportRepository
from storage.repositories.slots import SlotRepository
from storage.repositories.updates import UpdateRepository
from storage.repositories.users import UserRepository


class UnitOfWork:
    """Opens a session and a transaction; commits on a clean exit, rolls back on an exception.

    Repositories hang off it as attributes; nothing else in the code base commits.
    """

    session: AsyncSession

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def __aenter__(self) -> Self:
        self.session = self._sessionmaker()
        await self.session.begin()
        s = self.session
        self.users = UserRepository(s)
        self.conversations = ConversationRepository(s)
        self.updates = UpdateRepository(s)
        self.outbox = OutboxRepository(s)
        self.audit = AuditRepository(s)
        self.reference = ReferenceRepository(s)
        self.lots = LotRepository(s)
        self.orders = OrderRepository(s)
        self.matches = MatchRepository(s)
        self.points = PointRepository(s)
        self.prices = PriceRepository(s)
        self.events = EventRepository(s)
        self.announcements = AnnouncementRepository(s)
        self.reports = ReportRepository(s)
        self.slots = SlotRepository(s)
        self.leases = LeaseRepository(s)
        self.job_runs = JobRunRepository(s)
        self.notices = NoticeRepository(s)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()


class Database:
    """The engine and session factory for one database URL."""

    def __init__(self, url: str, **engine_kwargs: object) -> None:
        self.url = url
        self.engine: AsyncEngine = make_engine(url, **engine_kwargs)
        self.sessionmaker = make_sessionmaker(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    def uow(self) -> UnitOfWork:
        """A new unit of work (use as ``async with db.uow() as uow:``)."""
        return UnitOfWork(self.sessionmaker)

    async def dispose(self) -> None:
        await self.engine.dispose()
