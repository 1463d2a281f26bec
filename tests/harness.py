"""A test client that talks to the bot the way a person does, through the real pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import FixedClock
from bot.config import Settings
from bot.events import Incoming, Kind, Reply
from bot.handlers import build_router
from bot.i18n import use_locale
from bot.pipeline import Pipeline
from bot.services.container import Services
from bot.textnorm import fold
from storage.uow import Database

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
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
        self.replies = await self.bot.pipeline(event)
        return self.replies

    async def says(self, text: str) -> list[Reply]:
        """The person types ``text``."""
        return await self._send(kind=Kind.TEXT, text=text)

    async def presses(self, label: str) -> list[Reply]:
        """The person presses the button whose label contains ``label`` (diacritics ignored) in the last replies."""
        for reply in reversed(self.replies):
            for choice in reply.choices:
                if fold(label) in fold(choice.label):
                    return await self._send(kind=Kind.BUTTON, payload=choice.payload)
        raise AssertionError(f"no button {label!r} in {[c.label for r in self.replies for c in r.choices]}")

    async def sends_payload(self, payload: str) -> list[Reply]:
        return await self._send(kind=Kind.BUTTON, payload=payload)

    async def shares_contact(self, phone: str) -> list[Reply]:
        return await self._send(kind=Kind.CONTACT, phone=phone)

    async def sends_sticker(self) -> list[Reply]:
        return await self._send(kind=Kind.OTHER)

    @property
    def last(self) -> str:
        """All text the bot answered with last time, joined."""
        return "\n".join(r.text for r in self.replies)

    @property
    def buttons(self) -> list[str]:
        return [c.label for r in self.replies for c in r.choices]


class BotHarness:
    """The real pipeline, router and database, with a clock the test moves."""

    def __init__(self, db: Database, **settings: Any) -> None:
        self.db = db
        self.clock = FixedClock(TZ, DEFAULT_NOW)
        self.settings = Settings(database_url=db.url, _env_file=None, **settings)  # type: ignore[call-arg]
        self.services = Services(settings=self.settings, clock=self.clock, db=db, router=build_router())
        self.pipeline = Pipeline(self.services)
        # Shared by every harness in the run, like a messenger's own update counter.
        self.update_ids = _UPDATE_IDS

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
            if "Bạn là ai" in person.last:
                await person.presses(role_label)
            await person.says(name)
            await person.says(phone)
            await person.says(province)
            await person.says(ward)
        assert "Đăng ký xong" in person.last, person.last
