"""Wiring: the database, the dialog engine, the channels, the outbox worker and the web endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import time
import uuid
from typing import Any, TextIO

from aiohttp import web

from bot.clock import Clock
from bot.config import Settings
from bot.events import Sender
from bot.handlers import build_router
from bot.inbox import InboxWorker
from bot.lease import LeaseKeeper
from bot.outbox import Limits, Outbox
from bot.pipeline import Pipeline
from bot.services.container import Services
from bot.services.reference import sync_reference
from storage import migrate
from storage.uow import Database

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhook/telegram"
ZALO_WEBHOOK_PATH = "/webhook/zalo"


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or one derived from the token (stable across restarts, unguessable)."""
    if settings.webhook_secret:
        return settings.webhook_secret.get_secret_value()
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    return hashlib.sha256(f"nongsan-webhook:{token}".encode()).hexdigest()[:48]


def zalo_webhook_secret(settings: Settings) -> str:
    """The configured secret (Zalo wants 8-256 characters) or one derived from the Zalo token."""
    if settings.webhook_secret:
        return settings.webhook_secret.get_secret_value()
    token = settings.zalo_bot_token.get_secret_value() if settings.zalo_bot_token else ""
    return hashlib.sha256(f"nongsan-zalo-webhook:{token}".encode()).hexdigest()[:48]


