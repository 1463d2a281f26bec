"""Property: whatever people answer, volume is conserved — promised kg always equals live matches."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.services.matches import Decision, decide, expire_proposals
from storage import models
from storage.uow import Database
from tests.harness import BotHarness

LIVE = ("proposed", "accepted", "scheduled", "picked_up")
DAY = dt.date(2026, 9, 10)

op = st.one_of(
    st.tuples(st.just("rep"), st.booleans(), st.integers(0, 5)),
    st.tuples(st.just("trader"), st.booleans(), st.integers(0, 5)),
    st.tuples(st.just("cancel"), st.just(True), st.integers(0, 5)),
    st.tuples(st.just("expire"), st.just(True), st.just(0)),
    st.tuples(st.just("match"), st.just(True), st.just(0)),
)


async def check_conservation(db: Database) -> None:
    async with db.uow() as uow:
        for model, key in (
            (models.HarvestLot, models.Match.lot_id),
            (models.PurchaseOrder, models.Match.order_id),
        ):
            for row in await uow.session.scalars(select(model)):
                live = await uow.session.scalar(
                    select(func.coalesce(func.sum(models.Match.kg), 0)).where(
                        key == row.id, models.Match.status.in_(LIVE)
                    )
                )
                assert 0 <= row.remaining_kg <= row.quantity_kg
                assert row.quantity_kg - row.remaining_kg == live, (model.__name__, row.id)


async def scenario(
    template: Path, ops: list[tuple[str, bool, int]], lot_kgs: list[int], order_kgs: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bot.db"
        shutil.copy(template, path)
        db = Database(f"sqlite+aiosqlite:///{path}")
        bot = BotHarness(db, matcher=True)
        matcher = bot.matcher
        assert matcher is not None
        async with db.uow() as uow:
            rep = await uow.users.ensure("telegram", "1", "1", "vi")
            await uow.users.register(
                rep.id,
                name="HTX",
                phone="0912000001",
                role="coop_rep",
                province_code=20,
                ward_code=6463,
                now=bot.clock.now(),
            )
            traders = []
            for i in range(len(order_kgs)):
                t = await uow.users.ensure("telegram", str(10 + i), str(10 + i), "vi")
                await uow.users.register(
                    t.id,
                    name=f"Lái {i}",
                    phone=f"09120000{10 + i}",
                    role="trader",
                    province_code=20,
                    ward_code=6463,
                    now=bot.clock.now(),
                )
                traders.append(t.id)
            point = await uow.points.add(name="Điểm", province_code=20, ward_code=6463, status="active")
            for kg in lot_kgs:
                await uow.lots.add(
                    owner_id=rep.id,
                    product_code="na",
                    quantity_kg=kg,
                    grade="1",
                    certifications=[],
                    collection_point_id=point.id,
                    ready_from=DAY,
                    ready_to=DAY + dt.timedelta(days=3),
                    asking_price=None,
                )
            for t, kg in zip(traders, order_kgs, strict=True):
                await uow.orders.add(
                    trader_id=t,
                    product_code="na",
                    quantity_kg=kg,
                    price=30_000,
                    min_lot_kg=0,
                    pickup_from=DAY,
                    pickup_to=DAY + dt.timedelta(days=3),
                    provinces=[20],
                    collection_points=[],
                    grades=[],
                    required_certs=[],
                )
        await matcher.replan()
        await check_conservation(db)
        for kind, yes, index in ops:
            async with db.uow() as uow:
                ids = list(await uow.session.scalars(select(models.Match.id).order_by(models.Match.id)))
            if kind == "expire":
                bot.clock.advance(dt.timedelta(hours=30))
                await expire_proposals(bot.services)
            elif kind == "match":
                await bot.settle()
            elif ids:
                match_id = ids[index % len(ids)]
                async with db.uow() as uow:
                    m = await uow.matches.get(match_id)
                    lot, order = await uow.lots.get(m.lot_id), await uow.orders.get(m.order_id)
                    who = await uow.users.get(lot.owner_id if kind == "rep" else order.trader_id)
                    decision = (
                        Decision.CANCEL if kind == "cancel" else Decision.ACCEPT if yes else Decision.DECLINE
                    )
                    await decide(uow, match_id, who, decision, now=bot.clock.now())
            await check_conservation(db)
        await bot.settle()
        await check_conservation(db)
        await db.dispose()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(op, max_size=10),
    lot_kgs=st.lists(st.integers(100, 3000), min_size=1, max_size=3),
    order_kgs=st.lists(st.integers(100, 3000), min_size=1, max_size=3),
)
def test_volume_is_conserved_across_propose_decline_cancel_and_expire(
    sqlite_template: Path, ops: list[tuple[str, bool, int]], lot_kgs: list[int], order_kgs: list[int]
) -> None:
    asyncio.run(scenario(sqlite_template, ops, lot_kgs, order_kgs))
