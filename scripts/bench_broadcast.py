"""Benchmark a broadcast through the real outbox against a local fake Bot API at Telegram's limit.

    .venv/bin/python scripts/bench_broadcast.py [--recipients 3000] [--database-url URL]
        [--crash-once --crash-mode graceful|hard] [--lease 10]

The fake answers 429 to any send that would put more than ``--rate`` (30) messages in one
closed one-second window, so every message over the limit is counted. Prints one JSON line:
recipients, seconds (wall time from the first worker's start until every row is settled),
msgs_per_s (delivered / seconds), limit_msgs_per_s, ratio_to_limit, duplicates (extra copies
received), lost (recipients who never received it), interrupted (rows whose delivery is
unknown: in flight when the sender died), http_429, and the crash details.

``--crash-once`` stops the sender when half the recipients have it and starts a new worker:
*graceful* (``stop()``: the sends in flight finish, the rest is handed back) or *hard*
(``kill()``: as a killed process, nothing is settled: the rows in flight become "unknown" once
their claim lease ends, never sent twice, and the rest comes back to the new sender). Both workers use ``--lease`` seconds
(default 10, instead of the production 60) so the hard case waits 10 s, not a minute; a lease
must stay longer than one batch takes to send (200 at 30/s: 7 s).

With ``--database-url`` (a scratch database: PostgreSQL works too) the audience is the
subscribers of a topic only this run's fake users have, so nobody real is ever queued.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

from bot.catalog import CATALOG
from bot.channels import registry
from bot.channels.telegram import TelegramSender
from bot.clock import Clock
from bot.config import Settings
from bot.container import Services
from bot.domain_events import NOTIFY, EventBus, Subscriber
from bot.engine.actions import ActionCodec
from bot.handlers import build_router
from bot.outbox import ChannelOutbox, Limits
from bot.places import gazetteer
from bot.presentation import notifications
from bot.services import announcements as service
from bot.services.audience import Audience
from bot.services.reference import sync_reference
from storage import migrate, models
from storage.uow import Database
from tests.fakes.telegram_api import FakeBotApi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_CHAT = 5_000_000
AUTHOR_CHAT = 4_999_999


async def prepare(db: Database, n: int, topic: str) -> tuple[Services, int]:
    """Schema, reference data, ``n`` fake farmers following ``topic``, and the author."""
    await migrate.upgrade(db.engine)
    async with db.uow() as uow:
        await sync_reference(uow, CATALOG, gazetteer())
    run = topic.split(":")[-1]
    now = dt.datetime.now(dt.UTC)
    base = {
        "channel": "telegram",
        "role": "farmer",
        "province_code": 20,
        "ward_code": 6463,
        "locale": "vi",
        "registered_at": now,
        "bot_blocked": False,
        "banned": False,
        "created_at": now,
        "updated_at": now,
    }
    async with db.uow() as uow:
        for start in range(0, n, 1000):  # under SQLite's parameter limit per statement
            rows = [
                {**base, "external_id": f"{run}-{i}", "chat_id": str(FIRST_CHAT + i), "name": f"Hộ {i}"}
                for i in range(start, min(n, start + 1000))
            ]
            await uow.session.execute(insert(models.User), rows)
        ids = await uow.session.scalars(
            select(models.User.id).where(models.User.external_id.like(f"{run}-%"))
        )
        await uow.session.execute(
            insert(models.Subscription), [{"user_id": i, "topic": topic, "created_at": now} for i in ids]
        )
        created = await uow.users.ensure("telegram", f"{run}-author", str(AUTHOR_CHAT), "vi")
        await uow.users.register(
            created.id,
            name="Cán bộ Sở",
            phone="0911000000",
            role="official",
            province_code=20,
            ward_code=6463,
            now=now,
        )
        author = await uow.users.get(created.id)
        assert author is not None
        created = await service.create(
            uow,
            author,
            service.NewAnnouncement(
                "Thông báo thử: thu mua na Chi Lăng từ 5 giờ sáng mai tại các điểm tập kết.",
                Audience(products=(topic,)),
            ),
            now=now,
        )
        assert isinstance(created, service.Created), created
    settings = Settings(database_url=db.url, _env_file=None)  # type: ignore[call-arg]
    services = Services(
        settings=settings,
        clock=Clock(TZ),
        db=db,
        router=build_router(),
        codec=ActionCodec(b"bench-broadcast-secret-0123456789"),
        messengers=registry.capabilities(),
    )
    return services, created.announcement.id


async def settled(db: Database, announcement_id: int) -> bool:
    async with db.uow() as uow:
        counts = await uow.outbox.counts(announcement_id)
    return counts.get("pending", 0) + counts.get("sending", 0) == 0


async def bench(args: argparse.Namespace) -> dict[str, object]:
    n, rate = args.recipients, args.rate
    tmp = None
    url = args.database_url
    if url is None:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
    url = Settings(database_url=url, _env_file=None).database_url  # type: ignore[call-arg]
    db = Database(url)
    topic = f"bench:{uuid.uuid4().hex[:8]}"
    services, ann_id = await prepare(db, n, topic)
    crash: dict[str, object] = {"crash_mode": args.crash_mode if args.crash_once else None}

    bus = EventBus(db)
    bus.subscribe([Subscriber(NOTIFY, notifications.on_event)])

    async with (
        FakeBotApi(strict_global_rate=rate) as api,
        TelegramSender("123:BENCH", api.base_url) as sender,
    ):

        def worker() -> ChannelOutbox:
            # A new holder, as a restarted process would be: it waits out the dead one's lease.
            return ChannelOutbox(
                db, sender, Limits(global_rate=rate), lease_ttl=args.lease, claim_lease=args.lease
            )

        def ok_count() -> int:
            return sum(1 for c in api.calls if c.method == "sendMessage" and c.ok)

        started = time.monotonic()
        current = worker()
        task = asyncio.create_task(current.run())
        await bus.drain(services)  # the notifications plan one outbox row per recipient
        current.wake()
        crash["planned_after_s"] = round(time.monotonic() - started, 2)
        crashed = not args.crash_once
        next_progress = started + 10
        while not await settled(db, ann_id):
            await asyncio.sleep(0.05)
            if time.monotonic() >= next_progress:
                next_progress += 10
                await service.report_progress(services)
                await bus.drain(services)
            # A third of a wave past half-way: the crash lands mid-wave, not between two waves.
            if not crashed and ok_count() >= n // 2 + 10:
                crashed = True
                crash["crashed_after_s"] = round(time.monotonic() - started, 2)
                if args.crash_mode == "graceful":
                    current.stop()
                    await task
                else:
                    current.kill()  # as a killed process: nothing settled, the lease left to expire
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                crash["delivered_before_crash"] = ok_count()
                current = worker()
                task = asyncio.create_task(current.run())
        seconds = time.monotonic() - started
        await service.report_progress(services)  # marks the announcement done, queues the final report
        await bus.drain(services)
        current.stop()
        await task

        got = Counter(int(c.chat_id) for c in api.calls if c.method == "sendMessage" and c.ok)
        got.pop(AUTHOR_CHAT, None)
        async with db.uow() as uow:
            counts = await uow.outbox.counts(ann_id)
            interrupted = await uow.session.scalar(
                select(func.count())
                .select_from(models.OutboxMessage)
                .where(
                    models.OutboxMessage.announcement_id == ann_id,
                    models.OutboxMessage.status == "unknown",
                )
            )
            status = (await uow.announcements.get(ann_id)).status  # type: ignore[union-attr]
        http_429 = api.count_429
    await db.dispose()
    if tmp is not None:
        tmp.cleanup()

    delivered = sum(got.values())
    msgs_per_s = len(got) / seconds
    return {
        "recipients": n,
        "seconds": round(seconds, 2),
        "msgs_per_s": round(msgs_per_s, 2),
        "limit_msgs_per_s": rate,
        "ratio_to_limit": round(msgs_per_s / rate, 3),
        "duplicates": delivered - len(got),
        "lost": n - len(got),
        "interrupted": int(interrupted or 0),
        "http_429": http_429,
        "http_429_pct": round(100 * http_429 / max(delivered, 1), 3),
        **crash,
        "lease_s": args.lease,
        "outbox": dict(sorted(counts.items())),
        "announcement_status": status,
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=30, help="platform limit, messages per second")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--crash-once", action="store_true", help="stop the sender half-way and restart it")
    parser.add_argument("--crash-mode", choices=("graceful", "hard"), default="graceful")
    parser.add_argument("--lease", type=float, default=10.0, help="claim lease of both workers, seconds")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
