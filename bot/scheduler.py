"""The scheduler: timed jobs (reminders, digests, bulletins, notices, expiry) run by one leader process.

Jobs are defined in code and are idempotent: each run reads the database and queues messages
with outbox dedupe keys, so a job run twice sends nothing twice. APScheduler's in-memory job
store forgets next run times across restarts, so each job's last finished run is kept in the
``job_runs`` table; when a process becomes leader it runs once every job whose latest scheduled
time passed without a run and is still within that job's grace time.

When several processes share PostgreSQL, exactly one runs the jobs: the holder of the
"scheduler" lease (``leases`` table, 30 s, renewed every 10 s). A process that fails to renew
pauses its jobs; a standby retries every 10 s and takes over once the lease has expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.presentation.market import send_morning_schedules, send_pickup_reminders
from bot.presentation.prices import send_due_notices, send_price_bulletins
from bot.services.prices import BULLETIN_JOB

if TYPE_CHECKING:
    from bot.container import Services

log = logging.getLogger(__name__)

JobFunc = Callable[["Services"], Awaitable[Any]]
ExtraJob = tuple[str, BaseTrigger, JobFunc, int]  # (id, trigger, callable, grace seconds)

LEASE_NAME = "scheduler"
LEASE_TTL = dt.timedelta(seconds=30)
RENEW_EVERY = 10.0  # seconds


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job: when it fires and how late a missed run may still be made up (seconds)."""

    id: str
    trigger: BaseTrigger
    func: JobFunc
    grace: int


def latest_fire_time(trigger: BaseTrigger, now: dt.datetime, since: dt.datetime) -> dt.datetime | None:
    """The trigger's last fire time in [since, now], or None."""
    latest = None
    fire = trigger.get_next_fire_time(None, since)
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire)
    return latest


def missed_run(spec: JobSpec, last_run: dt.datetime | None, now: dt.datetime) -> bool:
    """True when a scheduled run of ``spec`` passed without a finished run and is still within grace."""
    grace = dt.timedelta(seconds=spec.grace)
    if isinstance(spec.trigger, IntervalTrigger):
        interval = spec.trigger.interval
        if last_run is None:
            return True
        periods = (now - last_run) // interval
        return periods >= 1 and now - (last_run + periods * interval) <= grace
    due = latest_fire_time(spec.trigger, now, now - grace)
    return due is not None and (last_run is None or last_run < due)


