"""Registration (/start): role, name, phone, province, ward."""

from __future__ import annotations

from bot.dialog import DONE, STAY, Ctx, Flow, Router
from bot.events import Choice, Kind, Request
from bot.handlers.common import show_menu
from bot.handlers.paging import nav_buttons, page_of
from bot.handlers.roles import COOP_REP, FARMER, STAFF, TRADER, role_label
from bot.handlers.ward_answer import WardAnswer, read_ward
from bot.i18n import _
from bot.services.users import clean_name, normalize_phone

ORDER = 0

flow = Flow("register", first="role")

# Provinces where the campaigns this bot grew from run; the rest are a page or a typed name away.
POPULAR_PROVINCES = (20, 24, 14, 15, 4, 19)


@flow.ask("role")
async def ask_role(ctx: Ctx) -> None:
    if ctx.user.role in STAFF:  # a granted role is kept, never downgraded by registering
        ctx.remember(role=ctx.user.role)
        await flow.goto(ctx, "name")
        return
    ctx.say(
        _("Chào mừng bạn đến với Nông Sản Bot! Bạn là ai?"),
        [Choice(role_label(r), f"role:{r}") for r in (FARMER, COOP_REP, TRADER)],
    )


@flow.answer("role")
async def on_role(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    role = payload.removeprefix("role:")
    if role not in (FARMER, COOP_REP, TRADER):
        ctx.say(_("Vui lòng chọn một trong các vai trò bên dưới."))
        return STAY
    ctx.remember(role=role)
    return "name"


@flow.ask("name")
async def ask_name(ctx: Ctx) -> None:
    choices = []
    if ctx.event.display_name and clean_name(ctx.event.display_name):
        ctx.remember(suggested_name=clean_name(ctx.event.display_name))
        choices.append(Choice(ctx.data["suggested_name"], "name:suggested"))
    ctx.say(_("Bạn tên là gì? (Họ và tên, hoặc tên HTX)"), choices)


@flow.answer("name")
async def on_name(ctx: Ctx) -> str:
    if ctx.payload == "name:suggested" and ctx.data.get("suggested_name"):
        name = ctx.data["suggested_name"]
    else:
        name = clean_name(ctx.text) if ctx.text else None
    if not name:
        ctx.say(_("Tên cần từ 2 đến 60 chữ cái, không có số. Vui lòng gõ lại."))
        return STAY
    ctx.remember(name=name)
    return "phone"


@flow.ask("phone")
async def ask_phone(ctx: Ctx) -> None:
    if ctx.event.channel != "telegram":  # only Telegram can share a contact with a button
        ctx.say(_("Số điện thoại của bạn? Gõ số, ví dụ 0912345678."))
        return
    ctx.say(
        _("Số điện thoại của bạn? Bấm nút «Gửi số điện thoại» hoặc gõ số (ví dụ 0912345678)."),
        [Choice(_("📱 Gửi số điện thoại"), "")],
        request=Request.PHONE,
    )


@flow.answer("phone")
async def on_phone(ctx: Ctx) -> str:
    raw = ctx.event.phone if ctx.event.kind == Kind.CONTACT else ctx.text
    phone = normalize_phone(raw or "")
    if phone is None:
        ctx.say(
            _(
                "Số điện thoại không hợp lệ. Số di động Việt Nam có 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09."
            )
        )
        return STAY
    ctx.remember(phone=phone)
    ctx.say(_("Đã lưu số điện thoại {phone}.").format(phone=phone))
    return "province"


@flow.ask("province")
async def ask_province(ctx: Ctx) -> None:
    places = ctx.services.places
    page = int(ctx.data.get("province_page", -1))
    if page < 0:
        codes = list(POPULAR_PROVINCES)
        nav = [Choice(_("Tỉnh khác…"), "provpage:0")]
    else:
        ordered = sorted(places.provinces, key=lambda c: places.provinces[c].name.split(" ", 1)[-1])
        shown, page, pages = page_of(ordered, page)
        codes = list(shown)
        nav = nav_buttons(page, pages, "provpage")
    choices = [Choice(places.provinces[c].name, f"prov:{c}") for c in codes]
    ctx.say(_("Bạn ở tỉnh/thành phố nào? Chọn hoặc gõ tên (ví dụ: Lạng Sơn)."), choices + nav, columns=2)


@flow.answer("province")
async def on_province(ctx: Ctx) -> str:
    places = ctx.services.places
    payload = ctx.payload or ""
    if payload.startswith("provpage:"):
        ctx.remember(province_page=int(payload.split(":")[1]))
        return STAY
    code: int | None = None
    if payload.startswith("prov:"):
        code = int(payload.split(":")[1])
    elif ctx.text:
        found = places.find_province(ctx.text)
        code = found.province_code if found else None
    if code is None or code not in places.provinces:
        ctx.say(
            _("Không tìm thấy tỉnh «{text}». Vui lòng chọn hoặc gõ lại tên tỉnh.").format(text=ctx.text[:40])
        )
        return STAY
    ctx.remember(province_code=code, province_page=-1, ward_page=-1)
    return "ward"


@flow.ask("ward")
async def ask_ward(ctx: Ctx) -> None:
    places = ctx.services.places
    province = places.provinces[ctx.data["province_code"]].name
    page = int(ctx.data.get("ward_page", -1))
    candidates = ctx.data.get("ward_candidates")
    if candidates:
        choices = [Choice(places.wards[c].name, f"ward:{c}") for c in candidates]
        ctx.say(_("Có nhiều xã/phường trùng tên. Bạn ở đâu?"), choices, columns=2)
        return
    if page < 0:
        ctx.say(
            _("Bạn ở xã/phường nào của {province}? Gõ tên (ví dụ: Chi Lăng) hoặc xem danh sách.").format(
                province=province
            ),
            [Choice(_("Xem danh sách xã/phường"), "wardpage:0")],
        )
        return
    wards = places.wards_of(ctx.data["province_code"])
    shown, page, pages = page_of(wards, page)
    choices = [Choice(w.ward_name or "", f"ward:{w.ward_code}") for w in shown]
    ctx.say(
        _("Xã/phường của {province} (trang {page}/{pages}):").format(
            province=province, page=page + 1, pages=pages
        ),
        choices + nav_buttons(page, pages, "wardpage"),
        columns=2,
    )


@flow.answer("ward")
async def on_ward(ctx: Ctx) -> str:
    places = ctx.services.places
    province_code = ctx.data["province_code"]
    payload = ctx.payload or ""
    if payload.startswith("wardpage:"):
        ctx.remember(ward_page=int(payload.split(":")[1]), ward_candidates=None)
        return STAY
    ward = read_ward(ctx, province_code)
    if ward is WardAnswer.SEVERAL:
        return STAY
    if ward is WardAnswer.UNKNOWN:
        ctx.say(
            _("Không tìm thấy xã/phường «{text}» ở {province}. Vui lòng gõ lại hoặc xem danh sách.").format(
                text=ctx.text[:40], province=places.provinces[province_code].name
            )
        )
        return STAY
    assert ward.ward_code is not None  # read_ward only returns wards
    d = ctx.data
    await ctx.uow.users.register(
        ctx.user.id,
        name=d["name"],
        phone=d["phone"],
        role=d["role"],
        province_code=province_code,
        ward_code=ward.ward_code,
        now=ctx.now,
    )
    ctx.user = await ctx.uow.users.get(ctx.user.id)  # type: ignore[assignment]
    ctx.leave()
    show_menu(
        ctx,
        _("Đăng ký xong! {name} – {role}, {place}.").format(
            name=d["name"], role=role_label(d["role"]), place=ward.label
        ),
    )
    return DONE


def register(router: Router) -> None:
    router.flow(flow)
