"""Proposals and pickups as conversations on every messenger: a group never takes a person's private
address, a typed number answers the last numbered message actually received (also while other
messages are on their way), labels and codes are typed as people type them, and a made deal gets
a pickup slot."""

from __future__ import annotations

import enum
import itertools

import pytest

from bot.engine.context import Ctx
from bot.engine.flow import Flow
from bot.engine.router import Command
from bot.engine.widgets import Choice, Select, TextInput
from bot.events import Incoming, Kind
from bot.parsing import answers
from storage import dto
from storage.uow import Database
from tests.harness import BotHarness, Person
from tests.test_matching_service import add_lot, add_order, live_matches, notice_with, press_in_notification

GROUP_IDS = itertools.count(-1001)


async def market(
    database: Database, channel: str = "telegram"
) -> tuple[BotHarness, dto.CollectionPoint, Person, Person]:
    """A farmer on ``channel`` and a trader on Telegram, a collection point, the matcher running."""
    bot = BotHarness(database, matcher=True)
    farmer, trader = bot.person("901", channel=channel), bot.person("902")
    await bot.register(farmer, role_label="Nông dân", name="Hoàng Văn Na", phone="0912000901")
    await bot.register(trader, role_label="Thương lái", name="Lái Bốn", phone="0912000902")
    point = await bot.add_point("Chợ Đồng Mỏ")
    return bot, point, farmer, trader


async def in_group(bot: BotHarness, person: Person, group: str, text: str) -> None:
    """``person`` writes ``text`` in a group chat the bot is in."""
    await bot.handle(
        Incoming(
            channel=person.channel,
            chat_id=group,
            user_id=person.user_id,
            kind=Kind.TEXT,
            text=text,
            update_id=str(next(bot.update_ids)),
            is_group=True,
        )
    )


async def texts_in_chat(bot: BotHarness, channel: str, chat_id: str) -> list[str]:
    async with bot.db.uow() as uow:
        return [i.payload["text"] for i in await uow.outbox.for_chat(channel, chat_id)]


# --- group versus private --------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["telegram", "zalo"])
async def test_a_group_message_never_moves_where_proposal_news_go(database: Database, channel: str) -> None:
    bot, point, farmer, trader = await market(database, channel)
    await add_lot(bot, farmer, point, 1000)
    await add_order(bot, trader, 1000, 30_000)
    [match] = await live_matches(bot)
    group = str(next(GROUP_IDS))

    await in_group(bot, farmer, group, "/gia na")  # a price question in the village group
    await in_group(bot, farmer, group, f"dong y {match.id}")  # decisions are made in private only
    assert (await bot.user(farmer)).chat_id == farmer.user_id
    assert (await live_matches(bot))[0].rep_accepted_at is None

    await press_in_notification(bot, trader, "Đồng ý")
    private = await texts_in_chat(bot, channel, farmer.user_id)
    assert any("Lái Bốn đã đồng ý đề xuất" in t for t in private)
    assert not any("đề xuất" in t.lower() for t in await texts_in_chat(bot, channel, group))

    await farmer.says("1" if channel == "zalo" else "Đồng ý")  # answered in private, where it arrived
    assert "Đơn đã chốt" in farmer.last and "Liên hệ: Lái Bốn 0912000902" in farmer.last
    assert (await live_matches(bot))[0].status == "accepted"


# --- numbered answers while notifications arrive ---------------------------------------------------


class Survey(enum.StrEnum):
    FRUIT = "fruit"
    KG = "kg"


def survey_flow() -> Flow:
    """A short flow of two questions (one numbered, one typed) for a person to be in the middle of."""
    flow = Flow("survey", Survey)
    flow.step(
        Survey.FRUIT,
        Select(
            "Bạn trồng quả gì nhiều nhất?",
            lambda ctx: [Choice("Hồng", "hong"), Choice("Vải", "vai"), Choice("Mận", "man")],
        ),
    )
    flow.step(
        Survey.KG,
        TextInput("Năm nay được bao nhiêu?", lambda _ctx, text: answers.read_quantity_kg(text), "?"),
    )

    @flow.committer
    async def done(ctx: Ctx) -> None:
        ctx.say(f"Đã ghi: {ctx.answers['fruit']} {ctx.answers['kg']} kg")

    return flow


async def enter_survey(bot: BotHarness, person: Person) -> None:
    flow = bot.services.router.flow(survey_flow())

    async def start(ctx: Ctx, _args: str) -> None:
        await flow.start(ctx)

    bot.services.router.command(Command("khaosat", start, "Khảo sát", in_menu=False))
    await person.says("/khaosat")
    assert person.buttons[0] == "Hồng" and "quả gì" in person.last


