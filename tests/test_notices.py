"""The weekly anti-price-gouging notice: an official sets it up by conversation; at its time, in
season, it reaches every trader and coop rep of the province, and nobody else; an official demoted
while editing it saves nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.handlers.notices import parse_when
from bot.presentation.prices import send_due_notices
from storage.uow import Database
from tests.harness import TZ, BotHarness, Person

THURSDAY = dt.date(2026, 9, 10)  # harness day: Thursday 10/09/2026


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database)


async def register(bot: BotHarness, ext: str, role: str, name: str, phone: str, province: str = "Lạng Sơn",
                   ward: str = "Chi Lăng") -> Person:  # fmt: skip
    person = bot.person(ext)
    label = {"farmer": "Nông dân", "coop_rep": "Đại diện HTX", "trader": "Thương lái"}.get(role, "Nông dân")
    await bot.register(person, role_label=label, name=name, phone=phone, province=province, ward=ward)
    if role == "official":
        async with bot.db.uow() as uow:
            await uow.users.update((await uow.users.by_external("telegram", ext)).id, role="official")  # type: ignore[union-attr]
    return person


async def set_role(bot: BotHarness, person: Person, role: str) -> None:
    user = await bot.user(person)
    async with bot.db.uow() as uow:
        await uow.users.update(user.id, role=role)


def test_day_and_time_as_typed() -> None:
    assert parse_when("thứ 2 7:00") == (0, 7, 0)
    assert parse_when("T6 16h30") == (4, 16, 30)
    assert parse_when("chủ nhật 8h") == (6, 8, 0)
    assert parse_when("thu 5, 8:15") == (3, 8, 15)
    assert parse_when("mai 7h") is None and parse_when("thứ 2 25:00") is None


async def test_the_weekly_notice_reaches_the_provinces_traders_and_reps_only(bot: BotHarness) -> None:
    cuong = await register(bot, "501", "official", "Hoàng Văn Cường", "0912000501")
    rep = await register(bot, "502", "coop_rep", "HTX Na Chi Lăng", "0912000502")
    trader = await register(bot, "503", "trader", "Trần Văn Bình", "0987000503")
    farmer = await register(bot, "504", "farmer", "Nguyễn Văn An", "0912000504")
    elsewhere = await register(
        bot, "505", "trader", "Lê Văn Dũng", "0987000505", province="Bắc Ninh", ward="Kinh Bắc"
    )
    await cuong.says("/giathamchieu na 30000")

    await cuong.says("/thongbaoepgia")
    assert "đang TẮT" in cuong.last and "Thứ Hai hằng tuần, lúc 7:00" in cuong.last
    await cuong.presses("Sửa ngày giờ")
    await cuong.says("hôm nào đó")
    assert "Chưa hiểu ngày giờ" in cuong.last
    await cuong.says("thứ 5 8:00")
    assert "Thứ Năm hằng tuần, lúc 8:00" in cuong.last
    await cuong.presses("Sửa mùa vụ")
    await cuong.says("15/8 - 31/10")
    assert "Mùa vụ: 15/08 – 31/10" in cuong.last
    await cuong.presses("Sửa nội dung")
    await cuong.says("ngắn")
    assert "từ 10 đến 800 ký tự" in cuong.last
    await cuong.says("Bà con lưu ý: thương lái không được ép giá na dưới giá tham chiếu.")
    await cuong.presses("Bật")
    assert "đang BẬT" in cuong.last
    await cuong.presses("Xem trước")
    assert "THÔNG BÁO CHỐNG ÉP GIÁ – Tỉnh Lạng Sơn" in cuong.plain and "• Na: 30.000 ₫/kg" in cuong.plain
    await cuong.presses("Xong")

    bot.clock.set(dt.datetime(2026, 9, 10, 7, 59, tzinfo=TZ))
    assert await send_due_notices(bot.services) == 0  # not yet
    bot.clock.set(dt.datetime(2026, 9, 10, 8, 0, tzinfo=TZ))
    assert await send_due_notices(bot.services) == 2
    bot.clock.set(dt.datetime(2026, 9, 10, 8, 15, tzinfo=TZ))
    assert await send_due_notices(bot.services) == 0  # the next check sends nothing twice
    for person in (rep, trader):
        (text,) = await bot.outbox_texts(person)
        text = text.replace("\xa0", " ")
        assert "không được ép giá na dưới giá tham chiếu" in text
        assert "• Na: 30.000 ₫/kg" in text
        assert "• Hoàng Văn Cường – 0912000501" in text
    for person in (cuong, farmer, elsewhere):
        assert await bot.outbox_texts(person) == []

    bot.clock.set(dt.datetime(2026, 9, 10, 15, 0, tzinfo=TZ))
    assert await send_due_notices(bot.services) == 0  # past the grace window: no late notice
    bot.clock.set(dt.datetime(2026, 9, 17, 8, 5, tzinfo=TZ))
    assert await send_due_notices(bot.services) == 2  # next Thursday
    bot.clock.set(dt.datetime(2026, 11, 5, 8, 5, tzinfo=TZ))
    assert await send_due_notices(bot.services) == 0  # out of season

    # Switched off: nothing, even in season.
    await cuong.says("/thongbaoepgia")
    await cuong.presses("Tắt")
    bot.clock.set(dt.datetime(2026, 9, 24, 8, 5, tzinfo=TZ))
    assert await send_due_notices(bot.services) == 0
    async with bot.db.uow() as uow:
        changes = [e for e in await uow.audit.recent(50) if e.action == "notice_change"]
    assert len(changes) == 5  # day and time, season, text, on, off


async def test_only_officials_edit_the_notice(bot: BotHarness) -> None:
    trader = await register(bot, "511", "trader", "Trần Văn Bình", "0987000511")
    await trader.says("/thongbaoepgia")
    assert "chức năng này chỉ dành cho" in trader.last


async def test_an_official_demoted_while_editing_the_notice_saves_nothing(bot: BotHarness) -> None:
    cuong = await register(bot, "521", "official", "Hoàng Văn Cường", "0912000521")
    await cuong.says("/thongbaoepgia")
    await cuong.presses("Sửa nội dung")
    assert "Gõ nội dung mới" in cuong.last
    await set_role(bot, cuong, "trader")  # an admin takes the role away meanwhile
    await cuong.says("Bà con lưu ý: thương lái không được ép giá na dưới giá tham chiếu.")
    assert "chức năng này chỉ dành cho" in cuong.last and "Đã lưu." not in cuong.last

    # Nor can the buttons still on their screen change anything.
    await cuong.says("/thongbaoepgia")
    assert "chức năng này chỉ dành cho" in cuong.last
    async with bot.db.uow() as uow:
        assert await uow.notices.get(20, "gouging") is None  # nothing was saved
        refused = [(e.action, e.allowed) for e in await uow.audit.recent(20) if not e.allowed]
    assert ("notice", False) in refused and ("thongbaoepgia", False) in refused


async def test_a_demoted_official_pressing_an_old_button_is_refused(bot: BotHarness) -> None:
    cuong = await register(bot, "522", "official", "Hoàng Văn Cường", "0912000522")
    await cuong.says("/thongbaoepgia")
    card = cuong.replies[-1]
    await cuong.presses("Sửa ngày giờ")
    await set_role(bot, cuong, "farmer")
    await cuong.says("thứ 5 8:00")  # the save itself is refused
    assert "chức năng này chỉ dành cho" in cuong.last and "Đã lưu." not in cuong.last
    await cuong.presses_in(card, "Bật")
    assert "chức năng này chỉ dành cho" in cuong.last and "Đã lưu." not in cuong.last
    async with bot.db.uow() as uow:
        assert await uow.notices.get(20, "gouging") is None
        assert not [e for e in await uow.audit.recent(20) if e.action == "notice_change"]


async def test_day_time_and_season_typed_on_a_numbered_messenger(bot: BotHarness) -> None:
    cuong = bot.person("523", channel="zalo")
    await bot.register(cuong, role_label="Nông dân", name="Hoàng Văn Cường", phone="0912000523")
    await set_role(bot, cuong, "official")
    await cuong.says("/thongbaoepgia")
    await cuong.says("2")  # 🕖 Sửa ngày giờ
    await cuong.says("T6 16h30")
    assert "Đã lưu." in cuong.last and "Thứ Sáu hằng tuần, lúc 16:30" in cuong.last
    await cuong.says("sua mua vu")
    await cuong.says("1")  # Cả năm
    assert "Mùa vụ: cả năm" in cuong.last
    await cuong.says("bat")
    assert "đang BẬT" in cuong.last
