"""The audit log: every refusal of a staff action is in it (registered person or not), it is a hash chain
that shows where it was tampered with, one chain even with concurrent writers, and admins read, check
and export it, in the bot and on the command line; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, update

from bot.engine.router import RunCommand
from bot.handlers.announcements import StopBroadcast
from bot.handlers.reports import AuditPage, AuditTool, AuditUse, ReportFile, What
from storage import dto, models
from storage.repositories.audit import GENESIS, AuditRepository, entry_hash
from storage.uow import Database
from tests.conftest import prepare_database
from tests.harness import BotHarness, Person

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database, admin_ids="telegram:1")


async def admin(bot: BotHarness) -> Person:
    person = bot.person("1")
    await bot.register(person, role_label="Nông dân", name="Quản Trị Viên", phone="0912345001")
    return person


async def entries(db: Database) -> list[dto.AuditEntry]:
    """The whole log, oldest first."""
    async with db.uow() as uow:
        return list(reversed(await uow.audit.recent(limit=1000)))


async def add_entries(db: Database, n: int) -> None:
    for i in range(n):
        async with db.uow() as uow:
            await uow.audit.add(None, "grant_role", f"telegram:{100 + i}", details={"to": "official", "i": i})


# --- refusals ---------------------------------------------------------------------------------------


async def test_a_stranger_calling_staff_commands_or_forging_staff_buttons_is_refused_and_audited(
    bot: BotHarness,
) -> None:
    stranger = bot.person("666")  # never registered
    for command in ("/capquyen telegram:666 quan_tri", "/baocao", "/thongbao", "/xuat", "/nhatky kiểm tra"):
        await stranger.says(command)
        assert "chức năng này chỉ dành cho" in stranger.last, command
    for act in (
        RunCommand("capquyen"),
        ReportFile(What.XLSX, 20260901, 20260930, 20),
        AuditPage(0),
        AuditUse(AuditTool.CSV),
        StopBroadcast(1),
    ):
        # Buttons of the bot's own (signed), pressed by someone who never got them.
        await stranger.sends_payload(bot.services.codec.encode(act))
        assert "chức năng này chỉ dành cho" in stranger.last, act
        assert all(r.attachment is None for r in stranger.replies)

    user = await bot.user(stranger)
    assert user.role is None and not user.registered
    refused = [e for e in await entries(bot.db) if not e.allowed]
    assert [e.action for e in refused] == [
        "capquyen",
        "baocao",
        "thongbao",
        "xuat",
        "nhatky",
        "capquyen",
        "report",
        "audit_log",
        "audit_log",
        "announcement_cancel",
    ]
    assert {e.actor_id for e in refused} == {user.id}
    assert all(e.details["registered"] is False and e.details["role"] is None for e in refused)

    # Ordinary commands still lead a stranger to registration, unaudited.
    await stranger.says("/thuhoach")
    assert "đăng ký" in stranger.last.lower()
    assert len([e for e in await entries(bot.db) if not e.allowed]) == len(refused)


async def test_a_registered_trader_pressing_a_staff_button_is_audited_too(bot: BotHarness) -> None:
    binh = bot.person("604")
    await bot.register(binh, role_label="Thương lái", name="Trần Văn Bình", phone="0987000604")
    await binh.sends_payload(bot.services.codec.encode(AuditUse(AuditTool.VERIFY)))
    await binh.says("/capquyen telegram:604 quan_tri")
    refused = [(e.action, e.details["role"], e.details["registered"]) for e in await entries(bot.db)]
    assert refused == [("audit_log", "trader", True), ("capquyen", "trader", True)]


# --- the chain --------------------------------------------------------------------------------------


async def test_the_chain_links_every_entry_to_the_one_before(database: Database) -> None:
    await add_entries(database, 4)
    chain = await entries(database)
    assert [e.seq for e in chain] == [1, 2, 3, 4]
    assert chain[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(chain):
        assert after.prev_hash == before.hash
    e = chain[2]
    assert e.hash == entry_hash(
        prev_hash=e.prev_hash,
        seq=e.seq,
        actor_id=e.actor_id,
        action=e.action,
        target=e.target,
        allowed=e.allowed,
        details=e.details,
        created_at=e.created_at,
    )
    async with database.uow() as uow:
        check = await uow.audit.verify(batch=3)  # across batch boundaries
    assert check.intact and check.checked == 4 and check.head_hash == chain[-1].hash


async def test_a_row_changed_in_the_database_is_found_at_that_entry(database: Database) -> None:
    await add_entries(database, 5)
    Entry = models.AuditEntry
    async with database.uow() as uow:  # someone with database access quietly rewrites history
        await uow.session.execute(update(Entry).where(Entry.seq == 3).values(details={"to": "admin", "i": 2}))
    async with database.uow() as uow:
        check = await uow.audit.verify(batch=2)
    assert check.broken is not None and (check.broken.seq, check.problem, check.checked) == (3, "hash", 2)

    # ...and covers it by recomputing that entry's hash: the next entry no longer links.
    [third] = [e for e in await entries(database) if e.seq == 3]
    forged = entry_hash(
        prev_hash=third.prev_hash,
        seq=3,
        actor_id=third.actor_id,
        action=third.action,
        target=third.target,
        allowed=third.allowed,
        details=third.details,
        created_at=third.created_at,
    )
    async with database.uow() as uow:
        await uow.session.execute(update(Entry).where(Entry.seq == 3).values(hash=forged))
    async with database.uow() as uow:
        check = await uow.audit.verify()
    assert check.broken is not None and (check.broken.seq, check.problem) == (4, "link")


async def test_a_deleted_entry_is_found(database: Database) -> None:
    await add_entries(database, 3)
    async with database.uow() as uow:
        await uow.session.execute(delete(models.AuditEntry).where(models.AuditEntry.seq == 2))
    async with database.uow() as uow:
        check = await uow.audit.verify()
    assert check.broken is not None and (check.broken.seq, check.problem, check.checked) == (3, "sequence", 1)


async def test_two_transactions_appending_at_once_keep_one_chain(database: Database) -> None:
    # A appends and keeps its transaction open; B must wait for A's commit, then chain after it.
    a_added, a_may_commit = asyncio.Event(), asyncio.Event()

    async def a() -> None:
        async with database.uow() as uow:
            await uow.audit.add(None, "grant_role", "a")
            a_added.set()
            await a_may_commit.wait()

    async def b() -> None:
        await a_added.wait()
        async with database.uow() as uow:
            await uow.audit.add(None, "grant_role", "b")

    task_a, task_b = asyncio.create_task(a()), asyncio.create_task(b())
    await a_added.wait()
    await asyncio.sleep(0.3)
    assert not task_b.done()  # B is held back while A's entry is not committed
    a_may_commit.set()
    await asyncio.wait_for(asyncio.gather(task_a, task_b), 15)

    # Many writers at once, each holding its transaction open a moment.
    async def writer(tag: str) -> None:
        for i in range(6):
            async with database.uow() as uow:
                await uow.audit.add(None, "grant_role", f"{tag}{i}")
                await asyncio.sleep(0.002)

    await asyncio.wait_for(asyncio.gather(*(writer(t) for t in "cdef")), 60)
    chain = await entries(database)
    assert [e.target for e in chain[:2]] == ["a", "b"] and chain[1].prev_hash == chain[0].hash
    assert [e.seq for e in chain] == list(range(1, 27))
    async with database.uow() as uow:
        check = await uow.audit.verify()
    assert check.intact and check.checked == 26


def test_the_bot_has_no_way_to_change_or_delete_an_entry() -> None:
    public = {name for name in vars(AuditRepository) if not name.startswith("_")}
    assert public == {"add", "recent", "chain", "verify"}
    writes = re.compile(r"(update|delete\s+from)\s+audit_log|(update|delete)\(\s*(models\.)?AuditEntry", re.I)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "storage/repositories", "scripts")
        for path in (ROOT / folder).rglob("*.py")
        if writes.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- admins: read, check, export ------------------------------------------------------------------


async def test_an_admin_reads_checks_and_exports_the_log(bot: BotHarness) -> None:
    root = await admin(bot)
    farmer = bot.person("50")
    await bot.register(farmer, role_label="Nông dân", name="Nguyễn Văn An", phone="0912345050")
    await farmer.says("/capquyen telegram:50 quan_tri")
    async with bot.db.uow() as uow:  # an entry whose details hold text a person typed
        await uow.audit.add(
            None, "point_approve", "point:7", details={"name": '=HYPERLINK("http://x","Bấm")'}
        )
        await uow.audit.add(None, "=cmd|' /C calc'!A0", "@SUM(1)")

    await root.says("/nhatky")
    assert "bootstrap_admin" not in root.last and "quản trị từ cấu hình" in root.last
    assert "Nguyễn Văn An · capquyen ⛔ bị từ chối" in root.last
    assert {"🔍 Kiểm tra", "📥 Excel", "📥 CSV"} <= set(root.buttons)
    await root.presses("Kiểm tra")
    assert "✅ Nhật ký nguyên vẹn: 4 mục" in root.last

    await root.presses("Excel")
    [reply] = root.replies
    assert reply.attachment is not None and reply.attachment.filename == "nhatky.xlsx"
    ws = load_workbook(io.BytesIO(reply.attachment.data))["Nhật ký"]
    header = [c.value for c in ws[1]]
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == 5  # the four, and the check itself
    action = rows[3][header.index("Mã thao tác")]
    assert (action.value, action.data_type, action.quotePrefix) == ("=cmd|' /C calc'!A0", "s", True)
    seq = rows[0][header.index("Số thứ tự")]
    assert (seq.value, seq.data_type) == (1, "n")
    assert rows[1][header.index("Người thực hiện")].value == "Nguyễn Văn An"
    assert rows[1][header.index("Được phép")].value == "bị từ chối"

    await root.says("/nhatky csv")
    [reply] = root.replies
    assert reply.attachment is not None and reply.attachment.filename == "nhatky.csv"
    data = list(csv.DictReader(io.StringIO(reply.attachment.data.decode("utf-8-sig")), delimiter=";"))
    assert data[3]["Mã thao tác"] == "'=cmd|' /C calc'!A0" and data[3]["Đối tượng"] == "'@SUM(1)"
    assert [r["Số thứ tự"] for r in data] == ["1", "2", "3", "4", "5", "6"]
    assert data[5]["Mã thao tác"] == "audit_export" and data[5]["Mã băm trước"] == data[4]["Mã băm"]

    async with bot.db.uow() as uow:  # someone hides the refusal directly in the database
        await uow.session.execute(
            update(models.AuditEntry).where(models.AuditEntry.seq == 2).values(allowed=True)
        )
    await root.says("/nhatky kiểm tra")
    assert "⛔ Nhật ký bị can thiệp từ mục số 2" in root.last and "1 mục trước đó vẫn nguyên vẹn" in root.last
    actions = [e.action for e in await entries(bot.db)]
    assert actions[-3:] == ["audit_export", "audit_export", "audit_verify"]


# --- the command line --------------------------------------------------------------------------------


def run_cli(db_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_IDS", "TELEGRAM_BOT_TOKEN")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{db_file}"
    return subprocess.run(
        [sys.executable, "-m", "bot", "audit", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_audit_verify_and_export_from_the_command_line(tmp_path: Path) -> None:
    db_file = tmp_path / "audit.db"

    async def build(tamper: bool) -> None:
        db = Database(f"sqlite+aiosqlite:///{db_file}")
        if tamper:
            async with db.uow() as uow:
                await uow.session.execute(
                    update(models.AuditEntry).where(models.AuditEntry.seq == 2).values(target="telegram:1")
                )
        else:
            await prepare_database(db)
            await add_entries(db, 3)
        await db.dispose()

    asyncio.run(build(tamper=False))
    done = run_cli(db_file, "verify")
    assert done.returncode == 0, done.stderr
    assert "Nhật ký nguyên vẹn: 3 mục" in done.stdout

    out = tmp_path / "nhatky.csv"
    done = run_cli(db_file, "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert [r["Mã thao tác"] for r in rows] == ["grant_role"] * 3 + ["audit_verify"]

    asyncio.run(build(tamper=True))
    done = run_cli(db_file, "verify")
    assert done.returncode == 1
    assert "bị can thiệp từ mục số 2" in done.stdout and "seq=2" in done.stderr
    assert run_cli(db_file, "export", "--out", str(tmp_path / "x.pdf")).returncode == 2
