"""The matcher inside the bot: proposals in the database and the outbox, answers, re-matching, races."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.domain_events import LotChanged, MatchProposed, OrderChanged, emit
from bot.events import Reply
from bot.matching.service import Matcher
from bot.presentation import notifications
from bot.services.matches import expire_proposals, split_shares
from storage import dto, models
from storage.uow import Database
from tests.harness import BotHarness, Person

SEPT = dt.date(2026, 9, 10)


@pytest.fixture
async def market(database: Database):  # type: ignore[no-untyped-def]
    """A Lạng Sơn market: a coop rep with a collection point, three traders, an official."""
    bot = BotHarness(database, matcher=True)
    rep, t1, t2, t3, official = (bot.person(i) for i in ("601", "602", "603", "604", "605"))
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000601")
    for t, name in ((t1, "Lái Một"), (t2, "Lái Hai"), (t3, "Lái Ba")):
        await bot.register(t, role_label="Thương lái", name=name, phone="09120006" + t.user_id[-2:])
    await bot.register(official, role_label="Nông dân", name="Cán Bộ Sở", phone="0912000605")
    async with database.uow() as uow:
        off = await uow.users.by_external("telegram", "605")
        await uow.users.update(off.id, role="official")
        point = await uow.points.add(name="Chợ Đồng Mỏ", province_code=20, ward_code=6463, status="active")
    return bot, point, (rep, t1, t2, t3, official)


async def uid(bot: BotHarness, person: Person) -> int:
    async with bot.db.uow() as uow:
        return (await uow.users.by_external(person.channel, person.user_id)).id


async def add_lot(
    bot: BotHarness,
    rep: Person,
    point: dto.CollectionPoint,
    kg: int,
    *,
    product: str = "na",
    asking: int | None = 25_000,
    shares: tuple[dto.LotShare, ...] = (),
    settle: bool = True,
) -> int:
    """A lot saved the way the lot flow saves it (LotChanged in the same transaction); the matcher
    runs at once unless ``settle`` is False."""
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
        await emit(uow, LotChanged(lot.id))
    if settle:
        await bot.settle()
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
    settle: bool = True,
) -> int:
    """An order saved the way the order flow saves it (OrderChanged in the same transaction)."""
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
        await emit(uow, OrderChanged(order.id))
    if settle:
        await bot.settle()
    return order.id


async def outbox_texts(bot: BotHarness, person: Person) -> list[str]:
    """Notifications queued for ``person`` (not the answers to what they typed)."""
    # Babel keeps "28.000 ₫" together with a no-break space; compare with plain spaces.
    return [t.replace("\xa0", " ") for t in await bot.outbox_texts(person)]


async def live_matches(bot: BotHarness) -> list[models.Match]:
    async with bot.db.uow() as uow:
        return list(await uow.session.scalars(select(models.Match).order_by(models.Match.id)))


async def notice_with(bot: BotHarness, person: Person, label: str) -> Reply:
    """The latest notification of ``person`` that has a button labelled ``label``."""
    for reply in reversed(await bot.notifications(person)):
        if any(label in c.label for c in reply.choices):
            return reply
    raise AssertionError(f"no {label!r} button in {person.key}'s notifications")


async def press_in_notification(bot: BotHarness, person: Person, label: str) -> None:
    await person.presses_in(await notice_with(bot, person, label), label)


async def test_a_lot_and_an_order_become_a_proposal_both_accept_and_the_deal_is_made(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, *_rest) = market
    lot_id = await add_lot(bot, rep, point, 3000)
    order_id = await add_order(bot, t1, 2000, 28_000)

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
    assert [c.label for c in (await notice_with(bot, rep, "Đồng ý")).choices] == ["✅ Đồng ý", "❌ Từ chối"]

    await press_in_notification(bot, rep, "Đồng ý")
    assert "Đang chờ bên kia" in rep.last
    assert "HTX Na Chi Lăng đã đồng ý đề xuất" in (await outbox_texts(bot, t1))[-1]
    await press_in_notification(bot, t1, "Đồng ý")
    # The side that accepts last gets the other's name and phone too (it used to get neither).
    assert "Đơn đã chốt" in t1.last and "Liên hệ: HTX Na Chi Lăng 0912000601" in t1.last
    assert "Chọn giờ lấy hàng" in t1.buttons
    [match] = await live_matches(bot)
    assert match.status == "accepted" and match.rep_accepted_at and match.trader_accepted_at
    told = (await outbox_texts(bot, rep))[-1]
    assert "đã chốt" in told and "Liên hệ: Lái Một 0912000602" in told
    async with bot.db.uow() as uow:
        lot, order = await uow.lots.get(lot_id), await uow.orders.get(order_id)
    assert (lot.remaining_kg, lot.status, order.remaining_kg, order.status) == (
        1000,
        "partly_matched",
        0,
        "matched",
    )


async def test_a_decline_rematches_the_volume_to_the_next_trader(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, t2, *_rest) = market
    await add_lot(bot, rep, point, 2000)
    await add_order(bot, t1, 2000, 30_000)
    await add_order(bot, t2, 2000, 27_000)
    [first] = await live_matches(bot)
    assert first.order_id and first.price == 30_000  # the higher price wins

    await press_in_notification(bot, rep, "Từ chối")
    assert "từ chối" in rep.last
    matches = await live_matches(bot)
    assert [m.status for m in matches] == ["declined", "proposed"]
    assert matches[1].price == 27_000 and matches[1].kg == 2000
    assert "từ chối" in (await outbox_texts(bot, t1))[-1]


async def test_only_the_two_parties_may_answer(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, t2, _t3, official) = market
    await add_lot(bot, rep, point, 1000)
    await add_order(bot, t1, 1000, 30_000)
    [match] = await live_matches(bot)
    proposal = await notice_with(bot, t1, "Đồng ý")  # forwarded, or a button of someone else's chat
    await t2.presses_in(proposal, "Đồng ý")
    assert "không phải của bạn" in t2.last
    await official.presses_in(proposal, "Đồng ý")
    assert "chỉ dành cho" in official.last
    await t2.says(f"dong y {match.id}")
    assert f"Không tìm thấy đề xuất #{match.id} của bạn" in t2.last
    assert (await live_matches(bot))[0].rep_accepted_at is None


async def test_a_trader_demoted_since_the_proposal_is_refused(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, *_rest) = market
    await add_lot(bot, rep, point, 1000)
    await add_order(bot, t1, 1000, 30_000)
    trader_id = await uid(bot, t1)
    async with bot.db.uow() as uow:  # an admin made them a farmer in the meantime
        await uow.users.update(trader_id, role="farmer")
    await press_in_notification(bot, t1, "Đồng ý")
    assert "chỉ dành cho: Thương lái" in t1.last
    await t1.says(f"đồng ý #{(await live_matches(bot))[0].id}")
    assert "chỉ dành cho: Thương lái" in t1.last
    [match] = await live_matches(bot)
    assert match.status == "proposed" and match.trader_accepted_at is None


async def test_an_answer_to_a_closed_proposal_changes_nothing(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, *_rest) = market
    await add_lot(bot, rep, point, 1000)
    await add_order(bot, t1, 1000, 30_000)
    await press_in_notification(bot, t1, "Từ chối")
    await press_in_notification(bot, rep, "Đồng ý")  # the old button, after the trader declined
    assert "đã được xử lý hoặc đã hết hạn" in rep.last
    [match] = await live_matches(bot)
    assert match.status == "declined" and match.rep_accepted_at is None


async def test_an_order_below_the_gouging_floor_is_held_back_and_officials_are_alerted(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, _t2, _t3, official) = market
    async with bot.db.uow() as uow:
        await uow.prices.add(product_code="na", province_code=20, price=30_000, valid_from=SEPT, set_by=None)
    await add_lot(bot, rep, point, 1000, asking=None)
    order_id = await add_order(bot, t1, 1000, 20_000)  # floor = 30.000 × 0,85 = 25.500
    assert await live_matches(bot) == []
    assert "thấp hơn giá sàn" in (await outbox_texts(bot, t1))[-1]
    assert "25.500 ₫/kg" in (await outbox_texts(bot, t1))[-1]
    assert "Cảnh báo ép giá" in (await outbox_texts(bot, official))[-1]

    # The order is looked at again (an edit elsewhere, a redelivered event): nothing is said twice.
    async with bot.db.uow() as uow:
        await emit(uow, OrderChanged(order_id))
        await emit(uow, OrderChanged(order_id))
    await bot.settle()
    assert len(await outbox_texts(bot, t1)) == 1 and len(await outbox_texts(bot, official)) == 1
    async with bot.db.uow() as uow:
        held = [e for e in await uow.events.history("order", order_id) if e.action == "held_below_floor"]
    assert len(held) == 1


async def test_events_delivered_twice_propose_and_notify_once(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, *_rest) = market
    lot_id = await add_lot(bot, rep, point, 1000)
    order_id = await add_order(bot, t1, 1500, 30_000)
    [match] = await live_matches(bot)
    # At least once: the bus may hand the matcher and the notifications the same event again.
    matcher = bot.matcher
    assert matcher is not None
    for _ in range(2):
        await matcher.on_event(bot.services, LotChanged(lot_id))
        await matcher.on_event(bot.services, OrderChanged(order_id))
        await notifications.on_event(bot.services, MatchProposed(match.id))
    assert [m.id for m in await live_matches(bot)] == [match.id]
    assert len(await outbox_texts(bot, rep)) == 1 and len(await outbox_texts(bot, t1)) == 1
    async with bot.db.uow() as uow:
        assert (await uow.orders.get(order_id)).remaining_kg == 500


async def test_unanswered_proposals_expire_and_the_volume_returns(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, *_rest) = market
    lot_id = await add_lot(bot, rep, point, 1000)
    await add_order(bot, t1, 1000, 30_000)
    bot.clock.advance(dt.timedelta(hours=25))
    assert await expire_proposals(bot.services) == 1
    [match] = await live_matches(bot)
    async with bot.db.uow() as uow:
        lot = await uow.lots.get(lot_id)
    assert match.status == "expired" and lot.remaining_kg == 1000 and lot.status == "open"
    await bot.settle()  # both are told, and the matcher offers the free volume again
    assert any("hết hạn" in t for t in await outbox_texts(bot, rep))
    assert any("hết hạn" in t for t in await outbox_texts(bot, t1))
    assert [m.status for m in await live_matches(bot)] == ["expired", "proposed"]


async def test_a_trader_who_cancels_a_made_deal_is_recorded_and_the_volume_rematched(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, t2, *_rest) = market
    await add_lot(bot, rep, point, 1000)
    await add_order(bot, t1, 1000, 30_000)
    await add_order(bot, t2, 1000, 26_000)
    [m] = [m for m in await live_matches(bot) if m.status == "proposed"]
    await press_in_notification(bot, rep, "Đồng ý")
    await press_in_notification(bot, t1, "Đồng ý")
    await t1.presses("Hủy đơn")
    assert "Đã hủy đơn" in t1.last
    statuses = [(x.order_id, x.status) for x in await live_matches(bot)]
    assert statuses[0] == (m.order_id, "cancelled") and statuses[1][1] == "proposed"
    assert "Lái Một đã hủy đơn" in (await outbox_texts(bot, rep))[-2]
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


async def test_a_pooled_lots_rep_sees_each_households_part_of_the_deal(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, *_rest) = market
    shares = (dto.LotShare("Hộ Lan", None, 600), dto.LotShare("Hộ Minh", None, 400))
    await add_lot(bot, rep, point, 1000, shares=shares)
    await add_order(bot, t1, 500, 30_000)
    await press_in_notification(bot, t1, "Đồng ý")
    await press_in_notification(bot, rep, "Đồng ý")
    assert "Chia theo hộ: Hộ Lan 300 kg, Hộ Minh 200 kg" in rep.last
    assert "Liên hệ: Lái Một 0912000602" in rep.last


async def test_two_matchers_on_one_book_never_promise_more_than_there_is(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, (rep, t1, t2, t3, _o) = market
    # These two start from the database: the events stay queued.
    lots = [await add_lot(bot, rep, point, 700, settle=False) for _ in range(6)]  # 4.200 kg
    for t in (t1, t2, t3):
        await add_order(bot, t, 2000, 30_000, settle=False)  # 6.000 kg wanted
    first, second = Matcher(bot.services), Matcher(bot.services)
    await asyncio.gather(first.replan(), second.replan())
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
