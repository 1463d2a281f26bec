"""Files by signed links: a chart or a workbook for a messenger that fetches files by URL (Zalo)
is stored and sent as a link to the bot's own web server; the link is signed, expires, and the
daily retention job deletes what expired. The end-to-end test runs the whole app in Zalo's
production mode (webhook) against the fake Zalo Bot API, which downloads the photo as Zalo does."""

from __future__ import annotations

import datetime as dt
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import files
from bot.app import BotApp
from bot.config import load_settings
from bot.engine.context import Ctx
from bot.engine.router import Command
from bot.engine.screens import Screen
from bot.events import FILE_NAME, FILE_URL, IS_PHOTO, Attachment
from bot.presentation.notify import notify
from bot.reports.charts import ChartLabels, render
from bot.reports.sheets import Sheet, xlsx_bytes
from bot.services.housekeeping import enforce_retention
from bot.services.reports import CHART_STATUSES, ChartData
from storage.types import utcnow
from storage.uow import Database
from tests.conftest import prepare_database
from tests.fakes.zalo_api import FakeZaloApi
from tests.harness import BotHarness

PUBLIC = "https://nongsan.example.vn"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # enough for a test that compares bytes
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def chart_png() -> bytes:
    """A real chart of the kind /baocao sends, small."""
    days = [dt.date(2026, 9, d) for d in range(1, 8)]
    data = ChartData(
        days,
        {s: [1000 * (i + 1) for i in range(7)] for s in CHART_STATUSES},
        {"na": ([25.0] * 7, [24.0] * 7)},
    )
    labels = ChartLabels(
        "Na tuần này", "Sản lượng", "Giá", "tấn", "nghìn ₫/kg", {s: s for s in CHART_STATUSES}, "tham chiếu",
        {"na": "Na"}, "không có giá",
    )  # fmt: skip
    return render(data, labels, dpi=20)


async def send_chart(ctx: Ctx, _args: str) -> None:
    ctx.say("Biểu đồ giá na tuần này", attachment=Attachment("biểu đồ na.png", PNG, is_photo=True))


def with_chart_command(bot: BotHarness) -> BotHarness:
    bot.services.router.command(Command("bieudo", send_chart, "Biểu đồ", needs_registration=False))
    return bot


# -- one place for replies and notifications ----------------------------------------------------


async def test_a_chart_for_zalo_is_queued_as_a_signed_link_and_kept_as_bytes_for_telegram(
    database: Database,
) -> None:
    bot = with_chart_command(BotHarness(database, public_url=PUBLIC))
    (zalo_reply,) = await bot.person("zl-lan", channel="zalo").says("/bieudo")
    (tg_reply,) = await bot.person("777", channel="telegram").says("/bieudo")

    assert tg_reply.attachment is not None and tg_reply.attachment.data == PNG  # uploaded as it is
    assert zalo_reply.attachment is None and zalo_reply.text == "Biểu đồ giá na tuần này"
    url = zalo_reply.extras[FILE_URL]
    assert url.startswith(f"{PUBLIC}/files/") and "/bieu-do-na.png?exp=" in url
    assert (zalo_reply.extras[FILE_NAME], zalo_reply.extras[IS_PHOTO]) == ("biểu đồ na.png", True)
    file_id = urlsplit(url).path.split("/")[2]
    async with database.uow() as uow:
        stored = await uow.files.get(file_id)
    assert stored is not None and (stored.content, stored.content_type) == (PNG, "image/png")
    expires = dt.datetime.fromtimestamp(int(parse_qs(urlsplit(url).query)["exp"][0]), dt.UTC)
    assert stored.expires_at == expires and dt.timedelta(days=6.9) < expires - utcnow() <= dt.timedelta(
        days=7
    )