class BotScheduler:
    """APScheduler jobs behind a database lease; ``start()``, then ``shutdown()``."""

    def __init__(
        self,
        services: Services,
        *,
        expiry: Sequence[JobFunc] = (),
        extra_jobs: Sequence[ExtraJob] = (),
        holder: str | None = None,
        lease_ttl: dt.timedelta = LEASE_TTL,
        renew_every: float = RENEW_EVERY,
    ) -> None:
        self.services = services
        self.holder = holder or str(uuid.uuid4())
        self.lease_ttl = lease_ttl
        self.renew_every = renew_every
        self.expiry = list(expiry)
        tz = services.settings.tz
        self.jobs: list[JobSpec] = [
            JobSpec("expire", CronTrigger(minute="*/5", timezone=tz), self._expire, 5 * 60),
            JobSpec(
                "pickup_reminders", CronTrigger(minute="*/5", timezone=tz), send_pickup_reminders, 10 * 60
            ),
            JobSpec(
                "morning_schedule",
                CronTrigger(hour=6, minute=0, timezone=tz),
                send_morning_schedules,
                3 * 3600,
            ),
            JobSpec(BULLETIN_JOB, CronTrigger(hour=7, minute=0, timezone=tz), send_price_bulletins, 3 * 3600),
            JobSpec("gouging_notices", CronTrigger(minute="*/15", timezone=tz), send_due_notices, 15 * 60),
            *(JobSpec(job_id, trigger, func, grace) for job_id, trigger, func, grace in extra_jobs),
        ]
        ids = [j.id for j in self.jobs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate job ids: {ids}")
        self._by_id = {j.id: j for j in self.jobs}
        self._aps = AsyncIOScheduler(
            timezone=tz, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        )
        self.leading = False
        self._lease_until = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._locks = {j.id: asyncio.Lock() for j in self.jobs}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._renewer: asyncio.Task[None] | None = None

    # --- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Start APScheduler paused, try for the lease now, then keep trying/renewing in the background."""
        self._aps.start(paused=True)
        await self.tick()
        self._renewer = asyncio.create_task(self._keep_lease(), name="scheduler-lease")

    async def shutdown(self) -> None:
        """Stop firing, let running jobs finish (briefly), and hand the lease over."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        if self._aps.running:
            self._aps.shutdown(wait=False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle(), timeout=10)
        if self.leading:
            self.leading = False
            try:
                async with self.services.db.uow() as uow:
                    await uow.leases.release(LEASE_NAME, self.holder)
            except Exception:
                log.exception("could not release the scheduler lease")

    async def idle(self) -> None:
        """Wait for the catch-up runs started so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                await self.tick()
            except Exception:  # never let the renewal loop die
                log.exception("scheduler lease loop error")

    # --- leadership ---------------------------------------------------------------------------
    async def tick(self) -> bool:
        """Take or renew the lease once; start leading or stand by accordingly. True while leader."""
        now = self.services.clock.now()
        try:
            async with self.services.db.uow() as uow:
                held = await uow.leases.acquire_or_renew(LEASE_NAME, self.holder, now, self.lease_ttl)
            if held:
                self._lease_until = now + self.lease_ttl
        except Exception:
            log.exception("scheduler lease check failed")
            held = False
        if held and not self.leading:
            try:
                await self._lead()
            except Exception:  # the database went away between the lease and the catch-up
                log.exception("scheduler could not start leading; will retry")
                return False
        elif not held and self.leading:
            self._stand_by()
        return held

    async def _lead(self) -> None:
        now = self.services.clock.now()
        async with self.services.db.uow() as uow:
            last_runs = {j.id: await uow.job_runs.last(j.id) for j in self.jobs}
        log.info("scheduler: this process is the leader")
        self.leading = True
        for job in self.jobs:
            if missed_run(job, last_runs[job.id], now):
                task = asyncio.create_task(self.run_job(job.id), name=f"catch-up:{job.id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if self._aps.running:
            for job in self.jobs:
                self._aps.add_job(
                    self.run_job,
                    job.trigger,
                    args=[job.id],
                    id=job.id,
                    name=job.id,
                    misfire_grace_time=job.grace,
                    replace_existing=True,
                )
            self._aps.resume()

    def _stand_by(self) -> None:
        log.warning("scheduler: lease lost, jobs paused until it can be taken again")
        self.leading = False
        if self._aps.running:
            self._aps.pause()
            # Re-added with fresh run times on the next leadership, after the database catch-up.
            self._aps.remove_all_jobs()

    # --- running jobs -------------------------------------------------------------------------
    async def run_job(self, job_id: str) -> bool:
        """Run one job now if this process leads and it is not already running; record the run.

        Returns True when the job finished.
        """
        job = self._by_id[job_id]
        lock = self._locks[job_id]
        # A process stalled past its lease may have been replaced: it must not run jobs any more.
        if not self.leading or self.services.clock.now() >= self._lease_until or lock.locked():
            return False
        async with lock:
            started = self.services.clock.now()
            try:
                result = await job.func(self.services)
            except Exception:
                log.exception("scheduled job failed", extra={"job": job_id})
                return False
            async with self.services.db.uow() as uow:
                await uow.job_runs.record(job_id, started)
            log.info("scheduled job done", extra={"job": job_id, "result": result})
            return True

    async def _expire(self, services: Services) -> int:
        """Run every expiry callable; one failing does not stop the others."""
        total, failed = 0, None
        for expire in self.expiry:
            try:
                total += int(await expire(services) or 0)
            except Exception as exc:
                log.exception("expiry step failed")
                failed = exc
        if failed is not None:
            raise failed
        return total

    @property
    def aps(self) -> AsyncIOScheduler:
        """The underlying APScheduler (for inspection)."""
        return self._aps


async def start_scheduler(
    services: Services, extra_jobs: Sequence[ExtraJob] = (), *, expiry: Sequence[JobFunc] = ()
) -> BotScheduler:
    """Create and start the scheduler; ``await it.shutdown()`` at exit."""
    scheduler = BotScheduler(services, expiry=expiry, extra_jobs=extra_jobs)
    await scheduler.start()
    return scheduler
