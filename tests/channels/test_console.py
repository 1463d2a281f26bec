"""The local console: the newcomer plays several people of the demo village in one terminal, the
demo people answer by themselves, files land under the data directory, and a start with no
token and no terminal touches nothing."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import BotApp
from bot.channels import console
from bot.config import Settings
from storage import models
from storage.uow import Database

ROOT = Path(__file__).resolve().parents[2]


class Screen(io.StringIO):
    """What the terminal shows."""


class Terminal:
    """A person at the keyboard: types lines, waits for the bot's words to appear."""

    def __init__(self) -> None:
        read_fd, self._write_fd = os.pipe()
        self.stdin = os.fdopen(read_fd, "r", encoding="utf-8")
        self.screen = Screen()
        self._seen = 0

    def type(self, line: str) -> None:
        os.write(self._write_fd, (line + "\n").encode())

    async def sees(self, *words: str, timeout: float = 15) -> str:
        """Wait until every word appears in what was printed since the last ``sees``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            raw = self.screen.getvalue()[self._seen :]
            shown = raw.replace("\xa0", " ").replace("\u202f", " ")  # money has a no-break space
            if all(w in shown for w in words):
                self._seen += len(raw)
                return shown
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"never saw {words!r}; the screen shows:\n{shown}")
            await asyncio.sleep(0.02)

    def close(self) -> None:
        os.close(self._write_fd)


@pytest.fixture
async def village(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[BotApp, Terminal]]:
    """``make run`` with no token and no DATABASE_URL: the console on its own demo database."""
    monkeypatch.setattr(console, "SCRIPT_DELAY", 0.05)
    terminal = Terminal()
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", http_port=0)  # type: ignore[call-arg]
    app = BotApp(settings, stdin=terminal.stdin, stdout=terminal.screen)
    task = asyncio.create_task(app.run())
    await terminal.sees("Gõ /start")
    yield app, terminal
    terminal.close()
    await asyncio.wait_for(task, 30)


async def test_the_newcomer_lists_the_village_and_plays_the_trader(village: tuple[BotApp, Terminal]) -> None:
    app, term = village
    assert app.settings.database_url.endswith("data/demo.db")

    term.type(":ai")
    people = await term.sees("Những người trong cửa sổ này", "Gõ :la")
    assert "Thương lái Hoàng Văn Mạnh (mẫu) – trader" in people
    assert "HTX Hồng Văn Lãng (mẫu) – coop_rep" in people
    assert "Cán bộ Sở Công Thương (mẫu) – official" in people

    term.type(":la manh")
    await term.sees("Bây giờ bạn là Thương lái Hoàng Văn Mạnh (mẫu).", "[Thương lái Hoàng Văn Mạnh (mẫu)] > ")
    term.type("/hoso")
    profile = await term.sees("0900000001")
    assert "Hoàng Văn Mạnh" in profile

    (official,) = [line for line in people.splitlines() if "Cán bộ" in line]
    term.type(":la " + official.strip().split(".")[0])  # by its number in the list
    await term.sees("Bây giờ bạn là Cán bộ Sở Công Thương (mẫu).")
    term.type("/hoso")
    await term.sees("0900000004")

    term.type(":la ai-do-khong-co")
    await term.sees("Không có người «ai-do-khong-co»")


async def test_the_newcomer_plays_the_coop_then_the_trader_and_watches_the_trade_close(
    village: tuple[BotApp, Terminal],
) -> None:
    """The demo people answer what is theirs to answer; the newcomer plays each side in turn."""
    app, term = village
    term.type(":la htx")
    await term.sees("Bây giờ bạn là HTX Hồng Văn Lãng (mẫu).")

    term.type("co 2 tan na loai 1, mai thu")
    await term.sees("điểm tập kết nào", "1. Điểm tập kết")
    term.type("1")
    await term.sees("Lô hàng của bạn", "2.000 kg")
    term.type("xac nhan")
    # The demo trader has an order for na: the matcher proposes, and he agrees by himself.
    shown = await term.sees("Đã lưu lô", "Đề xuất ghép đơn", "Người mua: Thương lái Hoàng Văn Mạnh (mẫu)")
    assert "32.000 ₫/kg" in shown
    await term.sees("Thương lái Hoàng Văn Mạnh (mẫu) đã đồng ý")
    term.type("dong y")
    await term.sees("đã chốt", "Liên hệ: Thương lái Hoàng Văn Mạnh (mẫu) 0900000001")
    await term.sees("sẽ đến")  # he booked the earliest slot by himself

    term.type(":la manh")
    await term.sees("Bây giờ bạn là Thương lái Hoàng Văn Mạnh (mẫu).")
    term.type("/layhang")
    await term.sees("Khối lượng cân được bao nhiêu")
    term.type("1 tan 9")
    await term.sees("loại mấy")
    term.type("loai 1")
    await term.sees("Ghi nhận?")
    term.type("ok")
    await term.sees("Đã ghi khối lượng cân", "Thiếu 100 kg")
    # The coop confirms the weight by itself; the bill comes with the amount to pay.
    bill = await term.sees("Tiền hàng", "1.900 kg × 32.000 ₫/kg = 60.800.000 ₫")
    assert "Trả cho HTX Hồng Văn Lãng (mẫu) – 0900000002" in bill
    assert "Agribank, số tài khoản 3300205123456" in bill and "📎 Đã lưu tệp:" in bill  # the VietQR code
    term.type("da chuyen khoan")
    await term.sees("Đang chờ người bán xác nhận")
    await term.sees("đã thanh toán xong: 60.800.000 ₫")  # the coop confirmed receipt by itself

    db = Database(app.settings.database_url)
    async with db.reader() as uow:
        rows = await uow.session.scalars(select(models.Match.status))
        statuses = list(rows)
    await db.dispose()
    assert statuses == ["paid"]


async def test_the_newcomer_registers_as_themselves_and_the_file_they_ask_for_is_saved(
    village: tuple[BotApp, Terminal], tmp_path: Path
) -> None:
    app, term = village
    term.type("/start")
    await term.sees("Bạn đồng ý", "1. ✅ Tôi đồng ý")
    term.type("1")
    await term.sees("Bạn là ai?")
    term.type("nong dan")  # a label typed without diacritics
    await term.sees("tên")
    term.type("Nguyễn Văn Tư")
    await term.sees("Số điện thoại của bạn? Gõ số")  # no contact button in a terminal
    term.type("0912 345 678")
    await term.sees("tỉnh/thành phố")
    term.type("lang son")
    await term.sees("xã/phường")
    term.type("Chi Lăng")
    await term.sees("ngân hàng")
    term.type("bo qua")
    await term.sees("Đăng ký xong! Nguyễn Văn Tư")
    term.type("/dulieu")
    shown = await term.sees("📎 Đã lưu tệp:")
    saved = shown.split("📎 Đã lưu tệp:")[1].split()[0]
    assert Path(saved).parent == tmp_path / "data" / "files"
    assert await asyncio.to_thread(Path(saved).read_bytes)  # the workbook is there
    db = Database(app.settings.database_url)
    async with db.reader() as uow:
        you = await uow.users.by_external(console.CHANNEL, console.YOU)
    await db.dispose()
    assert you is not None and you.registered
    assert (you.name, you.phone, you.role, you.province_code) == ("Nguyễn Văn Tư", "0912345678", "farmer", 20)


def _bot(env: dict[str, str], stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HTTP_PORT": "0", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "bot"],
        env=env,
        cwd=env.get("DATA_DIR", "."),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_no_token_and_no_terminal_exits_non_zero_and_leaves_the_named_database_untouched(
    tmp_path: Path,
) -> None:
    named = tmp_path / "production.db"
    named.write_bytes(b"")  # an operator's database file
    proc = _bot({"DATABASE_URL": f"sqlite+aiosqlite:///{named}", "DATA_DIR": str(tmp_path)})
    _out, err = proc.communicate(timeout=60)

    assert proc.returncode == 3
    assert "TELEGRAM_BOT_TOKEN" in err and "terminal" in err
    assert named.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["production.db"]  # no demo database either


@pytest.mark.process
def test_ctrl_c_stops_the_console_promptly_and_cleanly(tmp_path: Path) -> None:
    proc = _bot({"DATA_DIR": str(tmp_path), "CONSOLE_FROM_PIPE": "1"}, stdin=subprocess.PIPE)
    log = tmp_path / "bot.log"
    deadline = time.monotonic() + 90
    while not (log.exists() and "bot ready" in log.read_text(encoding="utf-8")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
        time.sleep(0.05)

    proc.send_signal(signal.SIGINT)  # the input is still open: nothing else would end the session
    proc.wait(timeout=10)  # "within a second" is measured by scripts/bench_startup.py

    assert proc.returncode == 0
    assert proc.stdout is not None and "Gõ /start" in proc.stdout.read()
    logged = log.read_text(encoding="utf-8")
    assert "Traceback" not in logged
    assert (tmp_path / "demo.db").is_file()
