"""The scheduler without waiting: job functions called with a moved clock, leadership decided by a
lease in the database, missed runs made up once after a restart."""

from __future__ import annotations

import datetime as dt

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.presentation.market import send_morning_schedules, send_pickup_reminders
from bot.scheduler import LEASE_NAME, BotScheduler, JobSpec, missed_run, start_scheduler
from storage.uow import Database
from tests.harness import TZ, BotHarness
from tests.test_slots import add_match, add_point, add_user, schedule


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 9, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database)


async def outbox(bot: BotHarness, ext: str) -> list[str]:
    async with bot.db.uow() as uow:
        return [i.payload["text"] for i in await uow.outbox.for_chat("telegram", ext)]


async def test_reminders_the_evening_before_and_an_hour_before(bot: BotHarness) -> None:
    db = bot.db
    rep = await add_user(db, "801", "coop_rep", "HTX Na Chi Lăng", "0912000801")
    trader = await add_user(db, "802", "trader", "Trần Văn Bình", "0987000802")
    point = await add_point(db, "Chợ Chi Lăng", address="Thôn Trung Tâm")
    match = await add_match(db, rep, trader, point, kg=2_500)
    await schedule(db, match, point, at(11, 7))

    bot.clock.set(at(10, 17, 55))
    assert await send_pickup_reminders(bot.services) == 0  # not yet evening, not within the hour
    bot.clock.set(at(10, 18, 0))
    assert await send_pickup_reminders(bot.services) == 2
    assert await send_pickup_reminders(bot.services) == 0  # a second run sends nothing twice
    rep_texts, trader_texts = await outbox(bot, "801"), await outbox(bot, "802")
    assert len(rep_texts) == len(trader_texts) == 1
    assert "ngày mai 11/09/2026, 07:00–08:00" in rep_texts[0]
    assert "mang 2.500 kg Na, Loại 1 đến Chợ Chi Lăng, Thôn Trung Tâm" in rep_texts[0]
    assert "Trần Văn Bình (0987000802)" in rep_texts[0]
    assert "nhận 2.500 kg Na, Loại 1 của HTX Na Chi Lăng" in trader_texts[0]

    bot.clock.set(at(11, 5, 55))
    assert await send_pickup_reminders(bot.services) == 0  # 65 minutes ahead: not yet
    bot.clock.set(at(11, 6, 0))
    assert await send_pickup_reminders(bot.services) == 2
    assert await send_pickup_reminders(bot.services) == 0
    assert "còn khoảng 1 giờ nữa" in (await outbox(bot, "801"))[-1]
    bot.clock.set(at(11, 18, 0))  # the pickup is past: nothing more
    assert await send_pickup_reminders(bot.services) == 0


async def test_morning_schedule_is_one_message_per_person_per_point(bot: BotHarness) -> None:
    db = bot.db
    rep = await add_user(db, "811", "coop_rep", "HTX Hồng Văn Lãng", "0912000811")
    t1 = await add_user(db, "812", "trader", "Trần Văn Bình", "0987000812")
    t2 = await add_user(db, "813", "trader", "Lê Thị Cúc", "0987000813")
    point = await add_point(db, "Chợ Chi Lăng")
    for trader, hour in ((t1, 7), (t2, 8), (t1, 9)):
        match = await add_match(db, rep, trader, point, kg=1_000)
        await schedule(db, match, point, at(11, hour))
    bot.clock.set(at(11, 6, 0))
    assert await send_morning_schedules(bot.services) == 3  # the rep, and each trader once
    assert await send_morning_schedules(bot.services) == 0
    (rep_text,) = await outbox(bot, "811")
    assert rep_text.count("• ") == 3 and "Lịch lấy hàng hôm nay 11/09/2026 tại Chợ Chi Lăng" in rep_text
    (bình,) = await outbox(bot, "812")
    assert bình.count("• ") == 2 and "07:00–08:00" in bình and "09:00–10:00" in bình


def test_missed_runs_are_judged_by_the_trigger_and_the_grace_time() -> None:
    daily = JobSpec("d", CronTrigger(hour=6, timezone=TZ), send_morning_schedules, 3600)
    assert missed_run(daily, None, at(11, 6, 30))
    assert missed_run(daily, at(10, 6), at(11, 6, 30))
    assert not missed_run(
        daily,
        at(
            11,
            6,
            0,
        ),
        at(11, 6, 30),
    )
    assert not missed_run(daily, at(10, 6), at(11, 7, 30))  # beyond the grace time: skipped
    assert not missed_run(daily, at(10, 6), at(11, 5, 59))  # not due yet
    every = JobSpec("i", IntervalTrigger(minutes=5, timezone=TZ), send_morning_schedules, 600)
    assert missed_run(every, None, at(11, 6))
    assert missed_run(every, at(11, 6), at(11, 6, 7))
    assert not missed_run(every, at(11, 6), at(11, 6, 4))


