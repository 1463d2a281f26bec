"""A local fake Telegram Bot API server (aiohttp) for tests and benchmarks.

It speaks enough of the Bot API for python-telegram-bot 22 (form-encoded, multipart or JSON
requests), records every call, lets a test inject user updates, and can inject faults:
rejected methods, blocked chats, forced 429s and an optional strict rate limit.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import BodyPartReader, web

from tests.fakes.server import FakeApiServer, error

__all__ = ["ApiCall", "FakeBotApi"]

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


@dataclass
class ApiCall:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)  # multipart field -> file name
    file_bytes: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    at: float = 0.0  # time.monotonic() on arrival

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
    ) -> None:
        super().__init__()
        self.reject_methods: set[str] = set(reject_methods)
        self.blocked_chats: set[int] = {int(c) for c in blocked_chats}
        self.missing_chats: set[int] = {int(c) for c in missing_chats}
        self.strict_global_rate = strict_global_rate
        self.strict_per_chat_interval = strict_per_chat_interval
        self.count_429 = 0
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.file_base_url = ""
        self._forced_429: list[float] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._recent_sends: collections.deque[float] = collections.deque()
        self._last_send_per_chat: dict[int, float] = {}
        # (chat, message_id) -> (text, reply_markup) of the text messages sent, as edits see them.
        self.messages: dict[tuple[int, int], tuple[str, Any]] = {}

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.file_base_url = f"http://127.0.0.1:{self.port}/file/bot"
        return self

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
        self._updates.append(update)
        self._new_update.set()
        return int(update["update_id"])

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
        # getUpdates is recorded only when it returns something, to keep the log readable.
        if method != "getUpdates":
            self.calls.append(call)
        status, body = await self._answer(call)
        call.status = status
        if method == "getUpdates" and body.get("result"):
            self.calls.append(call)
        self._new_call.set()
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
        elif method == "deleteWebhook":
            self.webhook_url = None
        if method in _TRUE_METHODS:
            return 200, {"ok": True, "result": True}
        if method == "editMessageText":
            refused = self._edit_refusal(call.params)
            if refused is not None:
                return refused
        if method in {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"}:
            result = self._message_result(call)
            if method in {"sendMessage", "editMessageText"}:
                key = (result["chat"]["id"], result["message_id"])
                self.messages[key] = (call.params.get("text", ""), call.params.get("reply_markup"))
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
            return self._too_many(self._forced_429.pop(0))
        if self.strict_global_rate is not None or self.strict_per_chat_interval is not None:
            return self._enforce_rate(chat, call.at)
        return None

    def _enforce_rate(self, chat: int, now: float) -> tuple[int, dict[str, Any]] | None:
        recent = self._recent_sends
        # A closed window [now - 1, now]: everything strictly older than now - 1 falls out.
        while recent and recent[0] < now - 1.0:
            recent.popleft()
        if self.strict_global_rate is not None and len(recent) >= self.strict_global_rate:
            return self._too_many(max(1.0, recent[0] + 1.0 - now))
        interval = self.strict_per_chat_interval
        last = self._last_send_per_chat.get(chat)
        if interval is not None and last is not None and now - last < interval:
            return self._too_many(max(1.0, last + interval - now))
        recent.append(now)
        self._last_send_per_chat[chat] = now
        return None

    def _too_many(self, retry_after: float) -> tuple[int, dict[str, Any]]:
        self.count_429 += 1
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
                self._updates = [u for u in self._updates if u["update_id"] >= int(offset)]
            if self._updates or self._closing:
                return self._updates[:limit]
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
