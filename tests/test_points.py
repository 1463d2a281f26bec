"""Collection points as conversations: an official adds, edits and closes one; a rep's proposed
point is approved or rejected with a button (or "duyet" typed), and its lots reach traders only
once it is approved (or with a warning, as configured); an official demoted in the middle of adding
a point saves nothing; officials see a point's day at a glance."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.domain_events import OrderChanged, emit
from bot.events import Kind
from bot.presentation.points import ReviewPoint
from bot.services import lots, points
from storage import dto, models
from storage.uow import Database
from tests.harness import TZ, BotHarness, Person
from tests.test_slots import add_match, add_point, schedule

SEPT = dt.date(2026, 9, 10)


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database)


async def official(bot: BotHarness, ext: str = "601", *, channel: str = "telegram") -> Person:
    person = bot.person(ext, channel=channel)
    await bot.register(person, role_label="Nông dân", name="Hoàng Văn Cường", phone="0912000601")
    await set_role(bot, person, "official")
    return person


async def set_role(bot: BotHarness, person: Person, role: str) -> None:
    async with bot.db.uow() as uow:
        user = await uow.users.by_external(person.channel, person.user_id)
        assert user is not None
        await uow.users.update(user.id, role=role)


async def province_points(bot: BotHarness) -> list[dto.CollectionPoint]:
    async with bot.db.uow() as uow:
        return await uow.points.in_province(20, statuses=("proposed", "active", "closed"))


async def audit_actions(bot: BotHarness) -> list[tuple[str, bool]]:
    async with bot.db.uow() as uow:
        return [(e.action, e.allowed) for e in await uow.audit.recent(50)]


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
    assert "Bỏ qua" in cuong.buttons
    await cuong._send(kind=Kind.LOCATION, latitude=21.6601, longitude=106.6123)
    assert "Đã lưu vị trí" in cuong.last and "Giờ mở cửa" in cuong.last
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

    (point,) = await province_points(bot)
    assert (point.ward_code, point.opening_hours, point.slot_capacity_kg, point.slot_capacity_trucks) == (
        6463, "5:30-17:00", 15_000, 3)  # fmt: skip
    assert point.status == "active" and point.latitude == pytest.approx(21.6601)
    assert ("point_add", True) in await audit_actions(bot)

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
    (closed,) = await province_points(bot)
    assert closed.status == "closed" and closed.opening_hours == "6:00-18:00"


async def test_location_can_be_skipped_and_typing_works_without_buttons(bot: BotHarness) -> None:
    cuong = await official(bot, channel="zalo")
    await cuong.says("/diemtapket")
    await cuong.says("1")  # Zalo: the list's only option, "Thêm điểm"
    await cuong.says("Điểm thu mua Văn Lãng")
    await cuong.says("chi lang")
    await cuong.says("Km 3 Quốc lộ 1A")
    # No location button on this messenger: type it, or skip, from numbered options.
    assert cuong.replies[-1].request is None and "tọa độ" in cuong.last
    assert cuong.buttons == ["Bỏ qua"]
    await cuong.says("bỏ qua")
    await cuong.says("6:00-18:00")
    await cuong.presses("20 tấn")
    await cuong.presses("4")
    assert "Vị trí" not in cuong.last
    await cuong.says("1")  # Lưu
    (point,) = await province_points(bot)
    assert point.latitude is None and point.slot_capacity_kg == 20_000 and point.slot_capacity_trucks == 4


async def test_typed_numbers_on_a_numbered_messenger_mean_what_they_say(bot: BotHarness) -> None:
    cuong = await official(bot, channel="zalo")
    await cuong.says("/diemtapket")
    await cuong.says("them diem")
    await cuong.says("Sân kho HTX Hòa Bình")
    await cuong.says("chi lang")
    await cuong.says("Thôn Hòa Bình")
    await cuong.says("21.6601, 106.6123")  # typed coordinates
    assert "Đã lưu vị trí" in cuong.last
    await cuong.says("1")  # the only option of the hours step: 6:00-18:00
    await cuong.says("2")  # the capacity step's second option: 5 tấn
    await cuong.says("2")  # trucks "1".."6": a typed "2" is two trucks, whatever the options' order
    assert "5.000 kg, 2 xe" in cuong.plain and "21.66010" in cuong.plain
    await cuong.presses("Sửa")
    await cuong.presses("Số xe")
    await cuong.says("8")  # past the options: read as typed
    assert "5.000 kg, 8 xe" in cuong.plain
    await cuong.says("luu")
    (point,) = await province_points(bot)
    assert (point.slot_capacity_kg, point.slot_capacity_trucks) == (5_000, 8)
    assert point.latitude == pytest.approx(21.6601) and point.longitude == pytest.approx(106.6123)


async def test_an_official_demoted_while_adding_a_point_saves_nothing(bot: BotHarness) -> None:
    cuong = await official(bot)
    await cuong.says("/diemtapket")
    await cuong.presses("Thêm điểm")
    await cuong.says("Sân chợ Đồng Mỏ")
    await set_role(bot, cuong, "farmer")  # demoted by an admin in the meantime
    await cuong.says("chi lang")
    assert "chức năng này chỉ dành cho" in cuong.last
    await cuong.says("Thôn Đồng Mỏ")  # the flow is over: nothing is asked or saved any more
    assert "Điểm ở" not in cuong.last and "Gửi vị trí" not in cuong.last
    assert await province_points(bot) == []

    # Demoted right before the save: the button is refused, nothing is saved.
    await set_role(bot, cuong, "official")
    await cuong.says("/diemtapket")
    await cuong.presses("Thêm điểm")
    for answer in ("Sân chợ Đồng Mỏ", "chi lang", "Thôn Đồng Mỏ", "bỏ qua", "6-18", "5 tấn", "3"):
        await cuong.says(answer)
    assert "Kiểm tra lại điểm tập kết mới" in cuong.last
    await set_role(bot, cuong, "trader")
    await cuong.presses("Lưu")
    assert "chức năng này chỉ dành cho" in cuong.last and "Đã thêm" not in cuong.last
    assert await province_points(bot) == []
    assert [a for a in await audit_actions(bot) if a[0] == "point_add"] == [("point_add", False)] * 2


async def propose(bot: BotHarness, rep: Person, name: str) -> dto.CollectionPoint:
    """A rep's proposed point (as the lot flow makes one), and what it causes delivered."""
    async with bot.db.uow() as uow:
        user = await uow.users.by_external(rep.channel, rep.user_id)
        assert user is not None
        point = await points.propose_point(
            uow, user, name=name, address="Thôn Hòa Bình", province_code=20, ward_code=6463
        )
    await bot.settle()
    return point


