"""Editing after posting: a lot's or an order's price and window changed from /cuatoi (the rest
re-matched on the new terms); a smaller volume or a new price on an accepted deal asked of the
other side, who agrees or not (by button, number or words); /dexuat, the list of what waits for
a person's answer; and nobody else answering for them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.presentation.amendments import DecideAmendment
from bot.services.amendments import expire_amendments
from bot.services.matches import Decision, decide
from storage import dto, models
from storage.uow import Database
from tests.harness import BotHarness, Person
from tests.test_matching_lifecycle import check_conservation
from tests.test_matching_service import add_lot, add_order, live_matches, outbox_texts, uid


@pytest.fixture
async def market(database: Database) -> tuple[BotHarness, dto.CollectionPoint, Person, Person]:
    """A coop rep and a trader on Telegram, a collection point, the matcher running."""
    bot = BotHarness(database, matcher=True)
    rep, trader = bot.person("701"), bot.person("702")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000701")
    await bot.register(trader, role_label="Thương lái", name="Lái Bốn", phone="0912000702")
    point = await bot.add_point("Chợ Đồng Mỏ")
    return bot, point, rep, trader


async def accept_both(bot: BotHarness, match_id: int, *people: Person) -> None:
    """Both sides say yes (as their ✅ buttons would)."""
    for person in people:
        async with bot.db.uow() as uow:
            user = await uow.users.by_external(person.channel, person.user_id)
            assert user is not None
            await decide(uow, match_id, user, Decision.ACCEPT, now=bot.clock.now())
    await bot.settle()


async def row(bot: BotHarness, model: type, entity_id: int):  # type: ignore[no-untyped-def]
    async with bot.db.uow() as uow:
        return await uow.session.get(model, entity_id)


async def amendments(bot: BotHarness) -> list[models.Amendment]:
    async with bot.db.uow() as uow:
        return list(await uow.session.scalars(select(models.Amendment).order_by(models.Amendment.id)))


async def test_a_new_asking_price_lets_an_open_lot_meet_an_order(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, rep, trader = market
    lot_id = await add_lot(bot, rep, point, 1000, asking=35_000)
    await add_order(bot, trader, 800, 30_000)
    assert await live_matches(bot) == []  # the trader offers less than the rep asks

    await rep.says("/cuatoi")
    await rep.presses("Đổi giá")
    assert "giá hiện tại 35.000 ₫/kg" in rep.plain
    await rep.says("500k")
    assert "không hợp lý cho Na" in rep.plain and "Giá mới" in rep.plain
    await rep.says("28k")
    assert f"Đã đổi giá #{lot_id} từ 35.000 ₫/kg thành 28.000 ₫/kg" in rep.plain
    [match] = await live_matches(bot)  # re-matched at once, at the trader's price
    assert (match.lot_id, match.kg, match.price, match.status) == (lot_id, 800, 30_000, "proposed")
    assert (await row(bot, models.HarvestLot, lot_id)).asking_price == 28_000
    assert any("Đề xuất ghép đơn" in t for t in await outbox_texts(bot, rep))


async def test_a_trader_raises_the_price_in_words_and_meets_the_lot(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, rep, trader = market
    lot_id = await add_lot(bot, rep, point, 1000, asking=28_000)
    order_id = await add_order(bot, trader, 1000, 25_000)
    assert await live_matches(bot) == []
    await trader.says("/cuatoi")
    await trader.presses("Đổi giá")
    await trader.says("hai mươi tám nghìn")
    assert f"Đã đổi giá #{order_id} từ 25.000 ₫/kg thành 28.000 ₫/kg" in trader.plain
    [match] = await live_matches(bot)
    assert (match.lot_id, match.order_id, match.price) == (lot_id, order_id, 28_000)


async def test_a_new_window_lets_an_open_lot_meet_a_later_order(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, rep, trader = market
    lot_id = await add_lot(bot, rep, point, 1000)  # ready 10–13/9
    order_id = await add_order(bot, trader, 1000, 30_000, settle=False)
    async with bot.db.uow() as uow:  # the trader picks up from the 20th only
        await uow.orders.change(order_id, pickup_from=dt.date(2026, 9, 20), pickup_to=dt.date(2026, 9, 24))
    await bot.settle()
    assert await live_matches(bot) == []

    await rep.says("/cuatoi")
    await rep.presses("Đổi ngày")
    assert "hiện 10/09/2026 – 13/09/2026" in rep.plain
    await rep.says("1/9")
    assert "đã qua" in rep.plain
    await rep.says("20-30/9")
    assert "chỉ giữ được khoảng 5 ngày" in rep.plain
    await rep.says("từ 20 đến 22/9")
    assert f"Đã đổi thời gian #{lot_id}: 20/09/2026 – 22/09/2026" in rep.plain
    lot = await row(bot, models.HarvestLot, lot_id)
    assert (lot.ready_from, lot.ready_to) == (dt.date(2026, 9, 20), dt.date(2026, 9, 22))
    [match] = await live_matches(bot)
    assert (match.lot_id, match.order_id, match.kg) == (lot_id, order_id, 1000)
    async with bot.db.uow() as uow:
        [change] = [e for e in await uow.events.history("lot", lot_id) if e.action == "change_window"]
    assert change.details == {"old": ["2026-09-10", "2026-09-13"], "new": ["2026-09-20", "2026-09-22"]}


async def made_deal(bot: BotHarness, point: dto.CollectionPoint, rep: Person, trader: Person) -> models.Match:
    """A 1.000 kg lot, a 600 kg order, the proposal accepted by both."""
    await add_lot(bot, rep, point, 1000)
    await add_order(bot, trader, 600, 30_000)
    [match] = await live_matches(bot)
    await accept_both(bot, match.id, rep, trader)
    [match] = await live_matches(bot)
    assert match.status == "accepted"
    return match


async def test_a_smaller_lot_than_promised_is_asked_and_agreed(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, rep, trader = market
    match = await made_deal(bot, point, rep, trader)
    await rep.says("/cuatoi")
    await rep.presses("Đổi KL")
    assert "đã hứa bán 600 kg" in rep.plain
    await rep.says("3 tạ")
    assert "không ghép thêm" in rep.plain and "1 đơn đã chốt được hỏi" in rep.plain
    lot = await row(bot, models.HarvestLot, match.lot_id)
    assert (lot.quantity_kg, lot.remaining_kg) == (600, 0)  # the unpromised 400 kg are off the market
    assert (await row(bot, models.Match, match.id)).kg == 600  # the deal has not changed yet
    [asked] = await amendments(bot)
    assert (asked.kind, asked.old_value, asked.new_value, asked.status) == ("kg", 600, 300, "pending")
    [question] = [t for t in await outbox_texts(bot, trader) if "đề nghị" in t]
    assert (
        f"HTX Na Chi Lăng đề nghị đổi khối lượng đơn #{match.id} từ 600 kg thành 300 kg. Đồng ý?" in question
    )

    await trader.presses_in(next(r for r in await bot.notifications(trader) if "đề nghị" in r.text), "Đồng ý")
    assert f"Bạn đã đồng ý. Đơn #{match.id} giờ là 300 kg giá 30.000 ₫/kg" in trader.plain
    changed = await row(bot, models.Match, match.id)
    lot = await row(bot, models.HarvestLot, match.lot_id)
    order = await row(bot, models.PurchaseOrder, match.order_id)
    assert (changed.kg, changed.status) == (300, "accepted")
    assert (lot.quantity_kg, lot.remaining_kg) == (300, 0)
    assert (order.quantity_kg, order.remaining_kg) == (600, 300)  # the trader can buy 300 kg elsewhere
    await check_conservation(bot.db)
    assert any("HTX Na Chi Lăng" not in t and "Lái Bốn đã đồng ý" in t for t in await outbox_texts(bot, rep))
    async with bot.db.uow() as uow:
        actions = [e.action for e in await uow.audit.recent(limit=10, offset=0)]
    assert "amendment_accepted" in actions and "amendment_proposed" in actions

    # pressed again: nothing changes twice
    await trader.sends_payload(bot.services.codec.encode(DecideAmendment(asked.id, True)))
    assert "đã được trả lời" in trader.plain
    assert (await row(bot, models.Match, match.id)).kg == 300


async def test_a_refused_change_leaves_the_deal_as_it_was(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, rep, trader = market
    match = await made_deal(bot, point, rep, trader)
    await trader.says("/cuatoi")
    await trader.presses("Đổi giá")
    await trader.says("27.000")
    assert "Các đơn đã chốt chưa đổi: bên kia của 1 đơn được hỏi" in trader.plain
    assert (await row(bot, models.PurchaseOrder, match.order_id)).price == 27_000  # for new proposals
    [question] = [t for t in await outbox_texts(bot, rep) if "đề nghị" in t]
    assert f"Lái Bốn đề nghị đổi giá đơn #{match.id} từ 30.000 ₫/kg thành 27.000 ₫/kg. Đồng ý?" in question
    assert "tổng từ 18.000.000 ₫ thành 16.200.000 ₫" in question

    await rep.presses_in(next(r for r in await bot.notifications(rep) if "đề nghị" in r.text), "Không")
    assert "Bạn đã không đồng ý" in rep.plain
    kept = await row(bot, models.Match, match.id)
    assert (kept.kg, kept.price, kept.status) == (600, 30_000, "accepted")
    assert any(
        f"HTX Na Chi Lăng không đồng ý đổi giá đơn #{match.id}. Đơn giữ nguyên giá 30.000 ₫/kg" in t
        for t in await outbox_texts(bot, trader)
    )
    [refused] = await amendments(bot)
    assert refused.status == "declined"
    await check_conservation(bot.db)


async def test_an_unanswered_change_lapses(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, rep, trader = market
    match = await made_deal(bot, point, rep, trader)
    await trader.says("/cuatoi")
    await trader.presses("Đổi KL")
    await trader.says("200kg")
    bot.clock.advance(dt.timedelta(hours=25))
    assert await expire_amendments(bot.services) == 1
    await bot.settle()
    assert any("đã hết hạn vì bên kia chưa trả lời" in t for t in await outbox_texts(bot, trader))
    assert (await row(bot, models.Match, match.id)).kg == 600
    await rep.says("/dexuat")
    assert "Bạn không có đề xuất nào đang chờ." in rep.plain
    assert await expire_amendments(bot.services) == 0


async def test_a_change_is_answered_on_zalo_by_number_and_by_words(database: Database) -> None:
    bot = BotHarness(database, matcher=True)
    rep, trader = bot.person("711"), bot.person("712", channel="zalo")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Văn Lãng", phone="0912000711")
    await bot.register(trader, role_label="Thương lái", name="Lái Năm", phone="0912000712")
    point = await bot.add_point("Chợ Đồng Mỏ")
    match = await made_deal(bot, point, rep, trader)

    await rep.says("/cuatoi")
    await rep.presses("Đổi KL")
    await rep.says("500")
    [question] = [r for r in await bot.notifications(trader) if "đề nghị" in r.text]
    assert [c.label for c in question.choices] == ["✅ Đồng ý", "❌ Không"]
    await trader.says("1")
    assert "Bạn đã đồng ý" in trader.plain
    assert (await row(bot, models.Match, match.id)).kg == 500

    await rep.says("/cuatoi")
    await rep.presses("Đổi giá")
    await rep.says("32k")  # the rep asks more than the deal's price: the trader is asked
    await trader.says("dong y")
    assert "Bạn đã đồng ý" in trader.plain
    changed = await row(bot, models.Match, match.id)
    assert (changed.kg, changed.price) == (500, 32_000)
    await check_conservation(bot.db)


async def test_dexuat_lists_proposals_and_answers_them(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, rep, trader = market
    await rep.says("/dexuat")
    assert "Bạn không có đề xuất nào đang chờ." in rep.plain
    await add_lot(bot, rep, point, 1000)
    await add_order(bot, trader, 600, 30_000)
    [match] = await live_matches(bot)

    await rep.says("/dexuat")
    assert "Đang chờ bạn trả lời (1)" in rep.plain
    assert f"Đề xuất #{match.id}: Na 600 kg, giá 30.000 ₫/kg – Lái Bốn" in rep.plain
    await rep.presses(f"#{match.id} ✅ Đồng ý")
    assert "Bạn đã đồng ý. Đang chờ bên kia trả lời." in rep.plain
    await rep.says("/dexuat")
    assert "Bạn không có đề xuất nào đang chờ." in rep.plain

    await trader.says("/dexuat")
    await trader.presses("Đồng ý")
    assert "Đơn đã chốt" in trader.plain
    # A change asked of the trader waits in /dexuat too, and is answered from there.
    await rep.says("/cuatoi")
    await rep.presses("Đổi KL")
    await rep.says("400")
    await trader.says("/dexuat")
    assert f"Đổi khối lượng đơn #{match.id}: 600 kg → 400 kg – HTX Na Chi Lăng" in trader.plain
    await trader.presses("Không")
    assert "Bạn đã không đồng ý" in trader.plain
    assert (await row(bot, models.Match, match.id)).kg == 600


async def test_only_the_side_asked_may_answer_a_change(market) -> None:  # type: ignore[no-untyped-def]
    bot, point, rep, trader = market
    stranger = bot.person("703")
    await bot.register(stranger, role_label="Thương lái", name="Lái Lạ", phone="0912000703")
    match = await made_deal(bot, point, rep, trader)
    await rep.says("/cuatoi")
    await rep.presses("Đổi KL")
    await rep.says("300")
    [asked] = await amendments(bot)
    yes = bot.services.codec.encode(DecideAmendment(asked.id, True))

    await stranger.sends_payload(yes)  # another trader, with a forwarded button
    assert "không phải để bạn trả lời" in stranger.plain
    await rep.sends_payload(yes)  # the one who asked cannot agree for the other side
    assert "không phải để bạn trả lời" in rep.plain
    trader_id = await uid(bot, trader)
    async with bot.db.uow() as uow:  # the trader is no longer a trader
        await uow.users.update(trader_id, role="farmer")
    await trader.sends_payload(yes)
    assert "chỉ dành cho" in trader.plain
    assert (await row(bot, models.Match, match.id)).kg == 600
    assert (await amendments(bot))[0].status == "pending"

    async with bot.db.uow() as uow:  # a trader again; the deal is cancelled meanwhile
        await uow.users.update(trader_id, role="trader")
        await uow.matches.transition(match.id, ("accepted",), status="cancelled")
    await trader.sends_payload(yes)
    assert "không còn thay đổi được" in trader.plain
    assert (await amendments(bot))[0].status == "void"
