"""Reference prices as conversations: officials set them, anyone asks (in a group chat too, where
the answer is all the bot says), subscribers get the morning bulletin only when a price changed;
and the CSV import."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.catalog import CATALOG
from bot.events import Incoming, Kind, Reply
from bot.handlers.prices import read_price_command
from bot.places import gazetteer
from bot.presentation.prices import send_price_bulletins
from bot.scheduler import BotScheduler
from bot.services.prices import BULLETIN_JOB
from scripts.import_prices import import_prices
from storage import models
from storage.uow import Database
from tests.harness import TZ, BotHarness, Person

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def bot(database: Database) -> BotHarness:
    return BotHarness(database, admin_ids="telegram:900")


async def official(bot: BotHarness, ext: str = "901", name: str = "Hoàng Văn Cường") -> Person:
    person = bot.person(ext)
    await bot.register(person, role_label="Nông dân", name=name, phone="0912000901")
    async with bot.db.uow() as uow:
        user = await uow.users.by_external("telegram", ext)
        assert user is not None
        await uow.users.update(user.id, role="official")
    return person


async def prices(bot: BotHarness) -> list[tuple[str, int, int]]:
    async with bot.db.uow() as uow:
        rows = await uow.session.execute(
            select(models.ReferencePrice.product_code, models.ReferencePrice.province_code, models.ReferencePrice.price)
            .order_by(models.ReferencePrice.id)
        )  # fmt: skip
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


def test_the_command_is_read_with_any_price_spelling() -> None:
    places = gazetteer()
    for typed in ("na 30000", "na 30k", "na 30.000", "Na 30.000đ", "na 30 nghìn", "na ba mươi nghìn"):
        parsed = read_price_command(typed, CATALOG, places)
        assert parsed is not None and parsed.product is not None, typed
        assert (parsed.product.code, parsed.price, parsed.province_code) == ("na", 30000, None), typed
    parsed = read_price_command("hồng vành khuyên 18.000 Lạng Sơn", CATALOG, places)
    assert parsed is not None and parsed.product is not None
    assert (parsed.product.code, parsed.price, parsed.province_code) == ("hong_vanh_khuyen", 18000, 20)
    parsed = read_price_command("na ba mươi nghìn lạng sơn", CATALOG, places)
    assert parsed is not None and (parsed.price, parsed.province_code) == (30000, 20)
    parsed = read_price_command("bơ 034 45000", CATALOG, places)
    assert parsed is not None and parsed.product is not None and (parsed.product.code, parsed.price) == (
        "bo", 45000)  # fmt: skip
    parsed = read_price_command("hong vanh khuyenn 30000", CATALOG, places)  # never guessed
    assert parsed is not None and parsed.product is None and parsed.product_text == "hong vanh khuyenn"
    parsed = read_price_command("na 30000 atlantis", CATALOG, places)
    assert parsed is not None and (parsed.price, parsed.province_text, parsed.province_code) == (
        30000, "atlantis", None)  # fmt: skip
    assert read_price_command("na", CATALOG, places) is None


async def test_an_official_sets_a_price_and_anyone_reads_it(bot: BotHarness) -> None:
    cuong = await official(bot)
    await cuong.says("/giathamchieu na 30k")
    assert (
        "Đã đặt giá tham chiếu Na tại Tỉnh Lạng Sơn: 30.000 ₫/kg, áp dụng từ hôm nay 10/09/2026"
        in cuong.plain
    )
    assert await prices(bot) == [("na", 20, 30000)]
    async with bot.db.uow() as uow:
        (entry,) = [e for e in await uow.audit.recent() if e.action == "set_price"]
    assert entry.target == "na:20" and entry.details == {"price": 30000, "valid_from": "2026-09-10"}

    an = bot.person("902")
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912000902")
    await an.says("/gia")
    assert "Na" in an.buttons
    await an.presses("Na")
    assert (
        "Giá tham chiếu Na tại Tỉnh Lạng Sơn: 30.000 ₫/kg (áp dụng từ 10/09/2026, do cán bộ Hoàng Văn Cường đặt)"
        in an.plain
    )
    await an.says("/gia hồng vành khuyên")
    assert "Hồng vành khuyên tại Tỉnh Lạng Sơn: chưa có giá tham chiếu" in an.plain
    await an.says("/gia dau tay")
    assert "Không có sản phẩm «dau tay»" in an.plain

    # Someone in another province sees that province's price, not Lạng Sơn's.
    binh = bot.person("903")
    await bot.register(
        binh,
        role_label="Thương lái",
        name="Trần Bình",
        phone="0987000903",
        province="Bắc Ninh",
        ward="Kinh Bắc",
    )
    await binh.says("/gia na")
    assert "chưa có giá tham chiếu" in binh.plain


async def test_bad_prices_unknown_products_and_non_officials_are_refused(bot: BotHarness) -> None:
    cuong = await official(bot)
    await cuong.says("/giathamchieu dau tay 30000")
    assert "Không có sản phẩm «dau tay»" in cuong.plain
    # A near miss is never guessed when setting a price: the official is asked to type it exactly.
    await cuong.says("/giathamchieu chanh 30000")
    assert "Không có sản phẩm «chanh»" in cuong.plain and "Chanh leo" in cuong.plain
    await cuong.says("/giathamchieu hong vanh khuyenn 30000")
    assert "Có phải bạn muốn: Hồng vành khuyên" in cuong.plain
    await cuong.says("/giathamchieu hồng vành khuyên 30000")
    assert "Đã đặt giá tham chiếu Hồng vành khuyên" in cuong.plain
    for bad in ("-5000", "0", "900000", "1000"):
        await cuong.says(f"/giathamchieu na {bad}")
        assert "Giá tham chiếu cho Na phải từ 5.000 ₫/kg đến 240.000 ₫/kg" in cuong.plain, bad
    await cuong.says("/giathamchieu na 30000 bac ninh")  # an official sets only their own province
    assert "chỉ đặt được giá tham chiếu cho tỉnh của mình (Tỉnh Lạng Sơn)" in cuong.plain
    await cuong.says("/giathamchieu na")
    assert "Cách dùng: /giathamchieu" in cuong.plain
    assert await prices(bot) == [("hong_vanh_khuyen", 20, 30000)]

    binh = bot.person("904")
    await bot.register(binh, role_label="Thương lái", name="Trần Bình", phone="0987000904")
    await binh.says("/giathamchieu na 10000")
    assert "chức năng này chỉ dành cho" in binh.last
    async with bot.db.uow() as uow:
        refused = [e for e in await uow.audit.recent() if not e.allowed]
    assert refused and refused[0].action == "giathamchieu" and refused[0].details["role"] == "trader"
    assert await prices(bot) == [("hong_vanh_khuyen", 20, 30000)]

    # An admin may name another province; the flow without arguments asks step by step.
    admin = bot.person("900")
    await bot.register(admin, role_label="Nông dân", name="Quản Trị", phone="0912000900")
    await admin.says("/giathamchieu na 32.000 Bắc Ninh")
    assert "Na tại Thành phố Bắc Ninh: 32.000 ₫/kg" in admin.plain
    await cuong.says("/giathamchieu")
    await cuong.presses("Na")
    await cuong.says("-3")
    assert "phải từ 5.000 ₫/kg" in cuong.plain
    await cuong.says("28k")
    assert "Đã đặt giá tham chiếu Na tại Tỉnh Lạng Sơn: 28.000 ₫/kg" in cuong.plain
    assert await prices(bot) == [("hong_vanh_khuyen", 20, 30000), ("na", 24, 32000), ("na", 20, 28000)]


async def test_the_morning_bulletin_goes_out_only_when_the_price_changed(bot: BotHarness) -> None:
    cuong = await official(bot)
    an = bot.person("905")
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912000905")
    await cuong.says("/giathamchieu na 30000")
    await an.says("/gia na")
    await an.presses("Nhận bản tin")
    assert "Đã đăng ký" in an.last
    scheduler = BotScheduler(bot.services, holder="only")

    async def morning(day: int) -> int:
        bot.clock.set(dt.datetime(2026, 9, day, 7, 0, tzinfo=TZ))
        assert await scheduler.tick()
        await scheduler.idle()
        sent = len(await bot.outbox_texts(an))
        assert await scheduler.run_job(BULLETIN_JOB)
        assert await send_price_bulletins(bot.services) == 0  # run twice: nothing twice
        return len(await bot.outbox_texts(an)) - sent

    bot.clock.set(dt.datetime(2026, 9, 11, 6, 0, tzinfo=TZ))
    await morning(11)  # the first bulletin (or its catch-up) reports the new price
    texts = await bot.outbox_texts(an)
    assert len(texts) == 1 and "giá tham chiếu Na tại Tỉnh Lạng Sơn là 30.000" in texts[0].replace(
        "\xa0", " "
    )
    assert await morning(12) == 0  # unchanged: no bulletin
    bot.clock.set(dt.datetime(2026, 9, 12, 15, 0, tzinfo=TZ))
    await cuong.says("/giathamchieu na 30000")  # set again, same value: still no change
    assert await morning(13) == 0
    bot.clock.set(dt.datetime(2026, 9, 13, 15, 0, tzinfo=TZ))
    await cuong.says("/giathamchieu na 27.000")
    assert await morning(14) == 1
    assert "27.000 ₫/kg (trước đó 30.000 ₫/kg)" in (await bot.outbox_texts(an))[-1].replace("\xa0", " ")

    bulletin = (await bot.notifications(an))[-1]
    await an.presses_in(bulletin, "Thôi nhận")  # the button under the bulletin
    assert "Đã thôi nhận bản tin giá Na" in an.last
    bot.clock.set(dt.datetime(2026, 9, 14, 15, 0, tzinfo=TZ))
    await cuong.says("/giathamchieu na 26.000")
    assert await morning(15) == 0


CSV = """product,province,price,valid_from
na,Lạng Sơn,30000,2026-09-01
Hồng vành khuyên,20,18.000,01/09/2026
mãng cầu,lang son,31k,2026-09-05
dâu tây,Lạng Sơn,30000,2026-09-01
na,Atlantis,30000,2026-09-01
na,Lạng Sơn,-5,2026-09-01
na,Lạng Sơn,30000,31/02/2026
na,Lạng Sơn,30000,2026-09-01
"""


async def test_importing_a_csv_skips_bad_rows_and_never_duplicates(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "gia.csv"
    path.write_text(CSV, encoding="utf-8")
    errors = io.StringIO()
    assert await import_prices(path, database, chunk=2, errors=errors) == (3, 1, 4)
    report = errors.getvalue()
    for line, why in (
        (5, "unknown product"),
        (6, "unknown province"),
        (7, "price -5,000 for na outside"),
        (8, "unreadable date"),
    ):
        assert f"line {line}: {why}" in report
    assert await import_prices(path, database, chunk=2, errors=io.StringIO()) == (0, 4, 4)
    async with database.uow() as uow:
        count = await uow.session.scalar(select(func.count()).select_from(models.ReferencePrice))
        current = await uow.prices.current("na", 20, dt.date(2026, 9, 10))
    assert count == 3 and current is not None and current.price == 31000 and current.set_by is None


def test_the_import_script_runs_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "gia.csv"
    path.write_text(CSV, encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    run = subprocess.run(
        [sys.executable, "scripts/import_prices.py", str(path), "--database-url", url],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "3 prices added, 1 already stored, 4 bad rows skipped" in run.stdout
    assert "line 6: unknown province 'Atlantis'" in run.stderr


# --- price questions anywhere ------------------------------------------------------------------------

GROUP = "-100200300"


async def in_group(bot: BotHarness, person: Person, text: str) -> list[Reply]:
    """``person`` writes ``text`` in the cooperative's group chat."""
    return await bot.handle(
        Incoming(
            channel=person.channel,
            chat_id=GROUP,
            user_id=person.user_id,
            kind=Kind.TEXT,
            text=text,
            update_id=str(next(bot.update_ids)),
            is_group=True,
        )
    )


