"""`python -m bot` with a token registers a person over Telegram, through the real python-telegram-bot
client talking to a local Bot-API-compatible server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

from bot.app import BotApp
from bot.channels.registry import configured
from bot.config import load_settings
from storage.uow import Database
from tests.conftest import prepare_database
from tests.fakes.telegram_api import FakeBotApi

ROOT = Path(__file__).resolve().parent.parent


async def wait_text(api: FakeBotApi, words: str, timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not any(words in (c.text or "") for c in api.calls_to("sendMessage")):
            await api.wait_for_calls("sendMessage", len(api.calls_to("sendMessage")) + 1, timeout=timeout)


async def test_python_m_bot_registers_a_trader_over_telegram(tmp_path: Path) -> None:
    db_path = tmp_path / "tg.db"
    async with FakeBotApi(reject_methods={"setMyCommands"}) as api:
        env = {
            **{k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "PYENV"))},
            "TELEGRAM_BOT_TOKEN": "123456:TESTTOKEN",
            "TELEGRAM_API_BASE_URL": api.base_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
            "HTTP_PORT": "0",
            "PYTHONPATH": str(ROOT),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            api.push_text(9001, "/start")
            await wait_text(api, "Bạn đồng ý", timeout=40)  # polling runs although setMyCommands was refused
            assert api.calls_to("setMyCommands") and not api.calls_to("setMyCommands")[0].ok
            consent = api.calls_to("sendMessage")[-1].reply_markup["inline_keyboard"]
            assert consent[0][0]["text"] == "✅ Tôi đồng ý"
            api.push_callback(9001, consent[0][0]["callback_data"])
            await wait_text(api, "Bạn là ai")
            keyboard = api.calls_to("sendMessage")[-1].reply_markup["inline_keyboard"]
            assert [row[0]["text"] for row in keyboard] == ["Nông dân", "Đại diện HTX", "Thương lái"]
            api.push_callback(9001, keyboard[2][0]["callback_data"])
            await wait_text(api, "Bạn tên là gì")
            api.push_text(9001, "Nguyễn Thị Lan")
            await wait_text(api, "Số điện thoại")
            assert api.calls_to("sendMessage")[-1].reply_markup["keyboard"][0][0]["request_contact"] is True
            api.push_contact(9001, "84912345678")
            await wait_text(api, "tỉnh/thành phố")
            api.push_text(9001, "Lang Son")
            await wait_text(api, "xã/phường nào")
            api.push_text(9001, "Chi Lang")
            await wait_text(api, "Đăng ký xong")
            assert api.calls_to("answerCallbackQuery"), "the button spinner must be stopped"
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert "TESTTOKEN" not in stderr.decode(), "the token must never be logged"
        assert "0912345678" not in stderr.decode()

    db = Database(f"sqlite+aiosqlite:///{db_path}")
    async with db.uow() as uow:
        user = await uow.users.by_external("telegram", "9001")
    await db.dispose()
    assert (user.name, user.phone, user.role, user.ward_code) == (
        "Nguyễn Thị Lan",
        "0912345678",
        "trader",
        6463,
    )


async def test_webhook_mode_checks_the_secret_and_rejects_malformed_bodies(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'wh.db'}")
    await prepare_database(db)
    await db.dispose()
    async with FakeBotApi() as api:
        settings = load_settings(
            _env_file=None,
            telegram_bot_token="42:SECRET",
            telegram_api_base_url=api.base_url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'wh.db'}",
            public_url="https://bot.example.vn",
            webhook_secret="s3cret",
            http_port=0,
        )
        app = BotApp(settings)
        await app.start()
        try:
            path = "/webhook/telegram"
            assert api.webhook_url == "https://bot.example.vn" + path
            url = f"http://127.0.0.1:{app.http_port}{path}"
            update = {"update_id": 5, "message": api.make_message(777, text="/start")}
            async with aiohttp.ClientSession() as http:
                wrong = await http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
                garbage = await http.post(
                    url, data=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
                )
                not_update = await http.post(
                    url, json={"hello": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
                )
                good = await http.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
                )
                health = await http.get(f"http://127.0.0.1:{app.http_port}/healthz")
                health_body = await health.json()
            assert (wrong.status, garbage.status, not_update.status, good.status) == (403, 400, 400, 200)
            await wait_text(api, "Bạn đồng ý")
            assert health.status == 200 and health_body["status"] == "ok"
        finally:
            await app.stop()


async def test_the_app_serves_zalo_and_telegram_together(tmp_path: Path) -> None:
    from tests.fakes.zalo_api import FakeZaloApi

    async with FakeBotApi() as tg, FakeZaloApi() as zalo:
        settings = load_settings(
            _env_file=None,
            telegram_bot_token="42:TG",
            telegram_api_base_url=tg.base_url,
            zalo_bot_token="zalo-token-1",
            zalo_api_base_url=zalo.base_url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'both.db'}",
            http_port=0,
        )
        assert configured(settings) == ["telegram", "zalo"]
        app = BotApp(settings)
        await app.start()
        try:
            zalo.push_text("zu1", "/start")
            question = await zalo.wait_for_text("zu1", "Bạn đồng ý", timeout=15)
            assert "1. ✅ Tôi đồng ý" in question  # Zalo has no buttons: numbered options instead
            tg.push_text(5151, "/start")
            await wait_text(tg, "Bạn đồng ý")
        finally:
            await app.stop()
