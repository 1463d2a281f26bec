"""/cuatoi and the life of lots and orders after they are posted: paging, changing the volume,
extending, cancelling, expiry by the clock; and the whole story of a pooled coop lot meeting an order."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.handlers.mine import Do, MineItem
from bot.services.expiry import expire_due
from storage import dto, models
from storage.uow import Database
from tests.harness import BotHarness, Person
from tests.test_lots import market_events

TODAY = dt.date(2026, 9, 10)


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    harness = BotHarness(database)
    await harness.add_point("Điểm tập kết UBND Văn Lãng", ward_code=6154)
    return harness


async def register(bot: BotHarness, uid: str, role: str, name: str) -> tuple[Person, dto.User]:
    person = bot.person(uid)
    await bot.register(person, role_label=role, name=name, phone=f"0912{uid.zfill(6)}", ward="Văn Lãng")
    return person, await bot.user(person)


async def add_lot(
    bot: BotHarness,
    owner: dto.User,
    *,
    product: str = "na",
    kg: int = 1000,
    days: int = 2,
    shares: tuple[dto.LotShare, ...] = (),
) -> dto.Lot:
    async with bot.db.uow() as uow:
        return await uow.lots.add(
            shares=shares,
            owner_id=owner.id,
            product_code=product,
            quantity_kg=kg,
            grade="1",
            certifications=[],
            collection_point_id=bot.points["Điểm tập kết UBND Văn Lãng"].id,
            ready_from=TODAY,
            ready_to=TODAY + dt.timedelta(days=days),
            asking_price=None,
        )


async def add_order(bot: BotHarness, trader: dto.User, *, kg: int = 5000, days: int = 2) -> dto.Order:
    async with bot.db.uow() as uow:
        return await uow.orders.add(
            trader_id=trader.id,
            product_code="na",
            quantity_kg=kg,
            price=30_000,
            min_lot_kg=0,
            pickup_from=TODAY,
            pickup_to=TODAY + dt.timedelta(days=days),
            provinces=[20],
            collection_points=[],
            grades=["1"],
            required_certs=[],
        )


async def lot_row(bot: BotHarness, lot_id: int) -> models.HarvestLot:
    async with bot.db.uow() as uow:
        row = await uow.session.get(models.HarvestLot, lot_id)
    assert row is not None
    return row


async def order_row(bot: BotHarness, order_id: int) -> models.PurchaseOrder:
    async with bot.db.uow() as uow:
        row = await uow.session.get(models.PurchaseOrder, order_id)
    assert row is not None
    return row


async def history(bot: BotHarness, entity: str, entity_id: int) -> list[dto.EntityEvent]:
    async with bot.db.uow() as uow:
        return await uow.events.history(entity, entity_id)


async def test_seven_lots_are_shown_five_a_page(bot: BotHarness) -> None:
    an, user = await register(bot, "801", "Nông dân", "Nguyễn Văn An")
    await an.says("/cuatoi")
    assert "chưa có lô hàng nào đang mở" in an.plain
    lots = [await add_lot(bot, user, kg=100 * (i + 1)) for i in range(7)]
    await an.presses("Của tôi")
    assert "Lô hàng đang mở của bạn (7), trang 1/2" in an.plain
    assert "#7 Na – còn 700 kg/700 kg · Loại 1 · 10/09/2026 – 12/09/2026 · Đang mở" in an.plain
    assert "#3 Na" in an.plain and "#2 Na" not in an.plain
    assert an.buttons[:5] == ["#7 Đổi KL", "#7 Gia hạn", "#7 Hủy", "#7 Đổi giá", "#7 Đổi ngày"]
    assert an.buttons[-1] == "Sau »" and len(an.buttons) == 26
    await an.presses("Sau »")
    assert "trang 2/2" in an.plain and "#2 Na" in an.plain and "#1 Na" in an.plain and "#3 Na" not in an.plain
    assert an.buttons[-1] == "« Trước" and len(an.buttons) == 11
    await an.presses("« Trước")
    assert "trang 1/2" in an.plain
    await an.says("mấy giờ rồi")
    assert "chọn một mục" in an.plain
    assert len(lots) == 7


async def test_lot_volume_cannot_drop_below_what_is_promised(bot: BotHarness) -> None:
    an, user = await register(bot, "802", "Nông dân", "Nguyễn Văn An")
    lot = await add_lot(bot, user, kg=1000)
    async with bot.db.uow() as uow:
        assert await uow.lots.take(lot.id, 400)  # a match took 400 kg
    await an.says("/cuatoi")
    assert "còn 600 kg/1.000 kg" in an.plain and "Đã ghép một phần" in an.plain
    await an.presses(f"#{lot.id} Đổi KL")
    assert "hiện 1.000 kg, đã hứa bán 400 kg" in an.plain
    await an.says("3 tạ")
    assert "Không thể giảm xuống 300 kg: đã hứa bán 400 kg" in an.plain and "Khối lượng mới" in an.plain
    await an.says("0")
    assert "lớn hơn 0" in an.plain
    await an.says("1,5 tấn")
    assert (
        "Đã đổi khối lượng #1 từ 1.000 kg thành 1.500 kg" in an.plain and "còn 1.100 kg/1.500 kg" in an.plain
    )
    row = await lot_row(bot, lot.id)
    assert (row.quantity_kg, row.remaining_kg, row.status) == (1500, 1100, "partly_matched")
    [change] = await history(bot, "lot", lot.id)  # set up without the flow: no "create" event
    assert (change.action, change.actor_id, change.details) == (
        "change_volume",
        user.id,
        {"old": 1000, "new": 1500},
    )
    assert await market_events(bot) == [("lot", lot.id)]


async def test_extend_and_cancel_a_lot(bot: BotHarness) -> None:
    an, user = await register(bot, "803", "Nông dân", "Nguyễn Văn An")
    lot = await add_lot(bot, user, days=2)  # na, 10–12/9; na keeps 5 days
    await an.says("/cuatoi")
    await an.presses("Gia hạn")
    assert "đang đến 12/09/2026" in an.plain
    await an.says("20/9")
    assert "chậm nhất đến 15/09/2026" in an.plain and "Gia hạn đến ngày nào" in an.plain
    await an.says("11/9")
    assert "phải sau 12/09/2026" in an.plain
    await an.presses("Thêm 3 ngày")
    assert "Đã gia hạn #1 đến 15/09/2026" in an.plain
    assert str((await lot_row(bot, lot.id)).ready_to) == "2026-09-15"

    await an.presses(f"#{lot.id} Hủy")
    assert "Chọn hoặc gõ lý do" in an.plain
    await an.presses("Quay lại")
    assert "Lô hàng đang mở" in an.plain
    [listed] = an.replies
    await an.says("/menu")  # moves on; the list's buttons are still in the chat above
    await an.presses_in(listed, f"#{lot.id} Hủy")
    assert "Chọn hoặc gõ lý do" in an.plain
    await an.presses("Đã bán nơi khác")
    assert "Đã hủy #1. Lý do: Đã bán nơi khác." in an.plain and "chưa có lô hàng nào đang mở" in an.plain
    row = await lot_row(bot, lot.id)
    assert (row.status, row.cancel_reason) == ("cancelled", "Đã bán nơi khác")
    actions = [(e.action, e.details) for e in await history(bot, "lot", lot.id)]
    assert actions == [
        ("extend", {"old": "2026-09-12", "new": "2026-09-15"}),
        ("cancel", {"old": "open", "new": "cancelled", "reason": "Đã bán nơi khác"}),
    ]
    assert await market_events(bot) == [("lot", lot.id), ("lot", lot.id)]


async def test_pooled_lot_volume_change_asks_the_shares_again(bot: BotHarness) -> None:
    hung, user = await register(bot, "804", "Đại diện HTX", "HTX Văn Lãng")
    lot = await add_lot(
        bot,
        user,
        product="hong_vanh_khuyen",
        kg=1000,
        shares=(dto.LotShare("Hộ Tú", None, 600), dto.LotShare("Hộ Mai", None, 400)),
    )
    await hung.says("/cuatoi")
    await hung.presses("Đổi KL")
    await hung.says("1,2 tấn")
    assert "Còn lại chưa chia: 1.200 kg" in hung.plain and "Không chia theo hộ" not in hung.buttons
    await hung.says("Hộ Tú 700")
    await hung.presses("Xong")
    assert "còn thiếu 500 kg" in hung.plain
    await hung.says("Hộ Mai 500")
    await hung.presses("Xong")
    assert "Đã đổi khối lượng #1 từ 1.000 kg thành 1.200 kg" in hung.plain
    async with bot.db.uow() as uow:
        shares = await uow.lots.shares(lot.id)
    assert [(s.household, s.kg) for s in shares] == [("Hộ Tú", 700), ("Hộ Mai", 500)]
    assert (await lot_row(bot, lot.id)).quantity_kg == 1200


async def test_trader_manages_orders(bot: BotHarness) -> None:
    binh, user = await register(bot, "805", "Thương lái", "Trần Thị Bình")
    order = await add_order(bot, user, kg=5000)
    async with bot.db.uow() as uow:
        assert await uow.orders.take(order.id, 2000)
    await binh.says("/cuatoi")
    assert "Đơn đặt mua đang mở của bạn (1)" in binh.plain
    assert (
        "#1 Na – còn 3.000 kg/5.000 kg · 30.000 ₫/kg · 10/09/2026 – 12/09/2026 · Đã ghép một phần"
        in binh.plain
    )
    await binh.presses("Đổi KL")
    await binh.says("1 tấn")
    assert "đã hứa bán 2.000 kg" in binh.plain
    await binh.says("4 tấn")
    assert "Đã đổi khối lượng #1 từ 5.000 kg thành 4.000 kg" in binh.plain
    await binh.presses("Gia hạn")
    await binh.says("30/9")
    assert "Đã gia hạn #1 đến 30/09/2026" in binh.plain
    await binh.presses("Hủy")
    assert "Đã mua đủ hàng" in binh.buttons
    await binh.says("Xe hỏng, không đi được")
    assert "Đã hủy #1. Lý do: Xe hỏng, không đi được." in binh.plain
    row = await order_row(bot, order.id)
    assert (row.quantity_kg, row.remaining_kg, str(row.pickup_to), row.status, row.cancel_reason) == (
        4000,
        2000,
        "2026-09-30",
        "cancelled",
        "Xe hỏng, không đi được",
    )
    actions = [e.action for e in await history(bot, "order", order.id)]
    assert actions == ["change_volume", "extend", "cancel"]


async def test_someone_elses_or_a_closed_lot_cannot_be_changed(bot: BotHarness) -> None:
    an, user = await register(bot, "806", "Nông dân", "Nguyễn Văn An")
    other, other_user = await register(bot, "807", "Nông dân", "Lê Thị Hoa")
    theirs = await add_lot(bot, other_user)
    mine = await add_lot(bot, user)
    await an.says("/cuatoi")
    # A button for someone else's lot (signed: as if the list had been forwarded, or the id guessed).
    await an.sends_payload(bot.services.codec.encode(MineItem(Do.CANCEL, theirs.id, 0)))
    assert "Không tìm thấy lô hàng này" in an.plain
    await an.presses(f"#{mine.id} Đổi KL")
    async with bot.db.uow() as uow:  # the scheduler expires it meanwhile
        await uow.lots.close(mine.id, "expired")
    await an.says("2 tấn")
    assert "đã đóng" in an.plain
    assert (await lot_row(bot, theirs.id)).status == "open"
    assert other.user_id == "807"


async def test_lots_and_orders_expire_when_their_window_passes(bot: BotHarness) -> None:
    an, farmer = await register(bot, "808", "Nông dân", "Nguyễn Văn An")
    binh, trader = await register(bot, "809", "Thương lái", "Trần Thị Bình")
    short = await add_lot(bot, farmer, days=1, kg=800)  # ready until 11/9
    long = await add_lot(bot, farmer, days=5)  # until 15/9
    order = await add_order(bot, trader, days=2)  # until 12/9
    assert await expire_due(bot.services) == 0

    bot.clock.advance(dt.timedelta(days=3))  # 13/9
    assert await expire_due(bot.services) == 2
    assert (await lot_row(bot, short.id)).status == "expired"
    assert (await lot_row(bot, long.id)).status == "open"
    assert (await order_row(bot, order.id)).status == "expired"
    await bot.settle()  # the notifications of LotExpired / OrderExpired
    [expired] = await history(bot, "lot", short.id)
    assert (expired.action, expired.actor_id, expired.details["old"], expired.details["new"]) == (
        "expire",
        None,
        "open",
        "expired",
    )
    assert [e.action for e in await history(bot, "order", order.id)] == ["expire"]
    [to_farmer] = await bot.outbox_texts(an)
    assert "Lô #1 (Na, còn 800 kg) đã hết hạn" in to_farmer and "11/09/2026" in to_farmer
    [to_trader] = await bot.outbox_texts(binh)
    assert "Đơn #1 (Na, còn 5.000 kg) đã hết hạn" in to_trader
    assert await market_events(bot) == [("lot", short.id), ("order", order.id)]
    assert await expire_due(bot.services) == 0  # nothing twice

    await an.says("/cuatoi")
    assert "(1)" in an.plain and f"#{long.id} Na" in an.plain and f"#{short.id} Na" not in an.plain


async def test_pooled_lot_and_matching_order_end_to_end(bot: BotHarness) -> None:
    """Done when: a coop rep reports a pooled lot of hồng vành khuyên from two households at a
    collection point, a trader posts an order for it, both show in /cuatoi and are stored in full."""
    hung, rep = await register(bot, "810", "Đại diện HTX", "HTX Hồng Văn Lãng")
    binh, trader = await register(bot, "811", "Thương lái", "Trần Thị Bình")

    await hung.says("/thuhoach")
    await hung.presses("Hồng vành khuyên")
    await hung.says("1,5 tấn")
    await hung.presses("Loại 1")
    await hung.presses("VietGAP")
    await hung.presses("Xong")
    await hung.presses("UBND Văn Lãng")
    await hung.says("15-20/9")
    await hung.says("20.000")
    await hung.says("Hoàng Văn Tú 900\n0987654321 600")
    await hung.presses("Xong")
    assert "Các hộ góp: Hoàng Văn Tú 900 kg; 0987654321 600 kg" in hung.plain
    await hung.presses("Xác nhận")
    assert "Đã lưu lô #1" in hung.plain

    await binh.says("/dathang")
    await binh.says("hồng vành khuyên")
    await binh.says("1,5 tan")
    await binh.says("22k")
    await binh.says("500kg")
    await binh.says("15-20/9")
    await binh.presses("Chọn điểm tập kết cụ thể")
    await binh.presses("UBND Văn Lãng")
    await binh.presses("Xong")
    await binh.presses("Xong")
    await binh.presses("Loại 1")
    await binh.presses("Xong")
    await binh.presses("VietGAP")
    await binh.presses("Xong")
    await binh.presses("Xác nhận")
    assert "Đã lưu đơn #1" in binh.plain

    await hung.says("/cuatoi")
    assert (
        "#1 Hồng vành khuyên – còn 1.500 kg/1.500 kg · Loại 1 · 15/09/2026 – 20/09/2026 · Đang mở"
        in hung.plain
    )
    await binh.says("/cuatoi")
    assert "#1 Hồng vành khuyên – còn 1.500 kg/1.500 kg · 22.000 ₫/kg · 15/09/2026 – 20/09/2026" in binh.plain

    point_id = bot.points["Điểm tập kết UBND Văn Lãng"].id
    lot = await lot_row(bot, 1)
    assert {
        "owner_id": lot.owner_id,
        "product_code": lot.product_code,
        "quantity_kg": lot.quantity_kg,
        "remaining_kg": lot.remaining_kg,
        "grade": lot.grade,
        "certifications": lot.certifications,
        "growing_area_code": lot.growing_area_code,
        "collection_point_id": lot.collection_point_id,
        "ready_from": lot.ready_from,
        "ready_to": lot.ready_to,
        "asking_price": lot.asking_price,
        "status": lot.status,
        "cancel_reason": lot.cancel_reason,
    } == {
        "owner_id": rep.id,
        "product_code": "hong_vanh_khuyen",
        "quantity_kg": 1500,
        "remaining_kg": 1500,
        "grade": "1",
        "certifications": ["vietgap"],
        "growing_area_code": None,
        "collection_point_id": point_id,
        "ready_from": dt.date(2026, 9, 15),
        "ready_to": dt.date(2026, 9, 20),
        "asking_price": 20_000,
        "status": "open",
        "cancel_reason": None,
    }
    async with bot.db.uow() as uow:
        shares = list(await uow.session.scalars(select(models.LotShare).order_by(models.LotShare.id)))
    assert [(s.lot_id, s.household, s.phone, s.kg) for s in shares] == [
        (1, "Hoàng Văn Tú", None, 900),
        (1, "0987654321", "0987654321", 600),
    ]
    order = await order_row(bot, 1)
    assert {
        "trader_id": order.trader_id,
        "product_code": order.product_code,
        "quantity_kg": order.quantity_kg,
        "remaining_kg": order.remaining_kg,
        "price": order.price,
        "min_lot_kg": order.min_lot_kg,
        "pickup_from": order.pickup_from,
        "pickup_to": order.pickup_to,
        "provinces": order.provinces,
        "collection_points": order.collection_points,
        "grades": order.grades,
        "required_certs": order.required_certs,
        "status": order.status,
    } == {
        "trader_id": trader.id,
        "product_code": "hong_vanh_khuyen",
        "quantity_kg": 1500,
        "remaining_kg": 1500,
        "price": 22_000,
        "min_lot_kg": 500,
        "pickup_from": dt.date(2026, 9, 15),
        "pickup_to": dt.date(2026, 9, 20),
        "provinces": [],
        "collection_points": [point_id],
        "grades": ["1"],
        "required_certs": ["vietgap"],
        "status": "open",
    }
    assert [e.action for e in await history(bot, "lot", 1)] == ["create"]
    assert [e.action for e in await history(bot, "order", 1)] == ["create"]
    assert await market_events(bot) == [("lot", 1), ("order", 1)]


async def test_an_offer_typed_in_the_list_starts_a_new_lot(bot: BotHarness) -> None:
    an, user = await register(bot, "812", "Nông dân", "Nguyễn Văn An")
    await add_lot(bot, user)
    await an.says("/cuatoi")
    assert "Lô hàng đang mở của bạn (1)" in an.plain
    await an.says("nhà em có 3 tạ na, mai thu")  # not about the list: a new request, understood
    assert "loại mấy" in an.plain and "chọn một mục" not in an.plain
    await an.says("loai 1")
    await an.says("1")
    assert "Lô hàng của bạn" in an.plain and "300 kg" in an.plain
    await an.says("luu")
    await an.says("/cuatoi")
    assert "Lô hàng đang mở của bạn (2)" in an.plain


async def test_gia_han_typed(bot: BotHarness) -> None:
    an, user = await register(bot, "813", "Nông dân", "Nguyễn Văn An")
    lot = await add_lot(bot, user, days=2)
    await an.says("/cuatoi")
    await an.says("gia han")  # the only lot: no number needed
    assert "Gia hạn đến ngày nào" in an.plain
    await an.says("them 1 ngay")
    assert f"Đã gia hạn #{lot.id} đến 13/09/2026" in an.plain
    other = await add_lot(bot, user, days=1)
    await an.says("/cuatoi")
    await an.says("gia hạn")  # two lots now: which one?
    assert "Gõ kèm số" in an.plain
    await an.says(f"gia hạn {other.id}")
    await an.says("14/9")
    assert f"Đã gia hạn #{other.id} đến 14/09/2026" in an.plain
    assert await market_events(bot) == [("lot", lot.id), ("lot", other.id)]


async def test_the_list_on_zalo_is_answered_by_number(bot: BotHarness) -> None:
    binh = bot.person("814", channel="zalo")
    await bot.register(
        binh, role_label="Thương lái", name="Trần Thị Bình", phone="0912000814", ward="Văn Lãng"
    )
    order = await add_order(bot, await bot.user(binh), kg=5000)
    await binh.says("/cuatoi")
    assert "Đơn đặt mua đang mở của bạn (1)" in binh.plain
    await binh.says("1")  # #1 Đổi KL
    assert "Khối lượng mới" in binh.plain
    await binh.says("4 tấn")
    assert "Đã đổi khối lượng #1 từ 5.000 kg thành 4.000 kg" in binh.plain
    await binh.says("3")  # #1 Hủy
    await binh.says("2")  # Đổi kế hoạch
    assert "Đã hủy #1. Lý do: Đổi kế hoạch." in binh.plain
    assert (await order_row(bot, order.id)).status == "cancelled"
