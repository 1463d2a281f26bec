"""The pipeline every update goes through: duplicate check, per-chat lock, one transaction, dispatch."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import defaultdict

from bot.dialog import Ctx, parse_command, resolve_choice
from bot.events import Incoming, Kind, Reply
from bot.handlers import common
from bot.i18n import _, set_locale
from bot.services.container import Services
from storage import dto

log = logging.getLogger(__name__)


class ChatLocks:
    """One asyncio lock per chat, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._users: defaultdict[tuple[str, str], int] = defaultdict(int)

    async def __call__(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        await lock.acquire()
        return lock

    def release(self, key: tuple[str, str]) -> None:
        self._locks[key].release()
        self._users[key] -= 1
        if self._users[key] == 0:
            del self._users[key]
            del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


class Pipeline:
    """The dialog engine as channels see it (``bot.events.UpdateHandler``)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.locks = ChatLocks()

    async def __call__(self, event: Incoming) -> list[Reply]:
        key = (event.channel, event.chat_id)
        await self.locks(key)
        try:
            return await self._handle(event)
        finally:
            self.locks.release(key)

    async def _handle(self, event: Incoming) -> list[Reply]:
        services = self.services
        hooks = []
        try:
            async with services.db.uow() as uow:
                if event.update_id is not None and not await uow.updates.first_time(
                    event.channel, event.update_id
                ):
                    log.info(
                        "duplicate update ignored",
                        extra={"channel": event.channel, "update": event.update_id},
                    )
                    return []
                await uow.conversations.lock(event.channel, event.chat_id)
                user = await self._user(uow, event)
                set_locale(user.locale)
                if user.banned:
                    return []
                state = await uow.conversations.get(event.channel, event.chat_id) or dto.Conversation(
                    "", "", {}
                )
                ctx = Ctx(event, user, uow, services, state.flow, state.step, dict(state.data))
                await self._dispatch(ctx)
                if ctx.state_changed:
                    if ctx.flow or ctx.data.get("_choices"):
                        await uow.conversations.save(
                            event.channel, event.chat_id, dto.Conversation(ctx.flow, ctx.step, ctx.data)
                        )
                    else:
                        await uow.conversations.clear(event.channel, event.chat_id)
                replies, hooks = ctx.replies, ctx.after_commit
        except Exception:
            # The unit of work rolled back: nothing half-saved. Never log the text or the phone.
            log.exception("update failed", extra={"channel": event.channel, "update": event.update_id})
            set_locale(self.services.settings.default_locale)
            return [Reply(_("Xin lỗi, đã có lỗi khi xử lý tin nhắn của bạn. Vui lòng thử lại sau ít phút."))]
        for hook in hooks:
            try:
                await hook()
            except Exception:
                log.exception("after-commit hook failed")
        return replies

    async def _user(self, uow, event: Incoming) -> dto.User:  # type: ignore[no-untyped-def]
        settings = self.services.settings
        locale = settings.default_locale
        user = await uow.users.ensure(event.channel, event.user_id, event.chat_id, locale)
        if user.key in settings.admin_ids and user.role != "admin":
            # Bootstrap admins come from configuration, never from the chat.
            await uow.users.update(user.id, role="admin")
            await uow.audit.add(None, "bootstrap_admin", user.key)
            user = await uow.users.get(user.id)
        return user

    async def _dispatch(self, ctx: Ctx) -> None:
        event, router, settings = ctx.event, self.services.router, self.services.settings
        if event.kind == Kind.OTHER:
            ctx.say(_("Xin lỗi, tôi chỉ đọc được tin nhắn chữ, nút bấm, số điện thoại và vị trí."))
            return
        flow = router.flows.get(ctx.flow)
        limit = (flow.max_text_length if flow else None) or settings.max_text_length
        if event.kind == Kind.TEXT and len(event.text or "") > limit:
            ctx.say(
                _("Tin nhắn quá dài (tối đa {limit} ký tự). Vui lòng gửi ngắn gọn hơn.").format(limit=limit)
            )
            return

        text = ctx.text
        command = parse_command(text) if text.startswith("/") else None
        if command is not None:
            await common.run_command(ctx, *command)
            return

        # A typed digit or label means the button it names (Zalo and the console have no buttons).
        if event.kind == Kind.TEXT and ctx.data.get("_choices"):
            payload = resolve_choice(text, ctx.data["_choices"])
            if payload is not None:
                ctx.event = dataclasses.replace(event, kind=Kind.BUTTON, payload=payload)
        if ctx.event.kind == Kind.BUTTON:
            ctx.data.pop("_choices", None)
            ctx.state_changed = True
            payload = ctx.event.payload or ""
            prefix, _sep, rest = payload.partition(":")
            if prefix == "cmd":
                await common.run_command(ctx, rest, "")
                return
            if prefix in router.actions:
                await router.actions[prefix](ctx, rest)
                return

        if ctx.flow in router.flows:
            await router.flows[ctx.flow].handle(ctx)
            return
        ctx.data.pop("_choices", None)
        if not ctx.user.registered:
            await common.start_registration(ctx)
            return
        if ctx.event.kind == Kind.TEXT:
            for handler in router.free_text:
                if await handler(ctx):
                    return
        await common.unknown(ctx)
