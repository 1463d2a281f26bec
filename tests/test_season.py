"""One pooled lot through the whole season, in the chat only, on Telegram (buttons) and on Zalo
(numbered lists answered by typing): the coop rep reports the households' harvest, a trader
orders, the matcher proposes, both accept, the trader books a slot, weighs at the point, the
rep confirms the weight, the trader pays with the VietQR code, the rep confirms receipt, and
every household that uses the bot gets its statement — the parts adding up to the payment."""

from __future__ import annotations

import pytest

from bot.events import FILE_NAME, FILE_URL, IS_PHOTO, Reply
from bot.textnorm import fold
from storage import models
from storage.uow import Database
from tests.harness import BotHarness, Person


async def choose(person: Person, label: str, reply: Reply | None = None) -> None:
    """Take the option ``label`` of ``reply`` (default: the bot's last answer) the messenger's way:
    a button on Telegram, its number typed on Zalo."""
    replies = [reply] if reply is not None else person.replies
    for r in reversed(replies):
        options = [c for c in r.choices if c.payload]
        for number, option in enumerate(options, 1):
            if fold(label) in fold(option.label):
                if person.channel == "telegram":
                    await person.sends_payload(option.payload or "")
                else:  # the messenger shows "1. …", "2. …" under the text (bot/channels/numbered.py)
                    await person.says(str(number))
                return
    raise AssertionError(f"no option {label!r} in {[c.label for r in replies for c in r.choices]}")


async def latest(bot: BotHarness, person: Person, words: str) -> Reply:
    for reply in reversed(await bot.notifications(person)):
        if words in reply.text.replace("\xa0", " "):
            return reply
    raise AssertionError(f"nothing saying {words!r} for {person.key}: {await bot.outbox_texts(person)}")


async def vietqr_code(bot: BotHarness, reply: Reply) -> bytes:
    """The QR image: attached where the messenger takes files, else behind the signed link to the
    bot's own server (the link itself is followed over HTTP in test_files)."""
    if reply.attachment is not None:
        assert reply.attachment.is_photo
        return reply.attachment.data
    url = str(reply.extras[FILE_URL])
    assert reply.extras[IS_PHOTO] and url.startswith("https://nongsan.example/files/")
    async with bot.db.uow() as uow:
        stored = await uow.files.get(url.split("/")[4])
    assert stored is not None
    return stored.content