async def test_a_reps_proposed_point_is_approved_or_rejected_by_an_official(bot: BotHarness) -> None:
    cuong = await official(bot)
    rep = bot.person("602")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000602")
    first = await propose(bot, rep, "Sân nhà văn hóa thôn Hòa Bình")
    [request] = await bot.notifications(cuong)
    assert "Sân nhà văn hóa thôn Hòa Bình" in request.text and "Duyệt điểm này?" in request.text
    second = await propose(bot, rep, "Bãi đất trống đầu làng")

    await cuong.presses_in(request, "Duyệt")  # the button under that request
    assert "Đã duyệt điểm «Sân nhà văn hóa thôn Hòa Bình»" in cuong.last
    await cuong.presses_in(request, "Duyệt")  # pressed twice: nothing happens twice
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
    statuses = {p.id: p.status for p in await province_points(bot)}
    assert statuses == {first.id: "active", second.id: "closed"}
    actions = await audit_actions(bot)
    assert ("point_approve", True) in actions and ("point_reject", True) in actions

    # A rep cannot approve anything, even by crafting the button.
    await rep.sends_payload(bot.services.codec.encode(ReviewPoint(second.id, True)))
    assert "chức năng này chỉ dành cho" in rep.last
    await rep.says("/diemtapket")
    assert "chức năng này chỉ dành cho" in rep.last
    assert ("points", False) in await audit_actions(bot)


