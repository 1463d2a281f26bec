"""One person, two messengers: a Zalo account joins a Telegram registration with a one-time code the
Telegram account received; one history on both, notifications where the person wrote last (or where
they chose), codes that expire, count wrong tries and never tell whether a phone is registered;
two registered accounts of one role merged, of two roles refused; unlinking; erasure of all."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from bot.services.linking import ASKED_PER_HOUR, CODES_PER_HOUR
from storage import migrate, models
from storage.repositories.accounts import DROPPED, KEPT_AS_WRITTEN, UNION, references_to_users
from storage.uow import Database
from tests.harness import BotHarness, Person
from tests.test_market_conversations import GROUP_IDS, in_group
from tests.test_matching_service import add_lot, add_order, live_matches
from tests.test_storage import empty_db  # noqa: F401 (a fixture)

PHONE = "0912000801"
CODE = re.compile(r"Mã liên kết tài khoản: (\d{6})")


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    harness = BotHarness(database, matcher=True)
    await harness.add_point("Chợ Đồng Mỏ")
    return harness


async def telegram_rep(bot: BotHarness, uid: str = "801", phone: str = PHONE) -> Person:
    rep = bot.person(uid)
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone=phone)
    return rep


async def codes_received(bot: BotHarness, person: Person) -> list[str]:
    return [m.group(1) for t in await bot.outbox_texts(person) if (m := CODE.search(t))]


async def ask_code(bot: BotHarness, newcomer: Person, owner: Person, phone: str = PHONE) -> str:
    """``newcomer`` asks to link to the account registered with ``phone``; the code ``owner`` got."""
    await newcomer.says("/lienket")
    assert "Số điện thoại bạn đã đăng ký ở tài khoản kia" in newcomer.plain
    await newcomer.says(phone)
    assert "Nếu số này đã đăng ký, mã liên kết vừa được gửi tới tài khoản đó" in newcomer.plain
    return (await codes_received(bot, owner))[-1]


async def link(bot: BotHarness, newcomer: Person, owner: Person, phone: str = PHONE) -> None:
    code = await ask_code(bot, newcomer, owner, phone)
    await newcomer.says(code)
    assert "Đã liên kết!" in newcomer.plain, newcomer.plain


async def report_lot(person: Person, sentence: str) -> None:
    """A lot reported by a sentence, the flow's questions answered by typing."""
    await person.says(sentence)
    answers = {
        "loại mấy": "loai 1",
        "chứng nhận": "ko co",
        "điểm tập kết nào": "1",
        "Khi nào hàng sẵn sàng": "mai",
        "Giá bạn mong muốn": "bo qua",
        "Lô hàng của bạn": "luu",
    }
    for _turn in range(10):
        if "Đã lưu lô" in person.plain:
            return
        answer = next((a for q, a in answers.items() if q in person.plain), None)
        assert answer is not None, person.plain
        await person.says(answer)
    raise AssertionError(person.plain)


async def delivery(bot: BotHarness, person: Person) -> tuple[str, str]:
    user = await bot.user(person)
    return user.channel, user.chat_id


async def audit_actions(bot: BotHarness) -> list[str]:
    async with bot.db.uow() as uow:
        return [e.action for e in await uow.audit.recent()]


# --- linking --------------------------------------------------------------------------------------


