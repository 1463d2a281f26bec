"""Wiring: the database, the messengers, the inbox, the engine, the outbox, the event bus, the
scheduler and the web endpoints — each built once, in the order they need each other."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
import uuid
from typing import Any, TextIO

from aiohttp import web

from bot import files
from bot.catalog import CATALOG
from bot.channels import registry
from bot.clock import Clock
from bot.config import Settings
from bot.container import Services
from bot.domain_events import NOTIFY, EventBus, Subscriber
from bot.engine.actions import ActionCodec
from bot.engine.conversation import Conversation
from bot.handlers import build_router
from bot.inbox import InboxWorker
from bot.matching.service import Matcher
from bot.outbox import BlockPolicy, Outbox
from bot.places import gazetteer
from bot.presentation import notifications
from bot.services.reference import sync_reference
from storage import migrate
from storage.uow import Database

log = logging.getLogger(__name__)

BUTTON_SECRET = "buttons"  # the app_secrets row that signs every button


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
        self.messengers = registry.configured(settings)
        self.demo = False
        if registry.is_local(self.messengers):
            settings, self.demo = registry.local_settings(settings)
        self.settings = settings
        self.clock = clock or Clock(settings.tz)
        self._stdin, self._stdout = stdin, stdout
        self.holder = uuid.uuid4().hex  # this process, in every lease it takes
        self.db: Database | None = None
        self.services: Services | None = None
        self.inbox: InboxWorker | None = None
        self.outbox: Outbox | None = None
        self.bus: EventBus | None = None
        self.endpoints: dict[str, registry.Endpoint] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._web: web.AppRunner | None = None
        self.ready_at: float | None = None
        self.scheduler: Any = None
        self.http_port: int | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        """Migrate, load reference data, start the messengers, the workers and the web endpoints."""
        s = self.settings
        self.db = db = Database(s.database_url)
        await migrate.upgrade(db.engine)
        router = build_router()
        async with db.uow() as uow:
            await sync_reference(uow, CATALOG, gazetteer())
            secret = await uow.secrets.get_or_create(BUTTON_SECRET)

        # The messengers need the inbox (to hand updates in) before the engine exists.
        self.inbox = inbox = InboxWorker(db, concurrency=s.inbox_concurrency or (1 if db.is_sqlite else 8))
        commands = [
            (c.name, str(c.description or c.label)[:256])
            for c in router.commands.values()
            if c.roles is None or c.roles & {"farmer", "coop_rep", "trader"}
        ]
        for name in self.messengers:
            setup = registry.Setup(
                s, db, inbox, self.holder, commands, self._stdin, self._stdout, demo=self.demo
            )
            self.endpoints[name] = await registry.MESSENGERS[name].start(setup)
        self.outbox = Outbox(
            db,
            {n: e.sender for n, e in self.endpoints.items()},
            {n: e.limits for n, e in self.endpoints.items()},
            holder=self.holder,
            blocking=BlockPolicy(s.blocked_after_failures, dt.timedelta(hours=s.blocked_after_hours)),
        )
        self.bus = bus = EventBus(db, holder=self.holder)
        self.services = services = Services(
            settings=s,
            clock=self.clock,
            db=db,
            router=router,
            codec=ActionCodec(secret.encode()),
            messengers=registry.capabilities(),
            wake_outbox=self.outbox.wake,
            wake_events=bus.wake,
        )
        conversation = Conversation(services)
        notifications.load_renderers()
        bus.start(services, [Subscriber(NOTIFY, notifications.on_event), Matcher(services).subscriber()])
        self.outbox.start()
        self._tasks.append(
            asyncio.create_task(inbox.run(conversation.handle, conversation.apologize), name="inbox")
        )
        self.scheduler = await self._start_scheduler(services)

        await self._start_web()
        url = s.public_url.rstrip("/") if s.public_url else None
        for endpoint in self.endpoints.values():
            await endpoint.receive(url + endpoint.webhook_path if url and endpoint.webhook_path else None)
            if endpoint.run is not None:
                self._tasks.append(asyncio.create_task(self._foreground(endpoint), name="console"))
        self.ready_at = time.monotonic()
        log.info("bot ready on %s", ", ".join(self.messengers))

    async def _start_scheduler(self, services: Services) -> Any:
        """Every process starts one; a lease in the database lets exactly one of them run the jobs."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        from bot.scheduler import start_scheduler
        from bot.services.amendments import expire_amendments
        from bot.services.announcements import report_progress
        from bot.services.deals import no_show_job, payment_reminder_job
        from bot.services.expiry import expire_due
        from bot.services.housekeeping import enforce_retention
        from bot.services.matches import expire_proposals

        progress = (
            "broadcast_progress",
            IntervalTrigger(seconds=30, timezone=self.settings.tz),
            report_progress,
            60,
        )
        tz = self.settings.tz
        jobs = [
            progress,
            ("no_shows", CronTrigger(minute="*/15", timezone=tz), no_show_job, 15 * 60),
            ("payment_reminders", CronTrigger(hour=8, minute=0, timezone=tz), payment_reminder_job, 6 * 3600),
            ("retention", CronTrigger(hour=3, minute=30, timezone=tz), enforce_retention, 12 * 3600),
        ]
        return await start_scheduler(services, jobs, expiry=[expire_due, expire_proposals, expire_amendments])

    async def _foreground(self, endpoint: registry.Endpoint) -> None:
        assert endpoint.run is not None
        try:
            await endpoint.run()
        finally:
            self._stop.set()  # end of input ends the local session

    async def _start_web(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get("/healthz", self._health)
        assert self.db is not None
        # Charts and workbooks for messengers that fetch files by URL (see bot.files).
        app.router.add_get(files.ROUTE, files.FileServer(self.db).handle)
        for endpoint in self.endpoints.values():
            if endpoint.webhook_path and endpoint.webhook:
                app.router.add_post(endpoint.webhook_path, endpoint.webhook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.http_host, self.settings.http_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if registry.is_local(self.messengers):
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
            {"status": "ok", "messengers": self.messengers, "outbox_pending": pending, "inbox_pending": inbox}
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
        for endpoint in self.endpoints.values():
            with contextlib.suppress(Exception):
                await endpoint.stop()
        for task in self._tasks:
            if task.get_name() == "console":
                task.cancel()
        if self.inbox is not None:
            await self.inbox.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=15)
        self._tasks.clear()
        if self.bus is not None:
            await self.bus.stop()
        if self.outbox is not None:
            await self.outbox.stop()
        for endpoint in self.endpoints.values():
            with contextlib.suppress(Exception):
                await endpoint.close()
        if self._web is not None:
            await self._web.cleanup()
        if self.db is not None:
            await self.db.dispose()
