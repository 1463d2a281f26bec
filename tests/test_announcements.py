"""Announcements as a conversation: an official writes, picks the audience, previews and sends or
schedules; farmers are refused; people leave topics with /dangky; progress reaches the author."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from bot.handlers.announcements import StopBroadcast
from bot.services.announcements import report_progress
from storage import models
from storage.uow import Database
from tests.harness import TZ, BotHarness, Person

LANG_SON, HA_NOI = 20, 1
CHI_LANG = 6463


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database, admin_ids="telegram:1")


async def add_people(bot: BotHarness, specs: list[tuple[str, str, int, int | None]]) -> dict[str, int]:
    """Registered people straight in the database: (external id, role, province, ward) -> user id."""
    ids = {}
    async with bot.db.uow() as uow:
        for ext, role, province, ward in specs:
            user = await uow.users.ensure("telegram", ext, ext, "vi")
            await uow.users.register(
                user.id,
                name=f"Người {ext}",
                phone=f"09{int(ext):08d}",
                role=role,
                province_code=province,
                ward_code=ward or 0,
                now=bot.clock.now(),
            )
            ids[ext] = user.id
    return ids


async def official(bot: BotHarness, uid: str = "900") -> Person:
    """A registered official of Lạng Sơn (role granted by an admin)."""
    person = bot.person(uid, name="Cán bộ Sở")
    await bot.register(person, role_label="Nông dân", name="Hoàng Văn Sở", phone="0911000900")
    async with bot.db.uow() as uow:
        user = await uow.users.by_external("telegram", uid)
        await uow.users.update(user.id, role="official")
    return person


async def outbox_rows(bot: BotHarness, announcement_id: int | None = None) -> list[models.OutboxMessage]:
    """Messages queued on the bot's own initiative (not the answers to what people typed)."""
    async with bot.db.uow() as uow:
        stmt = (
            select(models.OutboxMessage)
            .where(models.OutboxMessage.in_reply_to.is_(None))
            .order_by(models.OutboxMessage.id)
        )
        if announcement_id is not None:
            stmt = stmt.where(models.OutboxMessage.announcement_id == announcement_id)
        return list(await uow.session.scalars(stmt))


async def progress_reports(bot: BotHarness, author: Person) -> int:
    """Run the scheduler's progress job and let its events settle: how many messages the author got."""
    before = len(await bot.outbox_texts(author))
    await report_progress(bot.services)
    await bot.settle()
    return len(await bot.outbox_texts(author)) - before


async def audit(bot: BotHarness) -> list[tuple[str, bool]]:
    async with bot.db.uow() as uow:
        entries = await uow.audit.recent(limit=100)
    return [(e.action, e.allowed) for e in reversed(entries)]


async def mark_all(bot: BotHarness, announcement_id: int, status: str) -> None:
    """What the outbox worker would have recorded."""
    async with bot.db.uow() as uow:
        await uow.session.execute(
            update(models.OutboxMessage)
            .where(models.OutboxMessage.announcement_id == announcement_id)
            .values(status=status)
        )


async def test_official_sends_to_traders_of_a_province_now(bot: BotHarness) -> None:
    ids = await add_people(
        bot,
        [
            ("11", "trader", LANG_SON, CHI_LANG),
            ("12", "trader", LANG_SON, None),
            ("13", "trader", LANG_SON, None),
            ("14", "trader", HA_NOI, None),
            ("15", "farmer", LANG_SON, CHI_LANG),
            ("16", "trader", LANG_SON, None),  # left the announcements topic below
        ],
    )
    async with bot.db.uow() as uow:
        await uow.users.set_topic(ids["16"], "-notice:announcements", True)
    so = await official(bot)

    await so.says("/thongbao")
    assert "nội dung thông báo" in so.last
    text = "Từ 15/9, điểm tập kết Chi Lăng mở cửa từ 5 giờ sáng. " * 30  # ~1.600 chars: longer than chat text
    await so.says(text)
    assert "Gửi cho ai?" in so.last and "mọi người" in so.last
    await so.presses("Theo vai trò")
    await so.presses("Thương lái")
    assert "✅ Thương lái" in so.buttons
    await so.presses("Xong")
    assert "Thương lái – 4 người nhận" in so.last  # 5 traders, one left the topic
    await so.presses("Theo tỉnh")
    await so.presses("Lạng Sơn")
    await so.presses("Cả tỉnh")
    assert "Thương lái · Tỉnh Lạng Sơn – 3 người nhận" in so.last
    await so.presses("Xem trước")
    assert "📢 THÔNG BÁO" in so.last and "điểm tập kết Chi Lăng" in so.last
    assert "Sẽ gửi tới 3 người (Thương lái · Tỉnh Lạng Sơn)" in so.last
    await so.presses("Gửi ngay")
    assert "Đang gửi thông báo #1 tới 3 người" in so.last
    assert any("Dừng gửi" in b for b in so.buttons)

    rows = await outbox_rows(bot, 1)
    assert sorted(r.user_id for r in rows) == sorted(ids[k] for k in ("11", "12", "13"))
    assert {r.dedupe_key for r in rows} == {f"ann:1:{ids[k]}" for k in ("11", "12", "13")}
    assert all(r.payload["text"].startswith("📢 THÔNG BÁO") and "/dangky" in r.payload["text"] for r in rows)
    assert ("announcement_send", True) in await audit(bot)

    # Nothing sent yet: no progress to report. Once the worker is through, the author hears.
    assert await progress_reports(bot, so) == 0
    await mark_all(bot, 1, "sent")
    assert await progress_reports(bot, so) == 1
    assert await progress_reports(bot, so) == 0  # once only
    final = await bot.outbox_texts(so)
    assert any("Thông báo #1 đã gửi xong: 3 người nhận được" in t for t in final)
    async with bot.db.uow() as uow:
        assert (await uow.announcements.get(1)).status == "done"


