"""Telegram adapter: python-telegram-bot in, neutral events out; neutral replies rendered back.

Works against any Bot-API-compatible server (``base_url`` like ``http://127.0.0.1:9000/bot``;
PTB appends the token). Nothing outside ``bot.channels`` imports ``telegram``.

Receiving: updates from polling and from the webhook are translated to neutral events and
handed to the inbox; only once it has committed them does the adapter acknowledge them (the
webhook answers 200, polling moves its offset), so an update is never lost to a crash. With
several processes, one polls at a time (the ``poll:telegram`` lease); in webhook mode every
process takes what the load balancer gives it. Callback queries are answered directly (their
spinner must stop within seconds); everything else goes out through the outbox and
:class:`TelegramSender`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import warnings
from collections.abc import Awaitable, Sequence
from typing import Any

import httpx
from aiohttp import web
from telegram import Bot, BotCommand, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels.failures import log_failure
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_render import edit_reply, send_reply, to_incoming
from bot.channels.webhook import read_webhook
from bot.events import EDIT_MESSAGE_ID, RATE_LIMITED, Incoming, Reply, SendResult, SendStatus, UpdateSink
from bot.lease import LeaseKeeper

__all__ = ["RATE_LIMITED", "TelegramChannel", "TelegramSender", "file_url_for"]

_LOG = logging.getLogger(__name__)
CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def file_url_for(base_url: str) -> str:
    """Bot API file URL for a method URL: ``…/bot`` → ``…/file/bot`` (Telegram's layout)."""
    head, sep, tail = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if sep else f"{base_url}/file"


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after will become a timedelta; accept both forms.
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _never_sent(exc: NetworkError) -> bool:
    """True when the request certainly did not reach Telegram (or Telegram answered an error).

    PTB wraps httpx's exception as the cause: no connection or no free pooled connection means
    nothing went out; a 5xx has no cause (the server answered), or PTB's own parsing error
    when its body is not JSON (a proxy's "502 Bad Gateway" page): answered all the same. A
    read timeout or a connection dropped mid-answer may have delivered the message.
    """
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        return isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout)
    return cause is None or isinstance(cause, httpx.ConnectError | TelegramError)


