"""A test client that talks to the bot the way a person does, through the real pipeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.channels import registry
from bot.clock import FixedClock
from bot.config import Settings
from bot.container import Services
from bot.domain_events import NOTIFY, EventBus, Subscriber
from bot.engine.actions import ActionCodec
from bot.engine.conversation import Conversation
from bot.engine.flood import FloodGuard
from bot.events import Incoming, Kind, Reply
from bot.handlers import build_router
from bot.i18n import use_locale
from bot.inbox import InboxWorker
from bot.matching.service import Matcher
from bot.outbox import record_delivery
from bot.presentation import notifications
from bot.textnorm import fold
from storage import dto, models
from storage.repositories.outbox import BROADCAST
from storage.types import utcnow
from storage.uow import Database

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TEST_SECRET = b"nongsan-test-secret-for-buttons"
# Mid-season in Lạng Sơn: custard apples and persimmons are both being harvested.
DEFAULT_NOW = dt.datetime(2026, 9, 10, 8, 0, tzinfo=TZ)
_UPDATE_IDS = count(1000)


@dataclass
class Person:
    """Someone chatting with the bot on one messenger."""

    bot: BotHarness
    user_id: str
    channel: str = "telegram"
    display_name: str | None = None
    replies: list[Reply] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user_id}"

    async def _send(self, **fields: Any) -> list[Reply]:
        event = Incoming(
            channel=self.channel,
            chat_id=self.user_id,
            user_id=self.user_id,
            update_id=str(next(self.bot.update_ids)),
            display_name=self.display_name,
            **fields,
        )
        self.replies = await self.bot.handle(event)
        return self.replies

    async def says(self, text: str) -> list[Reply]:
        """The person types ``text``."""
        return await self._send(kind=Kind.TEXT, text=text)

    async def presses(self, label: str) -> list[Reply]:
        """The person presses the button whose label contains ``label`` (diacritics ignored) in the last replies."""
        for reply in reversed(self.replies):
            for choice in reply.choices:
                if choice.payload and fold(label) in fold(choice.label):
                    return await self._send(kind=Kind.BUTTON, payload=choice.payload)
        raise AssertionError(f"no button {label!r} in {[c.label for r in self.replies for c in r.choices]}")

    async def presses_in(self, reply: Reply, label: str) -> list[Reply]:
        """The person presses a button of an earlier message (a notification they received)."""
        for choice in reply.choices:
            if choice.payload and fold(label) in fold(choice.label):
                return await self._send(kind=Kind.BUTTON, payload=choice.payload)
        raise AssertionError(f"no button {label!r} in {[c.label for c in reply.choices]}")

    async def sends_payload(self, payload: str) -> list[Reply]:
        return await self._send(kind=Kind.BUTTON, payload=payload)

    async def shares_contact(self, phone: str) -> list[Reply]:
        return await self._send(kind=Kind.CONTACT, phone=phone)

    async def sends_sticker(self) -> list[Reply]:
        return await self._send(kind=Kind.OTHER)

    @property
    def last(self) -> str:
        """All text the bot answered with last time, joined."""
        # Money is formatted with a no-break space before ₫; tests compare with plain spaces.
        return "\n".join(r.text for r in self.replies).replace("\xa0", " ")

    @property
    def plain(self) -> str:
        """:attr:`last` with no-break spaces (Babel puts one before ₫) as plain spaces."""
        return self.last.replace("\xa0", " ").replace("\u202f", " ")

    @property
    def buttons(self) -> list[str]:
        return [c.label for r in self.replies for c in r.choices]


class BotHarness:
    """The real pipeline, router and database, with a clock the test moves."""

    def __init__(
        self,
        db: Database,
        *,
        matcher: bool = False,
        wake_outbox: Callable[[], None] | None = None,
        **settings: Any,
    ) -> None:
        self.db = db
        self.clock = FixedClock(TZ, DEFAULT_NOW)
        self.settings = Settings(database_url=db.url, _env_file=None, **settings)  # type: ignore[call-arg]
        self.services = Services(
            settings=self.settings,
            clock=self.clock,
            db=db,
            router=build_router(),
            codec=ActionCodec(TEST_SECRET),
            messengers=registry.capabilities(),
            wake_outbox=wake_outbox or (lambda: None),
        )
        self.points: dict[str, dto.CollectionPoint] = {}  # added by add_point, by name
        # A test person types far faster than anyone: the fair-share limit is tested on its own.
        self.conversation = Conversation(self.services, flood=FloodGuard(burst=100_000))
        self.inbox = InboxWorker(db, self.conversation.handle, give_up=self.conversation.apologize)
        # The notifications always run; a test of the market also runs the matcher.
        notifications.load_renderers()
        self.bus = EventBus(db)
        self.bus.subscribe([Subscriber(NOTIFY, notifications.on_event)])
        self.matcher: Matcher | None = None
        if matcher:
            self.matcher = Matcher(self.services)
            self.bus.subscribe([self.matcher.subscriber()])
        # Shared by every harness in the run, like a messenger's own update counter.
        self.update_ids = _UPDATE_IDS

    async def handle(self, event: Incoming) -> list[Reply]:
        """Deliver ``event`` the way a channel does (into the inbox), handle it, let what it
        caused settle (events, deliveries), and return the replies it queued ([] for a duplicate)."""
        added = await self.inbox.accept([event])
        await self.inbox.drain()
        await self.settle()
        if not added or event.update_id is None:
            return []
        async with self.db.reader() as uow:
            inbox_id = await uow.inbox.id_of(event.channel, event.update_id)
            items = await uow.outbox.replies_to(inbox_id) if inbox_id is not None else []
        return [Reply.from_json(item.payload) for item in items]

    async def settle(self) -> None:
        """Run the background work to its end: domain events, then the deliveries of answers and
        notifications (a broadcast stays queued: tests drive it on its own)."""
        await self.bus.drain(self.services)
        await self.deliver()

    async def deliver(self) -> None:
        """What the outbox sender would do with every due reply and notification: send it."""
        Outbox = models.OutboxMessage
        async with self.db.uow() as uow:
            rows = list(
                await uow.session.scalars(
                    select(Outbox)
                    .where(
                        Outbox.status == "pending", Outbox.priority < BROADCAST, Outbox.not_before <= utcnow()
                    )
                    .order_by(Outbox.id)
                )
            )
            items = [dto.from_row(dto.OutboxItem, r) for r in rows]
            for item in items:
                await record_delivery(uow, item)
            if items:
                await uow.session.execute(
                    update(Outbox)
                    .where(Outbox.id.in_([i.id for i in items]))
                    .values(status="sent", sent_at=utcnow())
                )

    def person(self, user_id: str, *, channel: str = "telegram", name: str | None = None) -> Person:
        return Person(self, user_id, channel, name)

    async def register(
        self,
        person: Person,
        *,
        role_label: str,
        name: str,
        phone: str,
        province: str = "Lạng Sơn",
        ward: str = "Chi Lăng",
    ) -> None:
        """Walk ``person`` through registration the quick way (used by tests of later features)."""
        with use_locale("vi"):
            await person.says("/start")
            if "Bạn đồng ý" in person.last:
                await person.presses("Tôi đồng ý")
            if "Bạn là ai" in person.last:
                await person.presses(role_label)
            await person.says(name)
            await person.says(phone)
            await person.says(province)
            await person.says(ward)
            if "Ngân hàng nào" in person.last:
                await person.presses("Bỏ qua")
        assert "Đăng ký xong" in person.last, person.last

    async def add_point(
        self,
        name: str,
        *,
        ward_code: int | None = 6463,
        province_code: int = 20,
        status: str = "active",
        address: str | None = None,
    ) -> dto.CollectionPoint:
        """A collection point, as an official would have set it up (Xã Chi Lăng, Lạng Sơn by default)."""
        async with self.db.uow() as uow:
            point = await uow.points.add(
                name=name, province_code=province_code, ward_code=ward_code, address=address, status=status
            )
        self.points[name] = point
        return point

    async def user(self, person: Person) -> dto.User:
        """The stored user row of ``person``."""
        async with self.db.uow() as uow:
            user = await uow.users.by_external(person.channel, person.user_id)
        assert user is not None, person.key
        return user

    async def outbox_texts(self, person: Person) -> list[str]:
        """Texts queued in the outbox for ``person`` (notifications, not direct replies)."""
        return [r.text for r in await self.notifications(person)]

    async def notifications(self, person: Person) -> list[Reply]:
        """Messages queued for ``person`` on the bot's own initiative, oldest first."""
        async with self.db.uow() as uow:
            items = await uow.outbox.for_chat(person.channel, person.user_id)
        return [Reply.from_json(item.payload) for item in items if item.in_reply_to is None]
