"""Registration as a conversation: a farmer, a trader, every kind of bad input, cancel and restart."""

from __future__ import annotations

import logging

import pytest

from bot.engine.router import Command
from storage.uow import Database
from tests.harness import BotHarness


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database, admin_ids="telegram:1")


async def user_row(bot: BotHarness, key: str):  # type: ignore[no-untyped-def]
    channel, _, ext = key.partition(":")
    async with bot.db.uow() as uow:
        return await uow.users.by_external(channel, ext)


async def test_farmer_registers_with_buttons_and_typed_answers(bot: BotHarness) -> None:
    an = bot.person("501", name="Nguyễn Văn An")
    await an.says("/start")
    assert "Ai thấy số điện thoại" in an.last and "/xoataikhoan" in an.last  # told before consenting
    await an.says("ok")
    assert "Bạn là ai" in an.last
    assert an.buttons == ["Nông dân", "Đại diện HTX", "Thương lái"]

    await an.presses("Nông dân")
    assert "Bạn tên là gì" in an.last
    await an.presses("Nguyễn Văn An")  # the name Telegram knows, offered as a button
    assert "Số điện thoại" in an.last

    await an.shares_contact("+84912345678")
    assert "tỉnh/thành phố" in an.last
    await an.says("lang son")  # typed without diacritics
    assert "Lạng Sơn" in an.last and "xã/phường" in an.last

    await an.says("xa chi lang")
    assert "Ngân hàng nào" in an.last  # sellers may give the account they are paid to
    await an.says("agribank")
    await an.says("1903 2345 6789")
    assert "Đăng ký xong! Nguyễn Văn An – Nông dân, Xã Chi Lăng, Tỉnh Lạng Sơn." in an.last
    assert "Báo thu hoạch" in " ".join(an.buttons) or an.buttons  # the menu follows

    row = await user_row(bot, "telegram:501")
    assert (row.name, row.phone, row.role, row.province_code, row.ward_code) == (
        "Nguyễn Văn An",
        "0912345678",
        "farmer",
        20,
        6463,
    )
    assert (row.bank_bin, row.bank_account) == ("970405", "190323456789")
    assert row.registered and row.consent_at is not None


async def test_trader_picks_province_and_ward_from_pages(bot: BotHarness) -> None:
    binh = bot.person("502", channel="zalo")
    await binh.says("/start")
    await binh.says("1")  # "Tôi đồng ý", typed by its number
    await binh.says("3")  # the third option, typed: Zalo shows options numbered
    assert "Bạn tên là gì" in binh.last
    await binh.says("Trần Thị Bình")
    await binh.says("0987 654 321")
    await binh.presses("Tỉnh khác")
    assert "Sau »" in binh.buttons
    await binh.presses("Sau »")
    await binh.presses("Lạng Sơn")
    await binh.presses("Xem danh sách")
    assert "trang 1/" in binh.last
    await binh.presses("Sau »")
    assert "trang 2/" in binh.last
    await binh.press_first_ward() if hasattr(binh, "press_first_ward") else None
    first_ward = binh.buttons[0]
    await binh.presses(first_ward)
    assert "Đăng ký xong" in binh.last and "Thương lái" in binh.last
    row = await user_row(bot, "zalo:502")
    assert row.role == "trader" and row.phone == "0987654321" and row.province_code == 20


async def test_bad_answers_are_explained_and_the_same_step_is_asked_again(bot: BotHarness) -> None:
    cuong = bot.person("503")
    await cuong.says("/start")
    await cuong.says("không")  # consent is needed: explained, asked again
    assert "Bot cần các thông tin này" in cuong.last and "Bạn đồng ý" in cuong.last
    await cuong.presses("Tôi đồng ý")
    await cuong.says("ông trời")
    assert "Vui lòng chọn một trong các vai trò" in cuong.last
    assert "Bạn là ai" in cuong.last
    await cuong.presses("Đại diện HTX")
    await cuong.says("12345")
    assert "Tên cần từ 2 đến 60 chữ cái" in cuong.last
    await cuong.says("HTX Na Chi Lăng")
    await cuong.says("0123")
    assert "Số điện thoại không hợp lệ" in cuong.last
    await cuong.says("0212345678")  # a landline prefix
    assert "Số điện thoại không hợp lệ" in cuong.last
    await cuong.says("0912345679")
    await cuong.says("Tinh Khong Ton Tai")
    assert "Không tìm thấy tỉnh" in cuong.last
    await cuong.says("Lạng Sơn")
    await cuong.says("Xã Không Có Thật")
    assert "Không tìm thấy xã/phường" in cuong.last
    await cuong.says("van lang")
    await cuong.says("ngan hang ma")
    assert "Không tìm thấy ngân hàng" in cuong.last
    await cuong.says("bo qua")
    assert "Đăng ký xong" in cuong.last and "Xã Văn Lãng" in cuong.last
    row = await user_row(bot, "telegram:503")
    assert row.role == "coop_rep" and row.ward_code == 6154


async def test_ambiguous_ward_name_offers_the_candidates(bot: BotHarness) -> None:
    dung = bot.person("504")
    await dung.says("/start")
    await dung.presses("Tôi đồng ý")
    await dung.presses("Nông dân")
    await dung.says("Lê Dũng")
    await dung.says("0912000111")
    await dung.says("Lạng Sơn")
    await dung.says("Chi")  # many wards start like this: the fuzzy search offers a few
    if "trùng tên" in dung.last:
        assert len(dung.buttons) > 1
        await dung.presses(dung.buttons[0])
    else:
        assert "Không tìm thấy" in dung.last
        await dung.says("Chi Lăng")
    await dung.presses("Bỏ qua")
    assert "Đăng ký xong" in dung.last