class TelegramChannel:
    """The Telegram side of the bot: receives updates (polling or webhook) into the inbox."""

    def __init__(
        self,
        token: str,
        base_url: str,
        sink: UpdateSink,
        *,
        webhook_secret: str | None = None,
        commands: list[tuple[str, str]] | None = None,
        poll_timeout: float = 25.0,
        poll_lease: LeaseKeeper | None = None,
        request_timeout: float = 10.0,
    ) -> None:
        self._sink = sink
        self._webhook_secret = webhook_secret
        self._commands = list(commands or [])
        self._poll_timeout = poll_timeout
        self._lease = poll_lease
        self.bot = Bot(
            token,
            base_url=base_url,
            base_file_url=file_url_for(base_url),
            # Receiving (getUpdates, callback answers, start-up calls) goes through aiohttp; all
            # of it may safely be repeated. Sending keeps httpx (see TelegramSender).
            request=AiohttpRequest(
                connection_pool_size=16,
                read_timeout=request_timeout,
                write_timeout=request_timeout,
                connect_timeout=request_timeout,
            ),
            get_updates_request=AiohttpRequest(
                read_timeout=poll_timeout + 10, connect_timeout=request_timeout
            ),
        )
        self._poll_task: asyncio.Task[None] | None = None
        self._answers: set[asyncio.Task[None]] = set()
        self._offset: int | None = None
        self._running = False
        self._initialized = False

    # -- lifecycle ------------------------------------------------------------------------

    async def _start(self, *, delete_webhook: bool) -> None:
        if self._running:
            raise RuntimeError("TelegramChannel already started")
        # getMe happens here; a wrong token or unreachable server must fail loudly.
        try:
            await self.bot.initialize()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.bot.shutdown()  # close the HTTP clients opened before getMe failed
            raise
        self._initialized = True
        if delete_webhook:
            # A leftover webhook makes getUpdates fail with 409; remove it, but never die for it.
            await self._optional("deleteWebhook", self.bot.delete_webhook())
        if self._commands:
            commands = [BotCommand(c, d) for c, d in self._commands]
            await self._optional("setMyCommands", self.bot.set_my_commands(commands))
        self._running = True

    async def start_polling(self) -> None:
        """Start receiving updates by long polling; returns once polling runs."""
        await self._start(delete_webhook=True)
        self._poll_task = asyncio.create_task(self._poll_loop(), name="telegram-polling")

    async def start_webhook(self, url: str) -> None:
        """Register ``url`` (with the secret token) as the webhook; updates arrive at :meth:`handle_webhook`."""
        if not self._webhook_secret:
            raise ValueError("webhook mode needs webhook_secret")
        await self._start(delete_webhook=False)
        try:
            await self.bot.set_webhook(url, secret_token=self._webhook_secret)
        except TelegramError:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop receiving, confirm what the inbox holds, release connections. Idempotent."""
        self._running = False
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
            self._poll_task = None
            if self._offset is not None and (self._lease is None or self._lease.valid):
                # Everything before the offset is in the inbox: tell Telegram not to send it again.
                with contextlib.suppress(TelegramError):
                    await self.bot.get_updates(offset=self._offset, timeout=dtm.timedelta(0))
            if self._lease is not None:
                await self._lease.release()
        if self._answers:
            await asyncio.wait(list(self._answers), timeout=5)
        if self._initialized:
            self._initialized = False
            await self.bot.shutdown()

    async def _optional(self, method: str, call: Awaitable[Any]) -> None:
        try:
            await call
        except TelegramError as exc:
            _LOG.warning("optional startup call %s rejected: %s", method, type(exc).__name__)

    # -- receiving ------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        backoff = 0.0
        while True:
            if self._lease is not None and not await self._lease.check():
                # Another process polls; be ready to take over when its lease runs out.
                await asyncio.sleep(min(5.0, self._lease.seconds_to_next_check() + 0.1))
                continue
            try:
                updates = await self.bot.get_updates(
                    offset=self._offset, timeout=dtm.timedelta(seconds=self._poll_timeout)
                )
                backoff = 0.0
            except RetryAfter as exc:
                await asyncio.sleep(_retry_after_seconds(exc))
                continue
            except TimedOut:
                continue
            except TelegramError as exc:
                # Network trouble, a 409 conflict, a 5xx...: keep polling, ever more slowly.
                backoff = min(30.0, max(1.0, backoff * 2))
                level = logging.ERROR if isinstance(exc, InvalidToken) else logging.WARNING
                _LOG.log(level, "getUpdates failed (%s); retrying in %.0fs", type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                continue
            except Exception as exc:
                # PTB could not parse the batch; take it raw so one odd update cannot stall us.
                log_failure(_LOG, "parsing getUpdates", exc)
                await self._take_raw()
                continue
            if updates and not await self._save(updates):
                backoff = min(30.0, max(1.0, backoff * 2))
                await asyncio.sleep(backoff)  # not confirmed: Telegram sends them again
                continue
            if updates:
                self._offset = updates[-1].update_id + 1

    async def _save(self, updates: Sequence[Update]) -> bool:
        """Hand ``updates`` to the inbox; True once committed (then, and only then, acknowledge)."""
        events: list[Incoming] = []
        for update in updates:
            try:
                event = to_incoming(update, bot_username=self.bot.username, bot_id=self.bot.id)
            except Exception as exc:
                log_failure(_LOG, "translating update", exc, update_id=update.update_id)
                continue
            if event is not None:
                events.append(event)
        try:
            await self._sink(events)
        except Exception as exc:
            log_failure(_LOG, "saving updates to the inbox", exc)
            return False
        for update in updates:
            if update.callback_query is not None:
                self._answer(update.callback_query.id)
        return True

    def _answer(self, callback_query_id: str) -> None:
        """Stop the button's spinner on the phone (directly: it expires within seconds)."""

        async def answer() -> None:
            try:
                await self.bot.answer_callback_query(callback_query_id)
            except TelegramError as exc:
                _LOG.info("answerCallbackQuery failed (%s)", type(exc).__name__)

        task = asyncio.create_task(answer())
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _take_raw(self) -> None:
        """Fetch the batch PTB could not parse as raw JSON; save what parses, skip the rest."""
        try:
            with warnings.catch_warnings():
                # do_api_request warns that get_updates exists; here we need the raw JSON.
                warnings.simplefilter("ignore")
                raw = await self.bot.do_api_request(
                    "getUpdates", api_kwargs={"offset": self._offset, "timeout": 0}
                )
        except TelegramError:
            await asyncio.sleep(1.0)
            return
        parsed: list[Update] = []
        last: int | None = None
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict) and isinstance(item.get("update_id"), int):
                last = item["update_id"]
                try:
                    parsed.append(Update.de_json(item, self.bot))
                except Exception as exc:
                    log_failure(_LOG, "parsing update", exc, update_id=item.get("update_id"))
        if last is not None and await self._save(parsed):
            self._offset = last + 1

    async def handle_webhook(self, request: web.Request) -> web.Response:
        """aiohttp handler for Telegram's webhook POSTs (mount it on the bot's web server).

        Answers 200 only once the update is committed to the inbox; 503 when it could not be
        saved (Telegram delivers it again), 400 for a body that is not a Telegram update.
        """
        data = await read_webhook(
            request, header=SECRET_HEADER, secret=self._webhook_secret, running=self._running
        )
        if isinstance(data, web.Response):
            return data
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not a Telegram update")
        try:
            update = Update.de_json(data, self.bot)
        except Exception as exc:
            log_failure(_LOG, "parsing update", exc, update_id=data.get("update_id"))
            return web.Response(status=400, text="not a valid Telegram update")
        if not await self._save([update]):
            return web.Response(status=503, text="try again later")
        return web.Response(status=200, text="ok")


