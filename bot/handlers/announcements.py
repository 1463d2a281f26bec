"""Announcements (/thongbao): write or forward a text, pick the audience, preview, send now or later.

Officials and admins only; the role is checked again before anything is sent. Running or
scheduled broadcasts are stopped with the button under the confirmation or /huythongbao.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.dialog import DONE, STAY, Command, Ctx, Flow, Router
from bot.events import Choice, Kind
from bot.handlers.common import show_menu
from bot.handlers.registration import POPULAR_PROVINCES
from bot.handlers.roles import ADMIN, COOP_REP, FARMER, OFFICIAL, STAFF, TRADER, require_role, role_label
from bot.i18n import _, lazy_gettext
from bot.services import announcements as service
from bot.services.audience import Audience

if TYPE_CHECKING:
    from bot.services.container import Services

ORDER = 700
ROLES = (FARMER, COOP_REP, TRADER, OFFICIAL, ADMIN)
PRODUCT_BUTTONS = ("na", "hong_vanh_khuyen", "hong_khong_hat", "quyt", "thach_den", "che")
# Telegram's own message limit; longer texts get the pipeline's generic answer, shorter ones ours.
FLOW_TEXT_LIMIT = 4096

flow = Flow("announce", first="text", max_text_length=FLOW_TEXT_LIMIT)


def _audience(ctx: Ctx) -> Audience:
    return Audience.from_json(ctx.data.get("audience"))


def _set_audience(ctx: Ctx, audience: Audience) -> None:
    ctx.remember(audience=audience.to_json())


def describe(ctx: Ctx, audience: Audience) -> str:
    """ "Thương lái · Tỉnh Lạng Sơn · theo dõi Na" or "mọi người"."""
    places, catalog = ctx.services.places, ctx.services.catalog
    parts = []
    if audience.roles:
        parts.append(", ".join(role_label(r) for r in audience.roles))
    if audience.ward_code is not None and (ward := places.ward(audience.ward_code)):
        parts.append(ward.label)
    elif audience.province_code is not None and (prov := places.province(audience.province_code)):
        parts.append(prov.label)
    if audience.products:
        names = ", ".join(p.name_vi if (p := catalog.get(c)) else c for c in audience.products)
        parts.append(_("theo dõi {products}").format(products=names))
    text = " · ".join(parts) if parts else _("mọi người")
    return text + (" " + _("(bắt buộc, gửi cả người đã tắt thông báo)") if audience.required else "")


def _mark(on: bool) -> str:
    return "✅ " if on else "⬜ "


# --- the text --------------------------------------------------------------------------------


async def cmd_announce(ctx: Ctx, _args: str) -> None:
    if not await require_role(ctx, STAFF, "announcement"):
        return
    await flow.start(ctx)


@flow.ask("text")
async def ask_text(ctx: Ctx) -> None:
    ctx.say(
        _(
            "Gửi nội dung thông báo: gõ, dán hoặc chuyển tiếp một tin nhắn vào đây (tối đa {limit} ký tự)."
        ).format(limit=fmt.number(service.MAX_LENGTH))
    )


@flow.answer("text")
async def on_text(ctx: Ctx) -> str:
    text = ctx.text if ctx.event.kind == Kind.TEXT else ""
    problem = service.text_problem(text)
    if problem == "empty":
        ctx.say(_("Thông báo chưa có nội dung. Vui lòng gõ hoặc chuyển tiếp một tin nhắn có chữ."))
        return STAY
    if problem == "too_long":
        ctx.say(
            _("Thông báo dài {n} ký tự, tối đa {limit}. Vui lòng rút gọn rồi gửi lại.").format(
                n=fmt.number(len(text)), limit=fmt.number(service.MAX_LENGTH)
            )
        )
        return STAY
    ctx.remember(text=text)
    return "preview" if "audience" in ctx.data else "audience"


# --- the audience ------------------------------------------------------------------------------


@flow.ask("audience")
async def ask_audience(ctx: Ctx) -> None:
    audience = _audience(ctx)
    n = await service.count_recipients(ctx.uow, audience)
    ctx.say(
        _("Gửi cho ai? Đang chọn: {who} – {n} người nhận.\nCó thể kết hợp, ví dụ vai trò + tỉnh.").format(
            who=describe(ctx, audience), n=fmt.number(n)
        ),
        [
            Choice(_("👥 Mọi người"), "aud:all"),
            Choice(_("Theo vai trò"), "aud:roles"),
            Choice(_("Theo tỉnh / xã"), "aud:place"),
            Choice(_("Theo sản phẩm"), "aud:products"),
            Choice(_mark(audience.required) + _("Bắt buộc"), "aud:required"),
            Choice(_("Xem trước ▶"), "aud:preview"),
        ],
        columns=2,
    )


@flow.answer("audience")
async def on_audience(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    audience = _audience(ctx)
    if payload == "aud:all":
        _set_audience(ctx, Audience(required=audience.required))
        return "preview"
    if payload == "aud:required":
        _set_audience(ctx, replace(audience, required=not audience.required))
        return STAY
    steps = {"aud:roles": "roles", "aud:place": "place", "aud:products": "products", "aud:preview": "preview"}
    if payload in steps:
        return steps[payload]
    ctx.say(_("Vui lòng chọn một nút bên dưới."))
    return STAY


@flow.ask("roles")
async def ask_roles(ctx: Ctx) -> None:
    chosen = set(_audience(ctx).roles)
    ctx.say(
        _("Chọn vai trò nhận thông báo (bấm để chọn/bỏ), rồi bấm «Xong»."),
        [Choice(_mark(r in chosen) + role_label(r), f"role:{r}") for r in ROLES]
        + [Choice(_("Xong"), "done")],
        columns=2,
    )


@flow.answer("roles")
async def on_roles(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    audience = _audience(ctx)
    if payload == "done":
        return "audience"
    role = payload.removeprefix("role:")
    if role not in ROLES:
        ctx.say(_("Vui lòng chọn một nút bên dưới."))
        return STAY
    roles = set(audience.roles) ^ {role}
    _set_audience(ctx, replace(audience, roles=tuple(r for r in ROLES if r in roles)))
    return STAY


@flow.ask("place")
async def ask_place(ctx: Ctx) -> None:
    places = ctx.services.places
    codes = list(dict.fromkeys([c for c in (ctx.user.province_code,) if c] + list(POPULAR_PROVINCES)))[:6]
    choices = [Choice(places.provinces[c].name, f"prov:{c}") for c in codes if c in places.provinces]
    choices.append(Choice(_("Cả nước"), "prov:all"))
    ctx.say(_("Gửi cho tỉnh nào? Chọn hoặc gõ tên tỉnh."), choices, columns=2)


@flow.answer("place")
async def on_place(ctx: Ctx) -> str:
    places = ctx.services.places
    payload = ctx.payload or ""
    audience = _audience(ctx)
    if payload == "prov:all":
        _set_audience(ctx, replace(audience, province_code=None, ward_code=None))
        return "audience"
    code = None
    if payload.startswith("prov:"):
        code = int(payload.split(":")[1])
    elif ctx.text:
        found = places.find_province(ctx.text)
        code = found.province_code if found else None
    if code is None or code not in places.provinces:
        ctx.say(_("Không tìm thấy tỉnh «{text}». Vui lòng chọn hoặc gõ lại.").format(text=ctx.text[:40]))
        return STAY
    _set_audience(ctx, replace(audience, province_code=code, ward_code=None))
    ctx.remember(ward_candidates=None)
    return "ward"


@flow.ask("ward")
async def ask_ward(ctx: Ctx) -> None:
    places = ctx.services.places
    audience = _audience(ctx)
    candidates = ctx.data.get("ward_candidates") or []
    choices = [Choice(places.wards[c].name, f"ward:{c}") for c in candidates]
    province = places.provinces[audience.province_code].name if audience.province_code else ""
    ctx.say(
        _("Cả {province} hay một xã/phường? Gõ tên xã/phường, hoặc bấm «Cả tỉnh».").format(province=province),
        [*choices, Choice(_("Cả tỉnh"), "ward:all")],
        columns=2,
    )


@flow.answer("ward")
async def on_ward(ctx: Ctx) -> str:
    places = ctx.services.places
    payload = ctx.payload or ""
    audience = _audience(ctx)
    if payload == "ward:all":
        return "audience"
    code = None
    if payload.startswith("ward:"):
        code = int(payload.split(":")[1])
    elif ctx.text:
        found = places.find_wards(ctx.text, audience.province_code)
        if len(found) > 1:
            ctx.remember(ward_candidates=[p.ward_code for p in found])
            return STAY
        code = found[0].ward_code if found else None
    ward = places.ward(code) if code is not None else None
    if ward is None or ward.province_code != audience.province_code:
        ctx.say(_("Không tìm thấy xã/phường «{text}». Vui lòng gõ lại.").format(text=ctx.text[:40]))
        return STAY
    _set_audience(ctx, replace(audience, ward_code=ward.ward_code))
    return "audience"


@flow.ask("products")
async def ask_products(ctx: Ctx) -> None:
    catalog = ctx.services.catalog
    chosen = _audience(ctx).products
    codes = list(dict.fromkeys([*chosen, *PRODUCT_BUTTONS]))
    choices = [Choice(_mark(c in chosen) + p.name_vi, f"prod:{c}") for c in codes if (p := catalog.get(c))]
    ctx.say(
        _("Gửi cho người theo dõi sản phẩm nào? Bấm để chọn/bỏ, hoặc gõ tên sản phẩm; xong bấm «Xong»."),
        [*choices, Choice(_("Xong"), "done")],
        columns=2,
    )


@flow.answer("products")
async def on_products(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    audience = _audience(ctx)
    if payload == "done":
        return "audience"
    product = None
    if payload.startswith("prod:"):
        product = ctx.services.catalog.get(payload.removeprefix("prod:"))
    elif ctx.text:
        product = ctx.services.catalog.find(ctx.text)
    if product is None:
        ctx.say(_("Không tìm thấy sản phẩm «{text}». Vui lòng chọn hoặc gõ lại.").format(text=ctx.text[:40]))
        return STAY
    products = set(audience.products) ^ {product.code}
    _set_audience(ctx, replace(audience, products=tuple(sorted(products))))
    return STAY


# --- preview and sending ---------------------------------------------------------------------------


@flow.ask("preview")
async def ask_preview(ctx: Ctx) -> None:
    audience = _audience(ctx)
    n = await service.count_recipients(ctx.uow, audience)
    ctx.remember(count=n)
    who = describe(ctx, audience)
    if n == 0:
        ctx.say(
            _("Không có ai trong nhóm người nhận này ({who}), nên chưa thể gửi. Vui lòng chọn lại.").format(
                who=who
            ),
            [Choice(_("Sửa người nhận"), "edit:audience"), Choice(_("Hủy"), "cancel")],
        )
        return
    ctx.say(_("Xem trước – người nhận sẽ thấy:"))
    ctx.say(
        service.announcement_reply(ctx.data["text"], required=audience.required, locale=ctx.user.locale).text
    )
    choices = [Choice(_("📤 Gửi ngay"), "send:now"), Choice(_("⏰ Hẹn giờ"), "send:later")]
    if ctx.settings.telegram_paid_broadcast and (await service.paid_cost(ctx.uow, audience)).messages:
        choices.append(Choice(_("⚡ Gửi nhanh (trả phí Stars)"), "send:paid"))
    choices += [
        Choice(_("Sửa nội dung"), "edit:text"),
        Choice(_("Sửa người nhận"), "edit:audience"),
        Choice(_("Hủy"), "cancel"),
    ]
    ctx.say(_("Sẽ gửi tới {n} người ({who}).").format(n=fmt.number(n), who=who), choices, columns=2)


@flow.answer("preview")
async def on_preview(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    if payload == "send:now":
        return await _send(ctx, None)
    if payload == "send:later" and ctx.data.get("count"):
        return "when"
    if payload == "send:paid" and ctx.settings.telegram_paid_broadcast:
        return "paid"
    if payload == "edit:text":
        return "text"
    if payload == "edit:audience":
        return "audience"
    if payload == "cancel":
        ctx.leave()
        show_menu(ctx, _("Đã hủy. Không có thông báo nào được gửi."))
        return DONE
    ctx.say(_("Vui lòng chọn một nút bên dưới."))
    return STAY


@flow.ask("paid")
async def ask_paid(ctx: Ctx) -> None:
    cost = await service.paid_cost(ctx.uow, _audience(ctx))
    ctx.remember(paid_stars=str(cost.stars))
    ctx.say(
        _(
            "Gửi nhanh: Telegram gửi tới {n} người với tốc độ tới 1.000 tin mỗi giây, phí {stars} Stars "
            "(0,1 Star mỗi tin) trừ vào số dư Stars của bot. Người nhận qua Zalo vẫn nhận như thường."
        ).format(n=fmt.number(cost.messages), stars=fmt.number(float(cost.stars))),
        [
            Choice(
                _("✅ Xác nhận trả {stars} Stars").format(stars=fmt.number(float(cost.stars))), "paid:yes"
            ),
            Choice(_("Quay lại"), "back"),
        ],
    )


@flow.answer("paid")
async def on_paid(ctx: Ctx) -> str:
    if ctx.payload == "back":
        return "preview"
    if ctx.payload != "paid:yes":
        ctx.say(_("Vui lòng chọn một nút bên dưới."))
        return STAY
    cost = await service.paid_cost(ctx.uow, _audience(ctx))
    if str(cost.stars) != ctx.data.get("paid_stars"):
        ctx.say(_("Số người nhận vừa thay đổi, phí cũng đổi theo. Vui lòng xem lại."))
        return STAY
    return await _send(ctx, None, paid=True)


@flow.ask("when")
async def ask_when(ctx: Ctx) -> None:
    ctx.say(
        _("Gửi lúc nào (giờ Việt Nam)? Gõ ví dụ: 18:00, «mai 7:00» hoặc «15/9 7:00»."),
        [Choice(_("Quay lại"), "back")],
    )


@flow.answer("when")
async def on_when(ctx: Ctx) -> str:
    if ctx.payload == "back":
        return "preview"
    now_local = ctx.now.astimezone(ctx.settings.tz)
    when = service.parse_send_time(ctx.text, now_local) if ctx.text else None
    if when is None:
        ctx.say(
            _("Không đọc được thời điểm «{text}». Ví dụ: 18:00, «mai 7:00», «15/9 7:00».").format(
                text=ctx.text[:40]
            )
        )
        return STAY
    problem = service.schedule_problem(when, ctx.now)
    if problem == "past":
        ctx.say(
            _("{when} đã qua. Vui lòng chọn một thời điểm sau bây giờ (ví dụ «mai 7:00»).").format(
                when=fmt.datetime(when)
            )
        )
        return STAY
    if problem == "too_far":
        ctx.say(_("Chỉ hẹn giờ được trong vòng {days} ngày tới.").format(days=service.MAX_SCHEDULE_DAYS))
        return STAY
    return await _send(ctx, when)


async def _send(ctx: Ctx, send_at: dt.datetime | None, *, paid: bool = False) -> str:
    # The role may have been withdrawn while the flow was open: check again before sending.
    if not await require_role(ctx, STAFF, "announcement_send"):
        ctx.leave()
        return DONE
    audience = _audience(ctx)
    if await service.count_recipients(ctx.uow, audience) == 0:
        ctx.say(_("Không còn ai trong nhóm người nhận này. Vui lòng chọn lại."))
        return "audience"
    ann = await service.create(
        ctx.uow,
        author=ctx.user,
        text=ctx.data["text"],
        audience=audience,
        now=ctx.now,
        send_at=send_at,
        paid=paid,
    )
    ctx.on_commit(_wake(ctx.services))
    stop = [Choice(_("⛔ Dừng gửi thông báo #{id}").format(id=ann.id), f"anncancel:{ann.id}")]
    if send_at is None:
        text = _("Đang gửi thông báo #{id} tới {n} người. Bạn sẽ nhận báo cáo tiến độ và kết quả.").format(
            id=ann.id, n=fmt.number(ann.total)
        )
    else:
        text = _("Đã hẹn gửi thông báo #{id} lúc {when} tới {n} người.").format(
            id=ann.id, when=fmt.datetime(send_at.astimezone(ctx.settings.tz)), n=fmt.number(ann.total)
        )
    ctx.leave()
    ctx.say(text, stop)
    return DONE


def _wake(services: Services) -> Callable[[], Awaitable[None]]:
    async def hook() -> None:
        services.wake_outbox()

    return hook


# --- cancelling ------------------------------------------------------------------------------------


async def on_cancel_button(ctx: Ctx, rest: str) -> None:
    if not await require_role(ctx, STAFF, "announcement_cancel"):
        return
    if not rest.isdigit():
        ctx.say(_("Không tìm thấy thông báo này."))
        return
    outcome = await service.cancel(ctx.uow, int(rest), ctx.user)
    if outcome.announcement is None:
        ctx.say(_("Không tìm thấy thông báo #{id}.").format(id=rest))
    elif not outcome.cancelled:
        ctx.say(
            _("Thông báo #{id} không còn chờ gửi nên không hủy được (đã gửi xong hoặc đã hủy).").format(
                id=rest
            )
        )
    else:
        ctx.say(
            _(
                "Đã dừng thông báo #{id}: {withdrawn} tin chưa gửi đã được rút lại, {sent} tin đã gửi trước đó."
            ).format(id=rest, withdrawn=fmt.number(outcome.withdrawn), sent=fmt.number(outcome.already_sent))
        )


async def cmd_cancel_announcement(ctx: Ctx, args: str) -> None:
    """/huythongbao [số]: stop a broadcast, or list those that can still be stopped."""
    if not await require_role(ctx, STAFF, "announcement_cancel"):
        return
    if args.strip().lstrip("#").isdigit():
        await on_cancel_button(ctx, args.strip().lstrip("#"))
        return
    author = None if ctx.user.role == ADMIN else ctx.user.id
    live = await ctx.uow.announcements.live(author_id=author, limit=8)
    if not live:
        ctx.say(_("Không có thông báo nào đang chờ gửi hoặc đang gửi."))
        return
    tz = ctx.settings.tz
    lines = [_("Thông báo có thể dừng:")]
    for ann in live:
        when = fmt.datetime((ann.scheduled_at or ann.created_at).astimezone(tz))
        lines.append(f"#{ann.id} · {when} · {ann.text[:40]}")
    ctx.say("\n".join(lines), [Choice(_("⛔ Dừng #{id}").format(id=a.id), f"anncancel:{a.id}") for a in live])


def register(router: Router) -> None:
    router.flow(flow)
    router.command(
        Command(
            "thongbao",
            cmd_announce,
            lazy_gettext("Gửi thông báo"),
            roles=STAFF,
            description=lazy_gettext("gửi thông báo tới nông dân, HTX, thương lái"),
        )
    )
    router.command(
        Command(
            "huythongbao",
            cmd_cancel_announcement,
            lazy_gettext("Dừng thông báo"),
            roles=STAFF,
            in_menu=False,
            description=lazy_gettext("dừng thông báo đang gửi hoặc đã hẹn giờ"),
        )
    )
    router.action("anncancel", on_cancel_button)