async def test_a_zalo_account_joins_a_telegram_registration_and_shares_its_history(bot: BotHarness) -> None:
    tg = await telegram_rep(bot)
    zalo = bot.person("801", channel="zalo")  # the same digits on another messenger: another account
    await zalo.says("lien ket")  # typed, as the first message ever
    assert "Liên kết tài khoản Zalo này" in zalo.plain and "Telegram" in zalo.plain
    await zalo.says("0912 000 801")
    assert "Nếu số này đã đăng ký" in zalo.plain and "10 phút" in zalo.plain
    assert zalo.buttons == ["🔁 Gửi lại mã", "📱 Đổi số điện thoại"]
    [sent] = await bot.outbox_texts(tg)  # the code travels through the account already registered
    assert "Mã liên kết tài khoản:" in sent and "tài khoản Zalo" in sent and "10 phút" in sent
    assert "Nếu không phải bạn, hãy bỏ qua tin này" in sent
    [code] = await codes_received(bot, tg)
    async with bot.db.uow() as uow:  # only a keyed hash of it is kept
        stored = await uow.session.scalar(select(models.LinkCode.code_hash))
    assert stored is not None and code not in stored

    await zalo.says(code)
    assert "Đã liên kết! Tài khoản Zalo này giờ là tài khoản của HTX Na Chi Lăng (Đại diện HTX)" in zalo.plain
    assert "Báo thu hoạch" in zalo.buttons  # the registered person's menu, at once
    assert "Tài khoản Zalo vừa được liên kết với tài khoản của bạn" in (await bot.outbox_texts(tg))[-1]
    person = await bot.user(tg)
    assert (await bot.user(zalo)).id == person.id
    assert "account_linked" in await audit_actions(bot)
    async with bot.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(models.User)) == 2  # + a tombstone
        accounts = await uow.accounts.of_user(person.id)
    assert {a.key for a in accounts} == {"telegram:801", "zalo:801"}

    # One history: a lot reported on Zalo and one on Telegram are the same person's, on either.
    await report_lot(zalo, "nhà em có 3 tạ na, mai thu")
    await report_lot(tg, "có 2 tấn hồng vành khuyên, mai thu")
    for side in (zalo, tg):
        await side.says("/cuatoi")
        assert "Lô hàng đang mở của bạn (2)" in side.plain, side.plain
        assert "Na" in side.plain and "Hồng vành khuyên" in side.plain
    await zalo.says("/dulieu")
    assert "Tài khoản nhắn tin: 2 (Telegram, Zalo)" in zalo.plain and "Lô hàng: 2" in zalo.plain


async def test_notifications_go_where_the_person_wrote_last_or_where_they_chose(bot: BotHarness) -> None:
    tg = await telegram_rep(bot)
    zalo = bot.person("8801", channel="zalo")
    await link(bot, zalo, tg)
    trader = bot.person("802")
    await bot.register(trader, role_label="Thương lái", name="Lái Bốn", phone="0912000802")
    point = bot.points["Chợ Đồng Mỏ"]

    await zalo.says("/menu")  # the person wrote last on Zalo
    await add_lot(bot, zalo, point, 1000)
    await add_order(bot, trader, 1000, 30_000)
    assert any("Đề xuất ghép đơn" in t for t in await bot.outbox_texts(zalo))
    assert not any("Đề xuất ghép đơn" in t for t in await bot.outbox_texts(tg))
    await tg.says("/menu")  # now on Telegram: the next news goes there
    assert await delivery(bot, tg) == ("telegram", "801")

    # Chosen: always Telegram, typed as a label on Zalo, wherever they write afterwards.
    await zalo.says("/lienket")
    assert "Thông báo gửi tới: nơi bạn nhắn gần nhất (Zalo)" in zalo.plain
    assert "✂️ Bỏ liên kết Telegram" in zalo.buttons
    await zalo.says("luon qua telegram")
    assert "Từ nay thông báo luôn gửi qua Telegram" in zalo.plain
    await zalo.says("/menu")
    assert await delivery(bot, zalo) == ("telegram", "801")
    await add_lot(bot, zalo, point, 500)
    await add_order(bot, trader, 500, 31_000)
    assert len(await live_matches(bot)) == 2
    assert sum("Đề xuất ghép đơn" in t for t in await bot.outbox_texts(tg)) == 1
    assert sum("Đề xuất ghép đơn" in t for t in await bot.outbox_texts(zalo)) == 1

    # Back to "where I wrote last", by its number on Zalo.
    await zalo.says("/lienket")
    assert "Thông báo gửi tới: Telegram" in zalo.plain
    assert zalo.buttons[0] == "🔔 Nơi nhắn gần nhất"
    await zalo.says("1")
    assert "Từ nay thông báo gửi tới nơi bạn nhắn gần nhất" in zalo.plain
    assert await delivery(bot, zalo) == ("zalo", "8801")