async def test_a_notification_with_a_workbook_goes_the_same_way(database: Database) -> None:
    bot = BotHarness(database, public_url=PUBLIC)
    async with database.uow() as uow:
        user = await uow.users.ensure("zalo", "zl-binh", "zl-binh", "vi")
        await notify(
            uow, bot.services, user, Screen("Dữ liệu của bạn", attachment=Attachment("du-lieu.xlsx", b"PK"))
        )
        (item,) = await uow.outbox.for_chat("zalo", "zl-binh")
    assert "attachment" not in item.payload
    assert item.payload["extras"][FILE_URL].startswith(f"{PUBLIC}/files/")
    assert item.payload["extras"][IS_PHOTO] is False


async def test_without_a_public_address_the_text_says_why_the_file_is_missing(database: Database) -> None:
    bot = with_chart_command(BotHarness(database))
    (reply,) = await bot.person("zl-lan", channel="zalo").says("/bieudo")
    assert reply.attachment is None and FILE_URL not in reply.extras
    assert reply.text.startswith("Biểu đồ giá na tuần này\n(Chưa gửi được tệp «biểu đồ na.png» qua Zalo")
    assert "PUBLIC_URL" in reply.text


# -- serving -------------------------------------------------------------------------------------


@pytest.fixture
async def server(database: Database) -> AsyncIterator[TestClient]:
    app = web.Application()
    app.router.add_get(files.ROUTE, files.FileServer(database).handle)  # as bot.app mounts it
    async with TestClient(TestServer(app)) as client:
        yield client


async def publish(db: Database, name: str, data: bytes, ttl: dt.timedelta = dt.timedelta(days=7)) -> str:
    async with db.uow() as uow:
        url = await files.publish(uow, name, data, base_url=PUBLIC, ttl=ttl)
    return url.removeprefix(PUBLIC)


async def test_a_link_serves_the_file_with_its_type_and_name(database: Database, server: TestClient) -> None:
    png = await server.get(await publish(database, "giá na.png", PNG))
    assert png.status == 200 and await png.read() == PNG
    assert png.headers["Content-Type"] == "image/png"
    assert png.headers["Content-Disposition"].startswith("inline;")

    xlsx = await server.get(await publish(database, "dữ liệu của tôi.xlsx", b"PK\x03\x04 workbook"))
    assert xlsx.status == 200 and await xlsx.read() == b"PK\x03\x04 workbook"
    assert xlsx.headers["Content-Type"] == XLSX_TYPE
    disposition = xlsx.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="du lieu cua toi.xlsx"')
    assert "filename*=UTF-8''d%E1%BB%AF%20li%E1%BB%87u%20c%E1%BB%A7a%20t%C3%B4i.xlsx" in disposition


async def test_a_tampered_expired_or_unknown_link_is_refused(database: Database, server: TestClient) -> None:
    path = await publish(database, "gia.png", PNG)
    other = await publish(database, "khac.png", PNG)
    exp = parse_qs(urlsplit(path).query)["exp"][0]
    sig = parse_qs(urlsplit(path).query)["sig"][0]
    other_id = urlsplit(other).path.split("/")[2]
    file_path = urlsplit(path).path

    tampered_sig = f"{file_path}?exp={exp}&sig={'0' * 64}"
    longer = f"{file_path}?exp={int(exp) + 86400}&sig={sig}"  # the signature covers the expiry
    swapped = f"/files/{other_id}/gia.png?exp={exp}&sig={sig}"  # ... and the file
    unsigned = file_path
    for refused in (tampered_sig, longer, swapped, unsigned):
        assert (await server.get(refused)).status == 403, refused

    expired = await publish(database, "cu.png", PNG, ttl=dt.timedelta(seconds=-1))
    assert (await server.get(expired)).status == 403

    async with database.uow() as uow:
        secret = await uow.secrets.get_or_create(files.FILE_SECRET)
    ghost = files.link("", secret, "0" * 32, "x.png", int(exp))  # well signed, never stored
    assert (await server.get(ghost)).status == 404


