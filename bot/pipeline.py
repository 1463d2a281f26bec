"""The pipeline every saved update goes through: the person, their conversation, dispatch, replies."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable

from bot.dialog import KEYBOARD_SHOWN, Ctx, parse_command, resolve_choice
from bot.events import Incoming, Kind, Reply
from bot.handlers import common
from bot.i18n import _, set_locale
from bot.services.container import Services
from storage import dto
from storage.repositories.outbox import REPLY
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
_FORGED_NUMBER = re.compile(r"\d{10,}")


class Pipeline:
    """The dialog engine as the inbox worker sees it: one saved update in, its effects written.

    Everything an update causes — state, domain changes and the replies, which go to the
    outbox as priority-0 rows — is written in the unit of work the worker commits together
    with the update's "done". Duplicates never get here (the inbox is unique per update id),
    and a chat's updates come one at a time.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle(self, uow: UnitOfWork, event: Incoming, inbox_id: int) -> list[Hook]:
        """Dispatch ``event`` and queue its replies; returns the after-commit hooks."""
        services = self.services
        await uow.conversations.lock(event.channel, event.chat_id)
        user = await self._user(uow, event)
        set_locale(user.locale)
        if user.banned:
            return []
        state = await uow.conversations.get(event.channel, event.chat_id) or dto.Conversation("", "", {})
        ctx = Ctx(event, user, uow, services, state.flow, state.step, dict(state.data))
        await self._dispatch(ctx)
        self._take_keyboard_away(ctx, bool(state.data.get(KEYBOARD_SHOWN)))
        if ctx.state_changed:
            if ctx.flow or ctx.data.get("_choices") or ctx.data.get(KEYBOARD_SHOWN):
                await uow.conversations.save(
                    event.channel, event.chat_id, dto.Conversation(ctx.flow, ctx.step, ctx.data)
                )
            else:
                await uow.conversations.clear(event.channel, event.chat_id)
        await self._queue(uow, event, ctx.user.id, ctx.replies, inbox_id)
        return [*ctx.after_commit, self._wake_outbox]

    @staticmethod
    def _take_keyboard_away(ctx: Ctx, shown: bool) -> None:
        """Remove a phone/location keyboard with the first plain reply after it was used."""
        if not shown or any(r.request is not None for r in ctx.replies):
            return
        for i, reply in enumerate(ctx.replies):
            if not reply.choices:
                ctx.replies[i] = dataclasses.replace(reply, remove_keyboard=True)
                ctx.data.pop(KEYBOARD_SHOWN, None)
                ctx.state_changed = True
                return
        ctx.data[KEYBOARD_SHOWN] = True  # every reply had buttons: the next plain one removes it
        ctx.state_changed = True

    async def apologize(self, uow: UnitOfWork, event: Incoming, inbox_id: int) -> None:
        """The update failed every attempt and nothing of it was saved: say so, politely."""
        user = await uow.users.by_external(event.channel, event.user_id)
        set_locale(user.locale if user else self.services.settings.default_locale)
        text = _("Xin lỗi, đã có lỗi khi xử lý tin nhắn của bạn. Vui lòng thử lại sau ít phút.")
        await self._queue(uow, event, user.id if user else None, [Reply(text)], inbox_id)

    async def _queue(
        self, uow: UnitOfWork, event: Incoming, user_id: int | None, replies: list[Reply], inbox_id: int
    ) -> None:
        for reply in replies:
            await uow.outbox.enqueue(
                event.channel,
                event.chat_id,
                reply.to_json(),
                user_id=user_id,
                is_group=event.is_group,
                priority=REPLY,
                in_reply_to=inbox_id,
            )

    async def _wake_outbox(self) -> None:
        self.services.wake_outbox()

    async def _user(self, uow: UnitOfWork, event: Incoming) -> dto.User:
        settings = self.services.settings
        locale = settings.default_locale
        user = await uow.users.ensure(event.channel, event.user_id, event.chat_id, locale)
        if user.key in settings.admin_ids and user.role != "admin":
            # Bootstrap admins come from configuration, never from the chat.
            await uow.users.update(user.id, role="admin")
            await uow.audit.add(None, "bootstrap_admin", user.key)
            refreshed = await uow.users.get(user.id)
            assert refreshed is not None
            user = refreshed
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
            if _FORGED_NUMBER.search(payload):
                # No button the bot makes carries a number this long: a forged or broken one.
                ctx.say(_("Nút này không còn dùng được."))
                return
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