async def test_a_group_message_never_moves_where_notifications_go(bot: BotHarness) -> None:
    tg = await telegram_rep(bot)
    zalo = bot.person("8802", channel="zalo")
    await link(bot, zalo, tg)
    assert await delivery(bot, tg) == ("zalo", "8802")
    await in_group(bot, tg, str(next(GROUP_IDS)), "/gia na")
    assert await delivery(bot, tg) == ("zalo", "8802")
    await tg.says("/menu")
    assert await delivery(bot, tg) == ("telegram", "801")


# --- codes ------------------------------------------------------------------------------------------


async def test_five_wrong_codes_void_it(bot: BotHarness) -> None:
    tg = await telegram_rep(bot)
    zalo = bot.person("8803", channel="zalo")
    code = await ask_code(bot, zalo, tg)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        await zalo.says(wrong)
        assert f"Mã không đúng. Bạn còn {left} lần thử." in zalo.plain
    await zalo.says("mã là " + wrong[:3] + " " + wrong[3:])
    assert "Bạn đã nhập sai 5 lần nên mã đã bị hủy" in zalo.plain
    await zalo.says(f"/lienket {code}")  # the right code, too late
    assert "mã đã bị hủy" in zalo.plain
    assert (await bot.user(zalo)).id != (await bot.user(tg)).id
    async with bot.db.uow() as uow:
        assert await uow.session.scalar(select(models.LinkCode.attempts)) == 5


async def test_an_expired_code_is_refused_and_a_new_one_works(bot: BotHarness) -> None:
    tg = await telegram_rep(bot)
    zalo = bot.person("8804", channel="zalo")
    old = await ask_code(bot, zalo, tg)
    bot.clock.advance(dt.timedelta(minutes=11))
    await zalo.says(old)
    assert "Mã đã hết hạn" in zalo.plain
    await zalo.says("gui lai ma")
    assert "Nếu số này đã đăng ký" in zalo.plain
    new = (await codes_received(bot, tg))[-1]
    assert len(await codes_received(bot, tg)) == 2
    await zalo.says(new)
    assert "Đã liên kết!" in zalo.plain
    assert (await bot.user(zalo)).id == (await bot.user(tg)).id


async def test_an_unknown_phone_is_answered_exactly_like_a_registered_one(bot: BotHarness) -> None:
    tg = await telegram_rep(bot)
    known, unknown = bot.person("8805", channel="zalo"), bot.person("8806", channel="zalo")
    said = {}
    for person, phone in ((known, PHONE), (unknown, "0987000999")):
        await person.says("/lienket")
        await person.says(phone)
        said[person.user_id] = (person.plain, person.buttons)
    assert said["8805"] == said["8806"]
    assert len(await codes_received(bot, tg)) == 1
    for person in (known, unknown):
        await person.says("111111")
        said[person.user_id] = (person.plain, person.buttons)
    assert said["8805"] == said["8806"] and "Bạn còn 4 lần thử" in known.plain
    bot.clock.advance(dt.timedelta(minutes=11))
    for person in (known, unknown):
        await person.says("222222")
        said[person.user_id] = (person.plain, person.buttons)
    assert said["8805"] == said["8806"] and "Mã đã hết hạn" in known.plain

    # However often it is asked, a registered account gets at most three codes an hour.
    for _ in range(3):
        await known.says("gui lai ma")
        await unknown.says("gui lai ma")
        assert known.plain == unknown.plain
    assert len(await codes_received(bot, tg)) == CODES_PER_HOUR


async def test_one_account_cannot_go_through_phone_numbers(bot: BotHarness) -> None:
    """Ten codes an hour per asking account: trying number after number reaches nobody after that,
    and the answers stay the same."""
    tg = await telegram_rep(bot)
    prober = bot.person("8812", channel="zalo")
    await prober.says("/lienket")
    for n in range(ASKED_PER_HOUR):
        await prober.says(f"098700{n:04d}")
        answer = prober.plain
        await prober.presses("Đổi số điện thoại")
    await prober.says(PHONE)
    assert prober.plain == answer
    assert await codes_received(bot, tg) == []
    bot.clock.advance(dt.timedelta(hours=1, minutes=1))
    await prober.presses("Gửi lại mã")
    assert len(await codes_received(bot, tg)) == 1


# --- merging two registered accounts ---------------------------------------------------------------


