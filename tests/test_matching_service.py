"""The matcher inside the bot: proposals in the database and the outbox, answers, re-matching, races."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.matching.service import Matcher, split_shares, start_matcher, stop_matcher
from bot.services.matches import expire_proposals
from storage import dto, models
from storage.uow import Database
from tests.harness import BotHarness, Person

SEPT = dt.date(2026, 9, 10)


@pytest.fixture
async def market(database: Database):  # type: ignore[no-untyped-def]
    """A Lạng Sơn market: a coop rep with a collection point, three traders, an official."""
    bot = BotHarness(database)
    rep, t1, t2, t3, official = (bot.person(i) for i in ("601", "602", "603", "604", "605"))
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000601")
    for t, name in ((t1, "Lái Một"), (t2, "Lái Hai"), (t3, "Lái Ba")):
        await bot.register(t, role_label="Thương lái", name=name, phone="09120006" + t.user_id[-2:])
    await bot.register(official, role_label="Nông dân", name="Cán Bộ Sở", phone="0912000605")
    async with database.uow() as uow:
        off = await uow.users.by_external("telegram", "605")
        await uow.users.update(off.id, role="official")
        point = await uow.points.add(name="Chợ Đồng Mỏ", province_code=20, ward_code=6463, status="active")
    matcher = Matcher(bot.services)
    bot.services.market_changed = matcher.notify
    return bot, matcher, point, (rep, t1, t2, t3, official)


async def uid(bot: BotHarness, person: Person) -> int:
    async with bot.db.uow() as uow:
        return (await uow.users.by_external("telegram", person.user_id)).id


async def add_lot(
    bot: BotHarness,
    rep: Person,
    point: dto.CollectionPoint,
    kg: int,
    *,
    product: str = "na",
    asking: int | None = 25_000,
    shares: tuple[dto.LotShare, ...] = (),
) -> int:
    owner_id = await uid(bot, rep)
    async with bot.db.uow() as uow:
        lot = await uow.lots.add(
            owner_id=owner_id,
            product_code=product,
            quantity_kg=kg,
            grade="1",
            certifications=[],
            collection_point_id=point.id,
            ready_from=SEPT,
            ready_to=SEPT + dt.timedelta(days=3),
            asking_price=asking,
            shares=shares,
        )
    bot.services.market_changed("lot", lot.id)  # what the lot flow does after its commit
    return lot.id


async def add_order(
    bot: BotHarness,
    trader: Person,
    kg: int,
    price: int,
    *,
    product: str = "na",
    provinces: tuple[int, ...] = (20,),
    min_lot: int = 0,
) -> int:
    trader_id = await uid(bot, trader)
    async with bot.db.uow() as uow:
        order = await uow.orders.add(
            trader_id=trader_id,
            product_code=product,
            quantity_kg=kg,
            price=price,
            min_lot_kg=min_lot,
            pickup_from=SEPT,
            pickup_to=SEPT + dt.timedelta(days=5),
            provinces=list(provinces),
            collection_points=[],
            grades=[],
            required_certs=[],
        )
    bot.services.market_changed("order", order.id)
    return order.id


async def outbox_texts(bot: BotHarness, person: Person) -> list[str]:
    """Notifications queued for ``person`` (not the answers to what they typed)."""
    async with bot.db.uow() as uow:
        # Babel keeps "28.000 ₫" together with a no-break space; compare with plain spaces.
        return [
            i.payload["text"].replace("\xa0", " ")
            for i in await uow.outbox.for_chat("telegram", person.user_id)
            if i.in_reply_to is None
        ]


async def live_matches(bot: BotHarness) -> list[models.Match]:
    async with bot.db.uow() as uow:
        return list(await uow.session.scalars(select(models.Match).order_by(models.Match.id)))


async def test_a_lot_and_an_order_become_a_proposal_both_accept_and_the_deal_is_made(market) -> None:  # type: ignore[no-untyped-def]
    bot, matcher, point, (rep, t1, *_rest) = market
    lot_id = await add_lot(bot, rep, point, 3000)
    order_id = await add_order(bot, t1, 2000, 28_000)
    await matcher.drain()

    [match] = await live_matches(bot)
    assert (match.lot_id, match.order_id, match.kg, match.price, match.status) == (
        lot_id,
        order_id,
        2000,
        28_000,
        "proposed",
    )
    rep_msg = (await outbox_texts(bot, rep))[-1]
    assert "Đề xuất ghép đơn" in rep_msg and "2.000 kg" in rep_msg and "28.000 ₫/kg" in rep_msg
    assert "56.000.000 ₫" in rep_msg and "Chợ Đồng Mỏ" in rep_msg and "Người mua: Lái Một" in rep_msg
    assert "Đề xuất ghép đơn" in (await outbox_texts(bot, t1))[-1]

    await rep.sends_payload(f"mt:a:{match.id}")
    assert "Đang chờ bên kia" in rep.last
    await t1.sends_payload(f"mt:a:{match.id}")
    assert "Đơn đã chốt" in t1.last
    [match] = await live_matches(bot)
    assert match.status == "accepted" and match.rep_accepted_at and match.trader_accepted_at
    assert "đã chốt" in (await outbox_texts(bot, rep))[-1]
    async with bot.db.uow() as uow:
        lot, order = await uow.lots.get(lot_id), await uow.orders.get(order_id)
    assert (lot.remaining_kg, lot.status, order.remaining_kg, order.status) == (
        1000,
        "partly_matched",
        0,
        "matched",
    )


async def test_a_decline_rematches_the_volume_to_the_next_trader(market) -> None:  # type: ignore[no-untyped-def]
    bot, matcher, point, (rep, t1, t2, *_rest) = market
    await add_lot(bot, rep, point, 2000)
    await add_order(bot, t1, 2000, 30_000)
    await add_order(bot, t2, 2000, 27_000)
    await matcher.drain()
    [first] = await live_matches(bot)
    assert first.order_id and first.price == 30_000  # the higher price wins

    await rep.sends_payload(f"mt:d:{first.id}")
    assert "từ chối" in rep.last
    await matcher.drain()
    matches = await live_matches(bot)
    assert [m.status for m in matches] == ["declined", "proposed"]
    assert matches[1].price == 27_000 and matches[1].kg == 2000
    assert "từ chối" in (await outbox_texts(bot, t1))[-1]


async def test_only_the_two_parties_may_answer(market) -> None:  # type: ignore[no-untyped-def]
    bot, matcher, point, (rep, t1, t2, _t3, official) = market
    await add_lot(bot, rep, point, 1000)
    await add_order(bot, t1, 1000, 30_000)
    await matcher.drain()
    [match] = await live_matches(bot)
    await t2.sends_payload(f"mt:a:{match.id}")
    assert "không phải của bạn" in t2.last
    await official.sends_payload(f"mt:a:{match.id}")
    assert "chỉ dành cho" in official.last
    assert (await live_matches(bot))[0].rep_accepted_at is None


async def test_an_order_below_the_gouging_floor_is_held_back_and_officials_are_alerted(market) -> None:  # type: ignore[no-untyped-def]
    bot, matcher, point, (rep, t1, _t2, _t3, official) = market
    async with bot.db.uow() as uow:
        await uow.prices.add(product_code="na", province_code=20, price=30_000, valid_from=SEPT, set_by=None)
    await add_lot(bot, rep, point, 1000, asking=None)
    await add_order(bot, t1, 1000, 20_000)  # floor = 30.000 × 0,85 = 25.500
    await matcher.drain()
    assert await live_matches(bot) == []
    assert "thấp hơn giá sàn" in (await outbox_texts(bot, t1))[-1]
    assert "25.500 ₫/kg" in (await outbox_texts(bot, t1))[-1]
    assert "Cảnh báo ép giá" in (await outbox_texts(bot, official))[-1]


async def test_unanswered_proposals_expire_and_the_volume_returns(market) -> None:  # type: ignore[no-untyped-def]
    bot, matcher, point, (rep, t1, *_rest) = market
    lot_id = await add_lot(bot, rep, point, 1000)
    await add_order(bot, t1, 1000, 30_000)
    await matcher.drain()
    bot.clock.advance(dt.timedelta(hours=25))
    assert await expire_proposals(bot.services) == 1
    [match] = await live_matches(bot)
    async with bot.db.uow() as uow:
        lot = await uow.lots.get(lot_id)
    assert match.status == "expired" and lot.remaining_kg == 1000 and lot.status == "open"
    assert "hết hạn" in (await outbox_texts(bot, rep))[-1]


async def test_a_trader_who_cancels_a_made_deal_is_recorded_and_the_volume_rematched(market) -> None:  # type: ignore[no-untyped-def]
    bot, matcher, point, (rep, t1, t2, *_rest) = market
    await add_lot(bot, rep, point, 1000)
    await add_order(bot, t1, 1000, 30_000)
    await add_order(bot, t2, 1000, 26_000)
    await matcher.drain()
    [m] = [m for m in await live_matches(bot) if m.status == "proposed"]
    await rep.sends_payload(f"mt:a:{m.id}")
    await t1.sends_payload(f"mt:a:{m.id}")
    await t1.sends_payload(f"mt:c:{m.id}")
    assert "Đã hủy đơn" in t1.last
    await matcher.drain()
    statuses = [(x.order_id, x.status) for x in await live_matches(bot)]
    assert statuses[0][1] == "cancelled" and statuses[1][1] == "proposed"
    async with bot.db.uow() as uow:
        audit = await uow.audit.recent()
    assert audit[0].action == "trader_cancelled_match"


async def test_pooled_household_shares_split_in_proportion() -> None:
    shares = [
        dto.LotShare("Hộ A", None, 500),
        dto.LotShare("Hộ B", None, 300),
        dto.LotShare("Hộ C", None, 200),
    ]
    # 166,5 / 99,9 / 66,6: the two largest remainders (B, C) get the two spare kilograms.
    assert split_shares(shares, 1000, 333) == [("Hộ A", 166), ("Hộ B", 100), ("Hộ C", 67)]
    assert sum(n for _, n in split_shares(shares, 1000, 999)) == 999


async def test_two_matchers_on_one_book_never_promise_more_than_there_is(market) -> None:  # type: ignore[no-untyped-def]
    bot, _matcher, point, (rep, t1, t2, t3, _o) = market
    bot.services.market_changed = lambda _kind, _id: None  # these two start from the database
    lots = [await add_lot(bot, rep, point, 700) for _ in range(6)]  # 4.200 kg
    for t in (t1, t2, t3):
        await add_order(bot, t, 2000, 30_000)  # 6.000 kg wanted
    first, second = Matcher(bot.services), Matcher(bot.services)
    await asyncio.gather(first.replan(), second.replan())
    await asyncio.gather(first.drain(), second.drain())
    async with bot.db.uow() as uow:
        total = await uow.session.scalar(
            select(func.sum(models.Match.kg)).where(models.Match.status == "proposed")
        )
        for lot_id in lots:
            lot = await uow.lots.get(lot_id)
            promised = await uow.session.scalar(
                select(func.coalesce(func.sum(models.Match.kg), 0)).where(models.Match.lot_id == lot_id)
            )
            assert lot.quantity_kg - lot.remaining_kg == promised
            assert promised <= lot.quantity_kg
    assert total == 4200  # everything sold once, nothing twice


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_lot_saved_by_one_process_meets_an_order_saved_by_another(market, database: Database) -> None:  # type: ignore[no-untyped-def]
    """Each process's matcher keeps its own book; market events reach the other processes too."""
    bot, _matcher, point, (rep, t1, *_others) = market
    other = BotHarness(database)  # a second bot process on the same PostgreSQL
    (_one, first), (_two, second) = await start_matcher(bot.services), await start_matcher(other.services)
    try:
        for services in (bot.services, other.services):
            await asyncio.wait_for(services.extras["market_feed"].listening.wait(), 10)
        lot_id = await add_lot(bot, rep, point, 2000)  # saved through the first process
        order_id = await add_order(other, t1, 2000, 30_000)  # ... and this through the second
        async with asyncio.timeout(10):
            while not (found := await live_matches(bot)):
                await asyncio.sleep(0.05)
    finally:
        await stop_matcher(first)
        await stop_matcher(second)
    assert [(m.lot_id, m.order_id, m.kg) for m in found] == [(lot_id, order_id, 2000)]