async def test_a_price_question_in_a_group_is_answered_there_and_nothing_else_is_said(
    bot: BotHarness,
) -> None:
    cuong = await official(bot)
    await cuong.says("/giathamchieu na 30000")
    an = bot.person("906")
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912000906")

    [answer] = await in_group(bot, an, "giá na hôm nay bao nhiêu?")
    assert "Giá tham chiếu Na tại Tỉnh Lạng Sơn: 30.000 ₫/kg" in answer.text.replace("\xa0", " ")
    assert answer.choices == ()  # no follow button, no menu: the group gets the answer only
    [answer] = await in_group(bot, an, "/gia na")
    assert "30.000 ₫/kg" in answer.text.replace("\xa0", " ") and answer.choices == ()
    [answer] = await in_group(bot, an, "giá hôm nay thế nào?")  # no product: the province's prices
    assert (
        "Giá tham chiếu tại Tỉnh Lạng Sơn hôm nay" in answer.text
        and "• Na: 30.000" in answer.text.replace("\xa0", " ")
    )
    assert await in_group(bot, an, "hôm nay trời đẹp quá bà con ơi") == []  # chatter: the bot keeps quiet

    # Someone who never wrote to the bot asks in the group: answered, not asked to register.
    stranger = bot.person("907")
    [answer] = await in_group(bot, stranger, "gia na lang son bao nhieu")
    assert "Giá tham chiếu Na tại Tỉnh Lạng Sơn: 30.000" in answer.text.replace("\xa0", " ")
    [answer] = await in_group(bot, stranger, "giá na?")  # no province known: where there is one
    assert "Giá tham chiếu Na hôm nay" in answer.text and "• Tỉnh Lạng Sơn: 30.000" in answer.text.replace(
        "\xa0", " "
    )

    async with bot.db.uow() as uow:
        in_the_group = await uow.outbox.for_chat("telegram", GROUP)
        asker = await uow.users.by_external("telegram", "906")
        newcomer = await uow.users.by_external("telegram", "907")
    assert len(in_the_group) == 5 and all(i.payload.get("choices") in (None, []) for i in in_the_group)
    assert asker is not None and asker.chat_id == "906"  # their private address did not change
    # A newcomer's private address is their own id, as on the messengers; never the group's.
    assert newcomer is not None and newcomer.chat_id == "907" and not newcomer.registered
    assert await bot.outbox_texts(an) == []  # nothing went to the private chat either

    # Back in private, the same person gets the follow button as usual.
    await an.says("giá na hôm nay?")
    assert "30.000" in an.last and any("Nhận bản tin giá Na" in b for b in an.buttons)