async def test_an_official_on_a_numbered_messenger_types_duyet(bot: BotHarness) -> None:
    cuong = await official(bot, channel="zalo")
    rep = bot.person("603")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000603")
    point = await propose(bot, rep, "Sân kho thôn Nà Lầy")
    [request] = await bot.notifications(cuong)
    assert [c.label for c in request.choices] == ["✅ Duyệt", "❌ Từ chối"]
    await cuong.says("duyet")  # answers the last numbered message the official received
    assert "Đã duyệt điểm «Sân kho thôn Nà Lầy»" in cuong.last
    assert {p.id: p.status for p in await province_points(bot)} == {point.id: "active"}


async def test_officials_see_a_points_day_and_people_see_their_own_pickups(bot: BotHarness) -> None:
    if "lichlay" not in bot.services.router.commands:
        pytest.skip("the /lichlay flow (pickup schedules) is not on the conversation engine yet")
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


# --- lots at a point nobody approved yet ------------------------------------------------------------


async def market(bot: BotHarness) -> tuple[Person, Person, Person]:
    """An official, a coop rep and a trader whose order for na is already in the book."""
    cuong = await official(bot)
    rep = bot.person("611")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Văn Lãng", phone="0912000611")
    trader = bot.person("612")
    await bot.register(trader, role_label="Thương lái", name="Lái Buôn Na", phone="0912000612")
    trader_user = await bot.user(trader)
    async with bot.db.uow() as uow:
        order = await uow.orders.add(
            trader_id=trader_user.id,
            product_code="na",
            quantity_kg=2_000,
            price=28_000,
            min_lot_kg=0,
            pickup_from=SEPT,
            pickup_to=SEPT + dt.timedelta(days=5),
            provinces=[20],
            collection_points=[],
            grades=[],
            required_certs=[],
        )
        await emit(uow, OrderChanged(order.id))
    await bot.settle()
    return cuong, rep, trader


async def lot_at_new_point(bot: BotHarness, rep: Person) -> dto.Lot:
    """The rep reports 500 kg of na at a point they propose (what the lot flow saves)."""
    owner = await bot.user(rep)
    draft = lots.LotDraft(
        product_code="na",
        quantity_kg=500,
        grade="1",
        certifications=(),
        growing_area_code=None,
        point_id=None,
        new_point=lots.NewPoint("Sân nhà văn hóa thôn Nà Lầy", "xã Văn Lãng", 20, None),
        ready_from=SEPT,
        ready_to=SEPT + dt.timedelta(days=2),
        asking_price=None,
    )
    async with bot.db.uow() as uow:
        saved = await lots.create_lot(uow, owner, draft, bot.services.catalog, SEPT)
    await bot.settle()
    return saved.lot


async def live_matches(bot: BotHarness) -> list[models.Match]:
    async with bot.db.uow() as uow:
        return list(await uow.session.scalars(select(models.Match).where(models.Match.status == "proposed")))


async def test_a_lot_at_a_new_point_waits_until_an_official_approves_the_point(database: Database) -> None:
    bot = BotHarness(database, matcher=True)
    cuong, rep, trader = await market(bot)
    await lot_at_new_point(bot, rep)
    assert await live_matches(bot) == [] and await bot.outbox_texts(trader) == []
    assert (
        bot.matcher is not None and await bot.matcher.replan() == 0
    )  # a restarted matcher holds it back too

    # The official is asked at once, with the volume waiting and the buttons to decide.
    [request] = await bot.notifications(cuong)
    text = request.text.replace("\xa0", " ")
    assert "Có điểm tập kết mới được đề xuất: «Sân nhà văn hóa thôn Nà Lầy»" in text
    assert "Người đề xuất: HTX Na Văn Lãng (0912000611)" in text
    assert "500 kg hàng đang chờ điểm này được duyệt" in text
    assert [c.label for c in request.choices] == ["✅ Duyệt", "❌ Từ chối"]

    await cuong.presses_in(request, "Duyệt")
    assert "Đã duyệt điểm «Sân nhà văn hóa thôn Nà Lầy»" in cuong.last
    [match] = await live_matches(bot)  # approving re-announced the waiting lot to the matcher
    assert (match.kg, match.status) == (500, "proposed")
    [proposal] = await bot.outbox_texts(trader)
    assert "Đề xuất ghép đơn" in proposal and "Sân nhà văn hóa thôn Nà Lầy" in proposal
    assert "CHƯA được cán bộ duyệt" not in proposal
    assert any("đã được cán bộ duyệt" in t for t in await bot.outbox_texts(rep))


