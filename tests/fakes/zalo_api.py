"""A local fake Zalo Bot API server (aiohttp) for tests.

It speaks the documented Bot API (``POST /bot<TOKEN>/<method>`` with a JSON body, answers
``{"ok": true, "result": ...}``), records every call, lets a test inject what people send
(text, sticker, image, in a private chat or in a group, with or without mentioning the bot)
and can inject faults: rejected methods, blocked or unknown chats, forced 429s, any error
answer to the next sends (Zalo's 403 "Internal server error" for a passing fault, a 408),
failing getUpdates calls and slow sends.

Like the real service as far as it is known: getUpdates has no offset and returns one update
per call as an object (``result_as_list=True`` returns all pending ones as a list instead),
an empty long poll answers ``{"ok": false, "error_code": 408}``, texts and captions longer
than 2000 characters are refused, and ``sendPhoto`` takes a URL, which the fake downloads as
Zalo's servers would (a photo it cannot download is refused). Groups (``chat_type`` GROUP,
beta in Zalo) carry no mention entities in the documented updates: a mention is the bot's
display name after "@" in the text, as the Zalo app writes it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.server import FakeApiServer, error

__all__ = ["BOT_DISPLAY_NAME", "BOT_INFO", "TEXT_LIMIT", "ApiCall", "FakeZaloApi", "PhotoFetch"]

BOT_INFO: dict[str, Any] = {
    "id": "1459232241454765289",
    "account_name": "bot.NongSanTest",
    "account_type": "BASIC",
    "can_join_groups": True,
}
# How the bot is shown in the Zalo app, so how people mention it; getMe does not return it.
BOT_DISPLAY_NAME = "NongSanBot"
TEXT_LIMIT = 2000
# Methods that deliver something to a chat: subject to blocking and forced 429s.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendChatAction"})


@dataclass
class ApiCall:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = 0.0  # time.monotonic() on arrival
    token: str = ""

    @property
    def chat_id(self) -> Any:
        """The ``chat_id`` parameter, if any."""
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """Message text or caption, if any."""
        return self.params.get("text", self.params.get("caption"))

    @property
    def ok(self) -> bool:
        """True when the fake answered 200."""
        return self.status == 200


@dataclass
class PhotoFetch:
    """The fake downloading a photo given to sendPhoto, as Zalo's servers would."""

    url: str
    status: int
    content: bytes = b""
    content_type: str = ""


@dataclass
class _Faults:
    forced_429: list[float] = field(default_factory=list)
    forced_errors: list[tuple[int, str]] = field(default_factory=list)  # (code, description) for next sends
    failing_polls: list[int] = field(default_factory=list)  # HTTP statuses for the next getUpdates
    send_delay: float = 0.0