@pytest.mark.parametrize("channel", ["zalo", "console"])
async def test_numbers_answer_the_last_numbered_message_received_while_a_proposal_arrives(
    database: Database, channel: str
) -> None:
    bot, point, farmer, trader = await market(database, channel)
    await enter_survey(bot, farmer)

    # A proposal is made and queued for the farmer, not yet delivered.
    await add_lot(bot, farmer, point, 1000, settle=False)
    await add_order(bot, trader, 1000, 30_000, settle=False)
    await bot.bus.drain(bot.services)
    [match] = await live_matches(bot)
    assert any("Đề xuất ghép đơn" in r.text for r in await bot.notifications(farmer))

    await farmer.says("1")  # typed before the proposal reached them: the survey's first option
    assert "bao nhiêu" in farmer.last
    assert (await live_matches(bot))[0].rep_accepted_at is None

    # Delivered since: the proposal, then the survey's question "bao nhiêu?" — the newest message
    # asks for a typed number, so a number typed now answers it.
    proposal = await notice_with(bot, farmer, "Đồng ý")
    assert proposal.choices[0].label == "✅ Đồng ý"
    assert f"gõ «đồng ý {match.id}»" in proposal.text  # no buttons here: the code is given too
    await farmer.says("1")
    assert "Đã ghi: hong 1 kg" in farmer.last
    assert (await live_matches(bot))[0].rep_accepted_at is None

    # "Đã ghi" has no options and asks nothing: the proposal is the last numbered message again.
    await farmer.says("1")
    assert "Bạn đã đồng ý" in farmer.last
    assert (await live_matches(bot))[0].rep_accepted_at is not None
    await farmer.says("/khaosat")
    await farmer.says("1")  # Hồng, from the survey's list just received
    assert "bao nhiêu" in farmer.last

    # A second proposal arrives; a later reply with options takes the numbers over, but the
    # proposal's code still answers it, in the middle of the survey.
    second_trader = bot.person("903")
    await bot.register(second_trader, role_label="Thương lái", name="Lái Năm", phone="0912000903")
    await add_lot(bot, farmer, point, 500)
    await add_order(bot, second_trader, 500, 29_000)
    second = (await live_matches(bot))[-1]
    assert second.id != match.id and second.status == "proposed"
    await farmer.says("/ngonngu")
    assert "Tiếng Việt" in farmer.buttons
    await farmer.says(f"đồng ý {second.id}")
    assert "Bạn đã đồng ý" in farmer.last and "bao nhiêu" in farmer.last
    assert (await live_matches(bot))[-1].rep_accepted_at is not None

    await farmer.says("1 tấn rưỡi")
    assert "Đã ghi: hong 1500 kg" in farmer.last


# --- typed labels ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "typed"),
    [("telegram", "✅ Đồng ý"), ("telegram", "dong y"), ("telegram", "Đồng ý"), ("telegram", "ok"),
     ("zalo", "✅ Đồng ý"), ("zalo", "dong y"), ("zalo", "Đồng ý"), ("zalo", "1")],
)  # fmt: skip
async def test_a_proposal_accepted_by_its_typed_label(database: Database, channel: str, typed: str) -> None:
    bot, point, farmer, trader = await market(database, channel)
    await add_lot(bot, farmer, point, 1000)
    await add_order(bot, trader, 1000, 30_000)
    await farmer.says(typed)
    assert "Bạn đã đồng ý" in farmer.last
    assert (await live_matches(bot))[0].rep_accepted_at is not None


async def test_a_decline_and_a_cancellation_typed_with_the_code(database: Database) -> None:
    bot, point, farmer, trader = await market(database, "zalo")
    await add_lot(bot, farmer, point, 1000)
    await add_order(bot, trader, 1000, 30_000)
    [match] = await live_matches(bot)
    await trader.says(f"dong y #{match.id}")
    await farmer.says(f"Đồng ý {match.id}")
    assert "Đơn đã chốt" in farmer.last and "Liên hệ: Lái Bốn 0912000902" in farmer.last
    await trader.says(f"huy don {match.id}")
    assert "Đã hủy đơn" in trader.last
    await farmer.says(f"tu choi {match.id}")  # too late: the deal is gone
    assert "đã được xử lý" in farmer.last
    assert (await live_matches(bot))[0].status == "cancelled"


# --- pickup slots ------------------------------------------------------------------------------------


