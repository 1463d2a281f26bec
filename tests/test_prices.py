"""Reference prices as conversations: officials set them, anyone asks, subscribers get the
morning bulletin only when a price changed; and the CSV import."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.scheduler import BotScheduler
from bot.services.prices import BULLETIN_JOB, parse_price_command, send_price_bulletins
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
    for typed in ("na 30000", "na 30k", "na 30.000", "Na 30.000đ", "na 30 nghìn"):
        parsed = parse_price_command(typed)
        assert parsed is not None and (parsed.product_text, parsed.price) == ("na", 30000), typed
    parsed = parse_price_command("hồng vành khuyên 18.000 Lạng Sơn")
    assert parsed is not None and (parsed.product_text, parsed.price, parsed.province_text) == (
        "hong vanh khuyen", 18000, "lang son")  # fmt: skip
    parsed = parse_price_command("bơ 034 45000")
    assert parsed is not None and (parsed.product_text, parsed.price) == ("bo 034", 45000)
    assert parse_price_command("na") is None


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

    await an.sends_payload("giasub:off:na")  # the button under the bulletin
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