class FakeZaloApi(FakeApiServer[ApiCall]):
    """Fake Zalo Bot API on 127.0.0.1 with a free port; use as ``async with FakeZaloApi() as api``."""

    def __init__(
        self,
        *,
        reject_methods: Iterable[str] = (),
        blocked_chats: Iterable[str] = (),
        unknown_chats: Iterable[str] = (),
        result_as_list: bool = False,
        errors_with_http_200: bool = False,
        fetch_photos: bool = True,
    ) -> None:
        super().__init__()
        self.fetch_photos = fetch_photos
        self.photo_fetches: list[PhotoFetch] = []
        self.groups: dict[str, set[str]] = {}  # group chat id → its members' user ids
        self.reject_methods: set[str] = set(reject_methods)
        self.blocked_chats: set[str] = {str(c) for c in blocked_chats}
        self.unknown_chats: set[str] = {str(c) for c in unknown_chats}
        self.result_as_list = result_as_list
        # Some HTTP APIs say ok: false inside a 200; the client must read the body either way.
        self.errors_with_http_200 = errors_with_http_200
        self.faults = _Faults()
        self.polls = 0  # getUpdates calls received, including empty ones
        self.count_429 = 0
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    # -- fault injection --------------------------------------------------------------------

    def fail_next_429(self, n: int = 1, retry_after: float = 1) -> None:
        """Answer the next ``n`` send calls with 429 and ``parameters.retry_after``."""
        self.faults.forced_429.extend([retry_after] * n)

    def fail_next_sends(
        self, n: int = 1, code: int = 403, description: str = "Internal server error"
    ) -> None:
        """Answer the next ``n`` send calls with ``code`` (by default Zalo's 403 for a passing fault)."""
        self.faults.forced_errors.extend([(code, description)] * n)

    def fail_next_polls(self, n: int = 1, status: int = 500) -> None:
        """Answer the next ``n`` getUpdates calls with an error ``status``."""
        self.faults.failing_polls.extend([status] * n)

    def slow_sends(self, seconds: float) -> None:
        """Delay every send call's answer (to provoke client timeouts)."""
        self.faults.send_delay = seconds

    # -- what people send -----------------------------------------------------------------

    def make_update(
        self,
        user_id: str,
        event_name: str = "message.text.received",
        *,
        chat_id: str | None = None,
        chat_type: str = "PRIVATE",
        display_name: str = "Nguyễn Thị Lan",
        is_bot: bool = False,
        **content: Any,
    ) -> dict[str, Any]:
        """A documented update: ``event_name`` and a ``message`` carrying ``content``."""
        return {
            "event_name": event_name,
            "message": {
                "from": {"id": str(user_id), "display_name": display_name, "is_bot": is_bot},
                "chat": {"id": str(chat_id or user_id), "chat_type": chat_type},
                "message_id": f"{next(self._ids):020x}",
                "date": int(time.time() * 1000),
                **content,
            },
        }

    def push_update(self, update: dict[str, Any]) -> str:
        """Queue a raw update for getUpdates; returns its message id (if any)."""
        self._updates.append(update)
        self._new_update.set()
        return str(update.get("message", {}).get("message_id", ""))

    def push_text(self, user_id: str, text: str, **kwargs: Any) -> str:
        """A person sends ``text``."""
        return self.push_update(self.make_update(user_id, text=text, **kwargs))

    def add_group(self, group_id: str, *members: str) -> None:
        """A group chat the bot is in, with these members (more may join by writing)."""
        self.groups.setdefault(str(group_id), set()).update(str(m) for m in members)

    def push_group_text(
        self, group_id: str, user_id: str, text: str, *, mention: bool = False, **kwargs: Any
    ) -> str:
        """A member writes ``text`` in a group; ``mention`` puts "@<bot name> " before it."""
        self.add_group(group_id, user_id)
        if mention:
            text = f"@{BOT_DISPLAY_NAME} {text}"
        return self.push_text(user_id, text, chat_id=str(group_id), chat_type="GROUP", **kwargs)

    def push_sticker(self, user_id: str, **kwargs: Any) -> str:
        """A person sends a sticker."""
        update = self.make_update(
            user_id,
            "message.sticker.received",
            sticker="0e078a2fb66a5f34067b",
            url="https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid=1",
            **kwargs,
        )
        return self.push_update(update)

    def push_image(self, user_id: str, caption: str | None = None, **kwargs: Any) -> str:
        """A person sends a photo (optionally with a caption)."""
        content: dict[str, Any] = {"photo_url": "https://photo.example.vn/na-chi-lang.jpg"}
        if caption is not None:
            content["caption"] = caption
        return self.push_update(self.make_update(user_id, "message.image.received", **content, **kwargs))

    # -- assertions ---------------------------------------------------------------------------

    def texts_to(self, chat_id: str) -> list[str]:
        """Texts successfully sent to ``chat_id``, in order."""
        return [c.text or "" for c in self.calls_to("sendMessage") if c.ok and c.chat_id == str(chat_id)]

    def photos_to(self, chat_id: str) -> list[ApiCall]:
        """sendPhoto calls accepted for ``chat_id``, in order."""
        return [c for c in self.calls_to("sendPhoto") if c.ok and c.chat_id == str(chat_id)]

    async def wait_for_text(self, chat_id: str, words: str, timeout: float = 5.0, *, after: int = 0) -> str:
        """Wait until a message containing ``words`` was sent to ``chat_id``; returns it.

        Only messages after the first ``after`` ones sent to that chat count.
        """
        async with asyncio.timeout(timeout):
            while True:
                for text in self.texts_to(chat_id)[after:]:
                    if words in text:
                        return text
                self._new_call.clear()
                await self._new_call.wait()

    # -- HTTP ---------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                params.update(body)
        call = ApiCall(method, params, at=time.monotonic(), token=request.match_info["token"])
        if method == "getUpdates":
            self.polls += 1
        status, body = await self._answer(call)
        call.status = status
        # Empty long polls are not recorded, to keep the log readable.
        if method != "getUpdates" or status != 408:
            self.calls.append(call)
        self._new_call.set()
        http_status = 200 if self.errors_with_http_200 else status
        return web.json_response(body, status=http_status)

    async def _answer(self, call: ApiCall) -> tuple[int, dict[str, Any]]:
        method, p = call.method, call.params
        if method in self.reject_methods:
            return error(400, f"{method} rejected by the fake server")
        if method in SEND_METHODS:
            fault = await self._send_fault(call)
            if fault is not None:
                return fault
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_INFO}
        if method == "getUpdates":
            return await self._get_updates(p)
        if method == "setWebhook":
            secret = str(p.get("secret_token") or "")
            if not p.get("url") or not 8 <= len(secret) <= 256:
                return error(400, "Invalid url or secret_token")
            self.webhook_url, self.webhook_secret = str(p["url"]), secret
            return 200, {"ok": True, "result": {"url": self.webhook_url, "updated_at": _now_ms()}}
        if method == "deleteWebhook":
            self.webhook_url = self.webhook_secret = None
            return 200, {"ok": True, "result": {"url": "", "updated_at": _now_ms()}}
        if method == "getWebhookInfo":
            return 200, {"ok": True, "result": {"url": self.webhook_url or "", "updated_at": _now_ms()}}
        if method == "sendChatAction":
            return 200, {"ok": True}
        if method == "sendMessage":
            text = p.get("text")
            if not isinstance(text, str) or not 1 <= len(text) <= TEXT_LIMIT:
                return error(400, "text must be 1-2000 characters")
            return 200, {"ok": True, "result": self._sent()}
        if method == "sendPhoto":
            if not isinstance(p.get("photo"), str) or not p["photo"].startswith(("http://", "https://")):
                return error(400, "photo must be a URL")
            caption = p.get("caption")
            if caption is not None and (not isinstance(caption, str) or not 1 <= len(caption) <= TEXT_LIMIT):
                return error(400, "caption must be 1-2000 characters")
            if self.fetch_photos and not await self._fetch_photo(p["photo"]):
                return error(400, "photo could not be downloaded")
            return 200, {"ok": True, "result": self._sent()}
        if method == "sendSticker":
            return 200, {"ok": True, "result": self._sent()}
        return error(404, "Method not found")

    async def _send_fault(self, call: ApiCall) -> tuple[int, dict[str, Any]] | None:
        if self.faults.send_delay:
            await asyncio.sleep(self.faults.send_delay)
        chat = str(call.chat_id)
        if chat in self.blocked_chats:
            return error(403, "User has blocked the bot")
        if chat in self.unknown_chats:
            return error(400, "Chat not found")
        if self.faults.forced_errors:
            return error(*self.faults.forced_errors.pop(0))
        if self.faults.forced_429:
            self.count_429 += 1
            seconds = self.faults.forced_429.pop(0)
            status, body = error(429, "Too Many Requests")
            body["parameters"] = {"retry_after": seconds}
            return status, body
        return None

    async def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.faults.failing_polls:
            return error(self.faults.failing_polls.pop(0), "Internal error")
        if self.webhook_url:
            return error(400, "Webhook is set; getUpdates is disabled")
        try:
            timeout = float(params.get("timeout") or 30)
        except (TypeError, ValueError):
            return error(400, "timeout must be a number of seconds")
        deadline = time.monotonic() + timeout
        while not self._updates and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._new_update.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._new_update.wait()
            except TimeoutError:
                break
        if not self._updates:
            return error(408, "Request timeout")
        if self.result_as_list:
            taken, self._updates = self._updates, []
            return 200, {"ok": True, "result": taken}
        # No offset in this API: an update handed out is gone.
        return 200, {"ok": True, "result": self._updates.pop(0)}

    async def _fetch_photo(self, url: str) -> bool:
        """Download ``url`` as Zalo would before showing it; True when it is an image."""
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, timeout=aiohttp.ClientTimeout(5)) as resp,
            ):
                fetch = PhotoFetch(url, resp.status, await resp.read(), resp.headers.get("Content-Type", ""))
        except (aiohttp.ClientError, TimeoutError):
            fetch = PhotoFetch(url, 0)
        self.photo_fetches.append(fetch)
        return fetch.status == 200 and fetch.content_type.startswith("image/")

    def _sent(self) -> dict[str, Any]:
        return {"message_id": f"{next(self._ids):020x}", "date": _now_ms()}


def _now_ms() -> int:
    return int(time.time() * 1000)
