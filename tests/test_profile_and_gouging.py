"""A person changes their own details (/hoso), and a seller reports a trader who pushed the price
down (/baoepgia): the province's officials hear of it, and it is audited and counted."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.uow import Database
from tests.harness import BotHarness
from tests.test_deals import deal, last_notification, parties, person


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    return BotHarness(database)


async def test_a_farmer_sees_and_changes_their_details(bot: BotHarness) -> None:
    lan = bot.person("801")
    await bot.register(lan, role_label="Nông dân", name="Nguyễn Thị Lan", phone="0912000801")
    await lan.says("/hoso")
    assert "Tên: Nguyễn Thị Lan" in lan.plain and "Tài khoản ngân hàng: chưa có" in lan.plain
    await lan.says("tai khoan")  # a typed label (a synonym of "Tài khoản ngân hàng")
    await lan.says("vietcombank")
    await lan.says("0071 0012 3456 7")
    assert "Đã lưu." in lan.plain and "Vietcombank 0071001234567" in lan.plain
    await lan.says("/hoso")
    await lan.presses("Số điện thoại")
    await lan.says("+84 912 000 899")
    assert "Số điện thoại: 0912000899" in lan.plain
    user = await bot.user(lan)
    assert (user.bank_bin, user.bank_account, user.phone) == ("970436", "0071001234567", "0912000899")


async def test_a_coop_sets_its_fee(bot: BotHarness) -> None:
    htx = bot.person("802")
    await bot.register(htx, role_label="Đại diện HTX", name="HTX Hồng Văn Lãng", phone="0912000802")
    await htx.says("/hoso")
    await htx.presses("Phí HTX")
    await htx.says("45")
    assert "từ 0 đến 30" in htx.plain
    await htx.says("1,5%")
    assert "Phí HTX: 1,5%" in htx.plain
    assert (await bot.user(htx)).coop_fee_pct == 1.5


async def test_a_seller_reports_a_trader_who_pushed_the_price_down(bot: BotHarness) -> None:
    seller, _trader = await parties(bot)
    official = await person(bot, "704", "official", "Cán bộ Sở", "0912000704")
    await deal(bot, kg=1_000)
    bot.clock.set(bot.clock.now() + dt.timedelta(hours=1))
    await seller.says("/baoepgia")
    assert "Hoàng Văn Mạnh" in seller.buttons
    await seller.presses("Hoàng Văn Mạnh")
    await seller.says("na")
    await seller.says("18k")
    await seller.says("Ép giá ở chợ Chi Lăng sáng 10/9, nói không ai mua giá cao hơn.")
    assert "Giá bị ép: 18.000 ₫/kg" in seller.plain
    await seller.presses("Gửi")
    assert "Đã gửi báo cáo ép giá #1" in seller.plain
    told = (await last_notification(bot, official)).text.replace("\xa0", " ")
    assert "Báo ép giá #1 từ HTX Na Chi Lăng" in told and "Thương lái: Hoàng Văn Mạnh" in told
    async with bot.db.uow() as uow:
        audited = [e.action for e in await uow.audit.recent()]
        assert await uow.deals.report_count(20, bot.clock.now() - dt.timedelta(days=1)) == 1
    assert "gouging_report" in audited


async def test_a_trader_cannot_file_a_gouging_report(bot: BotHarness) -> None:
    _seller, trader = await parties(bot)
    await trader.says("/baoepgia")
    assert "chỉ dành cho" in trader.plain
