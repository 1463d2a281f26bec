"""The checks every messenger's webhook POST goes through before its body is read as an update."""

from __future__ import annotations

import hmac
import json

from aiohttp import web

__all__ = ["read_webhook"]


async def read_webhook(request: web.Request, *, header: str, secret: str | None, running: bool) -> object:
    """The decoded JSON body of a webhook POST, or the :class:`web.Response` that refuses it.

    Wrong or missing secret → 403; not running → 503 (the messenger retries later); a body
    that is not JSON → 400.
    """
    given = request.headers.get(header, "")
    expected = secret or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return web.Response(status=403, text="forbidden")
    if not running:
        return web.Response(status=503, text="not running")
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return web.Response(status=400, text="body is not JSON")