async def test_a_missed_job_runs_once_after_a_restart_not_twice(bot: BotHarness) -> None:
    db = bot.db
    rep = await add_user(db, "821", "coop_rep", "HTX Na Chi Lăng", "0912000821")
    trader = await add_user(db, "822", "trader", "Trần Văn Bình", "0987000822")
    point = await add_point(db, "Chợ Chi Lăng")
    await schedule(db, await add_match(db, rep, trader, point), point, at(11, 8))
    calls: list[dt.datetime] = []

    async def spy(services) -> int:  # type: ignore[no-untyped-def]
        calls.append(services.clock.now())
        return 0

    def process(holder: str) -> BotScheduler:
        return BotScheduler(
            bot.services, holder=holder, extra_jobs=[("spy", CronTrigger(hour=6, timezone=TZ), spy, 3600)]
        )

    bot.clock.set(at(11, 5, 50))
    first = process("first")
    assert await first.tick()
    await first.idle()  # first start ever: the jobs due within their grace ran once
    assert calls == [] and await outbox(bot, "821") == []
    # The process dies before 6:00 and comes back at 6:20: its lease has long expired.
    bot.clock.set(at(11, 6, 20))
    second = process("second")
    assert await second.tick()
    await second.idle()
    assert calls == [at(11, 6, 20)]
    assert len(await outbox(bot, "821")) == 1 and len(await outbox(bot, "822")) == 1
    async with db.uow() as uow:
        assert await uow.job_runs.last("morning_schedule") == at(11, 6, 20)
    await second.shutdown()  # a clean stop hands the lease over at once
    bot.clock.set(at(11, 6, 25))
    third = process("third")
    assert await third.tick()
    await third.idle()
    assert calls == [at(11, 6, 20)]  # made up once, not twice
    assert len(await outbox(bot, "821")) == 1


async def test_one_leader_and_a_takeover_when_its_lease_expires(bot: BotHarness) -> None:
    a = BotScheduler(bot.services, holder="a")
    b = BotScheduler(bot.services, holder="b")
    bot.clock.set(at(12, 10, 1))
    assert await a.tick() and a.leading
    assert not await b.tick() and not b.leading
    for _ in range(3):  # a renews every 10 s; b keeps trying and keeps losing
        bot.clock.advance(dt.timedelta(seconds=10))
        assert await a.tick()
        assert not await b.tick()
    # a stops renewing (hung or dead); 30 s later its lease has expired and b takes over.
    bot.clock.advance(dt.timedelta(seconds=29))
    assert not await b.tick()
    bot.clock.advance(dt.timedelta(seconds=2))
    assert await b.tick() and b.leading
    assert not await a.tick() and not a.leading  # a comes back: it stands by
    async with bot.db.uow() as uow:
        lease = await uow.leases.get(LEASE_NAME)
    assert lease is not None and lease.holder == "b"
    assert lease.expires_at == bot.clock.now() + dt.timedelta(seconds=30)
    await a.idle()
    await b.idle()
    # A job never runs in a process that is not the leader.
    assert not await a.run_job("expire") and await b.run_job("expire")


async def test_start_and_shutdown_with_the_real_apscheduler(bot: BotHarness) -> None:
    expired: list[int] = []

    async def expire_due(services) -> int:  # type: ignore[no-untyped-def]
        expired.append(1)
        return 0

    scheduler = await start_scheduler(bot.services, expiry=[expire_due])
    try:
        assert scheduler.leading
        jobs = {job.id: job for job in scheduler.aps.get_jobs()}
        assert set(jobs) == {
            "expire",
            "pickup_reminders",
            "morning_schedule",
            "price_bulletin",
            "gouging_notices",
        }
        assert jobs["morning_schedule"].misfire_grace_time == 3 * 3600 and jobs["expire"].coalesce
        await scheduler.idle()
        assert expired == [1]  # never ran before: made up at once
        standby = BotScheduler(bot.services)
        standby.aps.start(paused=True)
        assert not await standby.tick() and standby.aps.get_jobs() == []
        standby.aps.shutdown(wait=False)
    finally:
        await scheduler.shutdown()
    async with bot.db.uow() as uow:
        assert await uow.leases.get(LEASE_NAME) is None
