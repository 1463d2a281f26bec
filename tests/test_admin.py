"""Admins grant roles and block spammers by phone, in whatever form the phone is typed: a shared
phone asks which person, a phone nobody has registered with yet keeps the grant for them, numbers
too long for the database are answered politely; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from storage import dto, models
from storage.uow import Database
from tests.harness import BotHarness, Person


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database, admin_ids="telegram:1")


async def admin(bot: BotHarness) -> Person:
    person = bot.person("1")
    await bot.register(person, role_label="", name="Quản Trị Viên", phone="0912999888")
    return person


async def audit(bot: BotHarness) -> list[dto.AuditEntry]:
    async with bot.db.uow() as uow:
        return list(reversed(await uow.audit.recent(limit=100)))


async def test_every_usual_way_of_typing_a_phone_finds_the_same_person(bot: BotHarness) -> None:
    root = await admin(bot)
    lan = bot.person("510")
    await bot.register(lan, role_label="Thương lái", name="Đỗ Lan", phone="0912345678")

    await root.says("/chan 0912 345 678")
    assert "Đã chặn Đỗ Lan – Telegram" in root.last
    assert (await bot.user(lan)).banned
    await lan.says("/menu")
    assert lan.replies == []  # a blocked person's messages are not answered

    await root.says("/bochan 0912.345.678")
    assert "Đã bỏ chặn Đỗ Lan" in root.last
    await root.says("/capquyen +84 912 345 678 cán bộ")
    assert "Đã cấp quyền Cán bộ cho Đỗ Lan" in root.last
    await root.says("/capquyen 84912345678 htx")
    assert "Đã cấp quyền Đại diện HTX cho Đỗ Lan" in root.last
    user = await bot.user(lan)
    assert (user.role, user.banned) == ("coop_rep", False)
    # The person hears of the new role, with the way to the menu.
    assert any("Bạn vừa được cấp quyền Đại diện HTX" in t for t in await bot.outbox_texts(lan))

    actions = [(e.action, e.target) for e in await audit(bot)]
    assert actions[-4:] == [
        ("ban_user", "telegram:510"),
        ("unban_user", "telegram:510"),
        ("grant_role", "telegram:510"),
        ("grant_role", "telegram:510"),
    ]
    await root.says("/chan 0912999888")
    assert "không thể tự chặn" in root.last


async def test_a_phone_two_people_share_asks_which_one(bot: BotHarness) -> None:
    root = await admin(bot)
    tele = bot.person("521")
    zalo = bot.person("522", channel="zalo")
    await bot.register(tele, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000521")
    await bot.register(zalo, role_label="Nông dân", name="Hoàng Thị Na", phone="0912 000 521")

    await root.says("/capquyen 0912000521 can_bo")
    assert "Có 2 người dùng số 0912000521" in root.last
    assert root.buttons == ["HTX Na Chi Lăng – Telegram", "Hoàng Thị Na – Zalo"]
    await root.presses("Zalo")
    assert "Đã cấp quyền Cán bộ cho Hoàng Thị Na" in root.last
    assert ((await bot.user(tele)).role, (await bot.user(zalo)).role) == ("coop_rep", "official")

    await root.says("/chan +84 912 000 521")
    assert "Có 2 người dùng số 0912000521" in root.last
    await root.says("htx na chi lang")  # an option typed, without diacritics

    assert "Đã chặn HTX Na Chi Lăng – Telegram" in root.last
    assert (await bot.user(tele)).banned and not (await bot.user(zalo)).banned


async def test_a_role_granted_to_a_phone_nobody_has_waits_for_its_registration(bot: BotHarness) -> None:
    root = await admin(bot)
    await root.says("/capquyen 0987 111 222 can bo")
    assert "Chưa ai đăng ký với số 0987111222" in root.last and "Cán bộ" in root.last

    minh = bot.person("530", channel="zalo")
    await minh.says("/start")
    await minh.says("1")  # Tôi đồng ý
    await minh.says("1")  # Nông dân, as it registers
    await minh.says("Lý Văn Minh")
    await minh.says("+84 987 111 222")
    await minh.says("Lạng Sơn")
    await minh.says("Chi Lăng")
    await minh.says("bo qua")  # a bank account, asked as of a farmer
    assert "Đăng ký xong" in minh.last and "Bạn đã được cấp quyền Cán bộ từ trước" in minh.last
    assert (await bot.user(minh)).role == "official"

    entries = await audit(bot)
    pending = next(e for e in entries if e.action == "grant_role_pending")
    applied = next(e for e in entries if e.action == "grant_role_applied")
    root_user = await bot.user(root)
    assert (pending.actor_id, pending.target, pending.details) == (
        root_user.id,
        "phone:0987***222",
        {"to": "official"},
    )
    assert (applied.actor_id, applied.target) == (root_user.id, "zalo:530")
    async with bot.db.uow() as uow:
        assert await uow.grants.all() == []  # applied once, then gone


async def test_numbers_too_long_for_the_database_are_answered_politely(bot: BotHarness) -> None:
    root = await admin(bot)
    await root.says("/capquyen 99999999999999999999999 can_bo")
    assert "quá dài" in root.last
    await root.says("/chan 123456789012345678901234567890")
    assert "quá dài" in root.last
    await root.says("/bochan 2147483648")  # one more than the largest id
    assert "quá dài" in root.last
    await root.says("/capquyen telegram:" + "9" * 200 + " can_bo")
    assert "quá dài" in root.last
    await root.says("/huythongbao 99999999999999999999")
    assert "Không tìm thấy thông báo" in root.last
    await root.says("/capquyen")
    await root.says("00000000000000000000000000000000001")
    assert "quá dài" in root.last and "Cấp quyền cho ai" in root.last  # asked again
    await root.says("/huy")
    assert "Đã hủy" in root.last


async def test_capquyen_asks_for_what_is_missing(bot: BotHarness) -> None:
    root = await admin(bot)
    lan = bot.person("540")
    await bot.register(lan, role_label="Thương lái", name="Đỗ Lan", phone="0912555666")
    await root.says("/capquyen")
    assert "Cấp quyền cho ai" in root.last
    await root.says("0912 555 666")
    assert "Cấp vai trò nào" in root.last
    await root.says("can bo")
    assert "Đã cấp quyền Cán bộ cho Đỗ Lan" in root.last
    await root.says("/capquyen telegram:540")  # no role: it is asked
    assert "Cấp vai trò nào" in root.last
    await root.presses("Thương lái")
    assert "Đã cấp quyền Thương lái cho Đỗ Lan" in root.last
    await root.says("/capquyen Đỗ Lan")  # a name is not a way to find someone: how to write it
    assert "Cách dùng" in root.last
    await root.says("/capquyen 0912 555 667 quan tri")
    assert "Chưa ai đăng ký với số 0912555667" in root.last


async def test_an_admin_demoted_mid_flow_grants_nothing(bot: BotHarness) -> None:
    await admin(bot)
    other = bot.person("2")
    await bot.register(other, role_label="Nông dân", name="Phó Quản Trị", phone="0912999777")
    async with bot.db.uow() as uow:
        await uow.session.execute(
            update(models.User).where(models.User.external_id == "2").values(role="admin")
        )
    lan = bot.person("550")
    await bot.register(lan, role_label="Thương lái", name="Đỗ Lan", phone="0912555550")

    await other.says("/capquyen 0912555550")
    assert "Cấp vai trò nào" in other.last
    async with bot.db.uow() as uow:  # another admin withdraws the role meanwhile
        await uow.session.execute(
            update(models.User).where(models.User.external_id == "2").values(role="farmer")
        )
    await other.presses("Quản trị")
    assert "chỉ dành cho: Quản trị" in other.last and "Đã cấp quyền" not in other.last
    assert (await bot.user(lan)).role == "trader"
    assert ("capquyen", False) in [(e.action, e.allowed) for e in await audit(bot)]
