"""Collection points as conversations: an official adds, edits and closes one; a rep's proposed
point is approved or rejected with a button, and its lots reach traders only once it is approved
(or with a warning, as configured); officials see a point's day at a glance."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.events import Kind, Reply
from bot.matching.service import Matcher
from bot.services.points import notify_point_proposed
from storage.uow import Database
from tests.harness import TZ, BotHarness, Person
from tests.test_matching_service import add_order, live_matches, outbox_texts
from tests.test_slots import add_match, add_point, schedule


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database)


async def official(bot: BotHarness, ext: str = "601") -> Person:
    person = bot.person(ext)
    await bot.register(person, role_label="Nông dân", name="Hoàng Văn Cường", phone="0912000601")
    async with bot.db.uow() as uow:
        user = await uow.users.by_external("telegram", ext)
        assert user is not None
        await uow.users.update(user.id, role="official")
    return person


async def test_an_official_adds_a_point_step_by_step(bot: BotHarness) -> None:
    cuong = await official(bot)
    await cuong.says("/diemtapket")
    assert "chưa có điểm tập kết nào" in cuong.last
    await cuong.presses("Thêm điểm")
    assert "Tên điểm tập kết" in cuong.last
    await cuong.says("X")
    assert "từ 2 đến 120 ký tự" in cuong.last
    await cuong.says("Sân chợ Đồng Mỏ")
    await cuong.says("xa khong co that")
    assert "Không tìm thấy xã/phường" in cuong.last
    await cuong.says("chi lang")
    await cuong.says("Thôn Đồng Mỏ, cạnh UBND xã")
    assert "Gửi vị trí" in cuong.last and cuong.replies[-1].request is not None
    await cuong._send(kind=Kind.LOCATION, latitude=21.6601, longitude=106.6123)
    assert "Giờ mở cửa" in cuong.last
    await cuong.says("sáng sớm")
    assert "ví dụ: 6:00-18:00" in cuong.last
    await cuong.says("5h30-17h")
    await cuong.says("15 tấn")
    await cuong.says("3 xe")
    summary = cuong.last
    assert "Sân chợ Đồng Mỏ" in summary and "Xã Chi Lăng, Tỉnh Lạng Sơn" in summary
    assert "5:30-17:00" in summary and "15.000 kg, 3 xe" in summary and "21.66010" in summary
    await cuong.presses("Lưu")
    assert "Đã thêm điểm tập kết «Sân chợ Đồng Mỏ»" in cuong.last

    async with bot.db.uow() as uow:
        (point,) = await uow.points.in_province(20)
        actions = [e.action for e in await uow.audit.recent()]
    assert (point.ward_code, point.opening_hours, point.slot_capacity_kg, point.slot_capacity_trucks) == (
        6463, "5:30-17:00", 15_000, 3)  # fmt: skip
    assert point.status == "active" and point.latitude == pytest.approx(21.6601)
    assert "point_add" in actions

    # Edit one field, then close the point.
    await cuong.says("/diemtapket")
    await cuong.presses("Sân chợ Đồng Mỏ")
    await cuong.presses("Sửa")
    await cuong.presses("Giờ mở cửa")
    await cuong.says("6-18")
    assert "Đã lưu" in cuong.last and "6:00-18:00" in cuong.last
    await cuong.presses("Đóng điểm")
    await cuong.presses("Đóng điểm")
    assert "Đã đóng điểm «Sân chợ Đồng Mỏ»" in cuong.last
    async with bot.db.uow() as uow:
        closed = await uow.points.get(point.id)
    assert closed is not None and closed.status == "closed" and closed.opening_hours == "6:00-18:00"


async def test_location_can_be_skipped_and_typing_works_without_buttons(bot: BotHarness) -> None:
    cuong = await official(bot)
    await cuong.says("/diemtapket")
    await cuong.says("1")  # Zalo: the first button, "Thêm điểm" is the only one
    await cuong.says("Điểm thu mua Văn Lãng")
    await cuong.says("chi lang")
    await cuong.says("Km 3 Quốc lộ 1A")
    await cuong.says("bỏ qua")
    await cuong.says("6:00-18:00")
    await cuong.presses("20 tấn")
    await cuong.presses("4")
    assert "Vị trí" not in cuong.last
    await cuong.says("1")  # Lưu
    async with bot.db.uow() as uow:
        (point,) = await uow.points.in_province(20)
    assert point.latitude is None and point.slot_capacity_kg == 20_000 and point.slot_capacity_trucks == 4


async def test_a_reps_proposed_point_is_approved_or_rejected_by_an_official(bot: BotHarness) -> None:
    cuong = await official(bot)
    rep = bot.person("602")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000602")
    rep_user = await bot.user(rep)
    first = await add_point(
        bot.db, "Sân nhà văn hóa thôn Hòa Bình", status="proposed", proposed_by=rep_user.id
    )
    second = await add_point(bot.db, "Bãi đất trống đầu làng", status="proposed", proposed_by=rep_user.id)
    async with bot.db.uow() as uow:
        told = await notify_point_proposed(uow, bot.services.places, first)
    assert told == 1
    (notice,) = await bot.outbox_texts(cuong)
    assert "Sân nhà văn hóa thôn Hòa Bình" in notice

    await cuong.sends_payload(f"dtk:ok:{first.id}")  # the button under that notice
    assert "Đã duyệt điểm «Sân nhà văn hóa thôn Hòa Bình»" in cuong.last
    await cuong.sends_payload(f"dtk:ok:{first.id}")  # pressed twice: nothing happens twice
    assert "đã được xử lý trước đó" in cuong.last

    await cuong.says("/diemtapket")
    assert "🕓 Bãi đất trống đầu làng" in cuong.buttons
    await cuong.presses("Bãi đất trống")
    await cuong.presses("Từ chối")
    assert "Đã từ chối điểm «Bãi đất trống đầu làng»" in cuong.last

    texts = await bot.outbox_texts(rep)
    assert len(texts) == 2
    assert "«Sân nhà văn hóa thôn Hòa Bình» bạn đề xuất đã được cán bộ duyệt" in texts[0]
    assert "«Bãi đất trống đầu làng» bạn đề xuất chưa được duyệt" in texts[1]
    async with bot.db.uow() as uow:
        assert (await uow.points.get(first.id)).status == "active"  # type: ignore[union-attr]
        assert (await uow.points.get(second.id)).status == "closed"  # type: ignore[union-attr]
        actions = [e.action for e in await uow.audit.recent()]
    assert "point_approve" in actions and "point_reject" in actions

    # A rep cannot approve anything, even by crafting the button.
    await rep.sends_payload(f"dtk:ok:{second.id}")
    assert "chức năng này chỉ dành cho" in rep.last
    await rep.says("/diemtapket")
    assert "chức năng này chỉ dành cho" in rep.last


async def test_officials_see_a_points_day_and_people_see_their_own_pickups(bot: BotHarness) -> None:
    cuong = await official(bot)
    rep = bot.person("603")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000603")
    trader = bot.person("604")
    await bot.register(trader, role_label="Thương lái", name="Trần Văn Bình", phone="0987000604")
    point = await add_point(bot.db, "Chợ Chi Lăng", slot_capacity_kg=10_000)
    match = await add_match(bot.db, await bot.user(rep), await bot.user(trader), point, kg=2_500)
    await schedule(bot.db, match, point, dt.datetime(2026, 9, 10, 9, tzinfo=TZ))

    await cuong.says("/lichlay")
    await cuong.presses("Chợ Chi Lăng")
    day = cuong.plain
    assert "Chợ Chi Lăng – ngày 10/09/2026" in day
    assert "09:00–10:00: 2.500/10.000 kg, 1/4 xe" in day
    assert "Trần Văn Bình nhận 2.500 kg Na của HTX Na Chi Lăng" in day
    assert "06:00–07:00: 0/10.000 kg, 0/4 xe" in day
    await cuong.presses("Ngày mai")
    assert "ngày 11/09/2026" in cuong.last and "nhận" not in cuong.last

    await rep.says("/lichlay")
    assert (
        "10/09/2026, Chợ Chi Lăng – 09:00–10:00: mang 2.500 kg Na, Loại 1 giao cho thương lái Trần Văn Bình"
        in rep.plain
    )
    await trader.says("/lichlay")
    assert "nhận 2.500 kg Na, Loại 1 của HTX Na Chi Lăng (0912000603)" in trader.plain
    await trader.sends_payload(f"lich:pt:{point.id}")  # a point's whole day is for officials
    assert "Lịch lấy hàng sắp tới của bạn" in trader.last


# --- lots at a point nobody approved yet ------------------------------------------------------------


async def outbox_replies(bot: BotHarness, person: Person) -> list[Reply]:
    async with bot.db.uow() as uow:
        return [
            Reply.from_json(i.payload)
            for i in await uow.outbox.for_chat(person.channel, person.user_id)
            if i.in_reply_to is None  # notifications, not the answers to what they typed
        ]


async def market_with_matcher(bot: BotHarness) -> tuple[Matcher, Person, Person, Person]:
    """An official, a coop rep and a trader whose order for na is already in the book."""
    matcher = Matcher(bot.services)
    bot.services.market_changed = matcher.notify
    cuong = await official(bot)
    rep = bot.person("611")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Văn Lãng", phone="0912000611")
    trader = bot.person("612")
    await bot.register(trader, role_label="Thương lái", name="Lái Buôn Na", phone="0912000612")
    await add_order(bot, trader, 2_000, 28_000)
    await matcher.drain()
    return matcher, cuong, rep, trader


async def report_lot_at_new_point(rep: Person) -> None:
    await rep.says("/thuhoach")
    await rep.says("na")
    await rep.says("500")
    await rep.says("1")
    await rep.presses("Không có chứng nhận")
    await rep.presses("Đề xuất điểm mới")
    await rep.says("Sân nhà văn hóa thôn Nà Lầy, xã Văn Lãng")
    await rep.presses("Hôm nay")
    await rep.presses("Bỏ qua")
    await rep.presses("Không chia theo hộ")
    assert "(điểm mới, chờ cán bộ duyệt)" in rep.plain
    await rep.presses("Xác nhận")


async def test_a_lot_at_a_new_point_waits_until_an_official_approves_the_point(bot: BotHarness) -> None:
    matcher, cuong, rep, trader = await market_with_matcher(bot)
    await report_lot_at_new_point(rep)
    assert (
        "Đã lưu lô" in rep.plain
        and "lô sẽ được giới thiệu cho thương lái ngay khi điểm được duyệt" in rep.plain
    )
    await matcher.drain()
    assert await live_matches(bot) == [] and await outbox_texts(bot, trader) == []
    assert await matcher.replan() == 0  # a restarted matcher holds it back too

    # The official is asked at once, with the volume waiting and the buttons to decide.
    [request] = await outbox_replies(bot, cuong)
    text = request.text.replace("\xa0", " ")
    assert "Có điểm tập kết mới được đề xuất: «Sân nhà văn hóa thôn Nà Lầy»" in text
    assert "Người đề xuất: HTX Na Văn Lãng (0912000611)" in text
    assert "500 kg hàng đang chờ điểm này được duyệt" in text
    assert [c.label for c in request.choices] == ["✅ Duyệt", "❌ Từ chối"]

    await cuong.sends_payload(request.choices[0].payload)
    assert "Đã duyệt điểm «Sân nhà văn hóa thôn Nà Lầy»" in cuong.last
    await matcher.drain()
    [match] = await live_matches(bot)
    assert (match.kg, match.status) == (500, "proposed")
    [proposal] = await outbox_texts(bot, trader)
    assert "Đề xuất ghép đơn" in proposal and "Sân nhà văn hóa thôn Nà Lầy" in proposal
    assert "CHƯA được cán bộ duyệt" not in proposal
    assert any("đã được cán bộ duyệt" in t for t in await outbox_texts(bot, rep))


async def test_a_rejected_point_never_reaches_traders_and_the_rep_is_told_what_to_do(bot: BotHarness) -> None:
    matcher, cuong, rep, trader = await market_with_matcher(bot)
    await report_lot_at_new_point(rep)
    [request] = await outbox_replies(bot, cuong)
    await cuong.sends_payload(request.choices[1].payload)
    assert "Đã từ chối điểm" in cuong.last
    await matcher.drain()
    assert await matcher.replan() == 0
    assert await live_matches(bot) == [] and await outbox_texts(bot, trader) == []
    [told] = [t for t in await outbox_texts(bot, rep) if "chưa được duyệt" in t]
    assert "hãy hủy lô trong /cuatoi" in told


async def test_in_warn_mode_the_proposal_goes_out_saying_the_point_is_unapproved(database: Database) -> None:
    bot = BotHarness(database, unapproved_points="warn")
    matcher, cuong, rep, trader = await market_with_matcher(bot)
    await report_lot_at_new_point(rep)
    assert "thương lái sẽ được báo điều này" in rep.plain
    await matcher.drain()
    [proposal] = await outbox_texts(bot, trader)
    assert "Đề xuất ghép đơn" in proposal
    assert "⚠️ Lưu ý: điểm tập kết này do bên bán đề xuất, CHƯA được cán bộ duyệt." in proposal
    assert any("CHƯA được cán bộ duyệt" in t for t in await outbox_texts(bot, rep))
    [request] = await outbox_replies(bot, cuong)  # the official is still asked to approve it
    assert "Duyệt điểm này?" in request.text


async def test_a_province_without_officials_asks_the_admins(database: Database) -> None:
    bot = BotHarness(database, admin_ids="telegram:1")
    root = bot.person("1")
    await bot.register(
        root,
        role_label="Nông dân",
        name="Quản Trị Viên",
        phone="0912345001",
        province="Hà Nội",
        ward="Ba Đình",
    )
    rep = bot.person("611")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Văn Lãng", phone="0912000611")
    await report_lot_at_new_point(rep)
    [request] = await outbox_replies(bot, root)
    assert "Duyệt điểm này?" in request.text
