"""The season in one story: typed lines become a lot and orders, the matcher proposes, a trader
declines, the next one accepts, picks a pickup slot, and everyone is reminded on time."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.domain_events import LotChanged, OrderChanged, emit
from bot.events import Reply
from bot.presentation.market import send_pickup_reminders
from storage.uow import Database
from tests.harness import TZ, BotHarness, Person


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    return BotHarness(database, matcher=True)  # the matcher runs on the domain events


async def outbox_replies(bot: BotHarness, person: Person) -> list[Reply]:
    async with bot.db.uow() as uow:
        return [Reply.from_json(i.payload) for i in await uow.outbox.for_chat(person.channel, person.user_id)]


async def press_in_notification(bot: BotHarness, person: Person, label: str) -> None:
    """The person presses a button of the latest notification that has it."""
    for reply in reversed(await outbox_replies(bot, person)):
        for choice in reply.choices:
            if label in choice.label:
                await person.sends_payload(choice.payload)
                return
    raise AssertionError(f"no {label!r} button in {person.key}'s notifications")


async def test_one_typed_line_each_becomes_a_lot_and_orders_that_meet_and_get_a_pickup_slot(
    bot: BotHarness,
) -> None:
    await bot.add_point("Chợ Đồng Mỏ")
    rep, lai1, lai2 = bot.person("801"), bot.person("802"), bot.person("803")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000801")
    await bot.register(lai1, role_label="Thương lái", name="Lái Một", phone="0912000802")
    await bot.register(lai2, role_label="Thương lái", name="Lái Hai", phone="0912000803")

    # The rep types one line; only the collection point and the household shares are still asked.
    await rep.says("HTX em co 2 tan na loai 1, mai thu, gia 25k")
    assert "điểm tập kết" in rep.plain
    await rep.presses("Chợ Đồng Mỏ")
    if "nhiều hộ" in rep.plain:
        await rep.presses("Không chia")
    assert "Lô hàng của bạn" in rep.plain and "2.000 kg" in rep.plain and "11/09/2026" in rep.plain
    await rep.presses("Xác nhận")
    assert "Đã lưu lô" in rep.plain

    # Two traders post orders by typing one line each; the higher price is proposed first.
    for lai, line in (
        (lai1, "can mua 2 tan na gia 30k tu 11 den 14/9 o lang son"),
        (lai2, "Cần mua 2 tấn na giá 28k từ 11 đến 14/9 ở Lạng Sơn"),
    ):
        await lai.says(line)
        assert "Đơn đặt mua của bạn" in lai.plain, lai.plain
        await lai.presses("Xác nhận")
    proposal = (await bot.outbox_texts(rep))[-1].replace("\xa0", " ")
    assert "Đề xuất ghép đơn" in proposal and "Người mua: Lái Một" in proposal and "30.000 ₫/kg" in proposal

    # The first trader declines: the lot goes to the second at once.
    await press_in_notification(bot, lai1, "Từ chối")
    proposal = (await bot.outbox_texts(rep))[-1].replace("\xa0", " ")
    assert "Người mua: Lái Hai" in proposal and "28.000 ₫/kg" in proposal

    await press_in_notification(bot, rep, "Đồng ý")
    await press_in_notification(bot, lai2, "Đồng ý")
    assert "Đơn đã chốt" in lai2.plain and "chọn giờ lấy hàng" in lai2.plain

    # The trader picks a slot; the rep learns who comes when.
    await lai2.presses("Chọn giờ lấy hàng")
    assert "Chọn giờ lấy" in lai2.plain and "11/09/2026" in lai2.plain
    first_slot = lai2.buttons[0]
    await lai2.presses(first_slot)
    assert "Đã đặt giờ lấy hàng" in lai2.plain
    told = (await bot.outbox_texts(rep))[-1].replace("\xa0", " ")
    assert "Lái Hai sẽ đến Chợ Đồng Mỏ" in told and "2.000 kg Na" in told

    # 18:00 the evening before: both are reminded, the rep with what to bring.
    bot.clock.set(dt.datetime(2026, 9, 10, 18, 0, tzinfo=TZ))
    assert await send_pickup_reminders(bot.services) >= 2
    reminder = (await bot.outbox_texts(rep))[-1].replace("\xa0", " ")
    assert "2.000 kg" in reminder and "Chợ Đồng Mỏ" in reminder
    assert await send_pickup_reminders(bot.services) == 0  # never twice

    async with bot.db.uow() as uow:
        matches = [await uow.matches.get(i) for i in (1, 2)]
    assert [m.status for m in matches] == ["declined", "scheduled"]


async def test_a_price_question_typed_freely_is_answered(bot: BotHarness) -> None:
    nong = bot.person("810")
    await bot.register(nong, role_label="Nông dân", name="Nông Văn Dân", phone="0912000810")
    await nong.says("gia na hom nay bn")
    assert "chưa có giá tham chiếu" in nong.plain.lower()
    async with bot.db.uow() as uow:
        await uow.prices.add(
            product_code="na", province_code=20, price=30_000, valid_from=dt.date(2026, 9, 1), set_by=None
        )
    await nong.says("giá na hôm nay bao nhiêu?")
    assert "30.000 ₫/kg" in nong.plain


async def test_on_zalo_a_typed_number_answers_the_latest_proposal(bot: BotHarness) -> None:
    point = await bot.add_point("Chợ Đồng Mỏ")
    rep, lai = bot.person("zr1", channel="zalo"), bot.person("820")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Zalo", phone="0912000820")
    await bot.register(lai, role_label="Thương lái", name="Lái Ba", phone="0912000821")
    async with bot.db.uow() as uow:
        owner = await uow.users.by_external("zalo", "zr1")
        trader = await uow.users.by_external("telegram", "820")
        lot = await uow.lots.add(
            owner_id=owner.id,
            product_code="na",
            quantity_kg=1000,
            grade="1",
            certifications=[],
            collection_point_id=point.id,
            ready_from=dt.date(2026, 9, 11),
            ready_to=dt.date(2026, 9, 12),
            asking_price=None,
        )
        order = await uow.orders.add(
            trader_id=trader.id,
            product_code="na",
            quantity_kg=1000,
            price=30_000,
            min_lot_kg=0,
            pickup_from=dt.date(2026, 9, 11),
            pickup_to=dt.date(2026, 9, 12),
            provinces=[20],
            collection_points=[],
            grades=[],
            required_certs=[],
        )
        await emit(uow, LotChanged(lot.id))
        await emit(uow, OrderChanged(order.id))
    await bot.settle()
    assert "Đề xuất ghép đơn" in (await bot.outbox_texts(rep))[-1]
    await rep.says("1")  # "1. ✅ Đồng ý" as Zalo shows it
    assert "Đang chờ bên kia" in rep.plain
