"""What a person wants to hear about (/dangky): products they follow, notice kinds they left.

One step that toggles as it goes: a tap (or its number, or its name typed) switches a topic on or
off at once; "bỏ na", "thôi nhận giá", "nhận hồng" say which way; "Xong" ends it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.engine.context import Ctx
from bot.engine.flow import Accept, Flow, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.menus import answer_key
from bot.engine.router import Command, Router
from bot.engine.screens import Screen
from bot.engine.widgets import DONE, Widget
from bot.handlers.common import show_menu
from bot.i18n import _, lazy_gettext
from bot.services import subscriptions as service
from bot.services.audience import ANNOUNCEMENTS, GOUGING, NOTICE_KINDS, PRICES, notice_label

ORDER = 600
PRODUCT_BUTTONS = ("na", "hong_vanh_khuyen", "hong_khong_hat", "quyt", "thach_den", "che")

# What people type to switch something off or on ("bỏ na", "thôi nhận giá", "bật ép giá").
_OFF = (
    "bo theo doi",
    "thoi nhan",
    "khong nhan",
    "ngung nhan",
    "huy dang ky",
    "thoi",
    "bo",
    "tat",
    "huy",
    "ngung",
)
_ON = ("theo doi", "dang ky", "nhan", "bat", "them")
# Notice kinds by the words people use for them.
_KIND_WORDS = {
    ANNOUNCEMENTS: ("thong bao chung", "thong bao"),
    PRICES: ("gia tham chieu", "ban tin gia", "ban tin", "gia"),
    GOUGING: ("canh bao ep gia", "ep gia", "chong ep gia"),
}


class Step(enum.StrEnum):
    CHOOSE = "choose"


flow = Flow("subscriptions", Step, action_name="dangky")


def _split(key: str) -> tuple[bool | None, str]:
    """(on, off or toggle, what) from "bo na", "thoi nhan gia", "na"."""
    for words, on in ((_OFF, False), (_ON, True)):
        for w in words:
            if key == w:
                return on, ""
            if key.startswith(w + " "):
                return on, key[len(w) + 1 :]
    return None, key


@dataclass
class TopicsStep(Widget):
    """The topics as toggles (✅ on, ⬜ off), products typed by name, then "Xong"."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        rows = await service.topics(ctx.uow, ctx.user)
        catalog = ctx.services.catalog
        options = [
            flow.option(spec, ("✅ " if service.receives(rows, k) else "⬜ ") + notice_label(k), k)
            for k in NOTICE_KINDS
        ]
        followed = sorted(t for t in rows if catalog.get(t))
        for code in dict.fromkeys([*followed, *PRODUCT_BUTTONS]):
            product = catalog.get(code)
            if product is not None:
                options.append(flow.option(spec, ("✅ " if code in rows else "⬜ ") + product.name_vi, code))
        options.append(flow.option(spec, _("Xong"), DONE, "xong", "ok", "luu"))
        text = _(
            "Chọn tin bạn muốn nhận (✅ đang nhận, chọn để bật/tắt). Gõ tên sản phẩm để theo dõi thêm. "
            "Thông báo bắt buộc của cơ quan chức năng vẫn đến với mọi người."
        )
        return Screen(text, tuple(options), columns=2)

    async def _set(self, ctx: Ctx, topic: str, on: bool | None) -> StepResult:
        rows = await service.topics(ctx.uow, ctx.user)
        if topic in NOTICE_KINDS:
            turn_on = (not service.receives(rows, topic)) if on is None else on
            await service.receive(ctx.uow, ctx.user, topic, turn_on)
            msg = _("Đã bật: {name}.") if turn_on else _("Đã tắt: {name}.")
            return Retry(msg.format(name=notice_label(topic)))
        product = ctx.services.catalog.get(topic)
        if product is None:
            return Retry()
        turn_on = (topic not in rows) if on is None else on
        await service.follow(ctx.uow, ctx.user, product.code, turn_on)
        msg = _("Đã theo dõi {name}.") if turn_on else _("Đã bỏ theo dõi {name}.")
        return Retry(msg.format(name=product.name_vi))

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == DONE:
            return Accept(True)
        return await self._set(ctx, value, None)

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        key = answer_key(text)
        exact = ctx.services.catalog.find(key, cutoff=100) if key else None
        on, what = (None, key) if exact is not None else _split(key)  # "bơ" is a product, not "bỏ"
        for kind, words in _KIND_WORDS.items():
            if what in words:
                return await self._set(ctx, kind, on)
        product = ctx.services.catalog.find(what) if what else None
        if product is None:
            return NotUnderstood(
                _("Không tìm thấy sản phẩm «{text}». Chọn một mục hoặc gõ tên sản phẩm.").format(
                    text=text[:40]
                )
            )
        return await self._set(ctx, product.code, on)


flow.step(Step.CHOOSE, TopicsStep(), key="done")


@flow.committer
async def save(ctx: Ctx) -> None:
    ctx.leave()
    show_menu(ctx, _("Đã lưu lựa chọn nhận tin của bạn."))


async def cmd_subscriptions(ctx: Ctx, _args: str) -> None:
    """/dangky: a person's own choices in private; in a group, the group's announcements on or off."""
    if ctx.in_group:
        await _group(ctx)
        return
    if not ctx.user.registered:
        ctx.say(_("Bạn cần đăng ký trước khi dùng chức năng này."))
        await ctx.services.router.start_registration(ctx)
        return
    await flow.start(ctx)


async def _group(ctx: Ctx) -> None:
    """A registered member switches the group's announcements (of the member's province)."""
    if not ctx.user.registered or ctx.user.province_code is None:
        ctx.say(
            _(
                "Để nhóm nhận thông báo, một thành viên đã đăng ký với bot gõ /dangky trong nhóm. Bạn nhắn riêng /start cho bot để đăng ký."
            )
        )
        return
    province = await service.toggle_group(ctx.uow, ctx.user, ctx.event.channel, ctx.event.chat_id, ctx.now)
    if province is None:
        ctx.say(_("Nhóm này thôi nhận thông báo của cán bộ. Gõ /dangky trong nhóm để nhận lại."))
        return
    place = ctx.services.places.province(province)
    ctx.say(
        _(
            "Nhóm này sẽ nhận thông báo của cán bộ {province} (gửi cho cả tỉnh). Gõ /dangky trong nhóm lần nữa để thôi nhận."
        ).format(province=place.label if place else province)
    )


def register(router: Router) -> None:
    router.flow(flow)
    router.command(
        Command(
            "dangky",
            cmd_subscriptions,
            lazy_gettext("Nhận tin"),
            description=lazy_gettext("chọn sản phẩm theo dõi, bật/tắt loại thông báo"),
            in_groups=True,  # in a group: the group's announcements on or off
            needs_registration=False,  # checked by the command: never start registering in a group
        )
    )