async def test_two_registered_accounts_of_one_role_become_one_person(bot: BotHarness) -> None:
    tg = await telegram_rep(bot)
    zalo = bot.person("8807", channel="zalo")
    await bot.register(zalo, role_label="Đại diện HTX", name="HTX Na Zalo", phone="0912000807")
    trader = bot.person("808")
    await bot.register(trader, role_label="Thương lái", name="Lái Năm", phone="0912000808")
    point = bot.points["Chợ Đồng Mỏ"]
    kept, gone = await bot.user(tg), await bot.user(zalo)
    zalo_lot = await add_lot(bot, zalo, point, 1000)
    await add_order(bot, trader, 800, 30_000)  # a proposal on the Zalo account's lot
    tg_lot = await add_lot(bot, tg, point, 300, product="hong_vanh_khuyen")
    await zalo.says("/giathamchieu na 30000")  # refused, and audited under the Zalo account's id
    async with bot.db.uow() as uow:
        await uow.users.set_topic(kept.id, "na", True)
        await uow.users.set_topic(gone.id, "na", True)
        await uow.users.set_topic(gone.id, "hong_vanh_khuyen", True)
        await uow.users.update(kept.id, no_shows=1)
        await uow.users.update(gone.id, no_shows=2)
    audited_before = await audit_actions(bot)

    await link(bot, zalo, tg)
    assert "Những gì tài khoản này đã làm trước đây cũng được gộp vào" in zalo.plain
    assert (await bot.user(zalo)).id == kept.id
    [match] = await live_matches(bot)
    assert match.lot_id == zalo_lot and match.status == "proposed"
    async with bot.db.uow() as uow:
        lots = {lot.id: lot.owner_id for lot in await uow.lots.of_owner(kept.id, open_only=False, limit=10)}
        assert lots == {zalo_lot: kept.id, tg_lot: kept.id}
        assert await uow.users.topics(kept.id) == {"na", "hong_vanh_khuyen"}
        person = await uow.users.get(kept.id)
        assert person is not None and person.no_shows == 3 and person.name == "HTX Na Chi Lăng"
        tombstone = await uow.users.get(gone.id)
        assert tombstone is not None and tombstone.merged_into == kept.id
        assert (tombstone.external_id, tombstone.registered_at, tombstone.role, tombstone.phone) == (
            f"merged:{gone.id}",
            None,
            None,
            None,
        )
        assert await uow.users.topics(gone.id) == set()
        # The audit chain is left as written: the refusal still names the merged account.
        assert (await uow.audit.verify()).intact
        refused = await uow.session.scalar(
            select(models.AuditEntry.actor_id).where(models.AuditEntry.allowed.is_(False))
        )
        assert refused == gone.id
    assert set(audited_before) <= set(await audit_actions(bot))
    await tg.says("/cuatoi")
    assert "Lô hàng đang mở của bạn (2)" in tg.plain
    # The proposal is answered from the Zalo account, now the same person's.
    await zalo.says(f"dong y {match.id}")
    assert (await live_matches(bot))[0].rep_accepted_at is not None


async def test_accounts_of_different_roles_are_not_merged(bot: BotHarness) -> None:
    trader = bot.person("809")
    await bot.register(trader, role_label="Thương lái", name="Lái Sáu", phone="0912000809")
    farmer = bot.person("8809", channel="zalo")
    await bot.register(farmer, role_label="Nông dân", name="Nguyễn Văn Sáu", phone="0912000810")
    code = await ask_code(bot, farmer, trader, "0912000809")
    await farmer.says(code)
    assert "Không liên kết được: tài khoản này là Nông dân, tài khoản kia là Thương lái" in farmer.plain
    assert (await bot.user(farmer)).id != (await bot.user(trader)).id
    assert (await bot.user(farmer)).role == "farmer"


def test_every_reference_to_a_person_is_moved_when_two_are_merged() -> None:
    """A reference to users.id inside a key cannot be moved by a plain update: each such one is
    listed with how it is merged (so a new table is not forgotten)."""
    handled = UNION | DROPPED | KEPT_AS_WRITTEN
    for table, column in references_to_users():
        keyed = column.primary_key or any(
            column.name in {c.name for c in u.columns}
            for u in table.constraints
            if isinstance(u, sa.UniqueConstraint)
        )
        if keyed:
            assert (table.name, column.name) in handled, (table.name, column.name)


