"""The conversation engine: one saved update in, its effects written in the same transaction.

For each update the inbox worker hands over: whether it is meant for the bot (in a group, only
what is addressed to it), who wrote (a group message never changes the person's private
address), their conversation, then the update is routed — a slash command
(``/huy``, ``/menu``, ``/trogiup`` work anywhere), a button (its typed, signed action), a typed
number or label (the option of the last menu the person received), an answer to the current
step of a flow (guard re-checked first), a sentence the free-text parser understands (even
inside a flow, when the step did not), or the fallback. The screens it produces go to the
outbox as replies (priority 0) in the same transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable

from bot import files
from bot.container import Services
from bot.domain_events import PersonBlocked, emit
from bot.engine import wording
from bot.engine.actions import Action
from bot.engine.context import Ctx
from bot.engine.flood import FloodGuard, Verdict
from bot.engine.flow import NotUnderstood, StepAnswer
from bot.engine.menus import resolve
from bot.engine.router import Command, RunCommand
from bot.events import Incoming, Kind, Reply
from bot.i18n import _, set_locale
from storage import dto
from storage.repositories.outbox import REPLY
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
KEYBOARD_SHOWN = "keyboard"  # state key: a phone/location keyboard is on the person's screen
BLOCK_FOR = dt.timedelta(minutes=30)  # an extreme flood blocks the person this long


def parse_command(text: str) -> tuple[str, str] | None:
    """("capquyen", "0912345678 official") from "/capquyen@nongsan_bot 0912345678 official"."""
    m = _COMMAND.match(text.strip())
    return (m.group(1).lower(), (m.group(2) or "").strip()) if m else None


class Conversation:
    """The engine as the inbox worker sees it (``handle``), built once with the app's services."""

    def __init__(self, services: Services, flood: FloodGuard | None = None) -> None:
        self.services = services
        self.router = services.router
        self.codec = services.codec
        settings = services.settings
        self.flood = flood or FloodGuard(rate=settings.flood_rate_per_s, burst=settings.flood_burst)

    # --- one update ---------------------------------------------------------------------------
    async def handle(self, uow: UnitOfWork, event: Incoming, inbox_id: int) -> list[Hook]:
        """Route ``event`` and queue what it produces; returns the after-commit hooks."""
        if event.is_group and not event.addressed:
            # Members talking among themselves: not meant for the bot, so it neither answers nor
            # counts it against anyone's fair share, nor keeps a record of who wrote.
            return []
        user = await self._user(uow, event)
        set_locale(user.locale)
        if user.banned or (user.blocked_until is not None and user.blocked_until > self.services.clock.now()):
            return []
        caps = self.services.messengers.get(event.channel)
        verdict = (
            self.flood.admit((event.channel, event.user_id)) if caps is None or caps.public else Verdict.ADMIT
        )
        if verdict is not Verdict.ADMIT:
            return await self._flooded(uow, event, user, verdict, inbox_id)
        state = await uow.conversations.get(event.channel, event.chat_id) or dto.Conversation("", "", {})
        data = state.data
        ctx = Ctx(
            event,
            user,
            uow,
            self.services,
            self.services.capabilities(event.channel),
            state.flow,
            state.step,
            dict(data.get("answers", {})),
            dict(data.get("screen", {})),
        )
        await self.dispatch(ctx)
        keyboard = self._keyboard(ctx, bool(data.get(KEYBOARD_SHOWN)))
        if ctx.state_changed or keyboard != bool(data.get(KEYBOARD_SHOWN)):
            if ctx.flow or keyboard:
                new = {"answers": ctx.answers, "screen": ctx.screen, KEYBOARD_SHOWN: keyboard}
                await uow.conversations.save(
                    event.channel, event.chat_id, dto.Conversation(ctx.flow, ctx.step, new)
                )
            else:
                await uow.conversations.clear(event.channel, event.chat_id)
        replies = [screen.to_reply(self.codec) for screen in ctx.screens]
        await self._queue(uow, event, ctx.user.id, replies, inbox_id)
        return [*ctx.after_commit, self._wake_outbox]

    async def _flooded(
        self, uow: UnitOfWork, event: Incoming, user: dto.User, verdict: Verdict, inbox_id: int
    ) -> list[Hook]:
        """Over their fair share: told once, then ignored; an extreme flood blocks them a while."""
        if verdict is Verdict.WARN:
            text = _("Bạn gửi nhanh quá. Vui lòng chậm lại một chút rồi gửi tiếp.")
            await self._queue(uow, event, user.id, [Reply(text)], inbox_id)
            return [self._wake_outbox]
        if verdict is Verdict.BLOCK:
            until = self.services.clock.now() + BLOCK_FOR
            await uow.users.update(user.id, blocked_until=until)
            await uow.audit.add(None, "auto_block", user.key, details={"until": until.isoformat()})
            await emit(uow, PersonBlocked(user.id))
            return [self._wake_events]
        return []

    async def _wake_events(self) -> None:
        self.services.wake_events()

    async def apologize(self, uow: UnitOfWork, event: Incoming, inbox_id: int) -> None:
        """The update failed every attempt and nothing of it was saved: say so, politely."""
        user = await uow.users.by_external(event.channel, event.user_id)
        set_locale(user.locale if user else self.services.settings.default_locale)
        text = _("Xin lỗi, đã có lỗi khi xử lý tin nhắn của bạn. Vui lòng thử lại sau ít phút.")
        await self._queue(uow, event, user.id if user else None, [Reply(text)], inbox_id)

    async def _queue(
        self, uow: UnitOfWork, event: Incoming, user_id: int | None, replies: list[Reply], inbox_id: int
    ) -> None:
        caps = self.services.capabilities(event.channel)
        for reply in replies:
            # A file goes as a signed link where the messenger fetches files by URL.
            reply = await files.prepare(uow, reply, caps, self.services.settings)
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

    @staticmethod
    def _keyboard(ctx: Ctx, shown: bool) -> bool:
        """Whether a phone/location keyboard stays on screen; the first plain reply after it is
        used takes it away."""
        if any(s.request is not None for s in ctx.screens):
            return True
        if not shown:
            return False
        for i, screen in enumerate(ctx.screens):
            if not screen.options:
                ctx.screens[i] = dataclasses.replace(screen, remove_keyboard=True)
                return False
        return True  # every reply had options: the next plain one removes it

    async def _user(self, uow: UnitOfWork, event: Incoming) -> dto.User:
        settings = self.services.settings
        # A group message names the group as its chat: the person's private address stays as it was.
        user = await uow.users.ensure(
            event.channel,
            event.user_id,
            None if event.is_group else event.chat_id,
            settings.default_locale,
        )
        # The account writing now (a linked person's delivery address may be another messenger's).
        if f"{event.channel}:{event.user_id}" in settings.admin_ids and user.role != "admin":
            # Bootstrap admins come from configuration, never from the chat.
            await uow.users.update(user.id, role="admin")
            await uow.audit.add(None, "bootstrap_admin", f"{event.channel}:{event.user_id}")
            refreshed = await uow.users.get(user.id)
            assert refreshed is not None
            user = refreshed
        return user

    # --- routing ------------------------------------------------------------------------------
    async def dispatch(self, ctx: Ctx) -> None:
        event, router = ctx.event, self.router
        flow = router.flows.get(ctx.flow)
        if ctx.flow and flow is None:  # a flow removed by an upgrade: forget it quietly
            ctx.leave()
        elif flow is not None and not flow.allowed(ctx):
            # Rights are checked at every step: someone demoted mid-flow stops here.
            ctx.leave()
            await router.refuse(ctx, flow.roles, flow.action_name)
            if event.kind != Kind.TEXT or not ctx.text.startswith("/"):
                return
        if event.kind == Kind.OTHER:
            ctx.say(wording.only_reads(ctx.caps))
            await self.reask(ctx)
            return
        flow = router.flows.get(ctx.flow)
        limit = (flow.max_text_length if flow else None) or ctx.settings.max_text_length
        if event.kind == Kind.TEXT and len(event.text or "") > limit:
            ctx.say(
                _("Tin nhắn quá dài (tối đa {limit} ký tự). Vui lòng gửi ngắn gọn hơn.").format(limit=limit)
            )
            return
        command = parse_command(ctx.text) if ctx.text.startswith("/") else None
        if command is not None:
            await self.run_command(ctx, *command)
            return
        act = await self._action(ctx)
        if act is not None:
            await self.run_action(ctx, act)
            return
        if event.kind == Kind.BUTTON:  # a button we cannot read: forged, or from an old version
            ctx.say(wording.option_gone(ctx.caps))
            await self.reask(ctx)
            return
        if flow is not None:
            await self.answer_step(ctx)
            return
        if ctx.in_group:
            await self.group_text(ctx)
            return
        if not ctx.user.registered:
            await router.start_registration(ctx)
            return
        if event.kind == Kind.TEXT:
            for route in router.texts:
                if await route.handler(ctx):
                    return
        await router.fallback(ctx)

    async def _action(self, ctx: Ctx) -> Action | None:
        """The action of the button pressed, or of the option a typed number or label names."""
        event = ctx.event
        if event.kind == Kind.BUTTON:
            return self.codec.decode(event.payload)
        if event.kind != Kind.TEXT or not ctx.text:
            return None
        menu = await ctx.uow.menus.get(event.channel, event.chat_id)
        if not menu.entries:
            return None
        # A typed question came after the list and its conversation is still open: numbers answer it.
        by_number = not ctx.caps.buttons and not (menu.typed_after and ctx.flow)
        payload = resolve(ctx.text, menu.entries, by_number=by_number)
        return self.codec.decode(payload) if payload else None

    async def run_action(self, ctx: Ctx, act: Action) -> None:
        router = self.router
        if isinstance(act, StepAnswer):
            flow = router.flows.get(act.flow)
            spec = flow.spec(ctx.step) if flow is not None and ctx.flow == act.flow else None
            if flow is None or spec is None or ctx.step != act.step:
                ctx.say(_("Câu hỏi đó đã qua rồi."))
                await self.reask(ctx)
                return
            await flow.settle(ctx, spec, await spec.widget.on_choice(ctx, flow, spec, act.value))
            return
        if isinstance(act, RunCommand):
            await self.run_command(ctx, act.name, "")
            return
        route = router.actions.get(type(act))
        if route is None:
            ctx.say(wording.option_gone(ctx.caps))
            await self.reask(ctx)
            return
        if ctx.in_group and not route.in_groups:
            ctx.say(_("Vui lòng nhắn riêng cho bot để dùng chức năng này."))
            return
        if route.roles is not None and ctx.user.role not in route.roles:
            await router.refuse(ctx, route.roles, route.audit_as)
            return
        before = (ctx.flow, ctx.step)
        await route.handler(ctx, act)
        if ctx.flow and (ctx.flow, ctx.step) == before:
            await self.reask(ctx)  # the person was answering a question: show it again

    async def run_command(self, ctx: Ctx, name: str, args: str) -> None:
        """Run a slash command or a menu button, checking groups, registration and role every time."""
        router = self.router
        cmd = router.find(name)
        if cmd is None:
            if ctx.in_group:
                return  # another bot's command, most likely
            await router.unknown_command(ctx, name)
            return
        if ctx.in_group and not cmd.in_groups:
            ctx.say(_("Vui lòng nhắn riêng cho bot để dùng chức năng này."))
            return
        if cmd.roles is not None and ctx.user.role not in cmd.roles and (cmd.staff or ctx.user.registered):
            await router.refuse(ctx, cmd.roles, name)
            return
        if cmd.needs_registration and not ctx.user.registered:
            ctx.say(_("Bạn cần đăng ký trước khi dùng chức năng này."))
            await router.start_registration(ctx)
            return
        before = (ctx.flow, ctx.step)
        await cmd.handler(ctx, args)
        if ctx.flow and (ctx.flow, ctx.step) == before and cmd.name not in router.keeps_flow_quiet:
            await self.reask(ctx)

    async def answer_step(self, ctx: Ctx) -> None:
        """Feed what the person sent to the current step of their flow."""
        flow = self.router.flows[ctx.flow]
        spec = flow.spec(ctx.step)
        if spec is None:  # a step removed by an upgrade: ask what is missing again
            ctx.screen = {}
            await flow.advance(ctx)
            return
        if ctx.event.kind in (Kind.CONTACT, Kind.LOCATION):
            result = await spec.widget.on_share(ctx, flow, spec)
        else:
            result = await spec.widget.on_text(ctx, flow, spec, ctx.text)
        if isinstance(result, NotUnderstood) and ctx.event.kind == Kind.TEXT:
            # Not an answer to this question: maybe a new request ("giá na hôm nay?", an offer).
            for route in self.router.texts:
                if route.in_flows and await route.handler(ctx):
                    if ctx.flow == flow.name and ctx.step == spec.name:
                        await self.reask(ctx)
                    return
        await flow.settle(ctx, spec, result)

    async def reask(self, ctx: Ctx) -> None:
        """Show the current question again (after a detour), if a flow is open."""
        flow = self.router.flows.get(ctx.flow)
        spec = flow.spec(ctx.step) if flow is not None else None
        if flow is not None and spec is not None:
            await flow.ask(ctx, spec)

    async def group_text(self, ctx: Ctx) -> None:
        """In a group the bot answers only what is addressed to it (a mention, a reply to it) and
        what it is meant to answer there (price questions); the rest is chatter."""
        if not ctx.event.addressed:
            return
        for route in self.router.texts:
            if route.in_groups and await route.handler(ctx):
                return


__all__ = ["Command", "Conversation", "parse_command"]
