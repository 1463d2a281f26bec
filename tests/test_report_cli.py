"""``python -m bot report`` run as a separate process against a seeded SQLite file."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from storage import models
from storage.uow import Database
from tests.conftest import prepare_database
from tests.test_reports import seed

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "report.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await prepare_database(db)
        await seed(db)
        await db.dispose()

    asyncio.run(build())
    return path


def run(db_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_IDS", "TELEGRAM_BOT_TOKEN")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{db_file}"
    return subprocess.run(
        [sys.executable, "-m", "bot", "report", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_summary_as_text_and_json(db_file: Path) -> None:
    done = run(db_file, "summary", "--from", "2026-09-01", "--to", "2026-09-30", "--province", "20")
    assert done.returncode == 0, done.stderr
    out = done.stdout.replace("\xa0", " ")
    assert "Báo cáo 01/09/2026 – 30/09/2026 – Tỉnh Lạng Sơn" in out
    assert "Báo thu hoạch: 17.800 kg (5 lô)" in out and "Tỷ lệ ghép: 44,9%" in out

    done = run(db_file, "summary", "--from", "2026-09-01", "--to", "2026-09-30", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["total"]["reported_kg"] == 20_800 and data["total"]["matched_kg"] == 11_000
    assert data["province_code"] is None and data["median_hours_to_match"] == 9.0
    assert data["total"]["picked_up_kg"] == 6_000 and data["total"]["paid_vnd"] == 0
    assert data["no_shows"] == {"count": 0, "kg": 0} and data["gouging_reports"] == 0
    assert data["disputes"] == {"opened": 0, "open": 0, "resolved": 0} and data["realized"] == []


def test_exports_mask_phones_unless_asked(db_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "thang9.xlsx"
    done = run(
        db_file, "export", "--from", "2026-09-01", "--to", "2026-09-30", "--province", "20", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    wb = load_workbook(out)
    lots = list(wb["Lô hàng"].iter_rows(values_only=True))
    assert len(lots) == 6 and lots[1][3] == "0912***701"
    matches = list(wb["Ghép đơn"].iter_rows(values_only=True))
    status = matches[0].index("Trạng thái")
    assert [m[status] for m in matches[1:]] == ["đã lấy hàng", "đã chốt", "chờ trả lời"]

    base = tmp_path / "thang9.csv"
    done = run(
        db_file, "export", "--from", "2026-09-01", "--to", "2026-09-30", "--out", str(base), "--with-phones"
    )
    assert done.returncode == 0, done.stderr
    written = done.stdout.split()
    assert [Path(p).name for p in written] == [
        f"thang9_{t}.csv" for t in ("lots", "orders", "matches", "pickups", "realized", "gouging")
    ]
    text = (tmp_path / "thang9_orders.csv").read_text(encoding="utf-8-sig")
    orders = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert len(orders) == 4 and orders[0]["Điện thoại"] == "0912000703" and orders[0]["Giá (₫/kg)"] == "26000"


def test_bad_periods_and_empty_exports_get_clear_answers(db_file: Path, tmp_path: Path) -> None:
    done = run(db_file, "summary", "--from", "2026-09-30", "--to", "2026-09-01")
    assert done.returncode == 2 and "Ngày kết thúc phải sau ngày bắt đầu" in done.stderr
    out = tmp_path / "empty.xlsx"
    done = run(db_file, "export", "--from", "2026-03-01", "--to", "2026-03-31", "--out", str(out))
    assert done.returncode == 1 and "Không có dữ liệu" in done.stderr and not out.exists()


def test_exports_from_the_command_line_keep_typed_names_inert(tmp_path: Path) -> None:
    db_path = tmp_path / "typed.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{db_path}")
        await prepare_database(db)
        await seed(db)
        async with db.uow() as uow:  # as a rep could have proposed it, then an official approved it
            await uow.session.execute(
                update(models.CollectionPoint)
                .where(models.CollectionPoint.name == "Điểm tập kết Chi Lăng")
                .values(name='=HYPERLINK("http://evil.example","Bấm")')
            )
        await db.dispose()

    asyncio.run(build())
    out = tmp_path / "thang9.xlsx"
    done = run(db_path, "export", "--from", "2026-09-01", "--to", "2026-09-30", "--out", str(out))
    assert done.returncode == 0, done.stderr
    wb = load_workbook(out)
    for sheet in ("Lô hàng", "Ghép đơn"):
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        cell = ws.cell(row=2, column=header.index("Điểm tập kết") + 1)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (
            '=HYPERLINK("http://evil.example","Bấm")',
            "s",
            True,
        )

    csv_out = tmp_path / "lots.csv"
    done = run(
        db_path,
        "export",
        "--from",
        "2026-09-01",
        "--to",
        "2026-09-30",
        "--out",
        str(csv_out),
        "--table",
        "lots",
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(csv_out.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0]["Điểm tập kết"] == '\'=HYPERLINK("http://evil.example","Bấm")'
    assert rows[0]["Khối lượng (kg)"] == "10000"