# --- unlinking, erasing ----------------------------------------------------------------------------


async def test_an_account_is_unlinked_and_starts_afresh(bot: BotHarness) -> None:
    tg = await telegram_rep(bot)
    zalo = bot.person("8810", channel="zalo")
    await link(bot, zalo, tg)
    await tg.says("/lienket")
    await tg.presses("Bỏ liên kết Zalo")
    assert "Bỏ liên kết tài khoản Zalo?" in tg.plain
    await tg.presses("Thôi, giữ lại")
    assert "Đã giữ nguyên" in tg.plain
    await tg.says("/lienket")
    stale = list(tg.replies)
    await tg.presses("Bỏ liên kết Zalo")
    await tg.presses("✂️ Bỏ liên kết")
    assert "Đã bỏ liên kết tài khoản Zalo" in tg.plain
    assert "đã được bỏ liên kết khỏi tài khoản của HTX Na Chi Lăng" in (await bot.outbox_texts(zalo))[-1]
    assert await delivery(bot, tg) == ("telegram", "801")
    assert "account_unlinked" in await audit_actions(bot)

    await zalo.says("/start")  # a new person, not registered
    assert "Bạn đồng ý" in zalo.plain
    assert (await bot.user(zalo)).id != (await bot.user(tg)).id
    # The last account cannot go (an old button says so).
    tg.replies = stale
    await tg.presses("Bỏ liên kết Telegram")
    await tg.presses("✂️ Bỏ liên kết")
    assert "tài khoản duy nhất" in tg.plain
    await tg.says("/lienket")  # one account again: linking starts
    assert "Số điện thoại bạn đã đăng ký ở tài khoản kia" in tg.plain


async def test_erasing_the_account_erases_every_linked_account(bot: BotHarness) -> None:
    tg = await telegram_rep(bot)
    zalo = bot.person("8811", channel="zalo")
    await link(bot, zalo, tg)
    person = await bot.user(tg)
    await zalo.says("/xoataikhoan")
    await zalo.presses("Xóa tài khoản của tôi")
    assert "Đã xóa tài khoản" in zalo.plain
    async with bot.db.uow() as uow:
        assert await uow.accounts.of_user(person.id) == []
    for side in (tg, zalo):
        await side.says("/start")
        assert "Bạn đồng ý" in side.plain
        assert (await bot.user(side)).id != person.id


# --- the migration ----------------------------------------------------------------------------------


async def test_the_migration_gives_every_existing_person_their_account(empty_db: Database) -> None:  # noqa: F811
    await migrate.upgrade(empty_db.engine, "0008")
    users = sa.table(  # the table as revision 0008 left it
        "users",
        sa.column("channel", sa.String()),
        sa.column("external_id", sa.String()),
        sa.column("chat_id", sa.String()),
        sa.column("locale", sa.String()),
        sa.column("bot_blocked", sa.Boolean()),
        sa.column("banned", sa.Boolean()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("erased_at", sa.DateTime(timezone=True)),
    )
    moment = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)
    when = moment if empty_db.dialect == "postgresql" else moment.replace(tzinfo=None)
    async with empty_db.engine.begin() as conn:
        for channel, ext, erased in (
            ("telegram", "1", None),
            ("zalo", "2", None),
            ("telegram", "erased:3", when),
        ):
            await conn.execute(
                users.insert().values(
                    channel=channel,
                    external_id=ext,
                    chat_id=ext,
                    locale="vi",
                    bot_blocked=False,
                    banned=False,
                    created_at=when,
                    updated_at=when,
                    erased_at=erased,
                )
            )
    await migrate.upgrade(empty_db.engine)
    async with empty_db.uow() as uow:
        rows = (await uow.session.execute(select(models.Account.channel, models.Account.external_id))).all()
        assert sorted(map(tuple, rows)) == [("telegram", "1"), ("zalo", "2")]
        first = await uow.users.by_external("zalo", "2")
        again = await uow.users.ensure("zalo", "2", "2", "vi")
        assert first is not None and again.id == first.id and again.notify_channel is None
        assert await uow.session.scalar(select(func.count()).select_from(models.Account)) == 2
