"""A local fake Telegram Bot API server (aiohttp) for tests and benchmarks.

It speaks enough of the Bot API for python-telegram-bot 22 (form-encoded, multipart or JSON
requests), records every call, lets a test inject user updates, and can inject faults:
rejected methods, blocked chats, forced 429s, a strict mode with Telegram's limits (30 msg/s
over any second, about 1 msg/s per chat, 20 msg/min per group, 429 with ``retry_after``
beyond), and random server faults (:class:`Faults`: 5xx answers, requests never answered
within the client's timeout, messages delivered but answered late).

Updates reach the bot by ``getUpdates`` or, after :meth:`FakeBotApi.deliver_by_webhook`, by
webhook POSTs with the secret header, round-robin over every URL registered by ``setWebhook``
(several bot processes behind one public address). Every pushed update is timed
(:class:`UpdateTiming`): offered, taken by the bot, first message delivered to its chat after.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
from aiohttp import BodyPartReader, web

from tests.fakes.server import FakeApiServer, error

__all__ = ["ApiCall", "FakeBotApi", "Faults", "UpdateTiming"]

BOT_USER: dict[str, Any] = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Nông Sản Bot",
    "username": "nongsan_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Methods that deliver something to a chat: subject to blocking, forced 429s and rate limits.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "sendChatAction"})
_INT_FIELDS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "user_id"})
_TRUE_METHODS = frozenset(
    {"deleteWebhook", "setWebhook", "setMyCommands", "answerCallbackQuery", "sendChatAction", "close"}
)
# Calls that put a message in front of the person: they count as replies and deliveries.
MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText"})
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Strict mode: Telegram's documented limits (a private chat may burst a little above 1/s).
STRICT_GLOBAL_RATE = 30
STRICT_PER_CHAT_INTERVAL = 1.0
STRICT_PER_CHAT_BURST = 3
STRICT_GROUP_PER_MINUTE = 20


@dataclass(frozen=True)
class Faults:
    """Random server faults, each a share of the calls to ``methods``.

    ``error_5xx``: answered 502 and not delivered. ``timeout``: accepted, then not answered for
    ``hang_s`` (longer than a client waits) and not delivered. ``late``: delivered at once,
    answered only after ``late_s`` (the client may give up and send it again).
    """

    error_5xx: float = 0.0
    timeout: float = 0.0
    late: float = 0.0
    hang_s: float = 30.0
    late_s: float = 8.0
    methods: frozenset[str] = SEND_METHODS | {"answerCallbackQuery"}
    seed: int = 1

    @classmethod
    def parse(cls, spec: str, **kwargs: Any) -> Faults:
        """``"5xx=0.02,timeout=0.01,late=0.01"`` (also ``hang=30``, ``late_s=8``, ``seed=1``)."""
        names = {"5xx": "error_5xx", "timeout": "timeout", "late": "late", "hang": "hang_s"}
        names |= {"late_s": "late_s", "seed": "seed"}
        values: dict[str, Any] = dict(kwargs)
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, raw = item.partition("=")
            if not sep or key.strip() not in names:
                raise ValueError(f"unknown fault {item!r}: use 5xx=, timeout=, late=, hang=, late_s=, seed=")
            name = names[key.strip()]
            values[name] = int(raw) if name == "seed" else float(raw)
        faults = cls(**values)
        if faults.error_5xx + faults.timeout + faults.late > 1:
            raise ValueError("fault shares add up to more than 1")
        return faults

    def pick(self, rng: random.Random, method: str) -> str | None:
        """ "5xx", "timeout", "late" or None for one call of ``method``."""
        if method not in self.methods:
            return None
        x = rng.random()
        for name, share in (("5xx", self.error_5xx), ("timeout", self.timeout), ("late", self.late)):
            if x < share:
                return name
            x -= share
        return None


@dataclass
class UpdateTiming:
    """What happened to one pushed update (times are ``time.monotonic()``)."""

    update_id: int
    chat_id: int | None
    offered_at: float
    taken_at: float | None = None  # first returned by getUpdates, or its first webhook POST started
    acked_at: float | None = None  # the poll offset moved past it, or a webhook POST was answered 2xx
    first_reply_at: float | None = None  # first message delivered to its chat after it was taken
    attempts: int = 0  # webhook POSTs made

    @property
    def latency(self) -> float | None:
        """Seconds from offered to the first reply, or None without a reply."""
        return None if self.first_reply_at is None else self.first_reply_at - self.offered_at


@dataclass
class ApiCall:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)  # multipart field -> file name
    file_bytes: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    at: float = 0.0  # time.monotonic() on arrival
    result: Any = None  # the ``result`` answered, when the call succeeded
    fault: str | None = None  # the injected fault ("5xx", "timeout", "late"), if any

    @property
    def chat_id(self) -> Any:
        """The ``chat_id`` parameter, if any."""
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """Message text or caption, if any."""
        return self.params.get("text", self.params.get("caption"))

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        """Decoded ``reply_markup`` parameter, if any."""
        return self.params.get("reply_markup")

    @property
    def ok(self) -> bool:
        """True when the fake answered 200."""
        return self.status == 200


class FakeBotApi(FakeApiServer[ApiCall]):
    """Fake Bot API on 127.0.0.1 with a free port; use as ``async with FakeBotApi() as api``."""

    client_max_size = 20 * 1024 * 1024  # room for uploaded photos and documents

    def __init__(
        self,
        *,
        reject_methods: Iterable[str] = (),
        blocked_chats: Iterable[int | str] = (),
        missing_chats: Iterable[int | str] = (),
        strict_global_rate: int | None = None,
        strict_per_chat_interval: float | None = None,
        strict_per_chat_burst: int = 1,
        strict_group_per_minute: int | None = None,
        strict: bool = False,
        faults: Faults | None = None,
    ) -> None:
        """``strict=True`` sets Telegram's limits (30/s, 1/s per chat with bursts of 3, 20/min per group)."""
        super().__init__()
        self.reject_methods: set[str] = set(reject_methods)
        self.blocked_chats: set[int] = {int(c) for c in blocked_chats}
        self.missing_chats: set[int] = {int(c) for c in missing_chats}
        if strict:
            strict_global_rate = strict_global_rate or STRICT_GLOBAL_RATE
            strict_per_chat_interval = strict_per_chat_interval or STRICT_PER_CHAT_INTERVAL
            strict_per_chat_burst = max(strict_per_chat_burst, STRICT_PER_CHAT_BURST)
            strict_group_per_minute = strict_group_per_minute or STRICT_GROUP_PER_MINUTE
        self.strict_global_rate = strict_global_rate
        self.strict_per_chat_interval = strict_per_chat_interval
        self.strict_per_chat_burst = strict_per_chat_burst
        self.strict_group_per_minute = strict_group_per_minute
        self.faults = faults
        self._fault_rng = random.Random(faults.seed if faults else 1)
        self.fault_counts: collections.Counter[str] = collections.Counter()
        self.count_429 = 0
        self.count_429_by_limit: collections.Counter[str] = collections.Counter()
        self.method_counts: collections.Counter[str] = collections.Counter()  # getUpdates included
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        # Every distinct URL registered by setWebhook (one per bot process) and its secret.
        self.webhook_urls: dict[str, str | None] = {}
        self.webhook_failures = 0  # POSTs not answered 2xx (then retried)
        self.webhook_given_up = 0  # updates dropped after max_attempts
        # Messages delivered (sent or edited) per chat, in order, and the timing of every update.
        self.delivered: dict[int, list[ApiCall]] = collections.defaultdict(list)
        self.timings: dict[int, UpdateTiming] = {}
        self._awaiting_reply: dict[int, list[UpdateTiming]] = collections.defaultdict(list)
        self._delivery_events: dict[int, asyncio.Event] = {}
        self._webhook: _WebhookDelivery | None = None
        self._closed = asyncio.Event()
        self.file_base_url = ""
        self._forced_429: list[float] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._recent_sends: collections.deque[float] = collections.deque()
        self._chat_tokens: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._group_sends: dict[int, collections.deque[float]] = collections.defaultdict(collections.deque)
        # (chat, message_id) -> (text, reply_markup) of the text messages sent, as edits see them.
        self.messages: dict[tuple[int, int], tuple[str, Any]] = {}

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.file_base_url = f"http://127.0.0.1:{self.port}/file/bot"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closed.set()  # release requests held by a "timeout" fault
        if self._webhook is not None:
            await self._webhook.close()
        await super().__aexit__(*exc)

    # -- webhook delivery -------------------------------------------------------------------

    def deliver_by_webhook(
        self,
        urls: Sequence[str] | None = None,
        *,
        secret: str | None = None,
        max_connections: int = 40,
        timeout: float = 30.0,
        max_attempts: int = 8,
    ) -> None:
        """From now on POST pushed updates instead of offering them to ``getUpdates``.

        Round-robin over ``urls`` (default: every URL registered by ``setWebhook``, waiting for
        the first one), each POST with the secret header (``secret`` or the one registered with
        that URL). A POST not answered 2xx within ``timeout`` is retried on the next URL after a
        growing pause, up to ``max_attempts``. One chat's updates go out one at a time, in order.
        """
        self._webhook = _WebhookDelivery(
            self, list(urls) if urls else None, secret, max_connections, timeout, max_attempts
        )
        pending, self._updates = self._updates, []
        for update in pending:
            self._webhook.push(update)

    async def webhook_idle(self, timeout: float = 10.0) -> None:
        """Wait until every pushed update was delivered by webhook (or given up)."""
        if self._webhook is not None:
            async with asyncio.timeout(timeout):
                await self._webhook.idle()

    # -- what the bot delivered ---------------------------------------------------------------

    async def wait_delivery(self, chat_id: int, index: int, timeout: float) -> ApiCall | None:
        """The ``index``-th message delivered to ``chat_id`` (0-based), waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while len(self.delivered.get(chat_id, ())) <= index:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                return None
            event = self._delivery_events.setdefault(chat_id, asyncio.Event())
            event.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()
        return self.delivered[chat_id][index]

    def _record_delivery(self, chat: int, call: ApiCall) -> None:
        self.delivered[chat].append(call)
        waiting = self._awaiting_reply.get(chat)
        if waiting:
            answered = [t for t in waiting if t.taken_at is not None and t.taken_at <= call.at]
            for timing in answered:
                timing.first_reply_at = call.at
            self._awaiting_reply[chat] = [t for t in waiting if t.first_reply_at is None]
        event = self._delivery_events.get(chat)
        if event is not None:
            event.set()

    # -- fault injection --------------------------------------------------------------------

    def fail_next_429(self, n: int = 1, retry_after: float = 1) -> None:
        """Answer the next ``n`` send calls with 429 and ``parameters.retry_after``."""
        self._forced_429.extend([retry_after] * n)

    def delete_message(self, chat_id: int | str, message_id: int | str) -> None:
        """The person deleted a message: editing it is refused from now on."""
        self.messages.pop((int(chat_id), int(message_id)), None)

    # -- injecting user updates -----------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``update_id`` added if missing); returns its update_id."""
        update.setdefault("update_id", next(self._update_ids))
        update_id = int(update["update_id"])
        timing = UpdateTiming(update_id, _update_chat(update), time.monotonic())
        self.timings[update_id] = timing
        if timing.chat_id is not None:
            self._awaiting_reply[timing.chat_id].append(timing)
        if self._webhook is not None:
            self._webhook.push(update)
        else:
            self._updates.append(update)
        self._new_update.set()
        return update_id

    def make_message(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        chat_type: str | None = None,
        first_name: str = "Lan",
        last_name: str | None = "Nguyễn",
        language_code: str | None = "vi",
        **content: Any,
    ) -> dict[str, Any]:
        """A user's Message object with ``content`` (text=..., contact=..., sticker=...)."""
        cid = user_id if chat_id is None else chat_id
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if language_code:
            user["language_code"] = language_code
        ctype = chat_type or ("private" if cid > 0 else "group")
        chat: dict[str, Any] = {"id": cid, "type": ctype}
        if ctype == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = "Tổ hợp tác"
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            **content,
        }

    def push_text(self, user_id: int, text: str, **kwargs: Any) -> int:
        """A user sends ``text``."""
        return self.push_update({"message": self.make_message(user_id, text=text, **kwargs)})

    def push_edited_text(self, user_id: int, text: str, **kwargs: Any) -> int:
        """A user edits an earlier message to ``text``."""
        msg = self.make_message(user_id, text=text, **kwargs)
        msg["edit_date"] = msg["date"]
        return self.push_update({"edited_message": msg})

    def push_callback(
        self, user_id: int, data: str, message_id: int = 1, *, chat_id: int | None = None
    ) -> int:
        """A user presses an inline button carrying ``data`` under bot message ``message_id``."""
        cid = user_id if chat_id is None else chat_id
        bot_msg = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": cid, "type": "private" if cid > 0 else "group"},
            "from": BOT_USER,
            "text": "…",
        }
        user = {"id": user_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
        return self.push_update(
            {
                "callback_query": {
                    "id": str(next(self._update_ids)),
                    "from": user,
                    "message": bot_msg,
                    "chat_instance": "ci-1",
                    "data": data,
                }
            }
        )

    def push_contact(self, user_id: int, phone: str, *, contact_user_id: int | None = None) -> int:
        """A user shares a contact; by default their own (``contact_user_id`` = sender)."""
        contact = {
            "phone_number": phone,
            "first_name": "Lan",
            "user_id": user_id if contact_user_id is None else contact_user_id,
        }
        return self.push_update({"message": self.make_message(user_id, contact=contact)})

    def push_location(self, user_id: int, latitude: float, longitude: float) -> int:
        """A user shares a location."""
        loc = {"latitude": latitude, "longitude": longitude}
        return self.push_update({"message": self.make_message(user_id, location=loc)})

    def push_sticker(self, user_id: int) -> int:
        """A user sends a sticker."""
        sticker = {
            "file_id": "CAACAgIAAxk",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.push_update({"message": self.make_message(user_id, sticker=sticker)})

    # -- HTTP ---------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files, file_bytes = await _read_params(request)
        call = ApiCall(method, params, files, file_bytes, at=time.monotonic())
        self.method_counts[method] += 1
        # getUpdates is recorded only when it returns something, to keep the log readable.
        if method != "getUpdates":
            self.calls.append(call)
        call.fault = self.faults.pick(self._fault_rng, method) if self.faults else None
        if call.fault is not None:
            self.fault_counts[call.fault] += 1
        if call.fault == "5xx":
            status, body = error(502, "Bad Gateway")
        elif call.fault == "timeout":
            assert self.faults is not None
            call.status = 504
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.faults.hang_s):
                    await self._closed.wait()
            status, body = error(504, "Gateway Timeout")
        else:
            status, body = await self._answer(call)
        call.status = status
        if method == "getUpdates" and body.get("result"):
            self.calls.append(call)
        self._new_call.set()
        if call.fault == "late" and self.faults is not None:
            await asyncio.sleep(self.faults.late_s)
        return web.json_response(body, status=status)

    async def _answer(self, call: ApiCall) -> tuple[int, dict[str, Any]]:
        method = call.method
        if method in self.reject_methods:
            return error(400, f"Bad Request: {method} rejected by the fake server")
        if method in SEND_METHODS:
            fault = self._send_fault(call)
            if fault is not None:
                return fault
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "getUpdates":
            return 200, {"ok": True, "result": await self._get_updates(call.params)}
        if method == "setWebhook":
            self.webhook_url = call.params.get("url") or None
            self.webhook_secret = call.params.get("secret_token")
            if self.webhook_url:
                self.webhook_urls[self.webhook_url] = self.webhook_secret
            else:
                self.webhook_urls.clear()
        elif method == "deleteWebhook":
            self.webhook_url = None
            self.webhook_urls.clear()
        if method in _TRUE_METHODS:
            return 200, {"ok": True, "result": True}
        if method == "editMessageText":
            refused = self._edit_refusal(call.params)
            if refused is not None:
                return refused
        if method in MESSAGE_METHODS:
            result = self._message_result(call)
            if method in {"sendMessage", "editMessageText"}:
                key = (result["chat"]["id"], result["message_id"])
                self.messages[key] = (call.params.get("text", ""), call.params.get("reply_markup"))
            call.result = result
            self._record_delivery(result["chat"]["id"], call)
            return 200, {"ok": True, "result": result}
        return error(404, "Not Found: method not found")

    def _edit_refusal(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """Telegram's answers to an edit of a message it does not have, or with nothing new."""
        current = self.messages.get((int(p.get("chat_id", 0)), int(p.get("message_id", 0))))
        if current is None:
            return error(400, "Bad Request: message to edit not found")
        if current == (p.get("text", ""), p.get("reply_markup")):
            return error(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        return None

    def _send_fault(self, call: ApiCall) -> tuple[int, dict[str, Any]] | None:
        try:
            chat = int(call.chat_id)
        except (TypeError, ValueError):
            chat = 0
        if chat in self.blocked_chats:
            return error(403, "Forbidden: bot was blocked by the user")
        if chat in self.missing_chats:
            return error(400, "Bad Request: chat not found")
        if self._forced_429:
            return self._too_many(self._forced_429.pop(0), "forced")
        if (
            self.strict_global_rate is not None
            or self.strict_per_chat_interval is not None
            or self.strict_group_per_minute is not None
        ):
            return self._enforce_rate(chat, call.at)
        return None

    def _enforce_rate(self, chat: int, now: float) -> tuple[int, dict[str, Any]] | None:
        recent = self._recent_sends
        # A closed window [now - 1, now]: everything strictly older than now - 1 falls out.
        while recent and recent[0] < now - 1.0:
            recent.popleft()
        if self.strict_global_rate is not None and len(recent) >= self.strict_global_rate:
            return self._too_many(max(1.0, recent[0] + 1.0 - now), "global")
        # Per chat: a token bucket refilled once per interval, holding up to the burst.
        interval = self.strict_per_chat_interval
        tokens = float(self.strict_per_chat_burst)
        if interval is not None and chat in self._chat_tokens:
            left, at = self._chat_tokens[chat]
            tokens = min(tokens, left + (now - at) / interval)
            if tokens < 1.0:
                return self._too_many(max(1.0, (1.0 - tokens) * interval), "chat")
        group = self._group_sends[chat] if chat < 0 and self.strict_group_per_minute else None
        if group is not None:
            while group and group[0] < now - 60.0:
                group.popleft()
            if len(group) >= (self.strict_group_per_minute or 0):
                return self._too_many(max(1.0, group[0] + 60.0 - now), "group")
            group.append(now)
        recent.append(now)
        if interval is not None:
            self._chat_tokens[chat] = (tokens - 1.0, now)
        return None

    def _too_many(self, retry_after: float, limit: str) -> tuple[int, dict[str, Any]]:
        self.count_429 += 1
        self.count_429_by_limit[limit] += 1
        seconds = max(1, round(retry_after))  # Telegram sends whole seconds
        status, body = error(429, f"Too Many Requests: retry after {seconds}")
        body["parameters"] = {"retry_after": seconds}
        return status, body

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        while True:
            if offset is not None:
                # Telegram forgets every update below the offset: it is confirmed.
                now = time.monotonic()
                for u in self._updates:
                    if u["update_id"] < int(offset) and u["update_id"] in self.timings:
                        self.timings[u["update_id"]].acked_at = now
                self._updates = [u for u in self._updates if u["update_id"] >= int(offset)]
            if self._updates or self._closing:
                batch = self._updates[:limit]
                now = time.monotonic()
                for u in batch:
                    timing = self.timings.get(u["update_id"])
                    if timing is not None and timing.taken_at is None:
                        timing.taken_at = now
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._new_update.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._new_update.wait()
            except TimeoutError:
                return []

    def _message_result(self, call: ApiCall) -> dict[str, Any]:
        p = call.params
        chat = int(p.get("chat_id", 0))
        result: dict[str, Any] = {
            "message_id": int(p["message_id"]) if "message_id" in p else next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
            "from": BOT_USER,
        }
        if call.method == "sendPhoto":
            result["photo"] = [
                {
                    "file_id": f"photo-{result['message_id']}",
                    "file_unique_id": "p1",
                    "width": 90,
                    "height": 90,
                }
            ]
        elif call.method == "sendDocument":
            result["document"] = {
                "file_id": f"doc-{result['message_id']}",
                "file_unique_id": "d1",
                "file_name": call.files.get("document", "file"),
            }
        if "text" in p:
            result["text"] = p["text"]
        if "caption" in p:
            result["caption"] = p["caption"]
        markup = p.get("reply_markup")
        # Telegram echoes only inline keyboards in the returned Message.
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            result["reply_markup"] = markup
        return result


def _update_chat(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (where the bot's reply goes), if any."""
    for key in ("message", "edited_message", "channel_post"):
        if isinstance(update.get(key), dict):
            return int(update[key]["chat"]["id"])
    query = update.get("callback_query")
    if isinstance(query, dict):
        if isinstance(query.get("message"), dict):
            return int(query["message"]["chat"]["id"])
        return int(query["from"]["id"])
    return None


class _WebhookDelivery:
    """Telegram's side of a webhook: POSTs updates to the bot, retries until answered 2xx."""

    def __init__(
        self,
        api: FakeBotApi,
        urls: list[str] | None,
        secret: str | None,
        max_connections: int,
        timeout: float,
        max_attempts: int,
    ) -> None:
        self.api = api
        self.urls = urls
        self.secret = secret
        self.timeout = timeout
        self.max_attempts = max_attempts
        self._slots = asyncio.Semaphore(max_connections)
        self._chat_turns: dict[int | None, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        self._turn = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def push(self, update: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _target(self) -> tuple[str, str | None] | None:
        """The next URL round-robin and its secret; waits for a registered URL."""
        while not self.api._closing:
            urls = self.urls or list(self.api.webhook_urls)
            if urls:
                url = urls[next(self._turn) % len(urls)]
                return url, self.secret or self.api.webhook_urls.get(url)
            await asyncio.sleep(0.05)
        return None

    async def _deliver(self, update: dict[str, Any]) -> None:
        timing = self.api.timings[int(update["update_id"])]
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        async with self._chat_turns[timing.chat_id]:
            for attempt in range(self.max_attempts):
                target = await self._target()
                if target is None:
                    return
                url, secret = target
                async with self._slots:
                    if timing.taken_at is None:
                        timing.taken_at = time.monotonic()
                    timing.attempts += 1
                    try:
                        headers = {SECRET_HEADER: secret} if secret else {}
                        async with self._session.post(url, json=update, headers=headers) as response:
                            ok = 200 <= response.status < 300
                    except (aiohttp.ClientError, TimeoutError):
                        ok = False
                if ok:
                    timing.acked_at = time.monotonic()
                    return
                self.api.webhook_failures += 1
                await asyncio.sleep(min(0.5 * 2**attempt, 8.0))
            self.api.webhook_given_up += 1


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, str], dict[str, bytes]]:
    """Parameters from the query string plus a JSON, form-encoded or multipart body."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, str] = {}
    file_bytes: dict[str, bytes] = {}
    if request.content_type == "application/json":
        raw.update(await request.json())
        return raw, files, file_bytes
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                files[part.name] = part.filename
                file_bytes[part.name] = await part.read()
            else:
                raw[part.name] = await part.text()
    elif request.can_read_body:
        raw.update(await request.post())
    return {k: _decode(k, v) for k, v in raw.items()}, files, file_bytes


def _decode(name: str, value: Any) -> Any:
    """PTB sends every value as a string: JSON for objects, plain for strings and numbers."""
    if not isinstance(value, str):
        return value
    if name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