async def test_cancel_mid_flow_saves_nothing(bot: BotHarness) -> None:
    em = bot.person("505")
    await em.says("/start")
    await em.presses("Tôi đồng ý")
    await em.presses("Thương lái")
    await em.says("Phạm Em")
    await em.says("/huy")
    assert "Đã hủy" in em.last
    row = await user_row(bot, "telegram:505")
    assert row.role is None and row.name is None and not row.registered
    await em.says("xin chào")  # unregistered people are led back to registration
    assert "Bạn đồng ý" in em.last


async def test_restart_mid_flow_resumes_the_same_step(bot: BotHarness, database: Database) -> None:
    giang = bot.person("506")
    await giang.says("/start")
    await giang.presses("Tôi đồng ý")
    await giang.presses("Nông dân")
    await giang.says("Hoàng Giang")
    assert "Số điện thoại" in giang.last

    # A new process: new pipeline, new router, same database.
    restarted = BotHarness(database)
    giang2 = restarted.person("506")
    await giang2.says("0912111222")
    assert "tỉnh/thành phố" in giang2.last
    await giang2.says("Lạng Sơn")
    await giang2.says("Chi Lăng")
    await giang2.says("bỏ qua")  # no bank account for now
    assert "Đăng ký xong! Hoàng Giang" in giang2.last


async def test_non_text_long_text_unknown_command_and_menu(bot: BotHarness) -> None:
    hoa = bot.person("507")
    await hoa.sends_sticker()
    assert "chỉ đọc được tin nhắn chữ" in hoa.last
    await hoa.says("x" * 5000)
    assert "Tin nhắn quá dài" in hoa.last
    await hoa.says("/khonglenhnao")
    assert "Không có lệnh /khonglenhnao" in hoa.last
    await hoa.says("/trogiup")
    assert "Hướng dẫn nhanh" in hoa.last
    await bot.register(hoa, role_label="Nông dân", name="Vũ Hoa", phone="0912333444")
    await hoa.says("/menu")
    assert "Bạn muốn làm gì" in hoa.last
    await hoa.says("hôm nay trời đẹp")
    assert "chưa hiểu" in hoa.last and hoa.buttons


async def test_duplicate_update_is_ignored(bot: BotHarness) -> None:
    from bot.events import Incoming, Kind

    event = Incoming(
        channel="telegram", chat_id="508", user_id="508", kind=Kind.TEXT, text="/start", update_id="77"
    )
    first = await bot.handle(event)
    second = await bot.handle(event)  # the messenger delivers it again
    assert first and "Bạn đồng ý" in first[0].text
    assert second == []
    assert len(await bot.outbox_texts(bot.person("508"))) == 0  # no second copy queued either


async def test_a_crash_in_a_handler_is_answered_and_rolls_back(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(ctx, _args):  # type: ignore[no-untyped-def]
        await ctx.uow.users.update(ctx.user.id, name="half-written")
        raise RuntimeError("boom")

    bot.services.router.command(Command("no", boom, "x", needs_registration=False))
    bot.inbox.max_attempts = 1  # a deterministic bug: no point retrying it here
    from bot.events import Incoming, Kind

    with caplog.at_level(logging.ERROR):
        replies = await bot.handle(
            Incoming(
                channel="telegram",
                chat_id="509",
                user_id="509",
                kind=Kind.TEXT,
                text="/no 0912345678",
                update_id="1",
            )
        )
    assert "đã có lỗi" in replies[0].text
    assert "0912345678" not in caplog.text
    assert await user_row(bot, "telegram:509") is None  # nothing half-written, not even the user row


async def test_roles_are_granted_by_an_admin_only_and_refusals_are_audited(bot: BotHarness) -> None:
    admin, lan = bot.person("1"), bot.person("510")
    await bot.register(lan, role_label="Thương lái", name="Đỗ Lan", phone="0912555666")
    await lan.says("/capquyen telegram:510 can_bo")
    assert "chỉ dành cho" in lan.last
    assert (await user_row(bot, "telegram:510")).role == "trader"

    await bot.register(admin, role_label="", name="Quản Trị Viên", phone="0912999888")
    await admin.says("/capquyen telegram:510 can_bo")
    assert "Đã cấp quyền Cán bộ cho Đỗ Lan" in admin.last
    assert (await user_row(bot, "telegram:510")).role == "official"
    await admin.says("/capquyen telegram:999 can_bo")
    assert "Không tìm thấy người dùng" in admin.last
    await admin.says("/capquyen telegram:510 vua")
    assert "Cách dùng" in admin.last

    async with bot.db.uow() as uow:
        log = await uow.audit.recent()
    actions = [(e.action, e.allowed) for e in reversed(log)]
    assert ("capquyen", False) in actions and ("grant_role", True) in actions
    assert ("bootstrap_admin", True) in actions


async def test_language_switch(bot: BotHarness) -> None:
    mai = bot.person("511")
    await bot.register(mai, role_label="Nông dân", name="Mai", phone="0912777888")
    await mai.says("/ngonngu")
    await mai.presses("English")
    assert (await user_row(bot, "telegram:511")).locale == "en"
