"""Zalo adapter: the Zalo Bot API (Zalo Bot Platform) over aiohttp, no SDK.

What the Zalo Bot API docs say (https://bot.zaloplatforms.com/docs/, "Zalo Bot API
Documentation", updated 10/12/2025):

- Every method is ``POST https://bot-api.zaloplatforms.com/bot<TOKEN>/<method>`` with a JSON
  body, answered ``{"ok": true, "result": ...}``. The token looks like ``<bot_id>:<secret>``.
- ``getUpdates`` is long polling with a single parameter, ``timeout`` (seconds, a string,
  default 30). There is no ``offset`` and no ``update_id``; the sample answer carries one
  update as an object in ``result``. It does not work while a webhook is set.
- ``setWebhook(url, secret_token)``: an HTTPS url and a secret of 8–256 characters, which
  Zalo sends back in the ``X-Bot-Api-Secret-Token`` header; ``deleteWebhook``,
  ``getWebhookInfo``.
- ``sendMessage(chat_id, text)`` with 1–2000 characters; ``sendPhoto(chat_id, photo,
  caption)`` where ``photo`` is a URL; ``sendSticker``; ``sendChatAction`` ("typing").
- Updates: ``event_name`` (``message.text.received``, ``message.image.received``,
  ``message.sticker.received``, ``message.unsupported.received``) and ``message`` with
  ``from {id, display_name, is_bot}``, ``chat {id, chat_type PRIVATE|GROUP}``, ``text``,
  ``message_id`` and ``date`` (milliseconds). Ids are strings.

Assumptions where the docs are silent (the adapter is tolerant on each):

- ``result`` of getUpdates may be one update, a list of updates or ``null``; a webhook body
  may be the bare update or wrapped in ``{"ok": true, "result": ...}`` (both seen in the wild).
- An empty long poll may come back as ``{"ok": false, "error_code": 408}``: that means
  "nothing new", not an error. Errors look like Telegram's (``error_code``, ``description``,
  maybe ``parameters.retry_after``), with the HTTP status equal to the code or 200.
- Duplicate detection: ``update_id`` is derived from ``chat.id`` + ``message_id`` (see
  :func:`bot.channels.zalo_render.derived_update_id`); Zalo redelivers the same message id.
- Groups (``chat_type`` GROUP, beta): the documented updates carry no mention entities, so a
  group message is meant for the bot when its text holds "@" and the bot's name (the configured
  ``ZALO_BOT_NAME``, or getMe's ``account_name``; case, diacritics and spaces ignored) or starts
  with "/". Everything else in a group is the members' own talk, which the engine leaves alone.
- Error mapping for the outbox: 429 or "too many" → RETRY (``RATE_LIMITED``, pause
  ``parameters.retry_after`` or a ``Retry-After`` header or 1 s); 403, or a description
  saying blocked / user or chat not found → REFUSED, never BLOCKED: Zalo answers 403
  "Internal server error" for passing faults too, so the outbox retries it and counts the
  person as blocked only after repeated refusals over a day; 408, 5xx and failed connections →
  RETRY; a request sent whose answer never came (read timeout, dropped connection) →
  UNKNOWN (never repeated blindly); anything else → FAILED.
- Attachments: the Bot API cannot upload bytes (``sendPhoto`` takes a public URL), so
  ``Capabilities.files`` is ``"url"``: ``bot.files`` stores a reply's file and replaces it by a
  signed link to the bot's own web server before it is queued. A photo goes by
  ``sendPhoto(photo=url, caption=text)``, a document as its download link in the text. An
  attachment still carrying bytes (no public URL configured) becomes a short note.
- A reply longer than 2000 characters (counted in UTF-16 units, which is never fewer than
  characters) is sent as several messages split on line boundaries. If a later part fails
  with RETRY, the parts already delivered are not sent again by the same process.
- Zalo has no contact or location sharing for bots: a phone request is rendered as
  "(Gõ số điện thoại của bạn)" and the person types the number.

Updates from polling and from the webhook take the same path: raw JSON → ``Incoming`` → the
inbox (committed before the webhook answers 200); replies leave through the outbox and
:class:`ZaloSender`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import logging
import re
import time
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.failures import log_failure
from bot.channels.webhook import read_webhook
from bot.channels.zalo_render import CHANNEL, bot_names, render_calls, to_incoming, updates_in
from bot.events import RATE_LIMITED, Incoming, Reply, SendResult, SendStatus, UpdateSink
from bot.lease import LeaseKeeper

__all__ = ["SECRET_HEADER", "ZaloApi", "ZaloApiError", "ZaloChannel", "ZaloSender", "deliver"]

_LOG = logging.getLogger(__name__)
SECRET_HEADER = "X-Bot-Api-Secret-Token"
SECRET_LENGTH = (8, 256)  # setWebhook's secret_token bounds
POLL_EMPTY_CODE = 408  # getUpdates "Request timeout": nothing arrived during the long poll
DEFAULT_RATE_LIMIT_PAUSE = 1.0
_BLOCKED = re.compile(
    r"block|(chat|user|recipient) (is )?not found|unknown (chat|user|recipient)|(chat|user) .*not exist",
    re.IGNORECASE,
)


# -- HTTP client ------------------------------------------------------------------------------


class ZaloApiError(Exception):
    """The Bot API answered ``ok: false`` (or not JSON at all)."""

    def __init__(
        self,
        method: str,
        status: int,
        error_code: int | None,
        description: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{method}: {error_code or status} {description}")
        self.method = method
        self.status = status
        self.code = error_code or status
        self.description = description
        self.retry_after = retry_after


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


class ZaloApi:
    """A thin Bot API client: ``await api.call("sendMessage", {...})`` returns ``result``.

    The URL holds the token, so nothing here puts a URL into a message or a log line.
    """

    def __init__(self, token: str, base_url: str, *, timeout: float = 10.0) -> None:
        self._prefix = f"{base_url}{token}/"
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the connection pool (idempotent)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Close the connection pool (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, seconds: float | None = None
    ) -> Any:
        """Call ``method``; raises :class:`ZaloApiError`, ``aiohttp.ClientError`` or ``TimeoutError``."""
        if self._session is None:
            raise RuntimeError("ZaloApi.start() was not called")
        # Separate limits tell "never connected" (safe to retry) from "no answer" (maybe delivered).
        limit = aiohttp.ClientTimeout(
            total=None, sock_connect=self._timeout, sock_read=seconds or self._timeout
        )
        try:
            async with self._session.post(self._prefix + method, json=params or {}, timeout=limit) as resp:
                status, raw = resp.status, await resp.read()
                header_pause = _number(resp.headers.get("Retry-After"))
        except aiohttp.InvalidURL:
            # Its message is the URL, token included: do not chain it.
            raise ZaloApiError(method, 0, None, "invalid Bot API URL") from None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise ZaloApiError(method, status, None, "answer is not a JSON object", header_pause)
        if status < 400 and body.get("ok", True) is True:
            return body.get("result")
        extra = body.get("parameters")
        code = body.get("error_code")
        raise ZaloApiError(
            method,
            status,
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            str(body.get("description") or body.get("message") or "error"),
            _number(extra.get("retry_after") if isinstance(extra, dict) else None) or header_pause,
        )


# -- sending ----------------------------------------------------------------------------------


def classify(exc: BaseException, network_retry_after: float = 1.0) -> SendResult:
    """Map a failed send to a :class:`SendResult` (see the module docstring for the rules)."""
    if isinstance(exc, ZaloApiError):
        detail = f"{exc.code}: {exc.description}"
        if exc.code == 429 or exc.status == 429 or "too many" in exc.description.lower():
            pause = exc.retry_after if exc.retry_after else DEFAULT_RATE_LIMIT_PAUSE
            return SendResult(SendStatus.RETRY, retry_after=pause, error=RATE_LIMITED)
        if exc.code == 403 or _BLOCKED.search(exc.description):
            # Maybe blocked, maybe a passing fault: Zalo says the same for both.
            return SendResult(SendStatus.REFUSED, retry_after=network_retry_after, error=detail)
        if exc.code == POLL_EMPTY_CODE or exc.code >= 500 or exc.status >= 500:
            return SendResult(SendStatus.RETRY, retry_after=network_retry_after, error=detail)
        return SendResult(SendStatus.FAILED, error=detail)
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        # Never connected: nothing went out.
        return SendResult(SendStatus.RETRY, retry_after=network_retry_after, error=type(exc).__name__)
    if isinstance(exc, TimeoutError | aiohttp.ClientError):
        # The request went out and no answer came: the message may have arrived, and the Bot
        # API has no idempotency key. Never repeated blindly.
        return SendResult(SendStatus.UNKNOWN, error=f"no answer ({type(exc).__name__})")
    return SendResult(SendStatus.FAILED, error=type(exc).__name__)


async def deliver(
    api: ZaloApi, chat_id: str, reply: Reply, *, skip: int = 0, network_retry_after: float = 1.0
) -> tuple[int, SendResult]:
    """Send ``reply`` as one or more calls (a sendPhoto, sendMessages), never raising.

    Returns how many of its messages have been delivered (``skip`` of them already were)
    and how the attempt ended; the message id is that of the last message sent.
    """
    sent = skip
    try:
        calls = render_calls(reply)
        message_id: str | None = None
        for method, params in calls[skip:]:
            result = await api.call(method, {"chat_id": chat_id, **params})
            sent += 1
            if isinstance(result, dict) and result.get("message_id") is not None:
                message_id = str(result["message_id"])
    except (ZaloApiError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return sent, classify(exc, network_retry_after)
    except Exception as exc:
        log_failure(_LOG, "zalo send", exc, chat=chat_id)
        return sent, SendResult(SendStatus.FAILED, error=type(exc).__name__)
    return sent, SendResult(SendStatus.SENT, message_id=message_id)


class ZaloSender:
    """:class:`bot.events.Sender` for the outbox: the same rendering as direct replies.

    Pace it with :class:`bot.ratelimit.SmoothRateLimiter`; call :meth:`start` first.
    """

    channel = CHANNEL

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        timeout: float = 10.0,
        network_retry_after: float = 1.0,
        max_remembered: int = 10_000,
    ) -> None:
        self.api = ZaloApi(token, base_url, timeout=timeout)
        self._network_retry_after = network_retry_after
        # Parts of a long reply already delivered when a later part hit a retry, so the
        # outbox's next attempt does not repeat them. In memory and bounded.
        self._progress: collections.OrderedDict[tuple[str, str], int] = collections.OrderedDict()
        self._max_remembered = max_remembered

    async def start(self) -> None:
        """Open connections and check the token (getMe)."""
        await self.api.start()
        try:
            await self.api.call("getMe")
        except BaseException:
            await self.api.close()
            raise

    async def stop(self) -> None:
        """Close connections."""
        await self.api.close()

    async def __aenter__(self) -> ZaloSender:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        """Deliver ``reply``; platform errors come back as a status, never as an exception."""
        try:
            await self.api.start()
            digest = hashlib.sha256(json.dumps(reply.to_json(), sort_keys=True).encode()).hexdigest()
        except Exception as exc:
            log_failure(_LOG, "zalo outbox send", exc, chat=chat_id)
            return SendResult(SendStatus.FAILED, error=type(exc).__name__)
        key = (chat_id, digest)
        sent, result = await deliver(
            self.api,
            chat_id,
            reply,
            skip=self._progress.pop(key, 0),
            network_retry_after=self._network_retry_after,
        )
        if result.status in (SendStatus.RETRY, SendStatus.REFUSED) and sent:
            self._progress[key] = sent
            while len(self._progress) > self._max_remembered:
                self._progress.popitem(last=False)
        return result


# -- receiving --------------------------------------------------------------------------------


class ZaloChannel:
    """The Zalo side of the bot: receives updates (polling or webhook) into the inbox."""

    def __init__(
        self,
        token: str,
        base_url: str,
        sink: UpdateSink,
        *,
        webhook_secret: str | None = None,
        poll_timeout: float = 30,
        poll_lease: LeaseKeeper | None = None,
        request_timeout: float = 10.0,
        bot_name: str | None = None,
    ) -> None:
        self.api = ZaloApi(token, base_url, timeout=request_timeout)
        self.me: dict[str, Any] | None = None
        # How people mention the bot in groups; getMe's account name is added at start.
        self._bot_name = bot_name
        self.names: tuple[str, ...] = bot_names(None, (bot_name,))
        self._sink = sink
        self._webhook_secret = webhook_secret
        self._poll_timeout = poll_timeout
        self._lease = poll_lease
        self._poll_task: asyncio.Task[None] | None = None
        self._running = False

    # -- lifecycle ------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._running:
            raise RuntimeError("ZaloChannel already started")
        await self.api.start()
        try:
            # A wrong token or an unreachable server must fail loudly, at start.
            me = await self.api.call("getMe")
        except BaseException:
            await self.api.close()
            raise
        self.me = me if isinstance(me, dict) else None
        self.names = bot_names(self.me, (self._bot_name,))
        self._running = True

    async def start_polling(self) -> None:
        """Start receiving updates by long polling (Zalo documents it for development only)."""
        _LOG.warning(
            "Zalo: receiving by polling, which Zalo documents for development only; set PUBLIC_URL for the webhook"
        )
        await self._start()
        try:
            # getUpdates does not work while a webhook is set; never die for this call.
            await self.api.call("deleteWebhook")
        except (ZaloApiError, aiohttp.ClientError, TimeoutError) as exc:
            _LOG.warning("deleteWebhook failed (%s); polling anyway", type(exc).__name__)
        self._poll_task = asyncio.create_task(self._poll_loop(), name="zalo-polling")

    async def start_webhook(self, url: str) -> None:
        """Register ``url`` (with the secret token) as the webhook; updates arrive at :meth:`handle_webhook`."""
        secret = self._webhook_secret or ""
        if not SECRET_LENGTH[0] <= len(secret) <= SECRET_LENGTH[1]:
            raise ValueError("Zalo webhook mode needs a webhook_secret of 8-256 characters")
        await self._start()
        try:
            await self.api.call("setWebhook", {"url": url, "secret_token": secret})
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop receiving and release connections. Idempotent."""
        self._running = False
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
            self._poll_task = None
        if self._lease is not None:
            await self._lease.release()
        await self.api.close()

    # -- receiving ------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        backoff = 0.0
        params = {"timeout": str(int(self._poll_timeout))}
        while True:
            if self._lease is not None and not await self._lease.check():
                await asyncio.sleep(min(5.0, self._lease.seconds_to_next_check() + 0.1))
                continue
            started = time.monotonic()
            try:
                result = await self.api.call("getUpdates", params, seconds=self._poll_timeout + 10)
            except ZaloApiError as exc:
                if exc.code == POLL_EMPTY_CODE:
                    await self._pause_if_quick(started)
                    backoff = 0.0
                    continue
                if exc.code == 429:
                    await asyncio.sleep(exc.retry_after or DEFAULT_RATE_LIMIT_PAUSE)
                    continue
                backoff = min(30.0, max(1.0, backoff * 2))
                level = logging.ERROR if exc.code == 401 else logging.WARNING
                _LOG.log(level, "getUpdates failed (%s); retrying in %.0fs", exc.code, backoff)
                await asyncio.sleep(backoff)
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                backoff = min(30.0, max(1.0, backoff * 2))
                _LOG.warning("getUpdates failed (%s); retrying in %.0fs", type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                continue
            except Exception as exc:
                backoff = min(30.0, max(1.0, backoff * 2))
                log_failure(_LOG, "getUpdates", exc)
                await asyncio.sleep(backoff)
                continue
            backoff = 0.0
            events, count = self._events(result)
            # getUpdates has no offset: what it returned is ours alone now. Keep trying to save
            # it rather than drop it (a short database outage must not lose messages).
            delay = 0.5
            while events and not await self._save(events):
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)
            if not count:
                await self._pause_if_quick(started)

    @staticmethod
    async def _pause_if_quick(started: float) -> None:
        # A server that answers "nothing new" at once must not turn the loop into a busy spin.
        if time.monotonic() - started < 0.5:
            await asyncio.sleep(0.5)

    def _events(self, data: Any) -> tuple[list[Incoming], int]:
        """Every person's message in ``data`` as events, and how many updates it held."""
        events: list[Incoming] = []
        count = 0
        for update in updates_in(data):
            count += 1
            try:
                incoming = to_incoming(update, names=self.names)
            except Exception as exc:
                log_failure(_LOG, "parsing update", exc, event=update.get("event_name"))
                continue
            if incoming is not None:
                events.append(incoming)
        return events, count

    async def _save(self, events: list[Incoming]) -> bool:
        try:
            await self._sink(events)
        except Exception as exc:
            log_failure(_LOG, "saving updates to the inbox", exc)
            return False
        return True

    async def handle_webhook(self, request: web.Request) -> web.Response:
        """aiohttp handler for Zalo's webhook POSTs (mount it on the bot's web server).

        Wrong or missing secret → 403; not started → 503 (Zalo retries later); a body that is
        not a Zalo update → 400; otherwise 200 once the update is committed to the inbox, and
        503 if it could not be saved.
        """
        data = await read_webhook(
            request, header=SECRET_HEADER, secret=self._webhook_secret, running=self._running
        )
        if isinstance(data, web.Response):
            return data
        if not isinstance(data, dict):
            return web.Response(status=400, text="not a Zalo update")
        events, count = self._events(data)
        if not count:
            return web.Response(status=400, text="not a Zalo update")
        if events and not await self._save(events):
            return web.Response(status=503, text="try again later")
        return web.Response(status=200, text="ok")
