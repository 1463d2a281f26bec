"""Personal data as the law asks: consent before anything is kept (see test_registration), a
person sees everything held about them (and gets it as a file), corrects it (/hoso, see
test_profile_and_gouging), deletes their account — the trade records stay consistent for the
counterpart and the officials' totals —, and what is kept only for a while is deleted."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from bot import logs
from bot.services.housekeeping import enforce_retention
from storage import dto, models
from storage.uow import Database
from tests.harness import BotHarness
from tests.test_deals import deal, parties


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    return BotHarness(database)


async def test_a_person_sees_everything_held_about_them_as_a_file(bot: BotHarness) -> None:
    seller, _trader = await parties(bot)
    await deal(bot, kg=1_000, shares=(dto.LotShare('=HYPERLINK("http://x")', "0912000709", 1_000),))
    await seller.says("/dulieu")
    assert "Lô hàng: 1" in seller.plain and "Giao dịch: 1" in seller.plain
    [reply] = seller.replies
    assert reply.attachment is not None and reply.attachment.filename == "du-lieu-cua-toi.xlsx"
    book = load_workbook(io.BytesIO(reply.attachment.data))
    profile = book["Hồ sơ"]
    headers = [c.value for c in profile[1]]
    row = {h: c.value for h, c in zip(headers, profile[2], strict=True)}
    assert row["name"] == "HTX Na Chi Lăng" and row["bank_account"] == "190323456789"
    assert row["role"] == "Đại diện HTX"  # codes in words, as in every export
    deals = book["Giao dịch"]
    headers = [c.value for c in deals[1]]
    assert {h: c.value for h, c in zip(headers, deals[2], strict=True)}["status"] == "đã chốt"
    household = book["Hộ trong lô gộp"]
    formula_cell = next(c for c in household[2] if isinstance(c.value, str) and "HYPERLINK" in c.value)
    assert formula_cell.data_type == "s"  # a typed formula stays inert text


async def test_deleting_an_account_keeps_the_trade_records_but_not_the_person(bot: BotHarness) -> None:
    seller, trader = await parties(bot)
    match_id = await deal(bot, kg=1_000)
    await trader.says("/xoataikhoan")
    await trader.presses("Xóa tài khoản của tôi")
    assert "còn 1 giao dịch đã chốt" in trader.plain  # the seller relies on that deal
    async with bot.db.uow() as uow:  # the deal ends (paid), then the account may go
        await uow.matches.transition(match_id, ("accepted",), status="paid", weighed_kg=1_000)
    await trader.says("/xoataikhoan")
    await trader.says("thôi")
    assert "Đã giữ lại" in trader.plain
    await trader.says("/xoataikhoan")
    await trader.presses("Xóa tài khoản của tôi")
    assert "Đã xóa tài khoản" in trader.plain

    async with bot.db.uow() as uow:
        row = await uow.session.scalar(select(models.User).where(models.User.erased_at.is_not(None)))
        assert row is not None
        assert (row.name, row.phone, row.external_id) == (None, None, f"erased:{row.id}")
        match = await uow.matches.get(match_id)
        assert match is not None and match.status == "paid" and match.kg == 1_000  # the record stays
        order = await uow.orders.get((await uow.matches.get(match_id)).order_id)  # type: ignore[union-attr]
        assert order is not None and order.trader_id == row.id
        audited = [e.action for e in await uow.audit.recent()]
    assert "account_erased" in audited
    # Writing again is a new, unregistered person.
    await trader.says("/start")
    assert "Bạn đồng ý" in trader.plain
    # The seller's history still shows the deal, without the trader's identity.
    await seller.says("/dulieu")
    assert "Giao dịch: 1" in seller.plain


async def test_what_is_kept_only_for_a_while_is_deleted(bot: BotHarness) -> None:
    lan = bot.person("811")
    await lan.says("/start")  # a flow left half-way
    await lan.presses("Tôi đồng ý")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    async with bot.db.uow() as uow:
        await uow.session.execute(update(models.ConversationState).values(updated_at=old))
        await uow.session.execute(update(models.OutboxMessage).values(created_at=old, status="sent"))
        await uow.session.execute(update(models.InboxUpdate).values(received_at=old))
    assert await enforce_retention(bot.services) > 0
    async with bot.db.uow() as uow:
        left = [
            await uow.session.scalar(select(func.count()).select_from(table))
            for table in (models.ConversationState, models.OutboxMessage, models.InboxUpdate)
        ]
    assert left == [0, 0, 0]


async def test_a_phone_never_reaches_the_log(bot: BotHarness) -> None:
    """The bot's own logging at DEBUG while people register, trade, get refused and type phones."""
    stream = io.StringIO()
    handler = logs.configure("DEBUG", stream=stream)
    try:
        await parties(bot)
        await deal(bot, kg=1_000)
        stranger = bot.person("777")
        await stranger.says("/capquyen 0912 000 777 can_bo")
        logging.getLogger("bot.test").warning("a careless line: %s", "gọi 0912.000.777")
    finally:
        logging.getLogger().removeHandler(handler)
    logged = stream.getvalue()
    assert "0912***777" in logged  # the careless line is there, masked
    for phone in ("0912000777", "0912 000 777", "0912.000.777", "0912000701", "0912000702"):
        assert phone not in logged


def test_phones_are_masked_however_they_are_written() -> None:
    line = "gọi 0912 345 678, +84 912.345.678 hoặc 84912345678; lô 2000 kg, mã 20251201"
    assert logs.mask(line) == "gọi 0912***678, 8491***678 hoặc 8491***678; lô 2000 kg, mã 20251201"
