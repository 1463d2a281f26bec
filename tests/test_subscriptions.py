"""What a person hears about (/dangky): notice kinds switched off and on, products followed, by
tapping, by number on a numbered messenger, or typed ("bỏ na", "thôi nhận giá", "nhận hồng")."""

from __future__ import annotations

import pytest

from storage.uow import Database
from tests.harness import BotHarness, Person


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database)


async def topics(bot: BotHarness, person: Person) -> set[str]:
    user = await bot.user(person)
    async with bot.db.uow() as uow:
        return await uow.users.topics(user.id)


async def test_leaving_a_topic_and_following_products(bot: BotHarness) -> None:
    binh = bot.person("62")
    await bot.register(binh, role_label="Nông dân", name="Trần Thị Bình", phone="0912345062")
    await binh.says("/dangky")
    assert "✅ Thông báo chung" in binh.buttons and "⬜ Na" in binh.buttons
    await binh.presses("Thông báo chung")
    assert "Đã tắt: Thông báo chung" in binh.last and "⬜ Thông báo chung" in binh.buttons
    await binh.presses("Na")
    assert "Đã theo dõi Na" in binh.last and "✅ Na" in binh.buttons
    await binh.says("hong vanh khuyen")
    assert "Đã theo dõi Hồng vành khuyên" in binh.last
    await binh.presses("Xong")
    assert "Đã lưu lựa chọn nhận tin của bạn" in binh.last and "Nhận tin" in binh.buttons
    assert await topics(bot, binh) == {"-notice:announcements", "na", "hong_vanh_khuyen"}


async def test_typed_on_and_off_words_say_which_way(bot: BotHarness) -> None:
    cuc = bot.person("63", channel="zalo")
    await bot.register(cuc, role_label="Thương lái", name="Lê Thị Cúc", phone="0912345063")
    await cuc.says("/dangky")
    await cuc.says("4")  # the fourth numbered option: ⬜ Na
    assert "Đã theo dõi Na" in cuc.last
    await cuc.says("nhận hồng vành khuyên")
    await cuc.says("nhận hồng vành khuyên")  # said twice: still followed, not toggled back
    assert "Đã theo dõi Hồng vành khuyên" in cuc.last
    await cuc.says("bỏ na")
    assert "Đã bỏ theo dõi Na" in cuc.last
    await cuc.says("thoi nhan ep gia")
    assert "Đã tắt: Cảnh báo ép giá" in cuc.last
    await cuc.says("thôi nhận giá")
    assert "Đã tắt: Giá tham chiếu" in cuc.last
    await cuc.says("bat ep gia")
    assert "Đã bật: Cảnh báo ép giá" in cuc.last
    await cuc.says("sầu riêng")  # any product of the catalog, typed
    assert "Đã theo dõi Sầu riêng" in cuc.last
    await cuc.says("dau tay")
    assert "Không tìm thấy sản phẩm «dau tay»" in cuc.last
    await cuc.says("xong")
    assert "Đã lưu lựa chọn nhận tin" in cuc.last
    assert await topics(bot, cuc) == {"hong_vanh_khuyen", "-notice:prices", "sau_rieng"}