async def test_scheduled_announcement_is_cancelled_before_it_goes_out(bot: BotHarness) -> None:
    await add_people(bot, [(str(20 + i), "farmer", LANG_SON, CHI_LANG) for i in range(4)])
    so = await official(bot)
    await so.says("/thongbao")
    await so.says("Ngày mai thu mua hồng vành khuyên tại Văn Lãng.")
    await so.presses("Mọi người")
    assert "Sẽ gửi tới 5 người (mọi người)" in so.last  # the official counts too
    await so.presses("Hẹn giờ")
    await so.says("7:00")  # it is 08:00 already
    assert "07:00 10/09/2026 đã qua" in so.last
    await so.says("sang nay")
    assert "Không đọc được thời điểm" in so.last
    await so.says("mai 7:00")
    assert "Đã hẹn gửi thông báo #1 lúc 07:00 11/09/2026 tới 5 người." in so.last
    rows = await outbox_rows(bot, 1)
    assert len(rows) == 5
    assert all(r.not_before == dt.datetime(2026, 9, 11, 7, 0, tzinfo=TZ).astimezone(dt.UTC) for r in rows)
    assert await progress_reports(bot, so) == 0  # not due yet: stays scheduled

    await so.presses("Dừng gửi")
    assert "Đã dừng thông báo #1: 5 tin chưa gửi đã được rút lại" in so.last
    assert {r.status for r in await outbox_rows(bot, 1)} == {"cancelled"}
    await so.says("/huythongbao 1")
    assert "không hủy được" in so.last
    assert [a for a in await audit(bot) if a[0].startswith("announcement")] == [
        ("announcement_schedule", True),
        ("announcement_cancel", True),
    ]


async def test_a_running_broadcast_is_stopped_and_the_rest_withdrawn(bot: BotHarness) -> None:
    await add_people(bot, [(str(30 + i), "farmer", LANG_SON, None) for i in range(6)])
    so = await official(bot)
    await so.says("/thongbao")
    await so.says("Giá na hôm nay 25.000 ₫/kg")
    await so.presses("Theo vai trò")
    await so.presses("Nông dân")
    await so.presses("Xong")
    await so.presses("Xem trước")
    await so.presses("Gửi ngay")
    rows = await outbox_rows(bot, 1)
    async with bot.db.uow() as uow:  # the worker got through two of them
        await uow.session.execute(
            update(models.OutboxMessage)
            .where(models.OutboxMessage.id.in_([rows[0].id, rows[1].id]))
            .values(status="sent")
        )
    await so.says("/huythongbao")
    assert "#1" in so.last
    await so.presses("Dừng #1")
    assert "4 tin chưa gửi đã được rút lại, 2 tin đã gửi trước đó" in so.last
    async with bot.db.uow() as uow:
        assert (await uow.announcements.get(1)).status == "cancelled"
    assert await progress_reports(bot, so) == 0


async def test_bad_texts_and_an_empty_audience_get_clear_answers(bot: BotHarness) -> None:
    await add_people(bot, [("40", "farmer", LANG_SON, None)])
    so = await official(bot)
    await so.says("/thongbao")
    await so.sends_sticker()
    assert "tôi chỉ đọc được" in so.last
    await so.says("x" * 3501)
    assert "Thông báo dài 3.501 ký tự, tối đa 3.500" in so.last
    await so.says("x" * 5000)  # beyond any messenger message: the pipeline refuses it
    assert "Tin nhắn quá dài" in so.last
    await so.says("Họp HTX lúc 14:00")
    await so.presses("Theo sản phẩm")
    await so.presses("Na")
    await so.presses("Xong")
    assert "theo dõi Na – 0 người nhận" in so.last
    await so.presses("Xem trước")
    assert "Không có ai trong nhóm người nhận này" in so.last
    assert "Gửi ngay" not in " ".join(so.buttons)
    await so.says("/huy")
    assert await outbox_rows(bot) == []


