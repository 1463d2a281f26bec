"""Posting a purchase order (/dathang) as conversations: buttons, typing, bad input, edits, prefill."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.engine.context import Ctx
from bot.engine.router import Command
from bot.handlers.orders import start_order_flow
from storage import models
from storage.uow import Database
from tests.harness import BotHarness, Person
from tests.test_lots import market_events


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    harness = BotHarness(database, admin_ids="telegram:1")
    await harness.add_point("Điểm tập kết chợ Chi Lăng", ward_code=6463)
    await harness.add_point("Điểm tập kết UBND Văn Lãng", ward_code=6154)
    await harness.add_point("Kho Bắc Giang", province_code=24, ward_code=7210)

    async def prefill(ctx: Ctx, args: str) -> None:  # what the free-text parser will do
        await start_order_flow(ctx, json.loads(args or "{}"))

    harness.services.router.command(Command("prefill_order", prefill, "x", in_menu=False))
    return harness


async def trader(bot: BotHarness, uid: str = "701") -> Person:
    person = bot.person(uid)
    await bot.register(person, role_label="Thương lái", name="Trần Thị Bình", phone="0912000701")
    return person


async def order_rows(bot: BotHarness) -> list[models.PurchaseOrder]:
    async with bot.db.uow() as uow:
        return list(await uow.session.scalars(select(models.PurchaseOrder).order_by(models.PurchaseOrder.id)))


async def test_trader_posts_an_order_with_buttons(bot: BotHarness) -> None:
    binh = await trader(bot)
    assert "Đặt mua" in binh.buttons and "Báo thu hoạch" not in binh.buttons
    await binh.presses("Đặt mua")
    assert "cần mua sản phẩm gì" in binh.plain
    await binh.presses("Hồng vành khuyên")
    await binh.says("10 tấn")
    assert "Giá bạn trả" in binh.plain
    await binh.says("18k")
    assert "Lô nhỏ nhất" in binh.plain
    await binh.presses("Không yêu cầu")
    await binh.presses("Ngày mai")
    assert "Bạn mua ở đâu" in binh.plain
    assert binh.buttons[0] == "Tỉnh Lạng Sơn"  # the trader's own province first
    await binh.presses("Tỉnh Lạng Sơn")
    assert "✅ Tỉnh Lạng Sơn" in binh.buttons
    await binh.presses("Chọn điểm tập kết cụ thể")
    await binh.presses("UBND Văn Lãng")
    assert any(b.startswith("✅ Điểm tập kết UBND Văn Lãng") for b in binh.buttons)
    await binh.presses("Xong")
    assert "Điểm tập kết: Điểm tập kết UBND Văn Lãng" in binh.plain
    await binh.presses("Xong")
    assert "loại nào" in binh.plain
    await binh.presses("Loại 1")
    await binh.presses("Loại 2")
    await binh.presses("Xong")
    assert "yêu cầu chứng nhận" in binh.plain
    await binh.presses("VietGAP")
    await binh.presses("Mã số vùng trồng")
    await binh.presses("Xong")
    assert "Đơn đặt mua của bạn" in binh.plain
    for text in (
        "Hồng vành khuyên",
        "10.000 kg",
        "18.000 ₫/kg",
        "Lô tối thiểu: không yêu cầu",
        "11/09/2026",
        "Tỉnh Lạng Sơn; Điểm tập kết UBND Văn Lãng (Xã Văn Lãng)",
        "Loại 1, Loại 2",
        "VietGAP, Mã số vùng trồng",
    ):
        assert text in binh.plain, text
    assert await order_rows(bot) == []
    await binh.presses("Xác nhận")
    assert "Đã lưu đơn #1" in binh.plain
    [order] = await order_rows(bot)
    user = await bot.user(binh)
    assert (order.trader_id, order.product_code, order.quantity_kg, order.remaining_kg, order.price) == (
        user.id,
        "hong_vanh_khuyen",
        10_000,
        10_000,
        18_000,
    )
    assert (order.min_lot_kg, str(order.pickup_from), str(order.pickup_to)) == (0, "2026-09-11", "2026-09-11")
    assert order.provinces == [20] and order.collection_points == [
        bot.points["Điểm tập kết UBND Văn Lãng"].id
    ]
    assert order.grades == ["1", "2"] and order.required_certs == ["vietgap", "growing_area_code"]
    assert order.status == "open"
    assert await market_events(bot) == [("order", order.id)]
    async with bot.db.uow() as uow:
        [event] = await uow.events.history("order", order.id)
    assert (event.action, event.actor_id, event.details["price"]) == ("create", user.id, 18_000)


async def test_trader_types_every_answer_without_diacritics(bot: BotHarness) -> None:
    binh = await trader(bot)
    await binh.says("/dathang")
    await binh.says("hong vanh khuyen")
    await binh.says("10 tan")
    await binh.says("18.000d")
    await binh.says("2 tan")
    await binh.says("tu 15 den 20/9")
    await binh.says("bac ninh")  # another province, typed
    assert "Tỉnh: Thành phố Bắc Ninh" in binh.plain
    await binh.says("lang son")
    await binh.says("xong")
    await binh.says("loai 1, loai 2")
    assert "yêu cầu chứng nhận" in binh.plain
    await binh.says("khong yeu cau")
    assert "Đơn đặt mua của bạn" in binh.plain
    for text in (
        "10.000 kg",
        "18.000 ₫/kg",
        "Lô tối thiểu: 2.000 kg",
        "15/09/2026 – 20/09/2026",
        "Thành phố Bắc Ninh; Tỉnh Lạng Sơn",
        "Chứng nhận yêu cầu: không có",
    ):
        assert text in binh.plain, text
    await binh.says("xac nhan")
    [order] = await order_rows(bot)
    assert (order.min_lot_kg, order.provinces, order.collection_points, order.required_certs) == (
        2000,
        [24, 20],
        [],
        [],
    )


async def test_bad_answers_are_explained_and_only_that_step_is_asked_again(bot: BotHarness) -> None:
    binh = await trader(bot)
    await binh.says("/dathang")
    await binh.says("na")
    for bad, why in (("0 kg", "lớn hơn 0"), ("10001 tấn", "10.000 tấn"), ("vài xe", "chưa hiểu khối lượng")):
        await binh.says(bad)
        assert why in binh.plain and "Bạn cần mua bao nhiêu" in binh.plain, bad
    await binh.says("5 tấn")
    for bad, why in (
        ("500k", "10.000 ₫/kg đến 120.000 ₫/kg"),
        ("-20k", "lớn hơn 0"),
        ("rẻ thôi", "chưa hiểu giá"),
    ):
        await binh.says(bad)
        assert why in binh.plain and "Giá bạn trả" in binh.plain, bad
    await binh.says("30k")
    await binh.says("6 tấn")
    assert "không thể lớn hơn cả đơn hàng" in binh.plain and "Lô nhỏ nhất" in binh.plain
    await binh.says("1 tấn")
    await binh.says("1/9")
    assert "đã qua" in binh.plain and "Khung ngày lấy hàng" in binh.plain
    await binh.says("12-20/9")  # an order has no perishability limit
    await binh.says("Tỉnh Mặt Trăng")
    assert "Không tìm thấy tỉnh" in binh.plain
    await binh.presses("Xong")
    assert "ít nhất một tỉnh hoặc một điểm" in binh.plain and "Bạn mua ở đâu" in binh.plain
    await binh.presses("Tỉnh Lạng Sơn")
    await binh.presses("Chọn điểm tập kết cụ thể")
    await binh.says("kho bac giang")  # a point in Bắc Ninh while only Lạng Sơn is chosen
    assert "ngoài các tỉnh bạn chọn (Tỉnh Lạng Sơn)" in binh.plain
    assert "Chọn điểm tập kết" in binh.plain  # the same step again
    await binh.presses("Xong")
    await binh.says("Bắc Ninh")  # add the province: now the point is allowed
    await binh.presses("Chọn điểm tập kết cụ thể")
    await binh.says("kho bac giang")
    await binh.presses("Xong")
    # Untick Bắc Ninh again: finishing the region must catch the stray point.
    await binh.presses("Thành phố Bắc Ninh")
    await binh.presses("Xong")
    assert "ngoài các tỉnh bạn chọn" in binh.plain and "Chọn điểm tập kết" in binh.plain
    await binh.presses("Kho Bắc Giang")  # untick it
    await binh.presses("Xong")
    await binh.presses("Xong")
    await binh.presses("Xong")
    assert "ít nhất một loại" in binh.plain
    await binh.presses("Nhận mọi loại")
    await binh.presses("Không yêu cầu")
    assert "Đơn đặt mua của bạn" in binh.plain and "Loại 1, Loại 2, Xô" in binh.plain
    await binh.presses("Xác nhận")
    [order] = await order_rows(bot)
    assert (order.quantity_kg, order.price, order.min_lot_kg, order.provinces, order.collection_points) == (
        5000,
        30_000,
        1000,
        [20],
        [],
    )


async def test_edit_and_cancel(bot: BotHarness) -> None:
    binh = await trader(bot)
    await binh.says(
        '/prefill_order {"product": "na", "quantity_kg": 3000, "price_vnd_per_kg": 30000, '
        '"date_from": "2026-09-12", "date_to": "2026-09-14", "province_code": 20}'
    )
    assert "Đơn đặt mua của bạn" in binh.plain
    await binh.presses("Sửa")
    await binh.presses("Giá")
    await binh.says("32k")
    assert "32.000 ₫/kg" in binh.plain and "Đơn đặt mua của bạn" in binh.plain
    await binh.presses("Sửa")
    await binh.presses("Khu vực")
    assert "✅ Tỉnh Lạng Sơn" in binh.buttons
    await binh.says("Bắc Ninh")
    await binh.presses("Xong")
    assert "Tỉnh Lạng Sơn; Thành phố Bắc Ninh" in binh.plain
    await binh.presses("Sửa")
    await binh.presses("Loại")
    await binh.presses("Xô")  # untick
    await binh.presses("Xong")
    assert "Loại nhận: Loại 1, Loại 2" in binh.plain
    await binh.presses("Hủy")
    assert "Không có gì được lưu" in binh.plain
    assert await order_rows(bot) == []


async def test_prefill_goes_straight_to_the_summary(bot: BotHarness) -> None:
    binh = await trader(bot)
    await binh.says(
        '/prefill_order {"product": "hong_vanh_khuyen", "quantity_kg": 10000, '
        '"price_vnd_per_kg": 18000, "date_from": "2026-09-15", "date_to": "2026-09-20", '
        '"ward_code": 6154, "grade": "1"}'
    )
    assert "Đơn đặt mua của bạn" in binh.plain
    # The ward the sentence named is kept: the region is its collection point, not the whole province.
    for text in (
        "10.000 kg",
        "18.000 ₫/kg",
        "15/09/2026 – 20/09/2026",
        "Khu vực: Điểm tập kết UBND Văn Lãng (Xã Văn Lãng)",
        "Loại nhận: Loại 1",
    ):
        assert text in binh.plain, text
    await binh.presses("Xác nhận")
    [order] = await order_rows(bot)
    point = bot.points["Điểm tập kết UBND Văn Lãng"].id
    assert (order.product_code, order.grades, order.provinces, order.collection_points, order.min_lot_kg) == (
        "hong_vanh_khuyen",
        ["1"],
        [],
        [point],
        0,
    )


async def test_prefill_with_a_wrong_price_asks_it_again(bot: BotHarness) -> None:
    binh = await trader(bot)
    await binh.says('/prefill_order {"product": "na", "quantity_kg": 2000, "price_vnd_per_kg": 1000}')
    assert "không hợp lý cho Na" in binh.plain and "Giá bạn trả" in binh.plain
    await binh.says("28k")
    assert "Khung ngày lấy hàng" in binh.plain
    await binh.says("mai")
    assert "Bạn mua ở đâu" in binh.plain
    await binh.presses("Tỉnh Lạng Sơn")
    await binh.presses("Xong")
    assert "Đơn đặt mua của bạn" in binh.plain and "28.000 ₫/kg" in binh.plain


async def test_only_traders_post_orders(bot: BotHarness) -> None:
    an = bot.person("702")
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912000702")
    await an.says("/dathang")
    assert "chỉ dành cho: Thương lái" in an.plain
    await an.says('/prefill_order {"product": "na"}')
    assert "chỉ dành cho: Thương lái" in an.plain
    admin = bot.person("1")
    await bot.register(admin, role_label="", name="Quản Trị Viên", phone="0912999888")
    await admin.says("/dathang")
    assert "chỉ dành cho: Thương lái" in admin.plain
    await admin.says("/thuhoach")
    assert "chỉ dành cho: Đại diện HTX, Nông dân" in admin.plain
    await admin.says("/cuatoi")
    assert "chỉ dành cho" in admin.plain
    assert await order_rows(bot) == []


async def set_role(bot: BotHarness, person: Person, role: str) -> None:
    """An admin changes the person's role meanwhile (straight in the database)."""
    user = await bot.user(person)
    async with bot.db.uow() as uow:
        await uow.users.update(user.id, role=role)


