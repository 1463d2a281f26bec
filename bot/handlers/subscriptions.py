"""What a person wants to hear about (/dangky): products they follow, notice kinds they left."""

from __future__ import annotations

from bot.dialog import DONE, STAY, Command, Ctx, Flow, Router
from bot.events import Choice
from bot.handlers.common import show_menu
from bot.i18n import _, lazy_gettext
from bot.services.audience import NOTICE_KINDS, left_topic, notice_label

ORDER = 600
PRODUCT_BUTTONS = ("na", "hong_vanh_khuyen", "hong_khong_hat", "quyt", "thach_den", "che")

flow = Flow("subscriptions", first="choose")


async def cmd_subscriptions(ctx: Ctx, _args: str) -> None:
    await flow.start(ctx)


@flow.ask("choose")
async def ask_choose(ctx: Ctx) -> None:
    topics = await ctx.uow.users.topics(ctx.user.id)
    catalog = ctx.services.catalog
    choices = [
        Choice(("⬜ " if left_topic(kind) in topics else "✅ ") + notice_label(kind), f"sub:{kind}")
        for kind in NOTICE_KINDS
    ]
    followed = sorted(t for t in topics if catalog.get(t))
    for code in dict.fromkeys([*followed, *PRODUCT_BUTTONS]):
        product = catalog.get(code)
        if product is not None:
            choices.append(Choice(("✅ " if code in topics else "⬜ ") + product.name_vi, f"sub:{code}"))
    choices.append(Choice(_("Xong"), "sub:done"))
    ctx.say(
        _(
            "Chọn tin bạn muốn nhận (✅ đang nhận, bấm để bật/tắt). Gõ tên sản phẩm để theo dõi thêm. "
            "Thông báo bắt buộc của cơ quan chức năng vẫn đến với mọi người."
        ),
        choices,
        columns=2,
    )


@flow.answer("choose")
async def on_choose(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    catalog = ctx.services.catalog
    topic = payload.removeprefix("sub:") if payload.startswith("sub:") else None
    if topic == "done":
        ctx.leave()
        show_menu(ctx, _("Đã lưu lựa chọn nhận tin của bạn."))
        return DONE
    topics = await ctx.uow.users.topics(ctx.user.id)
    if topic in NOTICE_KINDS:
        left = left_topic(topic) in topics
        await ctx.uow.users.set_topic(ctx.user.id, left_topic(topic), not left)
        msg = _("Đã bật: {name}.") if left else _("Đã tắt: {name}.")
        ctx.say(msg.format(name=notice_label(topic)))
        return STAY
    product = catalog.get(topic) if topic else (catalog.find(ctx.text) if ctx.text else None)
    if product is None:
        ctx.say(
            _("Không tìm thấy sản phẩm «{text}». Bấm một nút hoặc gõ tên sản phẩm.").format(
                text=ctx.text[:40]
            )
        )
        return STAY
    on = product.code not in topics
    await ctx.uow.users.set_topic(ctx.user.id, product.code, on)
    msg = _("Đã theo dõi {name}.") if on else _("Đã bỏ theo dõi {name}.")
    ctx.say(msg.format(name=product.name_vi))
    return STAY


def register(router: Router) -> None:
    router.flow(flow)
    router.command(
        Command(
            "dangky",
            cmd_subscriptions,
            lazy_gettext("Nhận tin"),
            description=lazy_gettext("chọn sản phẩm theo dõi, bật/tắt loại thông báo"),
        )
    )
