"""The weekly anti-price-gouging notice of the official's province (/thongbaoepgia): see it,
change its text, day and time, season, switch it on or off, preview it."""

from __future__ import annotations

from typing import Any

from bot.dialog import DONE, STAY, Command, Ctx, Flow, Router
from bot.events import Choice
from bot.handlers.roles import STAFF, require_role
from bot.i18n import _, lazy_gettext
from bot.services import notices as service
from bot.services.quantities import RuleError

ORDER = 65

flow = Flow("notice", first="menu")


async def _province(ctx: Ctx) -> int | None:
    if ctx.user.province_code is None:
        ctx.say(_("Tài khoản của bạn chưa có tỉnh. Gõ /start để cập nhật."))
    return ctx.user.province_code


async def _save(ctx: Ctx, **changes: Any) -> None:
    province = ctx.user.province_code
    assert province is not None
    await service.change_notice(ctx.uow, ctx.user, province, **changes)
    ctx.say(_("Đã lưu."))


async def cmd_notice(ctx: Ctx, _args: str) -> None:
    """/thongbaoepgia."""
    if await require_role(ctx, STAFF, "notice") and await _province(ctx) is not None:
        await flow.start(ctx)


@flow.ask("menu")
async def ask_menu(ctx: Ctx) -> None:
    province = ctx.user.province_code
    assert province is not None
    notice = await service.get_notice(ctx.uow, province)
    state = _("đang BẬT") if notice.enabled else _("đang TẮT")
    text = "\n".join(
        [
            _("Thông báo chống ép giá của {province} ({state}).").format(
                province=ctx.services.places.provinces[province].name, state=state
            ),
            _("Gửi vào: {weekday} hằng tuần, lúc {hour}:{minute:02d}").format(
                weekday=service.weekday_label(notice.weekday), hour=notice.hour, minute=notice.minute
            ),
            _("Mùa vụ: {season}").format(season=service.season_text(notice)),
            _("Nội dung: {text}").format(text=notice.text or _("mặc định")),
            _("Người nhận: mọi thương lái và đại diện HTX trong tỉnh."),
        ]
    )
    toggle = Choice(_("🔕 Tắt"), "nt:off") if notice.enabled else Choice(_("🔔 Bật"), "nt:on")
    ctx.say(
        text,
        [
            Choice(_("✏️ Sửa nội dung"), "nt:text"),
            Choice(_("🕖 Sửa ngày giờ"), "nt:when"),
            Choice(_("🌾 Sửa mùa vụ"), "nt:season"),
            toggle,
            Choice(_("👁 Xem trước"), "nt:preview"),
            Choice(_("Xong"), "nt:done"),
        ],
        columns=2,
    )


@flow.answer("menu")
async def on_menu(ctx: Ctx) -> str:
    if not await require_role(ctx, STAFF, "notice"):
        return DONE
    choice = (ctx.payload or "").removeprefix("nt:")
    if choice in ("text", "when", "season"):
        return choice
    if choice in ("on", "off"):
        await _save(ctx, enabled=choice == "on")
        return STAY
    if choice == "preview":
        notice = await service.get_notice(ctx.uow, ctx.user.province_code or 0)
        ctx.say(await service.gouging_text(ctx.services, ctx.uow, notice))
        return STAY
    if choice == "done":
        ctx.say(_("Xong."))
        return DONE
    ctx.say(_("Vui lòng chọn một mục bên dưới."))
    return STAY


@flow.ask("text")
async def ask_text(ctx: Ctx) -> None:
    ctx.say(
        _(
            "Gõ nội dung mới của thông báo (10–800 ký tự). Giá tham chiếu và số điện thoại cán bộ "
            "sẽ được tự động thêm vào cuối."
        ),
        [Choice(_("Dùng nội dung mặc định"), "nt:default")],
    )


@flow.answer("text")
async def on_text(ctx: Ctx) -> str:
    if ctx.payload == "nt:default":
        await _save(ctx, text=None)
        return "menu"
    try:
        text = service.clean_text(ctx.text)
    except RuleError as err:
        ctx.say(err.message)
        return STAY
    await _save(ctx, text=text)
    return "menu"


@flow.ask("when")
async def ask_when(ctx: Ctx) -> None:
    ctx.say(_("Gửi vào thứ mấy, mấy giờ? Ví dụ: thứ 2 7:00, T6 16h30, chủ nhật 8h."))


@flow.answer("when")
async def on_when(ctx: Ctx) -> str:
    when = service.parse_when(ctx.text)
    if when is None:
        ctx.say(_("Chưa hiểu ngày giờ. Gõ thứ và giờ, ví dụ: thứ 2 7:00."))
        return STAY
    weekday, hour, minute = when
    await _save(ctx, weekday=weekday, hour=hour, minute=minute)
    return "menu"


@flow.ask("season")
async def ask_season(ctx: Ctx) -> None:
    ctx.say(
        _("Mùa thu hoạch từ ngày nào đến ngày nào? Ví dụ: 15/8 - 31/10. Thông báo chỉ gửi trong mùa vụ."),
        [Choice(_("Cả năm"), "nt:allyear")],
    )


@flow.answer("season")
async def on_season(ctx: Ctx) -> str:
    if ctx.payload == "nt:allyear":
        await _save(ctx, season_from=None, season_to=None)
        return "menu"
    try:
        start, end = service.parse_season(ctx.text, ctx.today)
    except RuleError as err:
        ctx.say(err.message)
        return STAY
    await _save(ctx, season_from=start, season_to=end)
    return "menu"


def register(router: Router) -> None:
    router.command(
        Command(
            "thongbaoepgia",
            cmd_notice,
            lazy_gettext("Thông báo chống ép giá"),
            roles=STAFF,
            description=lazy_gettext("sửa thông báo chống ép giá hằng tuần"),
        )
    )
    router.flow(flow)