async def test_a_price_question_inside_another_flow_is_answered_and_the_flow_goes_on(bot: BotHarness) -> None:
    cuong = await official(bot)
    await cuong.says("/giathamchieu na 30000")
    await cuong.says("/diemtapket")
    await cuong.presses("Thêm điểm")
    await cuong.says("giá na hôm nay?")  # not a name for the point: a question of its own
    assert "Giá tham chiếu Na tại Tỉnh Lạng Sơn: 30.000" in cuong.plain
    assert "Tên điểm tập kết?" in cuong.last  # and the question is asked again
    await cuong.says("Sân chợ Đồng Mỏ")
    assert "xã/phường" in cuong.last


async def test_a_follower_on_a_numbered_messenger_stops_the_bulletin_by_typing(database: Database) -> None:
    bot = BotHarness(database)
    cuong = await official(bot)
    an = bot.person("908", channel="zalo")
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912000908")
    await cuong.says("/giathamchieu na 30000")
    await an.says("/gia na")
    await an.says("1")  # the only option: follow the morning bulletin
    assert "Đã đăng ký" in an.last
    bot.clock.set(dt.datetime(2026, 9, 11, 7, 0, tzinfo=TZ))
    assert await send_price_bulletins(bot.services) == 1
    await bot.settle()  # delivered: its option is what a typed answer now refers to
    await an.says("thoi nhan")
    assert "Đã thôi nhận bản tin giá Na" in an.last
    user = await bot.user(an)
    async with bot.db.uow() as uow:
        assert "na" not in await uow.users.topics(user.id)


