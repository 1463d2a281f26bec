"""End to end: the real bot process(es) against a local fake Bot API, with scripted people.

    .venv/bin/python scripts/bench_e2e.py [--db sqlite|postgres] [--users 100]
        [--open-lots 0|10000|100000] [--processes 1|2] [--broadcast N] [--strict]
        [--faults 5xx=0.02,timeout=0.01,late=0.01] [--seconds 300] [--think S] [--no-echo]
        [--details FILE] [--trace CHAT ...] [--keep-logs DIR]

1. A scratch database (a temporary SQLite file, or a fresh PostgreSQL database that is dropped
   afterwards). ``python -m bot`` starts once against it to migrate and load reference data.
2. Seeding, outside the measured window, with ``storage.models`` only: collection points and
   reference prices in Lạng Sơn, ``--open-lots`` open lots (a ``--stale-lots`` share of them
   already past their window, as after a night's downtime) and, for ``--broadcast N``, N
   farmers in Cao Bằng. The scheduler's run records are cleared, so the restarted bot catches
   up on its jobs while people write, as after any restart.
3. The measured run: ``--processes`` bot processes (``python -m bot``, configured only by its
   documented environment variables; one process polls, two get webhook POSTs round-robin from
   the fake) and ``--users`` people who register, report lots (by a typed sentence and by
   buttons), post orders (by sentence and by buttons) and open /cuatoi, pressing the inline
   buttons the bot actually sent or typing their labels. Each waits for the answer before the
   next message (``--think`` seconds more on average: 0, or 5 with ``--strict``, where 100 people
   at full speed would ask for more than the platform allows). With ``--broadcast N`` an official
   (``ADMIN_IDS``) sends an announcement to the N farmers through /thongbao at the same time.
4. A bare python-telegram-bot echo bot against a plain fake: the same number of people and
   messages at the bot's pace (``--echo-pace max``: flat out), for the CPU ratio (``--no-echo``
   skips it).

Prints one JSON line (progress goes to stderr). Definitions:

- latency: from the moment an update is offered to the fake until the first message the bot
  delivers to that chat after taking the update (``getUpdates`` returned it, or its webhook
  POST started); a lost update counts as ``--reply-timeout`` in the percentiles.
- lost: nothing at all reached the chat within ``--reply-timeout`` of a message.
- duplicates: the same message (text and buttons) delivered twice to a person's chat for one
  update, or twice to a broadcast recipient / seeded lot owner over the whole run.
- error_replies: messages starting "Xin lỗi, đã có lỗi".
- off_script: the bot answered, but never with a question the script knows (a changed flow).
- updates: updates the bot took in the measured window (from "ready" until the people are
  done); updates_per_s counts those answered. cpu_ms_per_update: user+system CPU of the bot
  processes (children included) in that window divided by updates; peak_rss_mb: the sum of the
  processes' peak resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psutil

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from storage import models  # noqa: E402
from tests.fakes.telegram_api import ApiCall, FakeBotApi, Faults  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TOKEN = "123456:BENCH-e2e"
LANG_SON, CHI_LANG, VAN_LANG = 20, 6463, 6154
CAO_BANG = 4  # where the broadcast's recipients live: nobody else in the run does
ADMIN_CHAT = 999_999
FIRST_PERSON = 1_000_000
FIRST_OWNER = 8_000_000  # seeded lot owners
FIRST_RECIPIENT = 9_000_000  # seeded broadcast recipients
ERROR_PREFIX = "Xin lỗi, đã có lỗi"
NAMED_POINTS = (
    ("Điểm tập kết chợ Chi Lăng", CHI_LANG, "Chợ Đồng Mỏ, Chi Lăng"),
    ("Điểm tập kết UBND xã Văn Lãng", VAN_LANG, "Trước UBND xã Văn Lãng"),
)
REFERENCE_PRICES = (("na", 30_000), ("hong_vanh_khuyen", 20_000))
ANNOUNCEMENT = "Sở Công Thương: từ thứ Hai, xe thu mua hồng vành khuyên đến các xã lúc 6 giờ sáng."


def log(message: str) -> None:
    print(f"[bench_e2e {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fold(value: str) -> str:
    """Lower case without diacritics (đ → d), the way people type on phones."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- the scratch database ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_database(kind: str, pg_url: str, workdir: Path) -> Any:
    """Yield the URL of an empty database; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        return
    admin_url = make_url(pg_url).set(drivername="postgresql+asyncpg")
    name = f"nongsan_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


# --- bot processes ---------------------------------------------------------------------------------


class Processes:
    """Child processes with their logs, CPU time and peak memory."""

    def __init__(self, workdir: Path, name: str) -> None:
        self.workdir, self.name = workdir, name
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self._peak: dict[int, float] = {}
        self._sampler: asyncio.Task[None] | None = None

    def start(self, argv: list[str], env: dict[str, str]) -> None:
        path = self.workdir / f"{self.name}-{len(self.procs)}.log"
        with path.open("wb") as stderr:
            proc = subprocess.Popen(
                argv,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self.procs.append(proc)
        self.logs.append(path)
        if self._sampler is None:
            self._sampler = asyncio.create_task(self._sample())

    def check_alive(self) -> None:
        for proc, path in zip(self.procs, self.logs, strict=True):
            if proc.poll() is not None:
                tail = path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} process exited with {proc.returncode}:\n{tail}")

    def _ps(self) -> list[psutil.Process]:
        found = []
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                found.append(psutil.Process(proc.pid))
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU so far, children included, of every process still running."""
        total = 0.0
        for ps in self._ps():
            with contextlib.suppress(psutil.Error):
                t = ps.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        return total

    async def _sample(self) -> None:
        while True:
            for ps in self._ps():
                with contextlib.suppress(psutil.Error):
                    rss = ps.memory_info().rss
                    self._peak[ps.pid] = max(self._peak.get(ps.pid, 0.0), rss)
            await asyncio.sleep(0.5)

    def peak_rss_mb(self) -> float:
        """Sum over processes of the peak resident memory (the kernel's high-water mark on Linux)."""
        total = 0.0
        for proc in self.procs:
            peak = self._peak.get(proc.pid, 0.0)
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, float(line.split()[1]) * 1024)
            total += peak
        return total / 2**20

    def error_lines(self) -> list[str]:
        """Log lines at ERROR level or worse (tracebacks are counted once, by their ERROR line)."""
        lines = []
        for path in self.logs:
            with contextlib.suppress(OSError):
                lines += [
                    ln
                    for ln in path.read_text(errors="replace").splitlines()
                    if " ERROR " in ln or " CRITICAL " in ln
                ]
        return lines

    async def stop(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)