@pytest.mark.parametrize("messenger", ["telegram", "zalo"])
async def test_a_pooled_lot_from_the_first_report_to_the_last_household_statement(
    database: Database, messenger: str
) -> None:
    bot = BotHarness(database, matcher=True, public_url="https://nongsan.example")  # links for files
    await bot.add_point("Chợ Đồng Mỏ")
    rep = bot.person("901", channel=messenger)
    trader = bot.person("902", channel=messenger)
    mai = bot.person("903", channel=messenger)
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000901")
    await bot.register(trader, role_label="Thương lái", name="Hoàng Văn Mạnh", phone="0912000902")
    await bot.register(mai, role_label="Nông dân", name="Lý Thị Mai", phone="0912000903")

    # The rep adds the coop's bank account and its 2 % fee.
    await rep.says("/hoso")
    await choose(rep, "Tài khoản ngân hàng")
    await rep.says("agribank")
    await rep.says("1903 2345 6789")
    await rep.says("/hoso")
    await choose(rep, "Phí HTX")
    await rep.says("2")
    assert "• Phí HTX: 2%" in rep.plain and "190323456789" in rep.plain

    # One typed line; the point is asked, then the households' parts are added from the summary.
    await rep.says("HTX em co 2 tan na loai 1, mai thu, gia 25k")
    await choose(rep, "Chợ Đồng Mỏ")
    assert "Lô hàng của bạn" in rep.plain
    await choose(rep, "Sửa")
    await choose(rep, "Các hộ góp")
    assert "Còn lại chưa chia: 2.000 kg" in rep.plain
    await rep.says("Hoàng Văn Tú 1200\n0912000903 800")
    await choose(rep, "Xong")
    assert "Lô hàng của bạn" in rep.plain and "Hoàng Văn Tú 1.200 kg" in rep.plain
    await choose(rep, "Xác nhận")
    assert "Đã lưu lô" in rep.plain

    await trader.says("can mua 2 tan na gia 27,5k tu 11 den 14/9 o lang son")
    assert "Đơn đặt mua của bạn" in trader.plain
    await choose(trader, "Xác nhận")

    # The matcher proposes to both; each accepts the way their messenger lets them.
    proposal = await latest(bot, rep, "Đề xuất ghép đơn")
    assert "27.500 ₫/kg" in proposal.text.replace("\xa0", " ")
    await choose(rep, "Đồng ý", proposal)
    await choose(trader, "Đồng ý", await latest(bot, trader, "Đề xuất ghép đơn"))
    assert "Đơn đã chốt" in trader.plain  # the answer to the second "Đồng ý"
    assert "HTX Na Chi Lăng" in trader.plain and "0912000901" in trader.plain
    assert (
        "Liên hệ: Hoàng Văn Mạnh 0912000902" in (await latest(bot, rep, "đã chốt")).text
    )  # both get the phone

    await choose(trader, "Chọn giờ lấy hàng")
    await choose(trader, "06:00–07:00")
    assert "Đã đặt giờ lấy hàng" in trader.plain
    trader_id = (await bot.user(trader)).id
    async with bot.db.uow() as uow:
        [match] = await uow.deals.for_trader(trader_id, ("scheduled",))

    # At the point: 1.900 kg on the scales, grade 1 as checked.
    await trader.says("/layhang")  # the only deal waiting
    await trader.says("1 tấn 9")
    await trader.says("loai 1")
    await choose(trader, "Lưu") if "Lưu" in trader.buttons else await trader.says("ok")
    assert "Thiếu 100 kg" in trader.plain  # the shortfall goes back to the trader's order

    await choose(rep, "Đúng", await latest(bot, rep, "Khối lượng này có đúng không?"))
    due = await latest(bot, trader, "Tiền hàng")
    assert "1.900 kg × 27.500 ₫/kg = 52.250.000 ₫" in due.text.replace("\xa0", " ")
    assert "Agribank, số tài khoản 190323456789" in due.text
    assert (await vietqr_code(bot, due)).startswith(b"\x89PNG")
    await choose(trader, "Đã chuyển khoản", due)
    await choose(rep, "Đã nhận tiền", await latest(bot, rep, "báo đã trả 52.250.000 ₫"))
    assert "đã hoàn tất" in rep.plain

    # The statements: Mai's share (800/2.000 of 1.900 kg) and the rep's sheet for all.
    statement = (await latest(bot, mai, "Phiếu chia tiền")).text.replace("\xa0", " ")
    assert "Lý Thị Mai, 760 kg – thành tiền 20.900.000 ₫, phí HTX 418.000 ₫, thực nhận 20.482.000 ₫" in (
        statement
    )
    summary = await latest(bot, rep, "Tổng: 1.900 kg")
    assert "52.250.000 ₫, phí HTX 1.045.000 ₫, các hộ nhận 51.205.000 ₫" in summary.text.replace("\xa0", " ")
    assert summary.extras.get(FILE_NAME, summary.attachment and summary.attachment.filename).endswith(".xlsx")
    async with bot.db.uow() as uow:
        row = await uow.session.get(models.Match, match.id)
        payouts = await uow.deals.payouts(match.id)
        order = await uow.orders.get(match.order_id)
    assert row is not None and (row.status, row.weighed_kg) == ("paid", 1_900)
    assert sum(p.gross_vnd for p in payouts) == 52_250_000 and sum(p.kg for p in payouts) == 1_900
    assert order is not None and order.remaining_kg == 100