async def test_a_trader_demoted_mid_flow_is_refused_at_the_next_step_and_nothing_is_saved(
    bot: BotHarness,
) -> None:
    binh = await trader(bot)
    await binh.says("/dathang")
    await binh.says("na")
    await binh.says("2 tấn")
    assert "Giá bạn trả" in binh.plain
    await set_role(bot, binh, "farmer")
    await binh.says("30k")
    assert "chỉ dành cho: Thương lái" in binh.plain and "Lô nhỏ nhất" not in binh.plain
    await binh.says("1 tấn")  # the flow is over: this answers nothing
    assert "Lô nhỏ nhất" not in binh.plain and "Khung ngày" not in binh.plain

    # Demoted while the summary is on screen: "Xác nhận" saves nothing either.
    await set_role(bot, binh, "trader")
    await binh.says(
        '/prefill_order {"product": "na", "quantity_kg": 3000, "price_vnd_per_kg": 30000, '
        '"date_from": "2026-09-12", "province_code": 20}'
    )
    assert "Đơn đặt mua của bạn" in binh.plain
    await set_role(bot, binh, "farmer")
    await binh.presses("Xác nhận")
    assert "chỉ dành cho: Thương lái" in binh.plain and "Đã lưu" not in binh.plain
    assert await order_rows(bot) == []
    assert await market_events(bot) == []
    async with bot.db.uow() as uow:  # and the flow is closed
        assert await uow.conversations.get("telegram", binh.user_id) is None


