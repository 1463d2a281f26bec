"""Files the bot serves from its own web server, under signed links that expire.

Some messengers cannot take a file's bytes, only an address they fetch it from (their
``Capabilities.files`` is ``"url"``). For them a chart or a workbook is stored in the database
(so any process behind a load balancer serves it) and the message carries a link:
``GET /files/<id>/<name>?exp=<unix time>&sig=<HMAC-SHA256 of id and exp>``. The key signing
links is one of the bot's own secrets (``app_secrets``); the id alone opens nothing. Links stop
working at ``exp`` and the daily retention job deletes expired files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import mimetypes
import secrets
from dataclasses import replace
from urllib.parse import quote

from aiohttp import web

from bot.config import Settings
from bot.events import FILE_NAME, FILE_URL, IS_PHOTO, Capabilities, Reply
from bot.i18n import _
from bot.textnorm import strip_diacritics
from storage.types import utcnow
from storage.uow import Database, UnitOfWork

__all__ = ["FILE_SECRET", "ROUTE", "FileServer", "delete_expired", "link", "prepare", "publish", "signature"]

log = logging.getLogger(__name__)

FILE_SECRET = "files"  # the app_secrets row that signs file links (not the buttons' key)
ROUTE = "/files/{file_id}/{name}"
BATCH = 500  # files deleted per transaction: they can be large


def content_type_for(name: str) -> str:
    """The Content-Type a file of this name is served with."""
    guessed, _encoding = mimetypes.guess_type(name)
    if guessed is None:
        return "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def signature(secret: str, file_id: str, expires: int) -> str:
    """The ``sig`` of a link to ``file_id`` valid until ``expires`` (unix seconds)."""
    return hmac.new(secret.encode(), f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def _url_name(name: str) -> str:
    # Only for looks (the file is found by id): plain ASCII survives every messenger's link parser.
    ascii_name = strip_diacritics(name).encode("ascii", "ignore").decode() or "file"
    return quote(ascii_name.replace(" ", "-"), safe="-_.")


def link(base_url: str, secret: str, file_id: str, name: str, expires: int) -> str:
    """The signed address of a stored file."""
    sig = signature(secret, file_id, expires)
    return f"{base_url.rstrip('/')}/files/{file_id}/{_url_name(name)}?exp={expires}&sig={sig}"


async def publish(uow: UnitOfWork, name: str, data: bytes, *, base_url: str, ttl: dt.timedelta) -> str:
    """Store a file (in ``uow``'s transaction) and return a signed link valid for ``ttl``."""
    now = utcnow()
    expires = int((now + ttl).timestamp())
    file_id = secrets.token_hex(16)
    await uow.files.add(
        file_id,
        name[:200],
        data,
        content_type_for(name),
        now=now,
        expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
    )
    return link(base_url, await uow.secrets.get_or_create(FILE_SECRET), file_id, name, expires)


async def prepare(uow: UnitOfWork, reply: Reply, caps: Capabilities, settings: Settings) -> Reply:
    """``reply`` as it is queued for a messenger that can do ``caps``.

    Where files go by URL, an attachment is stored and replaced by a signed link
    (``extras[FILE_URL]``, with its name and whether it is a photo); without the bot's public
    address (``PUBLIC_URL``) the text says that the file could not be sent, and why.
    """
    att = reply.attachment
    if att is None or caps.files != "url":
        return reply
    if not settings.public_url:
        note = _(
            "(Chưa gửi được tệp «{name}» qua {messenger}: quản trị viên cần cấu hình địa chỉ web "
            "của bot (PUBLIC_URL).)"
        ).format(name=att.filename, messenger=caps.display_name)
        return replace(reply, text=f"{reply.text}\n{note}" if reply.text.strip() else note, attachment=None)
    ttl = dt.timedelta(days=settings.file_link_days)
    url = await publish(uow, att.filename, att.data, base_url=settings.public_url, ttl=ttl)
    extras = {**reply.extras, FILE_URL: url, FILE_NAME: att.filename, IS_PHOTO: att.is_photo}
    return replace(reply, attachment=None, extras=extras)


async def delete_expired(db: Database, now: dt.datetime | None = None) -> int:
    """Delete every expired file, a batch per transaction (the daily retention job calls this)."""
    now = now or utcnow()
    total = 0
    while True:
        async with db.uow() as uow:
            n = await uow.files.prune(now, BATCH)
        total += n
        if n < BATCH:
            return total


class FileServer:
    """Serves stored files on the bot's web server: ``app.router.add_get(ROUTE, server.handle)``.

    A bad or expired signature → 403, an unknown (or already deleted) file → 404.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._secret: str | None = None

    async def _key(self) -> str:
        if self._secret is None:
            async with self.db.uow() as uow:
                self._secret = await uow.secrets.get_or_create(FILE_SECRET)
        return self._secret

    async def handle(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        exp, sig = request.query.get("exp", ""), request.query.get("sig", "")
        now = utcnow()
        if not exp.isascii() or not exp.isdigit() or len(exp) > 12:
            return web.Response(status=403, text="forbidden")
        expected = signature(await self._key(), file_id, int(exp))
        if not hmac.compare_digest(sig.encode(), expected.encode()) or int(exp) < now.timestamp():
            return web.Response(status=403, text="forbidden")
        async with self.db.reader() as uow:
            stored = await uow.files.get(file_id)
        if stored is None or stored.expires_at <= now:
            return web.Response(status=404, text="not found")
        kind = "inline" if stored.content_type.startswith("image/") else "attachment"
        fallback = strip_diacritics(stored.name).encode("ascii", "ignore").decode().replace('"', "") or "file"
        return web.Response(
            body=stored.content,
            headers={
                "Content-Type": stored.content_type,
                "Content-Disposition": f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(stored.name)}",
                "Cache-Control": "private, max-age=3600",
                "X-Content-Type-Options": "nosniff",
            },
        )