def bot_env(
    api: FakeBotApi, database_url: str, port: int, public_url: str | None, processes: int
) -> dict[str, str]:
    """Only documented settings; unknown ones are ignored by the bot, so newer ones can be added."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV")
    env = {k: v for k, v in os.environ.items() if k.startswith(keep)}
    env.update(
        PYTHONPATH=str(ROOT),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        DATABASE_URL=database_url,
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        ADMIN_IDS=f"telegram:{ADMIN_CHAT}",
        DEMO_DATA="false",
        LOG_LEVEL="WARNING",
        # README: one process at a time holds a messenger's outbox (a lease), so the rate stays
        # Telegram's 30 msg/s whatever the number of processes.
        OUTBOX_RATE_PER_S="30",
        # Scripted people answer as soon as the bot asks (no think time unless --think): the
        # fair share per person (tests/test_flood.py) would slow them, which is not measured here.
        FLOOD_BURST="10000",
    )
    if public_url:
        env["PUBLIC_URL"] = public_url
    return env


async def wait_until(predicate: Callable[[], bool], procs: Processes, limit: float, what: str) -> None:
    """Poll ``predicate`` while the processes live; fail after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():
        procs.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {limit:.0f} s")
        await asyncio.sleep(0.05)


async def warm_up(database_url: str, workdir: Path) -> float:
    """Start the bot once so that it migrates the database and loads reference data; stop it."""
    started = time.monotonic()
    async with FakeBotApi() as api:
        procs = Processes(workdir, "warmup")
        procs.start([sys.executable, "-m", "bot"], bot_env(api, database_url, free_port(), None, 1))
        try:
            await wait_until(lambda: api.method_counts["getUpdates"] > 0, procs, 300, "warm-up")
        finally:
            await procs.stop()
    return time.monotonic() - started


# --- seeding ----------------------------------------------------------------------------------------


async def insert_rows(conn: Any, table: Any, rows: list[dict[str, Any]], chunk: int = 1000) -> None:
    for start in range(0, len(rows), chunk):
        await conn.execute(insert(table), rows[start : start + chunk])


def person_row(
    chat: int, name: str, role: str, province: int, ward: int | None, now: dt.datetime
) -> dict[str, Any]:
    """A registered person on Telegram."""
    return {
        "channel": "telegram",
        "external_id": str(chat),
        "chat_id": str(chat),
        "name": name,
        "phone": f"09{chat % 10**8:08d}",
        "role": role,
        "province_code": province,
        "ward_code": ward,
        "locale": "vi",
        "registered_at": now,
        "bot_blocked": False,
        "banned": False,
        "created_at": now,
        "updated_at": now,
    }


def point_row(name: str, ward: int, address: str, now: dt.datetime) -> dict[str, Any]:
    """An active collection point in Lạng Sơn, open 6:00-18:00."""
    return {
        "name": name,
        "province_code": LANG_SON,
        "ward_code": ward,
        "address": address,
        "opening_hours": "06:00-18:00",
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }


def lot_rows(
    n: int, stale_share: float, owners: list[int], points: list[int], products: list[Any], rng: random.Random
) -> list[dict[str, Any]]:
    """``n`` open lots: mostly na and hồng vành khuyên, ready within ten days, half with an asking price;
    a ``stale_share`` of them already past their window (the expiry job's catch-up closes those)."""
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(TZ).date()
    weighted = [p for p in products if p.code in ("na", "hong_vanh_khuyen")] * 6 + products
    rows = []
    for _ in range(n):
        product = rng.choice(weighted)
        kg = rng.randrange(100, 20_001, 100)
        if rng.random() < stale_share:
            start, end = today - dt.timedelta(days=rng.randint(2, 6)), today - dt.timedelta(days=1)
        else:
            start = today + dt.timedelta(days=rng.randint(0, 10))
            end = start + dt.timedelta(days=rng.randint(0, 5))
        asking = rng.randrange(product.price_min, product.price_max + 1, 500) if rng.random() < 0.5 else None
        rows.append(
            {
                "owner_id": rng.choice(owners),
                "product_code": product.code,
                "quantity_kg": kg,
                "remaining_kg": kg,
                "grade": rng.choice(("1", "1", "2", "xo")),
                "certifications": [],
                "collection_point_id": rng.choice(points),
                "ready_from": start,
                "ready_to": end,
                "asking_price": asking,
                "status": "open",
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


async def seed(database_url: str, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """Points, reference prices, the open book and the broadcast audience; bulk inserts only."""
    started = time.monotonic()
    engine = create_async_engine(database_url)
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(TZ).date()
    lots: list[dict[str, Any]] = []
    async with engine.begin() as conn:
        wards = list(
            await conn.scalars(select(models.Ward.code).where(models.Ward.province_code == LANG_SON))
        )
        points = [point_row(name, ward, address, now) for name, ward, address in NAMED_POINTS]
        if args.open_lots:
            points += [
                point_row(f"Điểm tập kết số {i}", rng.choice(wards), f"Thôn {i}", now) for i in range(3, 51)
            ]
        await insert_rows(conn, models.CollectionPoint.__table__, points)
        prices = [
            {"product_code": code, "province_code": LANG_SON, "price": price, "created_at": now,
             "valid_from": today - dt.timedelta(days=1)}
            for code, price in REFERENCE_PRICES
        ]  # fmt: skip
        await insert_rows(conn, models.ReferencePrice.__table__, prices)
        if args.open_lots:
            owners = [
                person_row(FIRST_OWNER + i, f"HTX số {i}", "coop_rep", LANG_SON, rng.choice(wards), now)
                for i in range(max(1, args.open_lots // 20))
            ]
            await insert_rows(conn, models.User.__table__, owners)
            owner_ids = list(await conn.scalars(select(models.User.id).where(models.User.role == "coop_rep")))
            point_ids = list(await conn.scalars(select(models.CollectionPoint.id)))
            products = list(
                await conn.execute(
                    select(models.Product.code, models.Product.price_min, models.Product.price_max)
                )
            )
            lots = lot_rows(args.open_lots, args.stale_lots, owner_ids, point_ids, products, rng)
            await insert_rows(conn, models.HarvestLot.__table__, lots)
        if args.broadcast:
            ward = await conn.scalar(select(models.Ward.code).where(models.Ward.province_code == CAO_BANG))
            recipients = [
                person_row(FIRST_RECIPIENT + i, f"Hộ {i}", "farmer", CAO_BANG, ward, now)
                for i in range(args.broadcast)
            ]
            await insert_rows(conn, models.User.__table__, recipients)
        # As after a restart: every scheduled job is due for its catch-up run.
        for name in ("JobRun", "SchedulerLease"):
            if hasattr(models, name):
                await conn.execute(delete(getattr(models, name)))
    await engine.dispose()
    stale = sum(1 for lot in lots if lot["ready_to"] < today)
    return {"seed_s": round(time.monotonic() - started, 1), "stale_lots": stale}


# --- scripted people ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Press:
    data: str
    message_id: int


@dataclass(frozen=True)
class Contact:
    phone: str


Action = Text | Press | Contact
DONE = "done"
Reaction = Callable[[ApiCall], Action]
Rules = list[tuple[str, Reaction]]


@dataclass
class Tally:
    """What the people saw, over the whole run."""

    updates: list[int] = field(default_factory=list)  # update ids sent by the script
    said: dict[int, str] = field(default_factory=dict)  # what each of them was, for --details
    lost: set[int] = field(default_factory=set)
    off_script: int = 0
    errors_seen: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # scenarios given up, by name


def buttons(msg: ApiCall) -> list[dict[str, Any]]:
    markup = msg.reply_markup or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row if "callback_data" in b]


class Person:
    """Someone on Telegram who follows a script, waiting for each answer like a person would."""

    def __init__(
        self, api: FakeBotApi, chat: int, args: argparse.Namespace, rng: random.Random, tally: Tally
    ) -> None:
        self.api, self.chat, self.rng, self.tally = api, chat, rng, tally
        self.think, self.timeout = args.think, args.reply_timeout
        self.typing = 0.3  # share of button answers typed as the label instead of pressed
        self.seen = 0
        self.menu: ApiCall | None = None  # the last message with buttons
        self.trace = chat in args.trace  # log this person's conversation on stderr

    # -- the conversation -----------------------------------------------------------------------

    def press(self, msg: ApiCall, label: str, *, may_type: bool = True) -> Action:
        """The button whose label contains ``label`` (diacritics ignored): pressed, or its label typed."""
        for button in buttons(msg):
            if fold(label) in fold(button["text"]):
                if may_type and self.rng.random() < self.typing:
                    return Text(fold(button["text"]) if self.rng.random() < 0.5 else button["text"])
                return Press(button["callback_data"], int(msg.result["message_id"]))
        return Text(label)

    def from_menu(self, label: str, command: str) -> Action:
        """A menu button if the last menu has it, else the slash command."""
        if self.menu is not None and any(fold(label) in fold(b["text"]) for b in buttons(self.menu)):
            return self.press(self.menu, label, may_type=False)
        return Text(command)

    def _push(self, action: Action) -> int:
        if isinstance(action, Press):
            return self.api.push_callback(self.chat, action.data, action.message_id)
        if isinstance(action, Contact):
            return self.api.push_contact(self.chat, action.phone)
        return self.api.push_text(self.chat, action.text, first_name="Lan", last_name=None)

    async def exchange(self, action: Action, rules: Rules, done: Sequence[str]) -> Action | str | None:
        """Send ``action``, wait for the answer: the next action, DONE, or None (lost or off script)."""
        for attempt in range(3):
            if self.think > 0:
                await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
            elif attempt:
                await asyncio.sleep(1.0)  # "please try again in a few minutes": a second later
            self.seen = len(self.api.delivered.get(self.chat, ()))  # what came before is old news
            update_id = self._push(action)
            if self.trace:
                log(f"{self.chat} → {action}")
            self.tally.updates.append(update_id)
            self.tally.said[update_id] = repr(action)
            answer = await self._answer(update_id, rules, done)
            if answer != "error":
                return answer
        return None

    async def _answer(self, update_id: int, rules: Rules, done: Sequence[str]) -> Action | str | None:
        deadline = time.monotonic() + self.timeout
        heard = False
        while True:
            msg = await self.api.wait_delivery(self.chat, self.seen, deadline - time.monotonic())
            if msg is None:
                if heard:
                    self.tally.off_script += 1
                else:
                    self.tally.lost.add(update_id)
                return None
            self.seen += 1
            heard = True
            said = msg.text or ""
            if self.trace:
                log(f"{self.chat} ← {said[:100]!r} {[b['text'] for b in buttons(msg)]}")
            if said.startswith(ERROR_PREFIX):
                self.tally.errors_seen += 1
                return "error"
            if buttons(msg):
                self.menu = msg
            folded = fold(said)
            if any(word in folded for word in done):
                return DONE
            for pattern, react in rules:
                if pattern in folded:
                    return react(msg)
            # Not a question of this script (a notification, a hint before the question): read on.

    async def scenario(self, name: str, opening: Action, rules: Rules, done: Sequence[str]) -> bool:
        action: Action | str | None = opening
        for _step in range(30):
            if action is None or isinstance(action, str):
                break
            action = await self.exchange(action, rules, done)
            if action == DONE:
                return True
        self.tally.failed[name] += 1
        # A person who got lost cancels whatever is half done and carries on.
        await self.exchange(Text("/huy"), [], ("",))
        return False

    # -- registration ----------------------------------------------------------------------------

    async def register(self, role_label: str | None, name: str, phone: str, ward: str) -> bool:
        rules: Rules = [
            ("ban dong y de bot xu ly", lambda m: self.press(m, "Tôi đồng ý")),
            ("ban la ai", lambda m: self.press(m, role_label or "")),
            ("ban ten la gi", lambda m: Text(name)),
            (
                "so dien thoai cua ban",
                lambda m: Contact("+84" + phone[1:]) if self.rng.random() < 0.5 else Text(phone),
            ),
            ("trung ten", lambda m: Press(buttons(m)[0]["callback_data"], int(m.result["message_id"]))),
            ("tinh/thanh pho nao", lambda m: self.press(m, "Lạng Sơn")),
            ("xa/phuong nao", lambda m: Text(ward)),
            ("ngan hang nao", lambda m: self.press(m, "Bỏ qua")),
        ]
        return await self.scenario("register", Text("/start"), rules, ("dang ky xong", "ban dang la"))


def lot_rules(p: Person, product: str, point: str) -> Rules:
    price = {"na": "28k", "hong_vanh_khuyen": "19k"}.get(product, "20k")
    label = {"na": "Na", "hong_vanh_khuyen": "Hồng vành khuyên"}[product]
    return [
        ("luu lai", lambda m: p.press(m, "Xác nhận")),
        ("lo gop tu nhieu ho", lambda m: p.press(m, "Không chia theo hộ")),
        ("diem tap ket nao", lambda m: p.press(m, point)),
        ("san pham gi", lambda m: p.press(m, label)),
        ("khoi luong bao nhieu", lambda m: Text(p.rng.choice(("1,5 tấn", "8 tạ", "2000 kg", "3 tan")))),
        ("loai may", lambda m: p.press(m, "Loại 1")),
        ("chung nhan nao", lambda m: p.press(m, "Xong", may_type=False)),
        ("khi nao hang san sang", lambda m: p.press(m, "Ngày mai")),
        ("gia ban mong muon", lambda m: p.press(m, "Bỏ qua") if p.rng.random() < 0.5 else Text(price)),
    ]


def order_rules(p: Person, product: str) -> Rules:
    label = {"na": "Na", "hong_vanh_khuyen": "Hồng vành khuyên"}[product]
    price = {"na": "32k", "hong_vanh_khuyen": "19k"}[product]

    def toggle(choice: str) -> Reaction:
        # Multi-select: pick one, then «Xong».
        return lambda m: p.press(
            m, "Xong" if any(b["text"].startswith("✅") for b in buttons(m)) else choice, may_type=False
        )

    return [
        ("luu lai", lambda m: p.press(m, "Xác nhận")),
        ("can mua san pham gi", lambda m: p.press(m, label)),
        ("ban can mua bao nhieu", lambda m: Text(p.rng.choice(("5 tấn", "10 tan", "20 tạ")))),
        ("gia ban tra", lambda m: Text(price)),
        ("lo nho nhat", lambda m: p.press(m, "Không yêu cầu")),
        ("khung ngay lay hang", lambda m: p.press(m, "Ngày mai")),
        ("ban mua o dau", toggle("Tỉnh Lạng Sơn")),
        ("nhan hang loai nao", toggle("Loại 1")),
        ("chung nhan nao", lambda m: p.press(m, "Xong", may_type=False)),
    ]


MINE_DONE = ("da gia han", "chua co")


def mine_rules(p: Person) -> Rules:
    return [
        ("dang mo cua ban", lambda m: p.press(m, "Gia hạn", may_type=False)),
        ("gia han den ngay nao", lambda m: p.press(m, "Thêm 1 ngày")),
    ]


FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Quang", "Thu", "Hồng", "Ngọc")
GIVEN = (
    "An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phúc", "Sơn",
)  # fmt: skip


def full_name(rng: random.Random) -> str:
    """A Vietnamese name (names with digits are refused, so no "Person 17")."""
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


SUPPLIER_SENTENCES = (
    "nha em co {q} {product} loai 1, mai thu",
    "Nhà em có {q} {product} loại 1, mai thu",
    "htx co {q} {product} loai 1 o cho chi lang, mai thu hoach",
)
TRADER_SENTENCES = (
    "cần mua {q} hồng vành khuyên loại 1 giá {price} lấy ở xã Văn Lãng tuần sau",
    "can mua {q} hong vanh khuyen loai 1 gia {price} lay o xa van lang tuan sau",
)


async def farmer_or_rep(p: Person, index: int, rep: bool, rounds: int) -> bool:
    name = (
        f"HTX {p.rng.choice(('Na', 'Hồng'))} {p.rng.choice(GIVEN)} {p.rng.choice(GIVEN)}"
        if rep
        else full_name(p.rng)
    )
    ward = p.rng.choice(("Chi Lăng", "xa chi lang", "Văn Lãng", "van lang"))
    if not await p.register("Đại diện HTX" if rep else "Nông dân", name, f"09{index % 10**8:08d}", ward):
        return False
    ok = True
    for _round in range(rounds):
        product = p.rng.choice(("na", "hong_vanh_khuyen"))
        point = p.rng.choice(("chợ Chi Lăng", "UBND xã Văn Lãng"))
        sentence = p.rng.choice(SUPPLIER_SENTENCES).format(
            q=p.rng.choice(("2 tấn", "5 tạ", "1500kg", "3 tan")),
            product={"na": "na", "hong_vanh_khuyen": "hồng vành khuyên"}[product],
        )
        ok &= await p.scenario("lot_sentence", Text(sentence), lot_rules(p, product, point), ("da luu lo",))
        product = p.rng.choice(("na", "hong_vanh_khuyen"))
        opening = p.from_menu("Báo thu hoạch", "/thuhoach")
        ok &= await p.scenario("lot_buttons", opening, lot_rules(p, product, point), ("da luu lo",))
        ok &= await p.scenario("mine", p.from_menu("Của tôi", "/cuatoi"), mine_rules(p), MINE_DONE)
    return ok


async def trader(p: Person, index: int, rounds: int) -> bool:
    ward = p.rng.choice(("Văn Lãng", "van lang", "Chi Lăng"))
    if not await p.register("Thương lái", full_name(p.rng), f"038{index % 10**7:07d}", ward):
        return False
    ok = True
    for _round in range(rounds):
        sentence = p.rng.choice(TRADER_SENTENCES).format(
            q=p.rng.choice(("10 tấn", "5 tan", "20 tạ")), price=p.rng.choice(("18k", "19k", "19.500"))
        )
        ok &= await p.scenario(
            "order_sentence", Text(sentence), order_rules(p, "hong_vanh_khuyen"), ("da luu don",)
        )
        product = p.rng.choice(("na", "hong_vanh_khuyen"))
        opening = p.from_menu("Đặt mua", "/dathang")
        ok &= await p.scenario("order_buttons", opening, order_rules(p, product), ("da luu don",))
        ok &= await p.scenario("mine", p.from_menu("Của tôi", "/cuatoi"), mine_rules(p), MINE_DONE)
    return ok


async def official(p: Person) -> bool:
    """The official (an admin from ADMIN_IDS) registers, then announces to every farmer in Cao Bằng."""
    if not await p.register(None, "Cán bộ Sở Công Thương", "0911000000", "Chi Lăng"):
        return False

    def audience(m: ApiCall) -> Action:
        return p.press(m, "Xem trước" if "cao bang" in fold(m.text or "") else "Theo tỉnh", may_type=False)

    rules: Rules = [
        ("gui noi dung thong bao", lambda m: Text(ANNOUNCEMENT)),
        ("gui cho ai", audience),
        ("gui cho tinh nao", lambda m: p.press(m, "Cao Bằng", may_type=False)),
        ("hay mot xa/phuong", lambda m: p.press(m, "Cả tỉnh", may_type=False)),
        ("se gui toi", lambda m: p.press(m, "Gửi ngay", may_type=False)),
    ]
    return await p.scenario("announce", Text("/thongbao"), rules, ("dang gui thong bao",))


# --- measuring -------------------------------------------------------------------------------------


def duplicates_in(calls: list[ApiCall], windows: list[float]) -> list[ApiCall]:
    """Extra copies of the same message (text and buttons) within one window of a chat's deliveries."""
    extra = []
    seen: set[tuple[int, str, str]] = set()
    for call in calls:
        if call.method == "editMessageText":
            continue
        window = sum(1 for start in windows if start <= call.at)
        key = (window, call.text or "", json.dumps(call.reply_markup, sort_keys=True, ensure_ascii=False))
        if key in seen:
            extra.append(call)
        seen.add(key)
    return extra


async def progress(api: FakeBotApi, tally: Tally, started: float, people: int, done: list[bool]) -> None:
    while True:
        await asyncio.sleep(10)
        answered = sum(1 for u in tally.updates if api.timings[u].first_reply_at is not None)
        log(
            f"{time.monotonic() - started:5.0f} s: {len(tally.updates)} updates sent, {answered} answered, "
            f"{len(done)}/{people} people done, {len(tally.lost)} lost, {tally.errors_seen} error replies"
        )


async def run_bot(args: argparse.Namespace, database_url: str, workdir: Path) -> dict[str, Any]:
    """Start the bot process(es) against a fresh fake, let the people talk, stop them; the figures."""
    webhook = args.processes > 1 or args.webhook
    faults = Faults.parse(args.faults) if args.faults else None
    async with FakeBotApi(strict=args.strict, faults=faults) as api:
        if webhook:
            api.deliver_by_webhook()
        procs = Processes(workdir, "bot")
        for _ in range(args.processes):
            port = free_port()
            public = f"http://127.0.0.1:{port}" if webhook else None
            procs.start(
                [sys.executable, "-m", "bot"], bot_env(api, database_url, port, public, args.processes)
            )
        try:
            if webhook:
                await wait_until(lambda: len(api.webhook_urls) >= args.processes, procs, 300, "bot")
            else:
                await wait_until(lambda: api.method_counts["getUpdates"] > 0, procs, 300, "bot")
            log(
                f"{args.processes} bot process(es) ready ({'webhook' if webhook else 'polling'}); people start"
            )
            result = await drive_people(args, api, procs)
        finally:
            await procs.stop()
        errors = procs.error_lines()
        result["bot_log_errors"] = len(errors)
        if errors:
            common = Counter(ln.split(" ERROR ", 1)[-1][:120] for ln in errors).most_common(3)
            log(f"bot log errors: {len(errors)}; most common: {common}")
        result["transport"] = "webhook" if webhook else "polling"
    return result


async def drive_people(args: argparse.Namespace, api: FakeBotApi, procs: Processes) -> dict[str, Any]:
    """The measured window: every person's script at once (and the official's broadcast), then the counts."""
    tally = Tally()
    rng = random.Random(args.seed)
    people: list[Person] = []
    runs = []
    for i in range(args.users):
        person = Person(api, FIRST_PERSON + i, args, random.Random(rng.random()), tally)
        people.append(person)
        kind = i % 10
        if kind < 4:
            runs.append(farmer_or_rep(person, i, False, args.rounds))
        elif kind < 7:
            runs.append(farmer_or_rep(person, i, True, args.rounds))
        else:
            runs.append(trader(person, i, args.rounds))
    if args.broadcast:
        admin = Person(api, ADMIN_CHAT, args, random.Random(rng.random()), tally)
        admin.think = 0.0  # the broadcast should run alongside the people for most of the window
        people.append(admin)
        runs.append(official(admin))

    done: list[bool] = []

    async def person_run(run: Any, delay: float) -> None:
        await asyncio.sleep(delay)  # everyone writes within the first second after start-up
        ok = await run
        done.append(ok)

    cpu0, t0, own0 = procs.cpu_seconds(), time.monotonic(), time.process_time()
    reporter = asyncio.create_task(progress(api, tally, t0, len(runs), done))
    tasks = [asyncio.create_task(person_run(run, rng.random())) for run in runs]
    _finished, unfinished = await asyncio.wait(tasks, timeout=args.seconds)
    t1, cpu1, own1 = time.monotonic(), procs.cpu_seconds(), time.process_time()
    peak = procs.peak_rss_mb()
    reporter.cancel()
    for task in unfinished:
        task.cancel()
    await asyncio.gather(*tasks, reporter, return_exceptions=True)
    await asyncio.sleep(args.grace)  # late copies still count as duplicates
    window = t1 - t0

    ours = set(tally.updates)
    taken = [u for u in ours if (api.timings[u].taken_at or t1 + 1) <= t1]
    latencies = []
    for u in ours:
        timing = api.timings[u]
        if u in tally.lost:
            latencies.append(args.reply_timeout)
        elif timing.latency is not None:
            latencies.append(timing.latency)
    answered = sum(1 for u in ours if u not in tally.lost and api.timings[u].first_reply_at is not None)
    in_flight = len(ours) - answered - len(tally.lost)

    chats = [p.chat for p in people]
    copies: list[ApiCall] = []
    error_replies = 0
    for chat in chats:
        starts = sorted(
            t.taken_at for t in api.timings.values() if t.chat_id == chat and t.taken_at is not None
        )
        calls = api.delivered.get(chat, [])
        copies += duplicates_in(calls, starts)
        error_replies += sum(1 for c in calls if (c.text or "").startswith(ERROR_PREFIX))
    recipients = range(FIRST_RECIPIENT, FIRST_RECIPIENT + args.broadcast)
    got = [api.delivered[c] for c in recipients if c in api.delivered]
    broadcast_sent = len(got)
    broadcast_copies = [call for calls in got for call in duplicates_in(calls, [])]
    others = [chat for chat in api.delivered if chat not in set(chats) and chat < FIRST_RECIPIENT]
    copies += [call for c in others for call in duplicates_in(api.delivered[c], [])]
    if args.details:
        write_details(Path(args.details), api, tally, copies + broadcast_copies, t0)
    broadcast_rate = during = None
    if got:
        first, last = min(calls[0].at for calls in got), max(calls[0].at for calls in got)
        broadcast_rate = round(broadcast_sent / max(last - first, 1e-3), 1)
        # People's replies while the broadcast was going out (the official's own excluded).
        during = [
            args.reply_timeout if u in tally.lost else api.timings[u].latency or 0.0
            for u in ours
            if api.timings[u].chat_id != ADMIN_CHAT
            and first <= api.timings[u].offered_at <= last
            and (u in tally.lost or api.timings[u].latency is not None)
        ]

    cpu = cpu1 - cpu0
    return {
        "seconds": round(window, 1),
        "updates": len(taken),
        "updates_per_s": round(answered / window, 2),
        "reply_p50_ms": _ms(percentile(latencies, 0.5)),
        "reply_p99_ms": _ms(percentile(latencies, 0.99)),
        "cpu_ms_per_update": round(1000 * cpu / max(len(taken), 1), 1),
        "peak_rss_mb": round(peak, 1),
        "error_replies": error_replies,
        "lost": len(tally.lost),
        "lost_answered_later": answered_later(api, tally),
        "duplicates": len(copies) + len(broadcast_copies),
        "off_script": tally.off_script,
        "in_flight": in_flight,
        "people_finished": f"{len(done)}/{len(runs)}",
        "scenarios_failed": dict(tally.failed),
        "msgs_per_update": round(sum(len(api.delivered.get(c, [])) for c in chats) / max(len(ours), 1), 2),
        "broadcast_sent": broadcast_sent,
        "broadcast_msgs_per_s": broadcast_rate,
        "reply_p99_during_broadcast_ms": _ms(percentile(during or [], 0.99)),
        "broadcast_duplicates": len(broadcast_copies),
        "other_messages": sum(len(api.delivered[c]) for c in others),
        "http_429": api.count_429,
        "faults_injected": dict(api.fault_counts),
        "webhook_retries": api.webhook_failures,
        "cpu_s": round(cpu, 2),
        # The people and the fake share the machine's cores with the bot: what they used.
        "driver_cpu_s": round(own1 - own0, 2),
    }


def next_offered(api: FakeBotApi, tally: Tally, update_id: int) -> float | None:
    """When the same person wrote next after ``update_id``, if they did."""
    t = api.timings[update_id]
    following = [
        api.timings[v].offered_at
        for v in tally.updates
        if api.timings[v].chat_id == t.chat_id and api.timings[v].offered_at > t.offered_at
    ]
    return min(following, default=None)


def answered_later(api: FakeBotApi, tally: Tally) -> int:
    """Lost updates answered after the person gave up, but before they wrote again."""
    later = 0
    for u in tally.lost:
        reply, following = api.timings[u].first_reply_at, next_offered(api, tally, u)
        if reply is not None and (following is None or reply < following):
            later += 1
    return later


def write_details(path: Path, api: FakeBotApi, tally: Tally, copies: list[ApiCall], t0: float) -> None:
    """Lost updates and duplicate messages, one JSON object a line, times in seconds from the start."""

    def at(value: float | None) -> float | None:
        return None if value is None else round(value - t0, 3)

    with path.open("w", encoding="utf-8") as out:
        for u in sorted(tally.lost):
            t = api.timings[u]
            row: dict[str, Any] = {
                "lost": u,
                "chat": t.chat_id,
                "said": tally.said.get(u),
                "offered": at(t.offered_at),
            }
            row |= {"taken": at(t.taken_at), "acked": at(t.acked_at), "first_reply": at(t.first_reply_at)}
            row["next_sent"] = at(next_offered(api, tally, u))  # a first_reply after it answers that one
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        for call in copies:
            earlier = [c for c in api.delivered[int(call.chat_id)] if c.text == call.text and c.at <= call.at]
            row = {"duplicate": call.text, "chat": call.chat_id, "at": [at(c.at) for c in earlier]}
            # What the person sent around then: was it one update, or the same question asked twice?
            row["updates"] = [
                (at(t.offered_at), at(t.taken_at), tally.said.get(t.update_id))
                for t in api.timings.values()
                if t.chat_id == int(call.chat_id) and earlier[0].at - 10 <= t.offered_at <= call.at
            ]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


# --- the echo bot -----------------------------------------------------------------------------------


def serve_echo() -> None:
    """A bare python-telegram-bot 22 echo bot (run as a child process by the benchmark)."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message is not None and update.message.text is not None:
            await update.message.reply_text(update.message.text)

    app = Application.builder().token(os.environ["ECHO_TOKEN"]).base_url(os.environ["ECHO_BASE_URL"]).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(timeout=10)


async def run_echo(
    args: argparse.Namespace, people: int, per_person: int, seconds: float | None, workdir: Path
) -> dict[str, Any]:
    """The echo bot under the same people and messages; spread over ``seconds`` (the bot's pace), or
    as fast as it answers when None."""
    async with FakeBotApi() as api:
        procs = Processes(workdir, "echo")
        env = bot_env(api, "", free_port(), None, 1)
        env.update(ECHO_TOKEN=TOKEN, ECHO_BASE_URL=api.base_url)
        procs.start([sys.executable, str(SCRIPT), "--serve-echo"], env)
        try:
            await wait_until(lambda: api.method_counts["getUpdates"] > 0, procs, 120, "echo bot")
            latencies: list[float] = []
            lost = 0
            interval = seconds / per_person if seconds else 0.0
            rng = random.Random(args.seed)

            async def talk(chat: int, start: float) -> None:
                nonlocal lost
                for k in range(per_person):
                    await asyncio.sleep(max(0.0, start + k * interval - time.monotonic()))
                    seen = len(api.delivered.get(chat, ()))
                    update_id = api.push_text(chat, f"tin nhắn số {k} của {chat}")
                    if await api.wait_delivery(chat, seen, args.reply_timeout) is None:
                        lost += 1
                        continue
                    latencies.append(api.timings[update_id].latency or 0.0)

            cpu0, t0 = procs.cpu_seconds(), time.monotonic()
            starts = [t0 + rng.uniform(0, max(interval, 1.0)) for _ in range(people)]
            await asyncio.gather(*(talk(FIRST_PERSON + i, start) for i, start in enumerate(starts)))
            t1, cpu1 = time.monotonic(), procs.cpu_seconds()
        finally:
            await procs.stop()
    n = people * per_person
    return {
        "echo_updates": n,
        "echo_paced": bool(seconds),
        "echo_updates_per_s": round(len(latencies) / (t1 - t0), 1),
        "echo_reply_p50_ms": _ms(percentile(latencies, 0.5)),
        "echo_cpu_ms_per_update": round(1000 * (cpu1 - cpu0) / n, 2),
        "echo_lost": lost,
    }


def code_version() -> str | None:
    """The commit of the code measured (with "+" when the work tree has changes), if git knows."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "bot", "storage"], cwd=ROOT, capture_output=True
        )
    except OSError:
        return None
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "") if head.returncode == 0 else None


def keep_logs(workdir: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for pattern in ("*.log", "bench.db*"):  # the logs, and the SQLite database to look into
        for path in workdir.glob(pattern):
            path.replace(target / path.name)


# --- main --------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Scratch database, warm-up, seeding, the measured run, the echo bot: the JSON line."""
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench_e2e_") as tmp:
        workdir = Path(tmp)
        async with scratch_database(args.db, args.pg_url, workdir) as database_url:
            log(f"warm-up: migrating and loading reference data ({args.db})")
            warmup_s = await warm_up(database_url, workdir)
            log(f"seeding {args.open_lots} open lots, {args.broadcast} broadcast recipients")
            seeded = await seed(database_url, args, rng)
            log(f"seeded in {seeded['seed_s']} s")
            measured = await run_bot(args, database_url, workdir)
        if args.keep_logs:
            keep_logs(workdir, Path(args.keep_logs))
        result: dict[str, Any] = {
            "commit": args.commit,
            "db": args.db,
            "users": args.users,
            "open_lots": args.open_lots,
            "processes": args.processes,
            "broadcast": args.broadcast,
            "strict": args.strict,
            "faults": args.faults or None,
            "think_s": args.think,
            **measured,
            "warmup_s": round(warmup_s, 1),
            **seeded,
        }
        if not args.no_echo:
            per_person = max(1, round(measured["updates"] / max(args.users, 1)))
            # At the bot's pace by default: CPU per update depends on the load (batches, idle work).
            pace = measured["seconds"] if args.echo_pace == "same" else None
            log(f"echo bot: {args.users} people × {per_person} messages ({args.echo_pace} pace)")
            echo = await run_echo(args, args.users, per_person, pace, workdir)
            result.update(echo)
            result["cpu_ratio_vs_echo"] = round(
                result["cpu_ms_per_update"] / max(echo["echo_cpu_ms_per_update"], 1e-6), 2
            )
    return result


async def cancellable(work: Any) -> Any:
    """Run ``work``; SIGTERM/SIGINT cancel it, so bot processes stop and a PostgreSQL database is dropped."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    return await task


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument(
        "--open-lots", type=int, default=0, help="open lots already in the book (0, 10000, 100000)"
    )
    parser.add_argument(
        "--stale-lots", type=float, default=0.01, help="share of them already past their window"
    )
    parser.add_argument("--processes", type=int, default=1, help="bot processes (2 or more: webhook mode)")
    parser.add_argument("--webhook", action="store_true", help="webhook mode with one process too")
    parser.add_argument(
        "--broadcast", type=int, default=0, help="recipients of an announcement sent alongside"
    )
    parser.add_argument(
        "--strict", action="store_true", help="the fake enforces Telegram's limits (429 beyond)"
    )
    parser.add_argument("--faults", default="", help="e.g. 5xx=0.02,timeout=0.01,late=0.01")
    parser.add_argument("--seconds", type=float, default=300, help="cap on the measured window")
    parser.add_argument(
        "--think",
        type=float,
        default=None,
        help="mean pause before each message (default 0; 5 with --strict)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="times each person repeats the script after registering"
    )
    parser.add_argument("--reply-timeout", type=float, default=60, help="seconds without any answer: lost")
    parser.add_argument("--grace", type=float, default=3, help="seconds to wait for late copies at the end")
    parser.add_argument(
        "--pg-url", default=os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--trace",
        type=int,
        nargs="*",
        default=[],
        help="chat ids whose conversation is logged (1000000 = first)",
    )
    parser.add_argument("--no-echo", action="store_true", help="skip the echo bot")
    parser.add_argument(
        "--echo-pace", choices=("same", "max"), default="same", help="echo bot at the bot's pace, or flat out"
    )
    parser.add_argument("--keep-logs", default=None, help="directory to keep the bot processes' logs in")
    parser.add_argument(
        "--details", default=None, help="file for the lost updates and duplicates (JSON lines)"
    )
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        serve_echo()
        return
    args.commit = code_version()
    if args.think is None:
        # People read and type: at 0 s, 100 of them would ask for more than the platform allows.
        args.think = 5.0 if args.strict else 0.0
    try:
        result = asyncio.run(cancellable(bench(args)))
    except asyncio.CancelledError:
        log("interrupted; bot processes stopped, scratch database dropped")
        sys.exit(130)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