class TelegramSender:
    """:class:`bot.events.Sender` for the outbox: same rendering, no PTB rate limiter.

    The outbox paces it (:class:`bot.outbox.ChannelOutbox`); call :meth:`start` first. It keeps
    PTB's httpx transport: before reusing a pooled connection httpx checks that the server has
    not closed it, so a send on a stale connection fails as "never sent" (retried) rather than
    "unknown" (never repeated). aiohttp cannot tell those apart.
    """

    channel = CHANNEL

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        connection_pool_size: int = 64,
        timeout: float = 10.0,
        network_retry_after: float = 1.0,
    ) -> None:
        request = HTTPXRequest(
            connection_pool_size=connection_pool_size,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
        )
        self.bot = Bot(token, base_url=base_url, base_file_url=file_url_for(base_url), request=request)
        self._network_retry_after = network_retry_after

    async def start(self) -> None:
        """Open connections and check the token (getMe)."""
        await self.bot.initialize()

    async def stop(self) -> None:
        """Close connections."""
        await self.bot.shutdown()

    async def __aenter__(self) -> TelegramSender:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        """Deliver ``reply``; platform errors come back as a status, never as an exception.

        With ``extras["edit_message_id"]`` the earlier message is edited in place; if Telegram
        refuses the edit, a new message is sent instead.
        """
        try:
            message_id = await self._edit_or_send(chat_id, reply)
        except RetryAfter as exc:
            return SendResult(SendStatus.RETRY, retry_after=_retry_after_seconds(exc), error=RATE_LIMITED)
        except Forbidden as exc:
            return SendResult(SendStatus.BLOCKED, error=exc.message)
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                return SendResult(SendStatus.BLOCKED, error=exc.message)
            return SendResult(SendStatus.FAILED, error=exc.message)
        except NetworkError as exc:
            if _never_sent(exc):
                return SendResult(SendStatus.RETRY, retry_after=self._network_retry_after, error=exc.message)
            # The message may or may not have arrived; Telegram offers no idempotency key.
            return SendResult(SendStatus.UNKNOWN, error=f"{type(exc).__name__}: {exc.message}"[:200])
        except ChatMigrated as exc:
            return SendResult(SendStatus.FAILED, error=f"chat migrated to {exc.new_chat_id}")
        except TelegramError as exc:
            return SendResult(SendStatus.FAILED, error=f"{type(exc).__name__}: {exc.message}")
        except Exception as exc:
            log_failure(_LOG, "outbox send", exc, chat=chat_id)
            return SendResult(SendStatus.FAILED, error=type(exc).__name__)
        return SendResult(SendStatus.SENT, message_id=message_id)

    async def _edit_or_send(self, chat_id: str, reply: Reply) -> str:
        """The id of the message that now shows ``reply``: the edited one or a new one."""
        edit_id = reply.extras.get(EDIT_MESSAGE_ID)
        if edit_id is not None:
            if await edit_reply(self.bot, chat_id, edit_id, reply):
                return str(edit_id)
            _LOG.info("outbox: message %s in chat %s cannot be edited; sending a new one", edit_id, chat_id)
        message = await send_reply(self.bot, chat_id, reply)
        return str(message.message_id)
