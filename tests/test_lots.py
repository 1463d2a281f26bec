"""Reporting a harvest lot (/thuhoach) as conversations: buttons, typing, bad input, edits, prefill."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from bot.engine.context import Ctx
from bot.engine.router import Command
from bot.handlers.lots import start_lot_flow
from bot.services.quantities import parse_price, parse_quantity_kg, parse_share_line, parse_window
from storage import models
from storage.uow import Database
from tests.harness import BotHarness, Person


@pytest.mark.parametrize(
    ("typed", "kg"),
    [("2,5 tấn", 2500), ("2.5 tan", 2500), ("3 tạ", 300), ("3 yến", 30), ("1500kg", 1500), ("1.500", 1500),
     ("1500", 1500), ("-5 tấn", -5000), ("vài xe", None), ("5 con", None)],
)  # fmt: skip
def test_quantities_as_typed(typed: str, kg: float | None) -> None:
    assert parse_quantity_kg(typed) == kg


@pytest.mark.parametrize(
    ("typed", "vnd"),
    [("25k", 25000), ("25.000", 25000), ("25000đ", 25000), ("25 nghìn/kg", 25000), ("18", 18000),
     ("25.000 ₫/kg", 25000), ("rẻ", None)],
)  # fmt: skip
def test_prices_as_typed(typed: str, vnd: float | None) -> None:
    assert parse_price(typed) == vnd


def test_windows_and_share_lines_as_typed() -> None:
    today = dt.date(2026, 9, 10)
    day = dt.date
    assert parse_window("hôm nay", today) == (today, today)
    assert parse_window("mai", today) == (day(2026, 9, 11), day(2026, 9, 11))
    assert parse_window("15-20/9", today) == (day(2026, 9, 15), day(2026, 9, 20))
    assert parse_window("từ 15 đến 20/9", today) == (day(2026, 9, 15), day(2026, 9, 20))
    assert parse_window("28/9 - 3/10", today) == (day(2026, 9, 28), day(2026, 10, 3))
    assert parse_window("28/12 - 3/1", day(2026, 12, 20)) == (day(2026, 12, 28), day(2027, 1, 3))
    assert parse_window("5/1", day(2026, 12, 20)) == (day(2027, 1, 5), day(2027, 1, 5))
    assert parse_window("31/2", today) is None
    assert parse_share_line("Nguyễn Văn A 500") == ("Nguyễn Văn A", None, 500)
    assert parse_share_line("0912345678 300") == ("0912345678", "0912345678", 300)
    assert parse_share_line("Lê Thị B 0912345678: 3 tạ") == ("Lê Thị B", "0912345678", 300)
    assert parse_share_line("500") is None


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    harness = BotHarness(database)
    await harness.add_point("Điểm tập kết chợ Chi Lăng", ward_code=6463)
    await harness.add_point("Điểm tập kết UBND Văn Lãng", ward_code=6154)

    async def prefill(ctx: Ctx, args: str) -> None:  # what the free-text parser will do
        await start_lot_flow(ctx, json.loads(args or "{}"))

    harness.services.router.command(Command("prefill_lot", prefill, "x", in_menu=False))
    return harness


async def rep(bot: BotHarness, uid: str = "601") -> Person:
    person = bot.person(uid)
    await bot.register(
        person, role_label="Đại diện HTX", name="HTX Hồng Văn Lãng", phone="0912000601", ward="Văn Lãng"
    )
    return person


async def farmer(bot: BotHarness, uid: str = "602") -> Person:
    person = bot.person(uid)
    await bot.register(person, role_label="Nông dân", name="Nguyễn Văn An", phone="0912000602")
    return person


async def market_events(bot: BotHarness) -> list[tuple[str, int]]:
    """What the matcher has been told (its queue: the harness runs no matcher here)."""
    async with bot.db.uow() as uow:
        rows = await uow.session.scalars(
            select(models.DomainEvent)
            .where(models.DomainEvent.subscriber == "matcher")
            .order_by(models.DomainEvent.id)
        )
        return [
            (r.kind.removesuffix("_changed"), r.payload.get("lot_id") or r.payload.get("order_id"))
            for r in rows
        ]


async def lot_rows(bot: BotHarness) -> list[models.HarvestLot]:
    async with bot.db.uow() as uow:
        return list(await uow.session.scalars(select(models.HarvestLot).order_by(models.HarvestLot.id)))


async def test_coop_rep_reports_a_lot_with_buttons(bot: BotHarness) -> None:
    hung = await rep(bot)
    assert "Báo thu hoạch" in hung.buttons and "Đặt mua" not in hung.buttons
    await hung.presses("Báo thu hoạch")
    assert "sản phẩm gì" in hung.plain
    assert hung.buttons[:6] == ["Na", "Hồng vành khuyên", "Quýt", "Thạch đen", "Chè", "Hồi"]
    await hung.presses("Hồng vành khuyên")
    assert "Khối lượng bao nhiêu" in hung.plain
    await hung.says("1,5 tấn")
    assert "loại mấy" in hung.plain
    await hung.presses("Loại 1")
    assert "chứng nhận" in hung.plain
    await hung.presses("VietGAP")
    assert "✅ VietGAP" in hung.buttons
    await hung.presses("OCOP 3 sao")
    await hung.presses("OCOP 4 sao")  # one star rating at a time
    assert "✅ OCOP 4 sao" in hung.buttons and "OCOP 3 sao" in hung.buttons
    await hung.presses("Mã số vùng trồng")
    assert "Gõ mã số vùng trồng" in hung.plain
    await hung.says("vn-lsvl-0012")
    assert "mã số vùng trồng VN-LSVL-0012" in hung.plain
    await hung.presses("Xong")
    assert "điểm tập kết nào" in hung.plain
    # The rep's own ward (Văn Lãng) first, then the rest of the province.
    assert hung.buttons[0].startswith("Điểm tập kết UBND Văn Lãng")
    await hung.presses("UBND Văn Lãng")
    assert "Khi nào hàng sẵn sàng" in hung.plain
    await hung.presses("Ngày mai")
    assert "Giá bạn mong muốn" in hung.plain
    await hung.presses("Bỏ qua")
    assert "Lô gộp từ nhiều hộ" in hung.plain
    await hung.presses("Không chia theo hộ")
    assert "Lô hàng của bạn" in hung.plain
    for text in (
        "Hồng vành khuyên",
        "1.500 kg",
        "Loại 1",
        "VietGAP, OCOP 4 sao, mã số vùng trồng VN-LSVL-0012",
        "Điểm tập kết UBND Văn Lãng (Xã Văn Lãng)",
        "11/09/2026",
        "chưa đặt",
    ):
        assert text in hung.plain, text
    assert hung.buttons == ["Xác nhận", "Sửa", "Hủy"]
    assert await lot_rows(bot) == []  # nothing saved before "Xác nhận"

    await hung.presses("Xác nhận")
    assert "Đã lưu lô #1" in hung.plain
    [lot] = await lot_rows(bot)
    user = await bot.user(hung)
    assert (lot.owner_id, lot.product_code, lot.quantity_kg, lot.remaining_kg, lot.grade) == (
        user.id,
        "hong_vanh_khuyen",
        1500,
        1500,
        "1",
    )
    assert (
        lot.certifications == ["vietgap", "ocop4", "growing_area_code"]
        and lot.growing_area_code == "VN-LSVL-0012"
    )
    assert lot.collection_point_id == bot.points["Điểm tập kết UBND Văn Lãng"].id
    assert (lot.ready_from.isoformat(), lot.ready_to.isoformat(), lot.asking_price, lot.status) == (
        "2026-09-11",
        "2026-09-11",
        None,
        "open",
    )
    assert await market_events(bot) == [("lot", lot.id)]
    async with bot.db.uow() as uow:
        [event] = await uow.events.history("lot", lot.id)
        assert await uow.lots.shares(lot.id) == []
    assert (event.action, event.actor_id, event.details["quantity_kg"]) == ("create", user.id, 1500)


async def test_farmer_types_every_answer_without_diacritics(bot: BotHarness) -> None:
    an = await farmer(bot)
    await an.says("/thuhoach")
    await an.says("mang cau")  # a synonym of na, typed on a phone without Vietnamese keyboard
    assert "Khối lượng" in an.plain
    await an.says("2,5 tan")
    await an.says("loai 2")
    assert "chứng nhận" in an.plain
    await an.says("vietgap")
    assert "✅ VietGAP" in an.buttons
    await an.says("ma so vung trong vn-cl-001")
    assert "mã số vùng trồng VN-CL-001" in an.plain
    await an.says("xong")
    await an.says("cho chi lang")
    assert "Khi nào" in an.plain
    await an.says("tu 15 den 20/9")
    assert "Giá bạn mong muốn" in an.plain
    await an.says("25k")
    # A farmer's own lot has no household shares: straight to the summary.
    assert "Lô hàng của bạn" in an.plain and "Các hộ góp" not in an.plain
    for text in (
        "Na",
        "2.500 kg",
        "Loại 2",
        "VietGAP",
        "chợ Chi Lăng",
        "15/09/2026 – 20/09/2026",
        "25.000 ₫/kg",
    ):
        assert text in an.plain, text
    await an.says("xac nhan")
    assert "Đã lưu lô" in an.plain
    [lot] = await lot_rows(bot)
    assert (lot.product_code, lot.quantity_kg, lot.grade, lot.asking_price) == ("na", 2500, "2", 25000)
    assert str(lot.ready_from) == "2026-09-15" and str(lot.ready_to) == "2026-09-20"


async def test_typed_digits_pick_buttons(bot: BotHarness) -> None:
    an = bot.person("602", channel="zalo")  # Zalo shows options as numbered lines
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912000602")
    await an.says("/thuhoach")
    await an.says("3")  # Quýt, as a Zalo user answers
    await an.says("1500")  # a bare number is kg
    await an.says("3")  # Xô
    await an.says("7")  # "Xong" with nothing ticked (5 certificates, the area code, then Xong)
    await an.says("1")  # the first point
    await an.says("1")  # today
    await an.says("1")  # skip the price
    assert "Lô hàng của bạn" in an.plain
    assert "Quýt" in an.plain and "1.500 kg" in an.plain and "Xô" in an.plain and "10/09/2026" in an.plain


async def test_bad_answers_are_explained_and_only_that_step_is_asked_again(bot: BotHarness) -> None:
    an = await farmer(bot)
    await an.says("/thuhoach")
    await an.says("sầu đâu xanh")
    assert "Không tìm thấy sản phẩm" in an.plain and "sản phẩm gì" in an.plain
    await an.says("na")
    for bad, why in (
        ("0", "lớn hơn 0"),
        ("-5 tấn", "lớn hơn 0"),
        ("20000 tấn", "10.000 tấn"),
        ("nhiều lắm", "chưa hiểu khối lượng"),
    ):
        await an.says(bad)
        assert why in an.plain and "Khối lượng bao nhiêu" in an.plain, (bad, an.plain)
    await an.says("3 tạ")
    await an.says("chất lượng cao")
    assert "Vui lòng chọn Loại 1" in an.plain
    await an.says("loại 1")
    await an.says("ISO 9001")
    assert "chưa hiểu" in an.plain and "chứng nhận" in an.plain
    await an.presses("Mã số vùng trồng")
    await an.says("?")
    assert "không hợp lệ" in an.plain
    await an.presses("Quay lại")
    await an.presses("Không có chứng nhận")
    await an.says("chợ trên trời")
    assert "Không tìm thấy điểm tập kết" in an.plain
    await an.presses("chợ Chi Lăng")
    await an.says("5/9")
    assert "đã qua" in an.plain and "Khi nào" in an.plain
    await an.says("12-25/9")  # na keeps 5 days
    assert "chỉ giữ được khoảng 5 ngày" in an.plain
    await an.says("20-15/9")
    assert "phải sau" in an.plain
    await an.says("ngày nào đó")
    assert "chưa hiểu ngày" in an.plain
    await an.says("12-14/9")
    await an.says("500k")
    assert "không hợp lý cho Na" in an.plain and "10.000 ₫/kg đến 120.000 ₫/kg" in an.plain
    await an.says("5.000")
    assert "không hợp lý" in an.plain and "Giá bạn mong muốn" in an.plain
    await an.says("30.000đ")
    assert "Lô hàng của bạn" in an.plain and "300 kg" in an.plain and "30.000 ₫/kg" in an.plain
    await an.presses("Xác nhận")
    assert len(await lot_rows(bot)) == 1


async def _to_summary(person: Person) -> None:
    await person.says("/thuhoach")
    await person.says("hồng vành khuyên")
    await person.says("1 tấn")
    await person.says("loại 1")
    await person.presses("Không có chứng nhận")
    await person.presses("chợ Chi Lăng")
    await person.says("15/9")
    await person.says("20k")
    if "Lô gộp" in person.plain:
        await person.presses("Không chia theo hộ")
    assert "Lô hàng của bạn" in person.plain


async def test_edit_returns_to_the_summary_and_cancel_saves_nothing(bot: BotHarness) -> None:
    an = await farmer(bot)
    await _to_summary(an)
    await an.presses("Sửa")
    assert "sửa mục nào" in an.plain and "Khối lượng" in an.buttons
    await an.presses("Khối lượng")
    await an.says("3 tạ")
    assert "Lô hàng của bạn" in an.plain and "300 kg" in an.plain
    await an.presses("Sửa")
    await an.presses("Chứng nhận")
    await an.presses("GlobalGAP")
    await an.presses("Xong")
    assert "GlobalGAP" in an.plain and "Lô hàng của bạn" in an.plain
    await an.presses("Sửa")
    await an.presses("Sản phẩm")
    await an.says("chè")  # tea keeps 3 days and is priced 5.000–300.000: the window still fits
    assert "Lô hàng của bạn" in an.plain and "Chè" in an.plain
    await an.presses("Sửa")
    await an.presses("Quay lại")
    assert "Lô hàng của bạn" in an.plain
    await an.presses("Hủy")
    assert "Không có gì được lưu" in an.plain
    assert await lot_rows(bot) == []
    assert await market_events(bot) == []


async def test_changing_the_product_re_asks_what_no_longer_fits(bot: BotHarness) -> None:
    an = await farmer(bot)
    await an.says("/thuhoach")
    await an.says("thạch đen")  # keeps a year
    await an.says("2 tấn")
    await an.says("xô")
    await an.presses("Không có chứng nhận")
    await an.presses("chợ Chi Lăng")
    await an.says("12-30/9")
    await an.says("9k")
    await an.presses("Sửa")
    await an.presses("Sản phẩm")
    await an.says("na")  # keeps 5 days, and 9.000 ₫/kg is below its range
    assert "không hợp lý cho Na" in an.plain and "chỉ giữ được khoảng 5 ngày" in an.plain
    assert "Khi nào hàng sẵn sàng" in an.plain
    await an.says("12-14/9")
    assert "Giá bạn mong muốn" in an.plain
    await an.says("40k")
    assert "Lô hàng của bạn" in an.plain and "40.000 ₫/kg" in an.plain


async def test_pooled_lot_shares_must_add_up(bot: BotHarness) -> None:
    hung = await rep(bot)
    await hung.says("/thuhoach")
    await hung.says("hong vanh khuyen")
    await hung.says("1,2 tấn")
    await hung.says("1")
    await hung.presses("Không có chứng nhận")
    await hung.presses("Văn Lãng")
    await hung.says("15-20/9")
    await hung.presses("Bỏ qua")
    assert "Còn lại chưa chia: 1.200 kg" in hung.plain
    await hung.says("Hoàng Văn Tú 500")
    assert "Hoàng Văn Tú – 500 kg" in hung.plain and "Còn lại chưa chia: 700 kg" in hung.plain
    await hung.presses("Xong")
    assert "còn thiếu 700 kg" in hung.plain
    await hung.says("0912345678 800")
    assert "vượt quá lô, chỉ còn 700 kg" in hung.plain
    await hung.says("??? abc")
    assert "Không đọc được dòng" in hung.plain
    await hung.presses("Xóa làm lại")
    assert "Còn lại chưa chia: 1.200 kg" in hung.plain
    await hung.says("Hoàng Văn Tú 5 tạ\n0912345678 300\nLý Thị Mai: 400kg")
    assert "Còn lại chưa chia: 0 kg" in hung.plain
    await hung.presses("Xong")
    assert "Các hộ góp: Hoàng Văn Tú 500 kg; 0912345678 300 kg; Lý Thị Mai 400 kg" in hung.plain
    # Changing the total makes the parts wrong: they are asked again, then the summary returns.
    await hung.presses("Sửa")
    await hung.presses("Khối lượng")
    await hung.says("1 tấn")
    assert "nhập lại phần của các hộ" in hung.plain and "Còn lại chưa chia: 1.000 kg" in hung.plain
    await hung.says("Hoàng Văn Tú 600\nLý Thị Mai 400")
    await hung.presses("Xong")
    assert "Lô hàng của bạn" in hung.plain and "1.000 kg" in hung.plain
    await hung.presses("Xác nhận")
    [lot] = await lot_rows(bot)
    async with bot.db.uow() as uow:
        shares = await uow.lots.shares(lot.id)
    assert [(s.household, s.phone, s.kg) for s in shares] == [
        ("Hoàng Văn Tú", None, 600),
        ("Lý Thị Mai", None, 400),
    ]


async def test_proposing_a_new_collection_point(bot: BotHarness) -> None:
    hung = await rep(bot)
    await hung.says("/thuhoach")
    await hung.says("na")
    await hung.says("500")
    await hung.says("1")
    await hung.presses("Không có chứng nhận")
    await hung.presses("Đề xuất điểm mới")
    await hung.says("x")
    assert "3–200 ký tự" in hung.plain
    await hung.says("Sân nhà văn hóa thôn Nà Lầy, xã Văn Lãng")
    await hung.presses("Hôm nay")
    await hung.presses("Bỏ qua")
    await hung.presses("Không chia theo hộ")
    assert "Sân nhà văn hóa thôn Nà Lầy, xã Văn Lãng (điểm mới, chờ cán bộ duyệt)" in hung.plain
    await hung.presses("Xác nhận")
    [lot] = await lot_rows(bot)
    async with bot.db.uow() as uow:
        point = await uow.points.get(lot.collection_point_id or 0)
    user = await bot.user(hung)
    assert point is not None
    assert (point.name, point.status, point.proposed_by, point.province_code, point.ward_code) == (
        "Sân nhà văn hóa thôn Nà Lầy",
        "proposed",
        user.id,
        20,
        6154,
    )


async def test_only_farmers_and_coop_reps_report_lots(bot: BotHarness) -> None:
    binh = bot.person("603")
    await bot.register(binh, role_label="Thương lái", name="Trần Thị Bình", phone="0912000603")
    assert "Báo thu hoạch" not in binh.buttons
    await binh.says("/thuhoach")
    assert "chỉ dành cho: Đại diện HTX, Nông dân" in binh.plain
    await binh.says('/prefill_lot {"product": "na"}')  # the free-text entry checks the role too
    assert "chỉ dành cho" in binh.plain
    assert await lot_rows(bot) == []


async def test_prefill_skips_answered_steps(bot: BotHarness) -> None:
    an = await farmer(bot)
    await an.says(
        '/prefill_lot {"product": "na", "quantity_kg": 300, "date_from": "2026-09-11", '
        '"grade": "1", "price_vnd_per_kg": 30000}'
    )
    # Only the collection point is missing.
    assert "điểm tập kết nào" in an.plain
    await an.presses("chợ Chi Lăng")
    assert "Lô hàng của bạn" in an.plain
    for text in ("Na", "300 kg", "Loại 1", "11/09/2026", "30.000 ₫/kg", "Chứng nhận: không có"):
        assert text in an.plain, text
    await an.presses("Xác nhận")
    [lot] = await lot_rows(bot)
    assert (lot.product_code, lot.quantity_kg, lot.asking_price, str(lot.ready_to)) == (
        "na",
        300,
        30000,
        "2026-09-11",
    )


async def test_prefill_with_wrong_values_asks_them_again(bot: BotHarness) -> None:
    an = await farmer(bot)
    await an.says(
        '/prefill_lot {"product": "na", "quantity_kg": 0, "date_from": "2026-09-01", '
        '"price_vnd_per_kg": 900000, "ward_code": 6154}'
    )
    assert "lớn hơn 0" in an.plain and "đã qua" in an.plain and "không hợp lý cho Na" in an.plain
    assert "Khối lượng bao nhiêu" in an.plain
    await an.says("2 tạ")
    assert "loại mấy" in an.plain
    await an.says("1")
    # The ward from the text (Văn Lãng) orders the points.
    assert an.buttons[0].startswith("Điểm tập kết UBND Văn Lãng")
    await an.says("1")
    assert "Khi nào" in an.plain
    await an.says("mai")
    assert "Giá bạn mong muốn" in an.plain
    await an.says("35k")
    assert "Lô hàng của bạn" in an.plain and "200 kg" in an.plain


async def test_popular_products_in_the_province_come_first(bot: BotHarness) -> None:
    hung = await rep(bot)
    for product in ("buoi", "buoi", "cam"):
        prefill = {"product": product, "quantity_kg": 100, "grade": "1", "date_from": "2026-09-11"}
        await hung.says("/prefill_lot " + json.dumps(prefill))
        await hung.presses("chợ Chi Lăng")
        await hung.presses("Xác nhận")
    async with bot.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(models.HarvestLot)) == 3
    await hung.says("/thuhoach")
    assert hung.buttons[:4] == ["Bưởi", "Cam", "Na", "Hồng vành khuyên"]


@pytest.mark.parametrize("channel", ["telegram", "zalo"])
async def test_every_step_reads_answers_the_way_sentences_are_read(bot: BotHarness, channel: str) -> None:
    """ "1 tan ruoi", "loai1", "ko co", "tuan sau", "bo qua", "luu": typed on Telegram (buttons) or on
    Zalo (numbered options), as people write them."""
    an = bot.person("612", channel=channel)
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912000612")
    await an.says("/thuhoach")
    await an.says("hong vanh khuyen")
    await an.says("1 tan ruoi")
    assert "loại mấy" in an.plain
    await an.says("loai1")
    assert "chứng nhận" in an.plain
    await an.says("ko co")
    assert "điểm tập kết nào" in an.plain
    await an.says("1")  # the first point, on either messenger
    assert "Khi nào hàng sẵn sàng" in an.plain
    await an.says("tuan sau")
    assert "Giá bạn mong muốn" in an.plain
    await an.says("bo qua")
    assert "Lô hàng của bạn" in an.plain
    for text in ("Hồng vành khuyên", "1.500 kg", "Loại 1", "Chứng nhận: không có", "14/09/2026 – 20/09/2026"):
        assert text in an.plain, text
    await an.says("luu")
    assert "Đã lưu lô #1" in an.plain
    [lot] = await lot_rows(bot)
    assert (lot.quantity_kg, lot.grade, lot.certifications, str(lot.ready_from), str(lot.ready_to)) == (
        1500,
        "1",
        [],
        "2026-09-14",
        "2026-09-20",
    )


async def test_quantities_typed_in_words_and_shorthand(bot: BotHarness) -> None:
    an = await farmer(bot)
    await an.says("/thuhoach")
    await an.says("na")
    await an.says("1t5")
    assert "loại mấy" in an.plain
    await an.says("xô")
    await an.says("VietGAP, OCOP 4 sao")
    assert "✅ VietGAP" in an.buttons and "✅ OCOP 4 sao" in an.buttons
    await an.says("xong")
    await an.says("chợ chi lăng")
    await an.says("từ mùng 12")  # one day: the 12th
    await an.says("ba mươi lăm nghìn")
    assert "1.500 kg" in an.plain and "35.000 ₫/kg" in an.plain and "12/09/2026" in an.plain
    await an.presses("Sửa")
    await an.presses("Khối lượng")
    await an.says("hai tấn rưỡi")
    assert "2.500 kg" in an.plain and "Lô hàng của bạn" in an.plain
    await an.says("ok")
    [lot] = await lot_rows(bot)
    assert (lot.quantity_kg, lot.grade, lot.certifications, lot.asking_price) == (
        2500,
        "xo",
        ["vietgap", "ocop4"],
        35000,
    )


async def test_an_offer_sentence_starts_the_flow_with_what_it_said(bot: BotHarness) -> None:
    an = await farmer(bot)
    await an.says("nhà em có 3 tạ na, mai thu")
    assert "loại mấy" in an.plain  # product, quantity and day are known
    await an.says("loai 2")
    assert "điểm tập kết nào" in an.plain
    await an.presses("chợ Chi Lăng")
    assert "Lô hàng của bạn" in an.plain and "300 kg" in an.plain and "11/09/2026" in an.plain
    await an.says("dong y")
    [lot] = await lot_rows(bot)
    assert (lot.product_code, lot.quantity_kg, lot.grade) == ("na", 300, "2")
    # An offer typed halfway through another lot starts the new one, asking only what it did not say.
    await an.says("/thuhoach")
    await an.says("thạch đen")
    await an.says("bán 2 tấn quýt loại 1 giá 20k")
    assert "Khối lượng bao nhiêu" not in an.plain and "điểm tập kết nào" in an.plain
    await an.presses("chợ Chi Lăng")
    assert "Khi nào hàng sẵn sàng" in an.plain
    await an.says("mai")
    assert "Quýt" in an.plain and "2.000 kg" in an.plain and "20.000 ₫/kg" in an.plain


async def test_a_ward_name_found_in_several_provinces_is_the_one_at_home(bot: BotHarness) -> None:
    an = await farmer(bot)  # registered in Lạng Sơn, which has a Xã Chi Lăng (so do other provinces)
    await an.says("htx co 1500kg hồng vành khuyên loai 1 o cho chi lang, mai thu hoach")
    assert "Bạn giao hàng ở điểm tập kết nào?" in an.plain
    assert any("chợ Chi Lăng" in b for b in an.buttons)  # the points of Lạng Sơn
    await an.presses("chợ Chi Lăng")
    assert "Lô hàng của bạn" in an.plain and "1.500 kg" in an.plain


async def test_saving_a_lot_tells_the_matcher_which_proposes_it_to_a_waiting_order(
    database: Database,
) -> None:
    bot = BotHarness(database, matcher=True)
    await bot.add_point("Điểm tập kết chợ Chi Lăng", ward_code=6463)
    binh = bot.person("613")
    await bot.register(binh, role_label="Thương lái", name="Trần Thị Bình", phone="0912000613")
    await binh.says("cần mua 2 tấn na giá 30k ở lạng sơn ngày 11/9")
    assert "Đơn đặt mua của bạn" in binh.plain, binh.plain
    await binh.says("ok")
    assert "Đã lưu đơn #1" in binh.plain
    an = await farmer(bot)
    await an.says("nhà em có 5 tạ na loại 1, mai thu")
    await an.presses("chợ Chi Lăng")
    await an.says("luu")
    assert "Đã lưu lô #1" in an.plain
    proposals = [r.text for r in await bot.notifications(an) if "Đề xuất ghép đơn" in r.text]
    assert proposals and "500 kg" in proposals[0]
    assert any("Đề xuất ghép đơn" in t for t in await bot.outbox_texts(binh))
    async with bot.db.uow() as uow:
        [match] = list(await uow.session.scalars(select(models.Match)))
    assert (match.lot_id, match.order_id, match.kg) == (1, 1, 500)


async def test_a_new_point_asks_its_ward_and_the_officials_are_asked_to_approve_it(bot: BotHarness) -> None:
    cuong = bot.person("614")
    await bot.register(cuong, role_label="Nông dân", name="Lê Văn Cường", phone="0912000614")
    official = await bot.user(cuong)
    async with bot.db.uow() as uow:  # made an official by an admin
        await uow.users.update(official.id, role="official")
    hung = await rep(bot)
    await hung.says("/thuhoach")
    await hung.says("na")
    await hung.says("500")
    await hung.says("1")
    await hung.says("ko co")
    await hung.presses("Đề xuất điểm mới")
    await hung.says("Sân kho HTX, thôn Nà Lầy")  # no ward named: it is asked, the rep's own one tap away
    assert "xã/phường nào của Tỉnh Lạng Sơn" in hung.plain and hung.buttons[0] == "Xã Văn Lãng"
    await hung.says("chi lang")
    assert "Khi nào hàng sẵn sàng" in hung.plain
    await hung.presses("Hôm nay")
    await hung.presses("Bỏ qua")
    await hung.presses("Không chia theo hộ")
    assert "Sân kho HTX, thôn Nà Lầy (điểm mới, chờ cán bộ duyệt)" in hung.plain
    await hung.says("xac nhan")
    assert "cần cán bộ duyệt trước" in hung.plain
    [lot] = await lot_rows(bot)
    async with bot.db.uow() as uow:
        point = await uow.points.get(lot.collection_point_id or 0)
    assert point is not None and (point.name, point.ward_code, point.status) == (
        "Sân kho HTX",
        6463,
        "proposed",
    )
    [request] = await bot.notifications(cuong)
    assert "Có điểm tập kết mới được đề xuất: «Sân kho HTX»" in request.text
    assert "500 kg hàng đang chờ điểm này được duyệt" in request.text.replace("\xa0", " ")