class BotApp:
    """One bot process. ``await app.run()`` serves until a signal (or the console's end of input)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or Clock(settings.tz)
        self._stdin, self._stdout = stdin, stdout
        self.db: Database | None = None
        self.services: Services | None = None
        self.pipeline: Pipeline | None = None
        self.inbox: InboxWorker | None = None
        self.outbox: Outbox | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._closers: list[Any] = []
        self._web: web.AppRunner | None = None
        self.telegram: Any = None
        self.zalo: Any = None
        self.console: Any = None
        self.ready_at: float | None = None
        self.scheduler: Any = None
        self.http_port: int | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        """Migrate, load reference data, start channels, the outbox and the web endpoints."""
        s = self.settings
        self.db = db = Database(s.database_url)
        await migrate.upgrade(db.engine)
        async with db.uow() as uow:
            services = Services(settings=s, clock=self.clock, db=db, router=build_router())
            await sync_reference(uow, services.catalog, services.places)
        if s.demo_data and s.messengers == ["console"]:
            from bot.demo import seed_demo

            await seed_demo(services)
        self.services = services
        self.pipeline = Pipeline(services)
        self.inbox = inbox = InboxWorker(
            db,
            self.pipeline.handle,
            give_up=self.pipeline.apologize,
            concurrency=s.inbox_concurrency or (1 if db.is_sqlite else 8),
        )
        from bot.matching.service import start_matcher

        self.matcher, matcher_task = await start_matcher(services)
        self._tasks.append(matcher_task)

        holder = uuid.uuid4().hex  # this process, in every lease it takes
        senders: dict[str, Sender] = {}
        limits: dict[str, Limits] = {}
        if "telegram" in s.messengers:
            from bot.channels.telegram import TelegramChannel, TelegramSender

            assert s.telegram_bot_token is not None
            token = s.telegram_bot_token.get_secret_value()
            self.telegram = TelegramChannel(
                token,
                s.telegram_api_base_url,
                inbox,
                webhook_secret=webhook_secret(s),
                commands=self._command_list(),
                poll_lease=LeaseKeeper(db, "poll:telegram", holder),
            )
            sender = TelegramSender(token, s.telegram_api_base_url)
            await sender.start()
            self._closers.append(sender.stop)
            senders["telegram"] = sender
            limits["telegram"] = Limits(global_rate=s.outbox_rate_per_s)
        if "zalo" in s.messengers:
            from bot.channels.zalo import ZaloChannel, ZaloSender

            assert s.zalo_bot_token is not None
            ztoken = s.zalo_bot_token.get_secret_value()
            self.zalo = ZaloChannel(
                ztoken,
                s.zalo_api_base_url,
                inbox,
                webhook_secret=zalo_webhook_secret(s),
                poll_lease=LeaseKeeper(db, "poll:zalo", holder),
            )
            zsender = ZaloSender(ztoken, s.zalo_api_base_url)
            await zsender.start()  # getMe: a wrong token fails here, loudly
            self._closers.append(zsender.stop)
            senders["zalo"] = zsender
            limits["zalo"] = Limits(global_rate=s.zalo_rate_per_s)
        if "console" in s.messengers:
            from bot.channels.console import ConsoleChannel, ConsoleSender

            csender = ConsoleSender(self._stdout)
            self.console = ConsoleChannel(inbox, csender, stdin=self._stdin)
            senders["console"] = csender
            limits["console"] = Limits(global_rate=1000, chat_interval=0, group_interval=0)

        self.outbox = Outbox(db, senders, limits, holder=holder)
        services.wake_outbox = self.outbox.wake
        self.outbox.start()
        self._tasks.append(asyncio.create_task(inbox.run(), name="inbox"))
        self.scheduler = await self._start_scheduler(services)

        await self._start_web()
        if self.telegram is not None:
            if s.public_url:
                await self.telegram.start_webhook(s.public_url.rstrip("/") + WEBHOOK_PATH)
            else:
                await self.telegram.start_polling()
        if self.zalo is not None:
            if s.public_url:
                await self.zalo.start_webhook(s.public_url.rstrip("/") + ZALO_WEBHOOK_PATH)
            else:
                await self.zalo.start_polling()
        if self.console is not None:
            self._tasks.append(asyncio.create_task(self._run_console(), name="console"))
        self.ready_at = time.monotonic()
        log.info("bot ready on %s", ", ".join(s.messengers))

    async def _start_scheduler(self, services: Services) -> Any:
        """Every process starts one; a lease in the database lets exactly one of them run the jobs."""
        from apscheduler.triggers.interval import IntervalTrigger

        from bot.scheduler import start_scheduler
        from bot.services.announcements import report_progress
        from bot.services.expiry import expire_due
        from bot.services.housekeeping import prune_inbox
        from bot.services.matches import expire_proposals

        progress = (
            "broadcast_progress",
            IntervalTrigger(seconds=30, timezone=self.settings.tz),
            report_progress,
            60,
        )
        return await start_scheduler(services, [progress], expiry=[expire_due, expire_proposals, prune_inbox])

    def _command_list(self) -> list[tuple[str, str]]:
        assert self.services is not None
        router = self.services.router
        return [
            (c.name, str(c.description or c.label)[:256])
            for c in router.commands.values()
            if c.roles is None or c.roles & {"farmer", "coop_rep", "trader"}
        ]

    async def _run_console(self) -> None:
        assert self.console is not None
        try:
            await self.console.run()
        finally:
            self._stop.set()  # end of input ends the local session

    async def _start_web(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get("/healthz", self._health)
        if self.telegram is not None:
            app.router.add_post(WEBHOOK_PATH, self.telegram.handle_webhook)
        if self.zalo is not None:
            app.router.add_post(ZALO_WEBHOOK_PATH, self.zalo.handle_webhook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.http_host, self.settings.http_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if self.settings.messengers == ["console"]:
                log.warning("health endpoint not started (%s); the console works without it", exc.strerror)
                return
            raise
        self._web = runner
        # Port 0 asks the system for a free port (tests); report the one actually bound.
        self.http_port = runner.addresses[0][1] if runner.addresses else self.settings.http_port

    async def _health(self, _request: web.Request) -> web.Response:
        assert self.db is not None
        try:
            async with self.db.reader() as uow:
                pending = await uow.outbox.pending_count()
                inbox = await uow.inbox.pending_count()
        except Exception as exc:
            return web.json_response({"status": "error", "database": type(exc).__name__}, status=503)
        return web.json_response(
            {
                "status": "ok",
                "messengers": self.settings.messengers,
                "outbox_pending": pending,
                "inbox_pending": inbox,
            }
        )

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Start, serve until SIGINT/SIGTERM or the console ends, then stop cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        try:
            await self.start()
            await self._stop.wait()
        finally:
            await self.stop()  # also after a failed start: release what did start

    async def stop(self) -> None:
        """Stop receiving, finish the updates being handled, let the outbox finish, close everything."""
        if self.scheduler is not None:
            await self.scheduler.shutdown()  # gives the lease up so a standby takes over at once
        if self.telegram is not None:
            await self.telegram.stop()
        if self.zalo is not None:
            await self.zalo.stop()
        if self.inbox is not None:
            await self.inbox.stop()
        for task in self._tasks:
            if task.get_name() == "inbox":
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=15)
        if self.outbox is not None:
            await self.outbox.stop()
        for task in self._tasks:
            if task.get_name() in ("console", "matcher"):
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        self._tasks.clear()
        for close in self._closers:
            with contextlib.suppress(Exception):
                await close()
        if self._web is not None:
            await self._web.cleanup()
        if self.db is not None:
            await self.db.dispose()