async def test_a_rejected_point_never_reaches_traders_and_the_rep_is_told_what_to_do(
    database: Database,
) -> None:
    bot = BotHarness(database, matcher=True)
    cuong, rep, trader = await market(bot)
    await lot_at_new_point(bot, rep)
    [request] = await bot.notifications(cuong)
    await cuong.presses_in(request, "Từ chối")
    assert "Đã từ chối điểm" in cuong.last
    assert bot.matcher is not None and await bot.matcher.replan() == 0
    assert await live_matches(bot) == [] and await bot.outbox_texts(trader) == []
    [told] = [t for t in await bot.outbox_texts(rep) if "chưa được duyệt" in t]
    assert "hãy hủy lô trong /cuatoi" in told


async def test_in_warn_mode_the_proposal_goes_out_saying_the_point_is_unapproved(database: Database) -> None:
    bot = BotHarness(database, matcher=True, unapproved_points="warn")
    cuong, rep, trader = await market(bot)
    await lot_at_new_point(bot, rep)
    [proposal] = await bot.outbox_texts(trader)
    assert "Đề xuất ghép đơn" in proposal
    assert "⚠️ Lưu ý: điểm tập kết này do bên bán đề xuất, CHƯA được cán bộ duyệt." in proposal
    assert any("CHƯA được cán bộ duyệt" in t for t in await bot.outbox_texts(rep))
    [request] = await bot.notifications(cuong)  # the official is still asked to approve it
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
    await lot_at_new_point(bot, rep)
    [request] = await bot.notifications(root)
    assert "Duyệt điểm này?" in request.text
    await root.presses_in(request, "Duyệt")  # an admin decides for any province
    assert "Đã duyệt điểm «Sân nhà văn hóa thôn Nà Lầy»" in root.last


async def test_a_rep_reporting_at_a_new_point_is_told_it_waits(bot: BotHarness) -> None:
    if "thuhoach" not in bot.services.router.commands:
        pytest.skip("the /thuhoach flow (lots) is not on the conversation engine yet")
    rep = bot.person("611")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Văn Lãng", phone="0912000611")
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
    assert "Đã lưu lô" in rep.plain
    assert "lô sẽ được giới thiệu cho thương lái ngay khi điểm được duyệt" in rep.plain


async def test_a_number_answers_the_last_numbered_message_received_even_a_notification(
    bot: BotHarness,
) -> None:
    cuong = await official(bot, channel="zalo")
    rep = bot.person("604")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000604")
    await cuong.says("/diemtapket")
    await cuong.says("1")  # Thêm điểm
    for answer in ("Sân kho HTX", "chi lang", "Thôn Hòa Bình", "bỏ qua", "1", "20 tấn"):
        await cuong.says(answer)
    assert "mấy xe tải" in cuong.last
    # Meanwhile a rep proposes a point: its approval request is the last numbered message received.
    point = await propose(bot, rep, "Sân nhà văn hóa thôn Nà Lầy")
    await cuong.says("1")  # option 1 of that request: ✅ Duyệt
    assert "Đã duyệt điểm «Sân nhà văn hóa thôn Nà Lầy»" in cuong.last
    assert "mấy xe tải" in cuong.last  # the open question is asked again
    await cuong.says("3")  # now the trucks question was the last one: three trucks
    assert "20.000 kg, 3 xe" in cuong.plain
    await cuong.says("1")  # ✅ Lưu
    statuses = {p.name: (p.status, p.slot_capacity_trucks) for p in await province_points(bot)}
    assert statuses == {"Sân kho HTX": ("active", 3), point.name: ("active", 4)}
