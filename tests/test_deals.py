"""After the slot: the pickup is weighed, the seller confirms (or disputes), the trader pays — with a
VietQR code for the exact amount —, the seller confirms receipt, and a pooled lot's households get
their statements; shortfall, surplus, no-shows and unpaid reminders. Money splits are checked as
properties: the parts always add up to the payment."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.events import Reply
from bot.services import deals, money, vietqr
from storage import dto, models
from storage.uow import Database
from tests.harness import BotHarness, Person

SEPT = dt.date(2026, 9, 10)


# --- money: pure properties ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    shares=st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=12),
    weighed=st.integers(min_value=0, max_value=500_000),
    price=st.integers(min_value=1_000, max_value=300_000),
    fee=st.floats(min_value=0, max_value=30, allow_nan=False).map(lambda f: round(f, 2)),
)
def test_household_payouts_add_up_exactly_to_the_payment(
    shares: list[int], weighed: int, price: int, fee: float
) -> None:
    amount = money.payment_amount(weighed, price)
    lines = money.household_payouts(
        [(f"Hộ {i}", None, kg) for i, kg in enumerate(shares)], weighed, amount, fee
    )
    assert sum(line.gross for line in lines) == amount
    assert sum(line.kg for line in lines) == weighed
    assert sum(line.fee for line in lines) == money.round_half_up(Fraction(amount) * Fraction(str(fee)) / 100)
    assert all(line.net == line.gross - line.fee and line.net >= 0 and line.fee >= 0 for line in lines)
    # Nobody is off by more than one unit from their exact share.
    total = sum(shares)
    for line, kg in zip(lines, shares, strict=True):
        assert abs(line.kg - Fraction(weighed * kg, total)) < 1


def test_payments_are_rounded_to_the_thousand_as_people_pay() -> None:
    assert money.payment_amount(2_345, 27_500) == 64_488_000  # 64.487.500 ₫ rounds up
    assert money.payment_amount(1_000, 25_000) == 25_000_000
    assert money.payment_amount(3, 333) == 1_000  # 999 ₫
    assert money.round_half_up(Fraction(499), 1000) == 0 and money.round_half_up(500, 1000) == 1000


def test_vietqr_carries_the_bank_account_and_the_exact_amount() -> None:
    from vietnam_qr_pay import QRPay

    code = vietqr.payload("970405", "190323456789", 64_488_000, "Nông sản đơn 12")
    parsed = QRPay(code)
    assert parsed.is_valid and parsed.consumer.bank_bin == "970405"
    assert (parsed.consumer.bank_number, parsed.amount) == ("190323456789", "64488000")
    assert parsed.additional_data.purpose == "NONG SAN DON 12"
    assert vietqr.png(code).startswith(b"\x89PNG")
    assert vietqr.find_bank("vietcombank") == vietqr.bank_by_bin("970436")
    assert vietqr.find_bank("agri bank") is not None and vietqr.find_bank("ngân hàng ma") is None
    assert vietqr.read_account("1903 2345 6789") == "190323456789" and vietqr.read_account("12") is None


# --- a deal, set up as the earlier steps leave it -----------------------------------------------------


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    return BotHarness(database)


async def person(bot: BotHarness, uid: str, role: str, name: str, phone: str, **extra: object) -> Person:
    p = bot.person(uid)
    async with bot.db.uow() as uow:
        user = await uow.users.ensure("telegram", uid, uid, "vi")
        await uow.users.register(
            user.id, name=name, phone=phone, role=role, province_code=20, ward_code=6463, now=bot.clock.now()
        )
        if extra:
            await uow.users.update(user.id, **extra)
    return p


async def deal(
    bot: BotHarness,
    *,
    kg: int = 2_000,
    price: int = 25_000,
    shares: tuple[dto.LotShare, ...] = (),
    slot_ended_hours_ago: float | None = None,
) -> int:
    """A lot and an order both sides accepted (a match), scheduled into a slot if asked."""
    point = await bot.add_point("Chợ Chi Lăng")
    async with bot.db.uow() as uow:
        seller = await uow.users.by_external("telegram", "701")
        trader = await uow.users.by_external("telegram", "702")
        assert seller is not None and trader is not None
        lot = await uow.lots.add(
            owner_id=seller.id,
            product_code="na",
            quantity_kg=kg + 500,
            grade="1",
            certifications=[],
            collection_point_id=point.id,
            ready_from=SEPT,
            ready_to=SEPT + dt.timedelta(days=3),
            asking_price=None,
            shares=shares,
        )
        order = await uow.orders.add(
            trader_id=trader.id,
            product_code="na",
            quantity_kg=kg,
            price=price,
            min_lot_kg=0,
            pickup_from=SEPT,
            pickup_to=SEPT + dt.timedelta(days=5),
            provinces=[20],
            collection_points=[],
            grades=[],
            required_certs=[],
        )
        assert await uow.lots.take(lot.id, kg) and await uow.orders.take(order.id, kg)
        match = await uow.matches.add(lot_id=lot.id, order_id=order.id, kg=kg, price=price, expires_at=None)
        now = bot.clock.now()
        await uow.matches.transition(
            match.id, ("proposed",), status="accepted", rep_accepted_at=now, trader_accepted_at=now
        )
        if slot_ended_hours_ago is not None:
            end = now - dt.timedelta(hours=slot_ended_hours_ago)
            await uow.slots.ensure(point.id, [(end - dt.timedelta(hours=1), end)], 20_000, 4)
            slot = (await uow.slots.between(point.id, end - dt.timedelta(hours=1), end))[0]
            assert await uow.slots.book(slot.id, kg)
            await uow.matches.transition(match.id, ("accepted",), status="scheduled", slot_id=slot.id)
    return match.id


async def close(bot: BotHarness, match_id: int, *, weighed_kg: int, paid: bool = True) -> None:
    """Take a deal through the steps the chain tests walk in the chat: the seller records the weight
    (their word needs no confirmation), the trader pays, the seller confirms receipt (if ``paid``)."""
    now, today = bot.clock.now(), bot.clock.today()
    async with bot.db.uow() as uow:
        p = await deals.parties(uow, match_id)
        assert p is not None
        outcome = await deals.record_pickup(
            uow, p.seller, match_id, weighed_kg, "1", tolerance=bot.settings.weighing_tolerance, now=now
        )
        assert outcome.done is deals.Done.OK
        if paid:
            assert await deals.record_payment(uow, p.trader, match_id, deals.CASH, now=now) is deals.Done.OK
            floor = await deals.price_floor(uow, match_id, today, bot.settings.gouging_margin)
            receipt = await deals.confirm_receipt(
                uow, p.seller, match_id, received=True, floor=floor, now=now
            )
            assert receipt.done is deals.Done.OK
    await bot.settle()


async def parties(bot: BotHarness) -> tuple[Person, Person]:
    seller = await person(
        bot,
        "701",
        "coop_rep",
        "HTX Na Chi Lăng",
        "0912000701",
        bank_bin="970405",
        bank_account="190323456789",
    )
    trader = await person(bot, "702", "trader", "Hoàng Văn Mạnh", "0912000702")
    return seller, trader


async def last_notification(bot: BotHarness, who: Person) -> Reply:
    notes = await bot.notifications(who)
    assert notes, f"nothing for {who.key}"
    return notes[-1]


async def match_row(bot: BotHarness, match_id: int) -> dto.Match:
    async with bot.db.uow() as uow:
        match = await uow.matches.get(match_id)
    assert match is not None
    return match


async def volumes(bot: BotHarness, match_id: int) -> tuple[dto.Lot, dto.Order]:
    async with bot.db.uow() as uow:
        match = await uow.matches.get(match_id)
        assert match is not None
        lot, order = await uow.lots.get(match.lot_id), await uow.orders.get(match.order_id)
    assert lot is not None and order is not None
    return lot, order


# --- the whole chain ------------------------------------------------------------------------------


async def test_weigh_confirm_pay_with_vietqr_receipt_and_household_statements(bot: BotHarness) -> None:
    seller, trader = await parties(bot)
    household = await person(bot, "703", "farmer", "Lý Thị Mai", "0912000703")
    async with bot.db.uow() as uow:
        rep = await uow.users.by_external("telegram", "701")
        assert rep is not None
        await uow.users.update(rep.id, coop_fee_pct=2.0)
    shares = (dto.LotShare("Hoàng Văn Tú", None, 1_500), dto.LotShare("Lý Thị Mai", "0912000703", 1_000))
    match_id = await deal(bot, kg=2_000, price=27_500, shares=shares)

    await trader.says("/layhang")  # one deal waiting: no need to ask which
    assert f"#{match_id}" in trader.plain and "Khối lượng cân được bao nhiêu" in trader.plain
    await trader.says("1 tấn 9")  # 1.900 kg: 100 kg short
    await trader.says("loai1")
    assert "Khối lượng cân: 1.900 kg" in trader.plain
    await trader.says("ok")
    assert "Đã ghi khối lượng cân" in trader.plain and "Thiếu 100 kg" in trader.plain
    lot, order = await volumes(bot, match_id)
    assert order.remaining_kg == 100  # the shortfall goes back to the trader's order
    assert lot.quantity_kg == 2_400  # the lot was 100 kg smaller than reported

    ask = await last_notification(bot, seller)
    assert "1.900 kg (thỏa thuận 2.000 kg)" in ask.text.replace("\xa0", " ")
    await seller.presses_in(ask, "Đúng")
    assert "đã xác nhận khối lượng" in seller.plain

    due = await last_notification(bot, trader)
    text = due.text.replace("\xa0", " ")
    assert "1.900 kg × 27.500 ₫/kg = 52.250.000 ₫" in text
    assert "Agribank, số tài khoản 190323456789" in text
    assert (
        due.attachment is not None and due.attachment.is_photo and due.attachment.data.startswith(b"\x89PNG")
    )
    await trader.presses_in(due, "Đã chuyển khoản")
    assert "Đang chờ người bán xác nhận" in trader.plain

    receipt = await last_notification(bot, seller)
    assert "báo đã trả 52.250.000 ₫ (chuyển khoản)" in receipt.text.replace("\xa0", " ")
    await seller.presses_in(receipt, "Đã nhận tiền")
    assert "đã hoàn tất" in seller.plain
    assert (await match_row(bot, match_id)).status == "paid"

    # The households: parts that add up exactly to the payment, the coop's 2 % fee included.
    statement = (await last_notification(bot, household)).text.replace("\xa0", " ")
    assert (
        "Lý Thị Mai, 760 kg – thành tiền 20.900.000 ₫, phí HTX 418.000 ₫, thực nhận 20.482.000 ₫" in statement
    )
    summary = await last_notification(bot, seller)
    assert summary.attachment is not None and summary.attachment.filename.endswith(".xlsx")
    assert (
        "Tổng: 1.900 kg – 52.250.000 ₫, phí HTX 1.045.000 ₫, các hộ nhận 51.205.000 ₫"
        in summary.text.replace("\xa0", " ")
    )
    async with bot.db.uow() as uow:
        payouts = await uow.deals.payouts(match_id)
    assert sum(p.gross_vnd for p in payouts) == 52_250_000
    assert [p.user_id is not None for p in payouts] == [False, True]


async def test_a_surplus_is_offered_to_the_trader_first(bot: BotHarness) -> None:
    seller, trader = await parties(bot)
    match_id = await deal(bot, kg=2_000, price=25_000)
    await trader.says(f"/layhang {match_id}")
    await trader.says("2.150 kg")
    await trader.says("1")
    await trader.says("ok")
    assert "Dư 150 kg" in trader.plain
    offer = await last_notification(bot, trader)
    assert "Cân dư 150 kg" in offer.text
    await seller.presses_in(await last_notification(bot, seller), "Đúng")
    assert await bot.outbox_texts(trader) == [offer.text]  # no bill while the surplus is undecided
    await trader.presses_in(offer, "Lấy thêm")
    due = await last_notification(bot, trader)
    assert "2.150 kg × 25.000 ₫/kg = 53.750.000 ₫" in due.text.replace("\xa0", " ")
    lot, order = await volumes(bot, match_id)
    assert (lot.quantity_kg, lot.remaining_kg) == (2_650, 500)
    assert (order.quantity_kg, order.remaining_kg) == (2_150, 0)


async def test_more_than_the_tolerance_is_refused_and_a_left_surplus_goes_back_to_the_lot(
    bot: BotHarness,
) -> None:
    _seller, trader = await parties(bot)
    match_id = await deal(bot, kg=1_000)
    await trader.says(f"/layhang {match_id}")
    await trader.says("1.200 kg")  # +20 %: beyond ±10 %
    assert "từ 1 kg đến 1.100 kg" in trader.plain
    await trader.says("1.080")
    await trader.says("xo")
    await trader.says("luu")
    await trader.presses_in(await last_notification(bot, trader), "Không lấy")
    lot, _order = await volumes(bot, match_id)
    assert (lot.quantity_kg, lot.remaining_kg) == (1_580, 580)  # the 80 kg are on sale again
    async with bot.db.uow() as uow:
        queued = list(await uow.session.scalars(select(models.DomainEvent.kind)))
    assert "lot_changed" in queued


async def test_a_disputed_weight_is_settled_by_the_official(bot: BotHarness) -> None:
    seller, trader = await parties(bot)
    official = await person(bot, "704", "official", "Cán bộ Sở", "0912000704")
    match_id = await deal(bot, kg=2_000)
    await trader.says(f"/layhang {match_id}")
    await trader.says("1.800")
    await trader.says("1")
    await trader.says("xac nhan")
    await seller.presses_in(await last_notification(bot, seller), "Không đúng")
    assert "cân được bao nhiêu" in seller.plain
    await seller.says("hai tấn")
    assert "tranh chấp" in seller.plain
    assert (await match_row(bot, match_id)).status == "disputed"
    ask = await last_notification(bot, official)
    assert "cân được 1.800 kg, người bán (HTX Na Chi Lăng) báo 2.000 kg" in ask.text
    await trader.presses_in(ask, "Theo cân")  # a trader pressing the official's button is refused
    assert "chỉ dành cho" in trader.plain
    await official.presses_in(ask, "Theo người bán")
    assert "Đã công nhận khối lượng 2.000 kg" in official.plain
    match = await match_row(bot, match_id)
    assert (match.status, match.weighed_kg) == ("picked_up", 2_000)
    lot, order = await volumes(bot, match_id)
    assert (lot.quantity_kg, order.remaining_kg) == (2_500, 0)  # the shortfall booked at the scales is undone
    due = await last_notification(bot, trader)
    assert "Tiền hàng" in due.text
    async with bot.db.uow() as uow:
        audited = [e.action for e in await uow.audit.recent()]
    assert "dispute_resolved" in audited


async def test_a_trader_who_does_not_come_is_a_no_show_and_the_volume_goes_back(bot: BotHarness) -> None:
    seller, trader = await parties(bot)
    official = await person(bot, "704", "official", "Cán bộ Sở", "0912000704")
    bot.clock.set(dt.datetime.now(dt.UTC))  # slots are real instants: the job compares with them
    first = await deal(bot, kg=1_000, slot_ended_hours_ago=3)
    assert await deals.no_show_job(bot.services) == 1
    assert await deals.no_show_job(bot.services) == 0  # asked once
    await bot.settle()
    ask = await last_notification(bot, seller)
    assert "có đến lấy hàng không" in ask.text
    await seller.presses_in(ask, "Không đến")
    assert "không đến" in seller.plain
    lot, _order = await volumes(bot, first)
    assert lot.remaining_kg == 1_500 and (await match_row(bot, first)).status == "no_show"
    assert "lần thứ 1" in (await last_notification(bot, trader)).text
    assert await bot.outbox_texts(official) == []  # once can happen

    second = await deal(bot, kg=500)  # another deal, no slot: the seller says it by number
    await seller.says(f"không đến {second}")
    assert "lần thứ 2" in (await last_notification(bot, trader)).text
    assert "đã không đến lấy hàng 2 lần" in (await last_notification(bot, official)).text
    async with bot.db.uow() as uow:
        t = await uow.users.by_external("telegram", "702")
    assert t is not None and t.no_shows == 2


async def test_unpaid_deals_are_reminded_then_go_to_the_official(bot: BotHarness) -> None:
    seller, trader = await parties(bot)
    official = await person(bot, "704", "official", "Cán bộ Sở", "0912000704")
    match_id = await deal(bot, kg=1_000)
    await seller.says(f"/layhang {match_id}")  # the seller records the weight: no confirmation needed
    await seller.says("1.000")
    await seller.says("1")
    await seller.says("ok")
    assert "Tiền hàng" in (await last_notification(bot, trader)).text
    async with bot.db.uow() as uow:
        payment = await uow.deals.payment(match_id)
    assert payment is not None
    due = payment.due_since
    bot.clock.set(due + dt.timedelta(days=1))
    assert await deals.payment_reminder_job(bot.services) == 0  # not overdue yet
    bot.clock.set(due + dt.timedelta(days=3))
    assert await deals.payment_reminder_job(bot.services) == 1
    assert await deals.payment_reminder_job(bot.services) == 0  # once a day
    await bot.settle()
    assert "Nhắc thanh toán đơn" in (await last_notification(bot, trader)).text
    assert await bot.outbox_texts(official) == []
    bot.clock.set(due + dt.timedelta(days=6))
    assert await deals.payment_reminder_job(bot.services) == 1
    await bot.settle()
    assert "chưa trả 25.000.000 ₫" in (await last_notification(bot, official)).text.replace("\xa0", " ")


async def test_only_the_parties_may_act_on_a_deal(bot: BotHarness) -> None:
    _seller, _trader = await parties(bot)
    stranger = await person(bot, "705", "trader", "Người Lạ", "0912000705")
    match_id = await deal(bot, kg=1_000)
    await stranger.says(f"/layhang {match_id}")
    assert "không có đơn nào đang chờ lấy hàng" in stranger.plain.lower()
    assert (await match_row(bot, match_id)).status == "accepted"


# --- volume is conserved through shortfall, surplus and no-shows (property) -------------------------

LIVE = ("proposed", "accepted", "scheduled")
WEIGHED = ("picked_up", "disputed", "paid")


async def assert_volume_conserved(bot: BotHarness, match_id: int) -> None:
    lot, order = await volumes(bot, match_id)
    async with bot.db.uow() as uow:
        lot_matches = await uow.matches.for_lot(lot.id, (*LIVE, *WEIGHED, "no_show"))
        order_matches = await uow.matches.for_order(order.id, (*LIVE, *WEIGHED, "no_show"))

    def booked(matches: list[dto.Match], counted: tuple[str, ...]) -> int:
        return sum(m.kg for m in matches if m.status in counted) + sum(
            m.weighed_kg or 0 for m in matches if m.status in WEIGHED
        )

    assert lot.quantity_kg == lot.remaining_kg + booked(lot_matches, LIVE)
    assert order.quantity_kg == order.remaining_kg + booked(order_matches, (*LIVE, "no_show"))
    for m in lot_matches:
        assert (m.weighed_kg or 0) <= deals.max_weighed(m.kg, bot.settings.weighing_tolerance)


# Each example makes its own deal in the test's database: sharing the fixture is intended.
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kg=st.integers(min_value=100, max_value=5_000),
    ratio=st.floats(min_value=0.5, max_value=1.2),
    take=st.booleans(),
    dispute_to=st.one_of(st.none(), st.floats(min_value=0.6, max_value=1.1)),
    no_show=st.booleans(),
)
async def test_volume_is_conserved_whatever_happens_after_the_slot(
    database: Database, kg: int, ratio: float, take: bool, dispute_to: float | None, no_show: bool
) -> None:
    bot = BotHarness(database)
    if not await database_has_parties(bot):
        await parties(bot)
    match_id = await deal(bot, kg=kg)
    async with bot.db.uow() as uow:
        seller = await uow.users.by_external("telegram", "701")
        trader = await uow.users.by_external("telegram", "702")
        official = await uow.users.by_external("telegram", "709") or await make_official(uow, bot)
    assert seller and trader and official
    tol, now = bot.settings.weighing_tolerance, bot.clock.now()
    async with bot.db.uow() as uow:
        if no_show:
            assert await deals.report_no_show(uow, seller, match_id, now=now) is deals.Done.OK
        else:
            weighed = int(kg * ratio)
            outcome = await deals.record_pickup(uow, trader, match_id, weighed, "1", tolerance=tol, now=now)
            assert (outcome.done is deals.Done.OK) == (0 < weighed <= deals.max_weighed(kg, tol))
            if outcome.surplus_kg:
                await deals.decide_surplus(uow, trader, match_id, take, now=now)
            if outcome.done is deals.Done.OK and dispute_to is not None:
                await deals.answer_weight(
                    uow, seller, match_id, agree=False, claimed_kg=int(kg * dispute_to), now=now
                )
                await deals.resolve_dispute(
                    uow, official, match_id, int(kg * dispute_to), tolerance=tol, now=now
                )
    await assert_volume_conserved(bot, match_id)


async def database_has_parties(bot: BotHarness) -> bool:
    async with bot.db.uow() as uow:
        return await uow.users.by_external("telegram", "701") is not None


async def make_official(uow, bot: BotHarness) -> dto.User:  # type: ignore[no-untyped-def]
    user = await uow.users.ensure("telegram", "709", "709", "vi")
    await uow.users.register(
        user.id,
        name="Cán bộ",
        phone="0912000709",
        role="official",
        province_code=20,
        ward_code=6463,
        now=bot.clock.now(),
    )
    return await uow.users.get(user.id)


# --- a final price below the anti-gouging floor -------------------------------------------------------


async def test_a_deal_paid_below_the_floor_alerts_the_provinces_official(bot: BotHarness) -> None:
    seller, trader = await parties(bot)
    official = await person(bot, "704", "official", "Cán bộ Sở", "0912000704")
    async with bot.db.uow() as uow:  # the reference price rose after the deal was made
        await uow.prices.add(product_code="na", province_code=20, price=30_000, valid_from=SEPT, set_by=None)
    match_id = await deal(bot, kg=1_000, price=24_000)  # the floor is 30.000 × (1 − 15 %) = 25.500
    await seller.says(f"/layhang {match_id}")
    await seller.says("1.000")
    await seller.says("1")
    await seller.says("ok")
    await trader.presses_in(await last_notification(bot, trader), "Đã trả tiền mặt")
    assert await bot.outbox_texts(official) == []  # paid is not received
    await seller.presses_in(await last_notification(bot, seller), "Đã nhận tiền")
    assert (await match_row(bot, match_id)).status == "paid"
    alert = (await last_notification(bot, official)).text.replace("\xa0", " ")
    assert f"Cảnh báo ép giá: đơn #{match_id} (Na, 1.000 kg) đã thanh toán với giá 24.000 ₫/kg" in alert
    assert "dưới giá sàn 25.500 ₫/kg" in alert and "Hoàng Văn Mạnh – 0912000702" in alert

    fair = await deal(bot, kg=500, price=26_000)  # above the floor: nobody is alerted
    await close(bot, fair, weighed_kg=500)
    assert (await match_row(bot, fair)).status == "paid"
    assert len(await bot.outbox_texts(official)) == 1
