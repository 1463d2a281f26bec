"""Every messenger the bot speaks, in one place: what it can do and how to start it.

Adding a messenger is one adapter module and one line in :data:`MESSENGERS`. Nothing outside
``bot.channels`` names a messenger; the engine asks for :class:`bot.events.Capabilities` only.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from aiohttp import web

from bot.clock import Clock
from bot.config import Settings
from bot.events import Capabilities, Sender, UpdateSink
from bot.lease import LeaseKeeper
from bot.outbox import Limits
from storage.uow import Database

TELEGRAM = Capabilities(
    display_name="Telegram",
    buttons=True,
    edits=True,
    contact_request=True,
    location_request=True,
    files="upload",
    max_length=4096,
    groups=True,
    paid_broadcast=True,
)
ZALO = Capabilities(
    display_name="Zalo",
    buttons=False,
    edits=False,
    contact_request=False,
    location_request=False,
    files="url",
    max_length=2000,
    groups=True,
)
CONSOLE = Capabilities(
    display_name="console",
    buttons=False,
    edits=False,
    contact_request=False,
    location_request=False,
    files="upload",
    max_length=100_000,
    groups=False,
    public=False,
)


@dataclass
class Setup:
    """What an adapter needs to start: settings, the database, the inbox, this process's id."""

    settings: Settings
    db: Database
    sink: UpdateSink
    holder: str
    commands: list[tuple[str, str]] = field(default_factory=list)  # (command, description) for menus
    stdin: TextIO | None = None
    stdout: TextIO | None = None
    demo: bool = False  # seed the demo village (the console's own demo database only)


@dataclass
class Endpoint:
    """A started messenger: its sender for the outbox, and how it receives."""

    sender: Sender
    limits: Limits
    receive: Callable[[str | None], Awaitable[None]]  # start receiving: webhook at this URL, or polling
    stop: Callable[[], Awaitable[None]]  # stop receiving
    close: Callable[[], Awaitable[None]]  # release the sender (after the outbox has stopped)
    webhook_path: str | None = None
    webhook: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None
    run: Callable[[], Awaitable[None]] | None = None  # a foreground loop (the console)


@dataclass(frozen=True)
class Messenger:
    name: str
    capabilities: Capabilities
    configured: Callable[[Settings], bool]
    start: Callable[[Setup], Awaitable[Endpoint]]


def derived_secret(settings: Settings, purpose: str, token: str) -> str:
    """The configured webhook secret, or one derived from the token (stable, unguessable)."""
    if settings.webhook_secret:
        return settings.webhook_secret.get_secret_value()
    return hashlib.sha256(f"nongsan-{purpose}:{token}".encode()).hexdigest()[:48]


async def _telegram(setup: Setup) -> Endpoint:
    from bot.channels.telegram import TelegramChannel, TelegramSender

    s = setup.settings
    assert s.telegram_bot_token is not None
    token = s.telegram_bot_token.get_secret_value()
    channel = TelegramChannel(
        token,
        s.telegram_api_base_url,
        setup.sink,
        webhook_secret=derived_secret(s, "webhook", token),
        commands=setup.commands,
        poll_lease=LeaseKeeper(setup.db, "poll:telegram", setup.holder),
    )
    sender = TelegramSender(token, s.telegram_api_base_url)
    await sender.start()

    async def receive(url: str | None) -> None:
        if url:
            await channel.start_webhook(url)
        else:
            await channel.start_polling()

    return Endpoint(
        sender,
        Limits(global_rate=s.outbox_rate_per_s),
        receive,
        channel.stop,
        sender.stop,
        webhook_path="/webhook/telegram",
        webhook=channel.handle_webhook,
    )


async def _zalo(setup: Setup) -> Endpoint:
    from bot.channels.zalo import ZaloChannel, ZaloSender

    s = setup.settings
    assert s.zalo_bot_token is not None
    token = s.zalo_bot_token.get_secret_value()
    channel = ZaloChannel(
        token,
        s.zalo_api_base_url,
        setup.sink,
        webhook_secret=derived_secret(s, "zalo-webhook", token),
        poll_lease=LeaseKeeper(setup.db, "poll:zalo", setup.holder),
        bot_name=s.zalo_bot_name,
    )
    sender = ZaloSender(token, s.zalo_api_base_url)
    await sender.start()  # getMe: a wrong token fails here, loudly

    async def receive(url: str | None) -> None:
        if url:
            await channel.start_webhook(url)
        else:
            await channel.start_polling()

    return Endpoint(
        sender,
        Limits(global_rate=s.zalo_rate_per_s),
        receive,
        channel.stop,
        sender.stop,
        webhook_path="/webhook/zalo",
        webhook=channel.handle_webhook,
    )


async def _console(setup: Setup) -> Endpoint:
    from bot.channels.console import ConsoleChannel, ConsoleSender, ConsoleSession, ScriptedPeople
    from bot.channels.console_demo import console_people, seed_demo

    if setup.demo:
        await seed_demo(setup.db, Clock(setup.settings.tz))
    session = ConsoleSession(out=setup.stdout or sys.stdout, files_dir=setup.settings.data_dir / "files")
    sender = ConsoleSender(session)
    channel = ConsoleChannel(setup.sink, sender, stdin=setup.stdin, people=lambda: console_people(setup.db))
    scripted = ScriptedPeople(session, setup.sink)
    sender.listeners.append(scripted)

    async def receive(_url: str | None) -> None:
        return None

    async def nothing() -> None:
        return None

    return Endpoint(
        sender,
        Limits(global_rate=1000, chat_interval=0, group_interval=0),
        receive,
        scripted.stop,
        nothing,
        run=channel.run,
    )


MESSENGERS: dict[str, Messenger] = {
    "telegram": Messenger("telegram", TELEGRAM, lambda s: bool(s.telegram_bot_token), _telegram),
    "zalo": Messenger("zalo", ZALO, lambda s: bool(s.zalo_bot_token), _zalo),
    "console": Messenger("console", CONSOLE, lambda _s: False, _console),
}
LOCAL = "console"  # served when no messenger is configured


def configured(settings: Settings) -> list[str]:
    """The messengers with a token; the local console when there is none."""
    names = [name for name, m in MESSENGERS.items() if m.configured(settings)]
    return names or [LOCAL]


def capabilities() -> dict[str, Capabilities]:
    """What every known messenger can do (also for chats on messengers not running here)."""
    return {name: m.capabilities for name, m in MESSENGERS.items()}


def is_local(names: list[str]) -> bool:
    """True when only the local console runs."""
    return names == [LOCAL]


def local_settings(settings: Settings) -> tuple[Settings, bool]:
    """The settings the local console runs with, and whether it seeds the demo village.

    With no database named (``DATABASE_URL``), the console uses its own demo database and
    seeds it; a named database is used as it is and never gets demo rows.
    """
    if "database_url" in settings.model_fields_set:
        return settings, False
    from bot.channels.console_demo import DEMO_DATABASE

    url = f"sqlite+aiosqlite:///{settings.data_dir / DEMO_DATABASE}"
    return settings.model_copy(update={"database_url": url}), settings.demo_data


__all__: list[Any] = [
    "MESSENGERS",
    "Endpoint",
    "Messenger",
    "Setup",
    "capabilities",
    "configured",
    "derived_secret",
    "is_local",
]