@pytest.mark.parametrize("channel", ["telegram", "zalo"])
async def test_an_order_typed_the_short_way(bot: BotHarness, channel: str) -> None:
    """ "1t5", "tuan sau", a ward typed by name (kept: its collection point), "loai1", "ko co", "ok"."""
    binh = bot.person("705", channel=channel)
    await bot.register(binh, role_label="Thương lái", name="Trần Thị Bình", phone="0912000705")
    await binh.says("/dathang")
    await binh.says("hong vanh khuyen")
    await binh.says("1t5")
    assert "Giá bạn trả" in binh.plain
    await binh.says("22k")
    await binh.says("khong yeu cau")
    assert "Khung ngày lấy hàng" in binh.plain
    await binh.says("tuan sau")
    assert "Bạn mua ở đâu" in binh.plain
    await binh.says("xa van lang")
    assert "Điểm tập kết: Điểm tập kết UBND Văn Lãng" in binh.plain
    await binh.says("xong")
    assert "loại nào" in binh.plain
    await binh.says("loai1")
    assert "yêu cầu chứng nhận" in binh.plain
    await binh.says("ko co")
    assert "Đơn đặt mua của bạn" in binh.plain
    for text in (
        "1.500 kg",
        "22.000 ₫/kg",
        "14/09/2026 – 20/09/2026",
        "Điểm tập kết UBND Văn Lãng (Xã Văn Lãng)",
    ):
        assert text in binh.plain, text
    await binh.says("ok")
    assert "Đã lưu đơn #1" in binh.plain
    [order] = await order_rows(bot)
    assert (order.quantity_kg, order.price, order.provinces, order.collection_points, order.grades) == (
        1500,
        22_000,
        [],
        [bot.points["Điểm tập kết UBND Văn Lãng"].id],
        ["1"],
    )
    assert await market_events(bot) == [("order", order.id)]


async def test_numbered_answers_on_zalo(bot: BotHarness) -> None:
    binh = bot.person("706", channel="zalo")
    await bot.register(binh, role_label="Thương lái", name="Trần Thị Bình", phone="0912000706")
    await binh.says("/dathang")
    await binh.says("2")  # Hồng vành khuyên, the second of the popular products
    await binh.says("3 tấn")
    await binh.says("20k")
    await binh.says("1")  # Không yêu cầu
    await binh.says("2")  # Ngày mai
    await binh.says("1")  # Tỉnh Lạng Sơn (ticked)
    assert "✅ Tỉnh Lạng Sơn" in binh.buttons
    await binh.says("3")  # Xong
    await binh.says("4")  # Nhận mọi loại
    await binh.says("8")  # Không yêu cầu
    assert "Đơn đặt mua của bạn" in binh.plain and "Hồng vành khuyên" in binh.plain
    await binh.says("1")  # Xác nhận
    [order] = await order_rows(bot)
    assert (order.quantity_kg, order.provinces, order.grades, order.min_lot_kg) == (
        3000,
        [20],
        ["1", "2", "xo"],
        0,
    )