async def test_a_farmer_cannot_announce_and_is_audited(bot: BotHarness) -> None:
    an = bot.person("50")
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912345050")
    assert "Gửi thông báo" not in an.buttons and "Báo cáo" not in an.buttons
    await an.says("/thongbao")
    assert "chỉ dành cho: Quản trị, Cán bộ" in an.last
    await an.sends_payload(bot.services.codec.encode(StopBroadcast(1)))  # a stop button, seen elsewhere
    assert "chỉ dành cho" in an.last
    await an.says("/baocao")
    assert "chỉ dành cho" in an.last
    assert [a for a in await audit(bot)] == [
        ("thongbao", False),
        ("announcement_cancel", False),
        ("baocao", False),
    ]


async def test_leaving_a_topic_with_dangky(bot: BotHarness) -> None:
    binh = bot.person("62")
    await bot.register(binh, role_label="Nông dân", name="Trần Thị Bình", phone="0912345062")
    await binh.says("/dangky")
    assert "✅ Thông báo chung" in binh.buttons and "⬜ Na" in binh.buttons
    await binh.presses("Thông báo chung")
    assert "Đã tắt: Thông báo chung" in binh.last and "⬜ Thông báo chung" in binh.buttons
    await binh.presses("Na")
    assert "Đã theo dõi Na" in binh.last
    await binh.says("hong vanh khuyen")
    assert "Đã theo dõi Hồng vành khuyên" in binh.last
    await binh.presses("Xong")
    user = await bot.user(binh)
    async with bot.db.uow() as uow:
        assert await uow.users.topics(user.id) == {"-notice:announcements", "na", "hong_vanh_khuyen"}


async def test_required_notices_reach_people_who_left_announcements(bot: BotHarness) -> None:
    await add_people(bot, [("60", "farmer", LANG_SON, None), ("61", "farmer", LANG_SON, None)])
    binh = bot.person("62")
    await bot.register(binh, role_label="Nông dân", name="Trần Thị Bình", phone="0912345062")
    user = await bot.user(binh)
    async with bot.db.uow() as uow:  # what /dangky stores when announcements are switched off
        await uow.users.set_topic(user.id, "-notice:announcements", True)

    so = await official(bot)
    await so.says("/thongbao")
    await so.says("Cảnh báo: không bán dưới giá tham chiếu")
    await so.presses("Theo vai trò")
    await so.presses("Nông dân")
    await so.presses("Xong")
    assert "Nông dân – 2 người nhận" in so.last  # Bình left announcements
    await so.presses("Bắt buộc")
    assert "(bắt buộc, gửi cả người đã tắt thông báo) – 3 người nhận" in so.last
    await so.presses("Xem trước")
    await so.presses("Gửi ngay")
    texts = await bot.outbox_texts(binh)
    assert len(texts) == 1 and "không bán dưới giá" in texts[0] and "/dangky" not in texts[0]


async def test_menus_show_staff_commands_only_to_staff(bot: BotHarness) -> None:
    admin = bot.person("1")
    await bot.register(admin, role_label="Nông dân", name="Quản Trị Viên", phone="0912345001")
    menu = admin.buttons
    for label in ("Gửi thông báo", "Báo cáo", "Xuất dữ liệu", "Nhật ký", "Cấp quyền"):
        assert label in menu, label
    so = await official(bot)
    await so.says("/menu")
    assert {"Gửi thông báo", "Báo cáo", "Xuất dữ liệu"} <= set(so.buttons)
    assert "Nhật ký" not in so.buttons and "Cấp quyền" not in so.buttons
    await so.says("/nhatky")
    assert "chỉ dành cho: Quản trị" in so.last

    for i in range(12):  # enough entries for two pages
        await admin.says(f"/capquyen telegram:900 {'can_bo' if i % 2 else 'quan_tri'}")
    await admin.says("/nhatky")
    assert "Nhật ký thao tác (trang 1)" in admin.last and "cấp quyền" in admin.last
    assert "⛔ bị từ chối" not in admin.last  # the refusal is older: on page 2
    assert "/chan" in admin.last
    await admin.presses("Sau »")
    assert "trang 2" in admin.last and "⛔ bị từ chối" in admin.last
    assert "Nhận tin" in menu  # everyone's commands too (the subscriptions' own)