async def test_gia_shows_the_realized_price_of_deals_weighed_and_paid(bot: BotHarness) -> None:
    from tests.test_deals import close, deal, parties

    cuong = await official(bot)
    await cuong.says("/giathamchieu na 30k")
    await parties(bot)
    await close(bot, await deal(bot, kg=2_000, price=31_000), weighed_kg=2_000)
    await close(bot, await deal(bot, kg=1_100, price=32_500), weighed_kg=1_000)  # 100 kg short at the scales
    await close(bot, await deal(bot, kg=5_000, price=20_000), weighed_kg=5_000, paid=False)  # not paid yet

    an = bot.person("902")
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912000902")
    await an.says("/gia na")
    assert "Giá tham chiếu Na tại Tỉnh Lạng Sơn: 30.000 ₫/kg" in an.plain
    # (2.000 × 31.000 + 1.000 × 32.500) / 3.000 kg: weighed, paid, weighted by the kilograms
    assert "Giá thực tế (đã cân, đã trả, 30 ngày): 31.500 ₫/kg trên 3.000 kg" in an.plain
    await an.says("/gia hồng vành khuyên")
    assert "chưa có giá tham chiếu" in an.plain and "Giá thực tế" not in an.plain

    bot.clock.set(bot.clock.now() + dt.timedelta(days=31))  # a month on: those deals are old news
    await an.says("/gia na")
    assert "Giá tham chiếu Na" in an.plain and "Giá thực tế" not in an.plain