async def made_deal(bot: BotHarness, point: dto.CollectionPoint, farmer: Person, trader: Person) -> int:
    await add_lot(bot, farmer, point, 2000)
    await add_order(bot, trader, 2000, 30_000)
    match = (await live_matches(bot))[-1]
    await press_in_notification(bot, farmer, "Đồng ý")
    await press_in_notification(bot, trader, "Đồng ý")
    assert "Bây giờ hãy chọn giờ lấy hàng" in trader.last
    return match.id


async def test_the_trader_picks_a_slot_and_the_farmer_is_told(database: Database) -> None:
    bot, point, farmer, trader = await market(database)
    match_id = await made_deal(bot, point, farmer, trader)
    await trader.presses("Chọn giờ lấy hàng")
    assert "Chọn giờ lấy 2.000 kg tại Chợ Đồng Mỏ, ngày 10/09/2026" in trader.plain
    assert trader.buttons[0] == "08:00–09:00" and "Ngày sau »" in trader.buttons
    await trader.presses("Ngày sau")
    assert "ngày 11/09/2026" in trader.plain and trader.buttons[0] == "06:00–07:00"
    await trader.says("7h")  # a time typed as people say it
    assert "Đã đặt giờ lấy hàng: 07:00 ngày 11/09/2026 tại Chợ Đồng Mỏ (2.000 kg Na)" in trader.plain
    told = (await bot.outbox_texts(farmer))[-1].replace("\xa0", " ")
    assert f"Lái Bốn sẽ đến Chợ Đồng Mỏ lúc 07:00 ngày 11/09/2026 lấy 2.000 kg Na (đơn #{match_id})" in told
    assert (await live_matches(bot))[0].status == "scheduled"

    await farmer.says("/lichlay")
    assert "11/09/2026, Chợ Đồng Mỏ – 07:00–08:00: mang 2.000 kg Na, Loại 1" in farmer.plain
    await trader.says("/lichlay")
    assert "nhận 2.000 kg Na, Loại 1 của Hoàng Văn Na (0912000901)" in trader.plain


async def test_slot_numbers_on_a_numbered_list_are_option_numbers_not_hours(database: Database) -> None:
    bot = BotHarness(database, matcher=True)
    farmer, trader = bot.person("911"), bot.person("912", channel="zalo")
    await bot.register(farmer, role_label="Nông dân", name="Hoàng Văn Na", phone="0912000911")
    await bot.register(trader, role_label="Thương lái", name="Lái Sáu", phone="0912000912")
    point = await bot.add_point("Chợ Đồng Mỏ")
    await made_deal(bot, point, farmer, trader)
    await trader.says("1")  # "1. Chọn giờ lấy hàng"
    labels = trader.buttons
    assert labels[:2] == ["08:00–09:00", "09:00–10:00"]
    await trader.says("7")  # the seventh line, not seven o'clock
    assert f"Đã đặt giờ lấy hàng: {labels[6][:5]}" in trader.plain


async def test_the_earliest_slot_and_a_full_one(database: Database) -> None:
    bot, point, farmer, trader = await market(database)
    async with bot.db.uow() as uow:
        await uow.points.change(point.id, slot_capacity_kg=2_500)  # one 2-tonne pickup per hour
    await made_deal(bot, point, farmer, trader)
    await trader.presses("Chọn giờ lấy hàng")
    slots = trader.replies[-1]
    # Another trader takes the earliest slot in the meantime.
    other = bot.person("904")
    await bot.register(other, role_label="Thương lái", name="Lái Bảy", phone="0912000904")
    await made_deal(bot, point, farmer, other)
    await other.presses("Giờ sớm nhất")
    assert "Đã đặt giờ lấy hàng: 08:00 ngày 10/09/2026" in other.plain
    await trader.presses_in(slots, "08:00")
    assert "Khung giờ này vừa hết chỗ" in trader.plain and trader.buttons[0] == "09:00–10:00"
    await trader.presses("09:00")
    assert "Đã đặt giờ lấy hàng: 09:00" in trader.plain
    assert [m.status for m in await live_matches(bot)] == ["scheduled", "scheduled"]


async def test_only_the_deals_trader_books_its_pickup(database: Database) -> None:
    bot, point, farmer, trader = await market(database)
    await made_deal(bot, point, farmer, trader)
    deal_notice = trader.replies[-1]
    other = bot.person("905")
    await bot.register(other, role_label="Thương lái", name="Lái Tám", phone="0912000905")
    await other.presses_in(deal_notice, "Giờ sớm nhất")
    assert "Đơn này không phải của bạn" in other.last
    await farmer.presses_in(deal_notice, "Chọn giờ lấy hàng")
    assert "chỉ dành cho: Thương lái" in farmer.last
    assert (await live_matches(bot))[0].status == "accepted"
