"""Wiring: the database, the dialog engine, the channels, the outbox worker and the web endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import time
from typing import Any, TextIO

from aiohttp import web

from bot.clock import Clock
from bot.config import Settings
from bot.events import Sender
from bot.handlers import build_router
from bot.outbox import OutboxWorker
from bot.pipeline import Pipeline
from bot.ratelimit import SmoothRateLimiter
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
        self.outbox: OutboxWorker | None = None
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
        from bot.matching.service import start_matcher

        self.matcher, matcher_task = await start_matcher(services)
        self._tasks.append(matcher_task)

        senders: dict[str, Sender] = {}
        if "telegram" in s.messengers:
            from bot.channels.telegram import TelegramChannel, TelegramSender

            assert s.telegram_bot_token is not None
            token = s.telegram_bot_token.get_secret_value()
            self.telegram = TelegramChannel(
                token,
                s.telegram_api_base_url,
                self.pipeline,
                webhook_secret=webhook_secret(s),
                commands=self._command_list(),
            )
            sender = TelegramSender(token, s.telegram_api_base_url)
            await sender.start()
            self._closers.append(sender.stop)
            senders["telegram"] = sender
        if "zalo" in s.messengers:
            from bot.channels.zalo import ZaloChannel, ZaloSender

            assert s.zalo_bot_token is not None
            ztoken = s.zalo_bot_token.get_secret_value()
            self.zalo = ZaloChannel(
                ztoken, s.zalo_api_base_url, self.pipeline, webhook_secret=zalo_webhook_secret(s)
            )
            zsender = ZaloSender(ztoken, s.zalo_api_base_url)
            await zsender.start()  # getMe: a wrong token fails here, loudly
            self._closers.append(zsender.stop)
            senders["zalo"] = zsender
        if "console" in s.messengers:
            from bot.channels.console import ConsoleChannel, ConsoleSender

            self.console = ConsoleChannel(self.pipeline, stdin=self._stdin, stdout=self._stdout)
            senders["console"] = ConsoleSender(self._stdout)

        limiter = SmoothRateLimiter(global_rate=s.outbox_rate_per_s)
        self.outbox = OutboxWorker(db, senders, self.clock, limiter, batch=s.outbox_batch)
        services.wake_outbox = self.outbox.wake
        self._tasks.append(asyncio.create_task(self.outbox.run(), name="outbox"))
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
        from bot.services.housekeeping import forget_old_update_ids
        from bot.services.matches import expire_proposals

        progress = (
            "broadcast_progress",
            IntervalTrigger(seconds=30, timezone=self.settings.tz),
            report_progress,
            60,
        )
        return await start_scheduler(
            services, [progress], expiry=[expire_due, expire_proposals, forget_old_update_ids]
        )

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
            async with self.db.uow() as uow:
                pending = await uow.outbox.pending_count()
        except Exception as exc:
            return web.json_response({"status": "error", "database": type(exc).__name__}, status=503)
        return web.json_response(
            {"status": "ok", "messengers": self.settings.messengers, "outbox_pending": pending}
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
        """Stop receiving, let the outbox finish its wave, close everything."""
        if self.scheduler is not None:
            await self.scheduler.shutdown()  # gives the lease up so a standby takes over at once
        if self.telegram is not None:
            await self.telegram.stop()
        if self.zalo is not None:
            await self.zalo.stop()
        if self.outbox is not None:
            self.outbox.stop()
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
