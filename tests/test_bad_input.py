"""Bad input never stops a flow: control characters are removed where messages come in, numbers
too big for the database are refused politely, digits from other scripts are read as digits."""

from __future__ import annotations

import pytest

from bot.events import Incoming, Kind, clean_text
from storage.uow import Database
from tests.harness import BotHarness, Person
from tests.test_lots import lot_rows, rep


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    harness = BotHarness(database, admin_ids="telegram:1")
    await harness.add_point("Điểm tập kết chợ Chi Lăng", ward_code=6463)
    return harness


def test_clean_text_keeps_what_people_mean() -> None:
    assert clean_text("Sân\x00 nhà\x07 văn hóa\r\nthôn Nà Lầy") == "Sân nhà văn hóa\nthôn Nà Lầy"
    assert clean_text("２ tấn, ١٢ tạ") == "2 tấn, 12 tạ"  # fullwidth and Arabic-Indic digits
    assert clean_text("Hồng Vành Khuyên") == "Hồng Vành Khuyên"  # NFC: composed as typed on any keyboard
    assert clean_text("Nguye\u0302\u0303n") == "Nguyễn"


async def test_a_nul_in_a_new_points_name_does_not_stop_the_lot_from_being_saved(bot: BotHarness) -> None:
    hung = await rep(bot)
    await hung.says("/thuhoach")
    await hung.says("na")
    await hung.says("500")
    await hung.says("1")
    await hung.presses("Không có chứng nhận")
    await hung.presses("Đề xuất điểm mới")
    await hung.says("Sân nhà\x00 văn hóa thôn Nà Lầy, xã Văn Lãng")  # PostgreSQL refuses NUL in text
    await hung.presses("Hôm nay")
    await hung.presses("Bỏ qua")
    await hung.presses("Không chia theo hộ")
    await hung.presses("Xác nhận")
    assert "Đã lưu lô" in hung.plain
    [lot] = await lot_rows(bot)
    async with bot.db.uow() as uow:
        point = await uow.points.get(lot.collection_point_id or 0)
    assert point is not None and point.name == "Sân nhà văn hóa thôn Nà Lầy"


async def test_digits_from_other_keyboards_are_read_as_digits(bot: BotHarness) -> None:
    hung = await rep(bot)
    await hung.says("/thuhoach")
    await hung.says("na")
    await hung.says("２ tấn")  # a fullwidth digit, as some phone keyboards type it
    assert "loại mấy" in hung.plain


async def test_numbers_too_big_for_the_database_get_a_polite_answer(bot: BotHarness) -> None:
    admin = bot.person("1")
    await bot.register(admin, role_label="Nông dân", name="Quản Trị", phone="0912999001")
    await admin.says("/capquyen 99999999999999999999 can_bo")
    assert "Không tìm thấy người dùng" in admin.plain
    await admin.sends_payload("mt:a:99999999999999999999")  # a forged button
    assert "Nút này không còn dùng được" in admin.plain
    await admin.sends_payload("dtk:view:98765432101234")
    assert "Nút này không còn dùng được" in admin.plain
    await admin.says("/menu")  # and the person carries on
    assert "Bạn muốn làm gì" in admin.plain


async def test_a_message_that_fails_every_time_is_answered_once_and_the_chat_goes_on(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug on one message: retried, then the person is told, and their next message works."""
    from bot.engine.context import Ctx
    from bot.engine.router import Command

    async def broken(ctx: Ctx, _args: str) -> None:
        raise RuntimeError("a bug")

    bot.services.router.command(Command("hong", broken, "x", needs_registration=False, in_menu=False))
    bot.inbox.max_attempts = 2
    import bot.inbox as inbox_module

    delays = inbox_module.RETRY_DELAYS
    inbox_module.RETRY_DELAYS = (0.0,)
    try:
        person: Person = bot.person("77")
        first = Incoming("telegram", "77", "77", Kind.TEXT, text="/hong", update_id="u1")
        await bot.inbox.accept([first])
        for _ in range(3):  # the worker comes back to it once it is due again
            await bot.inbox.drain()
        async with bot.db.uow() as uow:
            item = await uow.inbox.get(await uow.inbox.id_of("telegram", "u1") or 0)
            assert item is not None and (item.status, item.attempts) == ("failed", 1)
            replies = await uow.outbox.for_chat("telegram", "77")
        assert [r.payload["text"] for r in replies] == [
            "Xin lỗi, đã có lỗi khi xử lý tin nhắn của bạn. Vui lòng thử lại sau ít phút."
        ]
        await person.says("/start")
        assert "Bạn đồng ý" in person.plain
    finally:
        inbox_module.RETRY_DELAYS = delays
