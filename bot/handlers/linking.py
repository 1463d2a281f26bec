"""/lienket: one person, several messengers.

Started on the account to add (registered or not): the phone of the account already registered,
then the 6-digit code the bot sent through that account ("/lienket 123456" types it at once).
On a person with several accounts it lists them, chooses where notifications go and unlinks one.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bot.engine.context import Ctx
from bot.engine.flow import Accept, Cancelled, Flow, Jump, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.router import Command, Router
from bot.engine.screens import Screen
from bot.engine.widgets import Phone, Widget
from bot.handlers.common import show_menu
from bot.i18n import _, lazy_gettext
from bot.parsing import answers
from bot.presentation.linking import (
    KeepAccounts,
    LinkAnother,
    NotifyVia,
    Unlink,
    accounts_screen,
    code_invalid_text,
    code_question,
    codes_sent_text,
    expired_text,
    kept_text,
    link_intro,
    linked_text,
    no_code_text,
    notify_set_text,
    unlink_question,
    unlinked_text,
    voided_text,
    wrong_code_text,
)
from bot.services import linking as service
from bot.services.linking import CodeCheck, Linking, Unlinking
from bot.textnorm import fold

ORDER = 855
_TYPED = re.compile(r"^/?lien ?ket(?: tai khoan)?(?:\s+(.*))?$")
RESEND, OTHER_PHONE = "resend", "phone"


class Step(enum.StrEnum):
    PHONE = "phone"
    CODE = "code"


flow = Flow("link", Step, action_name="lienket")
flow.needs_registration = False  # an account not registered yet may join one that is


def _wake_events(ctx: Ctx) -> None:
    async def wake() -> None:
        ctx.services.wake_events()

    ctx.on_commit(wake)


def _acting(ctx: Ctx) -> tuple[str, str]:
    """The account writing now."""
    return ctx.event.channel, ctx.event.user_id


async def _send_codes(ctx: Ctx) -> list[str]:
    await service.request_codes(ctx.uow, ctx.user, *_acting(ctx), str(ctx.answers["phone"]), ctx.now)
    _wake_events(ctx)
    return [codes_sent_text()]


@dataclass
class CodeStep(Widget):
    """The one-time code, typed; or send it again, or give another phone."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        options = (
            flow.option(spec, _("🔁 Gửi lại mã"), RESEND, "gui lai", "gui lai ma", "ma moi"),
            flow.option(spec, _("📱 Đổi số điện thoại"), OTHER_PHONE, "doi so", "so khac"),
        )
        return Screen(code_question(), options, columns=2)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == RESEND and ctx.answers.get("phone"):
            notes = await _send_codes(ctx)
            return Retry("\n".join(notes))
        return Jump(Step.PHONE)

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        code = answers.read_code(text)
        if code is None:
            return NotUnderstood(code_invalid_text())
        checked = await service.check_code(ctx.uow, *_acting(ctx), code, ctx.now)
        if checked.result is CodeCheck.RIGHT:
            return Accept(checked.person_id)
        if checked.result is CodeCheck.WRONG:
            return Retry(wrong_code_text(checked.tries_left))
        if checked.result is CodeCheck.EXPIRED:
            return Retry(expired_text())
        if checked.result is CodeCheck.VOIDED:
            return Cancelled(voided_text())
        return Cancelled(no_code_text())


flow.step(
    Step.PHONE,
    Phone(
        lazy_gettext(
            "Số điện thoại bạn đã đăng ký ở tài khoản kia? Bấm nút «Gửi số điện thoại» (nếu cùng số) hoặc gõ số."
        ),
        lazy_gettext("Số điện thoại bạn đã đăng ký ở tài khoản kia? Gõ số, ví dụ 0912345678."),
        lazy_gettext("📱 Gửi số điện thoại"),
        lazy_gettext(
            "Số điện thoại không hợp lệ. Số di động Việt Nam có 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09."
        ),
    ),
    key="phone",
    after=_send_codes,
)
flow.step(Step.CODE, CodeStep(), key="person")


@flow.committer
async def save(ctx: Ctx) -> None:
    outcome = await service.link(ctx.uow, *_acting(ctx), int(ctx.answers["person"]), ctx.now)
    ctx.leave()
    text = linked_text(ctx.services, ctx.event.channel, outcome)
    if outcome.result is Linking.LINKED:
        ctx.user = outcome.person
        _wake_events(ctx)
        show_menu(ctx, text)
    else:
        ctx.say(text)


async def start_linking(ctx: Ctx) -> None:
    """Ask the phone of the registered account (after saying what linking does)."""
    await flow.start(ctx, notes=[link_intro(ctx.services, ctx.event.channel)])


async def _type_code(ctx: Ctx, code: str) -> None:
    """ "/lienket 123456": the code answers the code step, wherever the person was."""
    if ctx.flow != flow.name:
        ctx.enter(flow.name, Step.CODE)
    spec = flow.spec(Step.CODE)
    assert spec is not None
    ctx.remember(phone=ctx.answers.get("phone", ""))  # "": not asked (a resend asks it)
    ctx.step, ctx.screen = spec.name, {}
    await flow.settle(ctx, spec, await spec.widget.on_text(ctx, flow, spec, code))


async def cmd_link(ctx: Ctx, args: str) -> None:
    code = answers.read_code(args) if args else None
    if code is not None:
        await _type_code(ctx, code)
        return
    accounts = await service.accounts_of(ctx.uow, ctx.user)
    if len(accounts) > 1:
        ctx.show(accounts_screen(ctx.services, ctx.user, accounts))
        return
    await start_linking(ctx)


async def on_link_text(ctx: Ctx) -> bool:
    """ "lien ket", "liên kết tài khoản", "lien ket 123456" typed in a private chat."""
    m = _TYPED.match(fold(ctx.text))
    if m is None:
        return False
    await cmd_link(ctx, m.group(1) or "")
    return True


async def on_notify_via(ctx: Ctx, act: NotifyVia) -> None:
    ctx.user = await service.notify_via(ctx.uow, ctx.user, act.channel or None, _acting(ctx))
    ctx.say(notify_set_text(ctx.services, ctx.user))


async def on_unlink(ctx: Ctx, act: Unlink) -> None:
    if not act.sure:
        account = next(
            (a for a in await service.accounts_of(ctx.uow, ctx.user) if a.id == act.account_id), None
        )
        if account is None:
            ctx.say(unlinked_text(ctx.services, Unlinking.NOT_YOURS, None))
        else:
            ctx.show(unlink_question(ctx.services, account))
        return
    outcome, account = await service.unlink(ctx.uow, ctx.user, act.account_id, _acting(ctx))
    if outcome is Unlinking.UNLINKED:
        _wake_events(ctx)
    ctx.say(unlinked_text(ctx.services, outcome, account))


async def on_keep(ctx: Ctx, _act: KeepAccounts) -> None:
    ctx.say(kept_text())


async def on_link_another(ctx: Ctx, _act: LinkAnother) -> None:
    await start_linking(ctx)


def register(router: Router) -> None:
    router.flow(flow)
    router.command(
        Command(
            "lienket",
            cmd_link,
            lazy_gettext("Liên kết tài khoản"),
            needs_registration=False,
            description=lazy_gettext("dùng chung một tài khoản trên nhiều ứng dụng nhắn tin"),
        ),
        "link",
    )
    router.text(on_link_text, in_flows=True)
    router.on(NotifyVia, on_notify_via)
    router.on(Unlink, on_unlink)
    router.on(KeepAccounts, on_keep)
    router.on(LinkAnother, on_link_another)
    router.keeps_flow_quiet.add("lienket")
