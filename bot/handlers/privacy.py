"""A person's rights over their data: /dulieu shows everything the bot holds about them (and sends
it as a file); /xoataikhoan deletes the account after a confirmation. (/hoso corrects it.)"""

from __future__ import annotations

import enum

from bot.engine.context import Ctx
from bot.engine.flow import Flow
from bot.engine.router import Command, Router
from bot.engine.widgets import Choice, Select
from bot.i18n import _, lazy_gettext
from bot.parsing import answers
from bot.presentation.privacy import erased_text, my_data_file, my_data_summary
from bot.services import privacy

ORDER = 860


async def cmd_my_data(ctx: Ctx, _args: str) -> None:
    data = await privacy.my_data(ctx.uow, ctx.user)
    summary = my_data_summary(data, lambda channel: ctx.services.capabilities(channel).display_name)
    ctx.say(summary, attachment=my_data_file(data))


class Step(enum.StrEnum):
    SURE = "sure"


erase = Flow("erase", Step, action_name="xoataikhoan")


def _sure(_ctx: Ctx) -> list[Choice]:
    return [
        Choice(_("🗑 Xóa tài khoản của tôi"), "yes", ("xoa", "xoa tai khoan", "dong y")),
        Choice(_("Thôi, giữ lại"), "no", ("thoi", "khong", "giu lai")),
    ]


def _read(_ctx: Ctx, text: str) -> str | None:
    yes = answers.read_yes_no(text)
    return None if yes is None else ("yes" if yes else "no")


erase.step(
    Step.SURE,
    Select(
        lazy_gettext(
            "Xóa tài khoản: tên, số điện thoại, tài khoản ngân hàng và tin nhắn của bạn sẽ bị xóa; lô hàng, "
            "đơn mua đang mở bị hủy. Các giao dịch đã làm vẫn được giữ (không còn tên bạn) để người mua, "
            "người bán và cán bộ đối chiếu. Việc này không thể hoàn tác. Bạn chắc chắn?"
        ),
        _sure,
        read=_read,
        columns=1,
    ),
    key="sure",
)


@erase.committer
async def _commit(ctx: Ctx) -> None:
    answer = ctx.answers.get("sure")
    ctx.leave()
    if answer != "yes":
        ctx.say(_("Đã giữ lại tài khoản của bạn."))
        return
    outcome, in_progress = await privacy.erase_account(ctx.uow, ctx.user, ctx.now)
    ctx.say(erased_text(outcome, in_progress))

    async def wake() -> None:
        ctx.services.wake_events()

    ctx.on_commit(wake)


async def cmd_erase(ctx: Ctx, _args: str) -> None:
    await erase.start(ctx)


def register(router: Router) -> None:
    router.flow(erase)
    router.command(
        Command(
            "dulieu",
            cmd_my_data,
            lazy_gettext("Dữ liệu của tôi"),
            description=lazy_gettext("xem mọi thông tin bot lưu về bạn"),
        )
    )
    router.command(
        Command(
            "xoataikhoan",
            cmd_erase,
            lazy_gettext("Xóa tài khoản"),
            in_menu=False,
            description=lazy_gettext("xóa tài khoản và thông tin cá nhân"),
        )
    )
