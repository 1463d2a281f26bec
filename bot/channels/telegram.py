"""Telegram adapter: python-telegram-bot in, neutral events out; neutral replies rendered back.

Works against any Bot-API-compatible server (``base_url`` like ``http://127.0.0.1:9000/bot``;
PTB appends the token). Nothing outside ``bot.channels`` imports ``telegram``.

Updates from polling and from the webhook take the same path: raw JSON → ``Update`` →
``application.update_queue`` → a processor that runs different chats concurrently but keeps
each chat's updates in order → :class:`bot.events.UpdateHandler` → replies rendered in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import warnings
from collections.abc import Awaitable
from typing import Any

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
from telegram.ext import AIORateLimiter, Application, BaseUpdateProcessor, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.channels.failures import log_failure
from bot.channels.perchat import ChatOrder
from bot.channels.telegram_render import ReplyKeyboards, edit_reply, send_reply, to_incoming
from bot.channels.webhook import read_webhook
from bot.events import EDIT_MESSAGE_ID, RATE_LIMITED, Incoming, Reply, SendResult, SendStatus, UpdateHandler

__all__ = ["RATE_LIMITED", "TelegramChannel", "TelegramSender", "file_url_for"]

_LOG = logging.getLogger(__name__)
CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# ``SendResult.error`` of a 429: the only RETRY that should pause the whole bot (penalize).


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


class _PerChatOrder(BaseUpdateProcessor):
    """PTB's update processor over :class:`ChatOrder`: chats concurrently, one chat in order."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._order = ChatOrder()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run ``coroutine`` in the turn of the update's chat."""
        async with self._order.turn(_chat_key(update)):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def _chat_key(update: object) -> str:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return str(update.effective_chat.id)
        if update.effective_user is not None:
            return f"u{update.effective_user.id}"
    return "-"


class TelegramChannel:
    """The Telegram side of the bot: receives updates (polling or webhook), renders replies.

    Direct replies go through PTB's ``AIORateLimiter`` (a 429 is retried ``max_retries`` times);
    outbox traffic should use :class:`TelegramSender` with the smooth limiter instead.
    """

    def __init__(
        self,
        token: str,
        base_url: str,
        handler: UpdateHandler,
        *,
        webhook_secret: str | None = None,
        commands: list[tuple[str, str]] | None = None,
        poll_timeout: float = 25.0,
        max_concurrent_updates: int = 64,
        max_retries: int = 3,
    ) -> None:
        self._handler = handler
        self._webhook_secret = webhook_secret
        self._commands = list(commands or [])
        self._poll_timeout = poll_timeout
        self.keyboards = ReplyKeyboards()
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder()
            .token(token)
            .base_url(base_url)
            .base_file_url(file_url_for(base_url))
            .rate_limiter(AIORateLimiter(max_retries=max_retries))
            .concurrent_updates(_PerChatOrder(max_concurrent_updates))
            # Our own polling loop replaces PTB's Updater: its bootstrap insists on deleteWebhook.
            .updater(None)
            .build()
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self._poll_task: asyncio.Task[None] | None = None
        self._offset: int | None = None
        self._running = False
        self._initialized = False

    @property
    def bot(self) -> Bot:
        """The PTB bot used for direct replies (rate limited)."""
        return self.application.bot

    # -- lifecycle ------------------------------------------------------------------------

    async def _start(self, *, delete_webhook: bool) -> None:
        # getMe happens here; a wrong token or unreachable server must fail loudly.
        try:
            await self.application.initialize()
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
        await self.application.start()
        self._running = True

    async def start_polling(self) -> None:
        """Start receiving updates by long polling; returns once polling runs."""
        if self._running:
            raise RuntimeError("TelegramChannel already started")
        await self._start(delete_webhook=True)
        self._poll_task = asyncio.create_task(self._poll_loop(), name="telegram-polling")

    async def start_webhook(self, url: str) -> None:
        """Start the application and register ``url`` (with the secret token) as the webhook."""
        if self._running:
            raise RuntimeError("TelegramChannel already started")
        if not self._webhook_secret:
            raise ValueError("webhook mode needs webhook_secret")
        await self._start(delete_webhook=False)
        try:
            await self.bot.set_webhook(url, secret_token=self._webhook_secret)
        except TelegramError:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop polling, finish the updates already taken, release connections. Idempotent."""
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
            self._poll_task = None
            if self._offset is not None:
                # Confirm what we fetched so a restart does not get it again.
                with contextlib.suppress(TelegramError):
                    await self.bot.get_updates(offset=self._offset, timeout=dtm.timedelta(0))
        if self._running:
            self._running = False
            await self.application.stop()
        if self._initialized:
            self._initialized = False
            await self.application.shutdown()

    async def _optional(self, method: str, call: Awaitable[Any]) -> None:
        try:
            await call
        except TelegramError as exc:
            _LOG.warning("optional startup call %s rejected: %s", method, type(exc).__name__)

    # -- receiving ------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        backoff = 0.0
        while True:
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
                await self._skip_unparsable()
                continue
            for update in updates:
                self._offset = update.update_id + 1
                await self.application.update_queue.put(update)

    async def _skip_unparsable(self) -> None:
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
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict) and isinstance(item.get("update_id"), int):
                self._offset = item["update_id"] + 1
                await self._enqueue(item)

    async def _enqueue(self, data: dict[str, Any]) -> bool:
        try:
            update = Update.de_json(data, self.bot)
        except Exception as exc:
            log_failure(_LOG, "parsing update", exc, update_id=data.get("update_id"))
            return False
        await self.application.update_queue.put(update)
        return True

    async def handle_webhook(self, request: web.Request) -> web.Response:
        """aiohttp handler for Telegram's webhook POSTs (mount it on the bot's web server).

        The update is queued like a polled one and answered 200 at once; processing follows.
        """
        data = await read_webhook(
            request, header=SECRET_HEADER, secret=self._webhook_secret, running=self._running
        )
        if isinstance(data, web.Response):
            return data
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not a Telegram update")
        if not await self._enqueue(data):
            return web.Response(status=400, text="not a valid Telegram update")
        return web.Response(status=200, text="ok")

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            # Stop the spinner on the phone first, whatever happens next.
            try:
                await update.callback_query.answer()
            except TelegramError as exc:
                _LOG.warning("answerCallbackQuery failed (%s)", type(exc).__name__)
        incoming = to_incoming(update, self.keyboards, bot_username=self.bot.username)
        if incoming is None:
            return
        try:
            replies = await self._handler(incoming)
        except Exception as exc:
            log_failure(_LOG, "handler", exc, update_id=incoming.update_id, kind=incoming.kind)
            return
        await self._render_all(incoming, replies)

    async def _render_all(self, incoming: Incoming, replies: list[Reply]) -> None:
        for reply in replies or ():
            try:
                await send_reply(self.bot, incoming.chat_id, reply, self.keyboards)
            except Forbidden:
                _LOG.info("chat %s blocked the bot; dropping the remaining replies", incoming.chat_id)
                return
            except TelegramError as exc:
                _LOG.warning("reply to update %s failed: %s", incoming.update_id, exc)
            except Exception as exc:
                log_failure(_LOG, "rendering reply", exc, update_id=incoming.update_id)


class TelegramSender:
    """:class:`bot.events.Sender` for the outbox: same rendering, no PTB rate limiter.

    Pace it with :class:`bot.ratelimit.SmoothRateLimiter`; call :meth:`start` first.
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
        self.keyboards = ReplyKeyboards()
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
        except TimedOut:
            # The message may or may not have arrived; Telegram offers no idempotency key.
            return SendResult(SendStatus.RETRY, retry_after=self._network_retry_after, error="timed out")
        except NetworkError as exc:
            return SendResult(SendStatus.RETRY, retry_after=self._network_retry_after, error=exc.message)
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
        message = await send_reply(self.bot, chat_id, reply, self.keyboards)
        return str(message.message_id)