async def test_a_paid_broadcast_shows_its_cost_in_stars_before_it_is_confirmed(database: Database) -> None:
    bot = BotHarness(database, telegram_paid_broadcast=True)
    ids = await add_people(bot, [(str(20 + i), "farmer", LANG_SON, None) for i in range(13)])
    async with bot.db.uow() as uow:  # two of the farmers use Zalo: not part of Telegram's bill
        for ext in ("20", "21"):
            await uow.session.execute(
                update(models.User).where(models.User.id == ids[ext]).values(channel="zalo")
            )
    so = await official(bot)
    await so.says("/thongbao")
    await so.says("Thu mua na Chi Lăng từ 5 giờ sáng mai.")
    await so.presses("Theo vai trò")
    await so.presses("Nông dân")
    await so.presses("Xong")
    await so.presses("Xem trước")
    assert "Sẽ gửi tới 13 người" in so.plain
    await so.presses("Gửi nhanh")
    assert "phí 1,1 Stars (0,1 Star mỗi tin)" in so.plain and "tới 11 người" in so.plain
    assert await outbox_rows(bot) == []  # nothing goes out before the official confirms
    await so.presses("Quay lại")
    await so.presses("Gửi nhanh")
    await so.presses("Xác nhận trả 1,1 Stars")
    assert "Đang gửi thông báo #1 tới 13 người" in so.plain

    rows = await outbox_rows(bot, 1)
    paid = {r.user_id: bool(r.payload.get("extras", {}).get("paid_broadcast")) for r in rows}
    assert [uid for uid, is_paid in paid.items() if not is_paid] == [ids["20"], ids["21"]]
    async with bot.db.uow() as uow:
        entry = next(e for e in await uow.audit.recent() if e.action == "announcement_send")
    assert entry.details["paid_stars"] == "1.1"


async def test_without_the_setting_there_is_no_paid_option(bot: BotHarness) -> None:
    await add_people(bot, [("30", "farmer", LANG_SON, None)])
    so = await official(bot)
    await so.says("/thongbao")
    await so.says("Họp HTX lúc 14:00")
    await so.presses("Xem trước")
    assert not any("Gửi nhanh" in b for b in so.buttons)


async def test_an_official_demoted_before_sending_sends_nothing(bot: BotHarness) -> None:
    await add_people(bot, [("70", "farmer", LANG_SON, None)])
    so = await official(bot)
    await so.says("/thongbao")
    await so.says("Họp HTX lúc 14:00")
    await so.presses("Xem trước")
    assert "Sẽ gửi tới 2 người" in so.last
    user = await bot.user(so)
    async with bot.db.uow() as uow:  # an admin withdraws the role between two messages
        await uow.users.update(user.id, role="trader")
    await so.presses("Gửi ngay")
    assert "chỉ dành cho: Quản trị, Cán bộ" in so.last and "Đang gửi" not in so.last
    assert await outbox_rows(bot) == []
    async with bot.db.uow() as uow:
        assert await uow.announcements.live() == []
    assert ("thongbao", False) in await audit(bot)


async def test_an_official_on_zalo_answers_by_number_and_hears_of_progress_by_quarters(
    bot: BotHarness,
) -> None:
    await add_people(bot, [(str(80 + i), "farmer", LANG_SON, None) for i in range(3)])
    so = bot.person("901", channel="zalo")
    await bot.register(so, role_label="Nông dân", name="Cán Bộ Zalo", phone="0911000901")
    user = await bot.user(so)
    async with bot.db.uow() as uow:
        await uow.users.update(user.id, role="official")
    await so.says("/thongbao")
    await so.says("Sáng mai thu mua na tại Chi Lăng.")
    assert "Gửi cho ai?" in so.last
    await so.says("2")  # Theo vai trò
    await so.says("nong dan")  # typed: chosen
    assert "✅ Nông dân" in so.buttons
    await so.says("xong")
    assert "Nông dân – 3 người nhận" in so.last
    await so.says("Xem trước")
    assert "Sẽ gửi tới" in so.last
    await so.says("1")  # Gửi ngay
    assert "Đang gửi thông báo #1" in so.last
    rows = await outbox_rows(bot, 1)
    async with bot.db.uow() as uow:
        await uow.session.execute(
            update(models.OutboxMessage).where(models.OutboxMessage.id == rows[0].id).values(status="sent")
        )
    assert await progress_reports(bot, so) == 1  # a third: a new message (Zalo cannot edit one)
    assert "đã gửi 1/" in (await bot.outbox_texts(so))[-1]
    await mark_all(bot, 1, "sent")
    assert await progress_reports(bot, so) == 1
    assert "đã gửi xong" in (await bot.outbox_texts(so))[-1]