async def test_the_daily_retention_job_deletes_expired_files(database: Database, server: TestClient) -> None:
    bot = BotHarness(database)
    fresh = await publish(database, "moi.png", PNG)
    stale = await publish(database, "cu.png", PNG, ttl=dt.timedelta(seconds=-1))
    await enforce_retention(bot.services)
    async with database.uow() as uow:
        assert await uow.files.get(urlsplit(stale).path.split("/")[2]) is None
        assert await uow.files.get(urlsplit(fresh).path.split("/")[2]) is not None
    assert (await server.get(fresh)).status == 200


# -- the whole app, Zalo in production mode -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_zalo_farmer_gets_a_chart_by_sendphoto_and_a_workbook_as_a_link(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'files.db'}"
    db = Database(db_url)
    await prepare_database(db)
    await db.dispose()
    port = free_port()
    public = f"http://127.0.0.1:{port}"  # what PUBLIC_URL's HTTPS address reaches, here directly
    png, workbook = (
        chart_png(),
        xlsx_bytes([Sheet("Lô hàng", ["Sản phẩm", "kg"], [["Na", 2000]], [None, None])]),
    )
    async with FakeZaloApi() as zalo:
        settings = load_settings(
            _env_file=None,
            zalo_bot_token="1459232241454765289:TEST-zalo-token",
            zalo_api_base_url=zalo.base_url,
            database_url=db_url,
            public_url=public,
            webhook_secret="zalo-webhook-secret",
            http_port=port,
        )
        app = BotApp(settings)
        await app.start()
        try:
            assert (zalo.webhook_url, zalo.webhook_secret) == (
                f"{public}/webhook/zalo",
                "zalo-webhook-secret",
            )
            assert not zalo.calls_to("getUpdates")  # webhook mode: no polling
            async with aiohttp.ClientSession() as http:
                hook = await http.post(
                    f"{public}/webhook/zalo",
                    json={"ok": True, "result": zalo.make_update("zl-lan", text="/trogiup")},
                    headers={"X-Bot-Api-Secret-Token": "zalo-webhook-secret"},
                )
                assert hook.status == 200
                await zalo.wait_for_text("zl-lan", "Hướng dẫn nhanh", timeout=15)

                assert app.db is not None and app.services is not None and app.outbox is not None
                async with app.db.uow() as uow:
                    lan = await uow.users.by_external("zalo", "zl-lan")
                    assert lan is not None
                    chart = Screen(
                        "Biểu đồ giá na tuần này", attachment=Attachment("gia-na.png", png, is_photo=True)
                    )
                    await notify(uow, app.services, lan, chart)
                    sheet = Screen("Dữ liệu của bạn", attachment=Attachment("du-lieu.xlsx", workbook))
                    await notify(uow, app.services, lan, sheet)
                app.outbox.wake()

                (photo,) = await zalo.wait_for_calls("sendPhoto", timeout=15)
                assert photo.ok and photo.chat_id == "zl-lan"
                assert photo.params["caption"] == "Biểu đồ giá na tuần này"
                assert photo.params["photo"].startswith(f"{public}/files/")
                (fetched,) = zalo.photo_fetches  # Zalo downloaded it from the bot's own server
                assert (fetched.status, fetched.content, fetched.content_type) == (200, png, "image/png")
                again = await http.get(photo.params["photo"])
                assert again.status == 200 and await again.read() == png

                text = await zalo.wait_for_text("zl-lan", "du-lieu.xlsx", timeout=15)
                assert text.startswith("Dữ liệu của bạn\n📎 Tải tệp «du-lieu.xlsx»: ")
                link = re.search(r"http\S+", text)
                assert link is not None
                download = await http.get(link.group(0))
                assert download.status == 200 and await download.read() == workbook
                assert download.headers["Content-Type"] == XLSX_TYPE
                tampered = await http.get(link.group(0)[:-4] + "0000")
                assert tampered.status == 403
        finally:
            await app.stop()
