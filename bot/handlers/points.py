"""Collection points for officials (/diemtapket): list the province's points, add, edit, close, and
approve or reject the points reps proposed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import formatting as fmt
from bot.dialog import DONE, STAY, Command, Ctx, Flow, Router
from bot.events import Choice, Kind, Request
from bot.handlers.paging import nav_buttons, page_of
from bot.handlers.roles import ADMIN, STAFF, require_role
from bot.handlers.ward_answer import WardAnswer, read_ward
from bot.i18n import _, lazy_gettext
from bot.services import points as service
from bot.services.quantities import RuleError, parse_quantity_kg
from bot.textnorm import fold
from storage import dto

ORDER = 60
SKIP = ("bo qua", "skip", "khong", "khong co")

flow = Flow("point", first="name")
# Add mode walks these in order; edit mode (data["edit_id"]) asks one and saves it.
STEPS = ("name", "ward", "address", "location", "hours", "kg", "trucks", "confirm")


# --- helpers -------------------------------------------------------------------------------------


async def _point_of_mine(ctx: Ctx, point_id: int) -> dto.CollectionPoint | None:
    """The point if it belongs to the official's province (admins see every province)."""
    point = await ctx.uow.points.get(point_id)
    if point is None or (point.province_code != ctx.user.province_code and ctx.user.role != ADMIN):
        ctx.say(_("Không tìm thấy điểm tập kết này trong tỉnh của bạn."))
        return None
    return point


def _details(ctx: Ctx, point: dto.CollectionPoint) -> str:
    status = {"active": _("đang hoạt động"), "proposed": _("chờ duyệt"), "closed": _("đã đóng")}[point.status]
    lines = [
        f"📍 {point.name} ({status})",
        _("Nơi: {place}").format(place=service.point_place(ctx.services.places, point)),
        _("Địa chỉ: {address}").format(address=point.address or "—"),
        _("Giờ mở cửa: {hours}").format(hours=point.opening_hours or "6:00-18:00"),
        _("Mỗi khung giờ: {kg}, {trucks} xe").format(
            kg=fmt.kg(point.slot_capacity_kg), trucks=point.slot_capacity_trucks
        ),
    ]
    if point.latitude is not None and point.longitude is not None:
        lines.append(_("Vị trí: {lat:.5f}, {lon:.5f}").format(lat=point.latitude, lon=point.longitude))
    return "\n".join(lines)


def _next_step(step: str) -> str:
    return STEPS[STEPS.index(step) + 1]


async def _store(ctx: Ctx, step: str, **values: Any) -> str:
    """Keep an answer: saved at once when editing, remembered when adding. Returns the next step."""
    edit_id = ctx.data.get("edit_id")
    if edit_id is None:
        ctx.remember(**values)
        return _next_step(step)
    try:
        point = await service.update_point(ctx.uow, ctx.user, edit_id, **values)
    except RuleError as err:
        ctx.say(err.message)
        return STAY
    if point is None:
        ctx.say(_("Điểm tập kết này đã đóng, không sửa được nữa."))
        return DONE
    ctx.say(_("Đã lưu.") + "\n" + _details(ctx, point), _point_buttons(point))
    return DONE


def _point_buttons(point: dto.CollectionPoint) -> list[Choice]:
    if point.status == "proposed":
        return [Choice(_("✅ Duyệt"), f"dtk:ok:{point.id}"), Choice(_("❌ Từ chối"), f"dtk:no:{point.id}")]
    if point.status == "closed":
        return [Choice(_("« Danh sách"), "dtk:list")]
    return [
        Choice(_("✏️ Sửa"), f"dtk:edit:{point.id}"),
        Choice(_("🚫 Đóng điểm"), f"dtk:close:{point.id}"),
        Choice(_("« Danh sách"), "dtk:list"),
    ]


# --- the list and the buttons ----------------------------------------------------------------------


async def show_list(ctx: Ctx, page: int = 0) -> None:
    """The province's points, proposed ones first, a page at a time."""
    province = ctx.user.province_code
    if province is None:
        ctx.say(_("Tài khoản của bạn chưa có tỉnh. Gõ /start để cập nhật."))
        return
    points = await ctx.uow.points.in_province(province, statuses=("proposed", "active"))
    points.sort(key=lambda p: (p.status != "proposed", p.name))
    shown, page, pages = page_of(points, page)
    name = ctx.services.places.provinces[province].name
    if not points:
        text = _("{province} chưa có điểm tập kết nào.").format(province=name)
    else:
        text = _("Điểm tập kết của {province} ({count} điểm). Chọn một điểm để xem, sửa hoặc duyệt:").format(
            province=name, count=len(points)
        )
    choices = [
        Choice(("🕓 " if p.status == "proposed" else "📍 ") + p.name[:40], f"dtk:view:{p.id}") for p in shown
    ]
    ctx.say(text, [*choices, *nav_buttons(page, pages, "dtk:page"), Choice(_("➕ Thêm điểm"), "dtk:add")])


async def cmd_points(ctx: Ctx, _args: str) -> None:
    """/diemtapket."""
    if await require_role(ctx, STAFF, "points"):
        ctx.leave()
        await show_list(ctx)


async def on_action(ctx: Ctx, rest: str) -> None:
    """Buttons "dtk:<what>[:<id>]" from the list, a point's card and proposal notices."""
    if not await require_role(ctx, STAFF, "points"):
        return
    what, _sep, arg = rest.partition(":")
    if what == "list":
        await show_list(ctx)
        return
    if what == "page":
        await show_list(ctx, int(arg or 0))
        return
    if what == "add":
        await flow.start(ctx, {"province_code": ctx.user.province_code})
        return
    if what == "field":
        await on_field(ctx, arg)
        return
    if not arg.isdigit() or (point := await _point_of_mine(ctx, int(arg))) is None:
        return
    if what == "view":
        ctx.say(_details(ctx, point), _point_buttons(point), columns=2)
    elif what in ("ok", "no"):
        reviewed = await service.review_proposal(ctx.uow, ctx.user, point.id, approve=what == "ok")
        if reviewed is None:
            ctx.say(_("Điểm «{name}» đã được xử lý trước đó.").format(name=point.name))
        else:
            done = _("Đã duyệt điểm «{name}».") if what == "ok" else _("Đã từ chối điểm «{name}».")
            ctx.say(done.format(name=point.name) + " " + _("Người đề xuất đã được báo."))
            ctx.on_commit(await service.after_review(ctx.uow, ctx.services, reviewed))
    elif what == "edit":
        fields = [
            ("name", _("Tên")), ("ward", _("Xã/phường")), ("address", _("Địa chỉ")), ("location", _("Vị trí")),
            ("hours", _("Giờ mở cửa")), ("kg", _("Sức chứa (kg)")), ("trucks", _("Số xe")),
        ]  # fmt: skip
        ctx.say(
            _("Sửa gì ở «{name}»?").format(name=point.name),
            [Choice(label, f"dtk:field:{point.id}:{step}") for step, label in fields],
            columns=2,
        )
    elif what == "close":
        ctx.say(
            _("Đóng điểm «{name}»? Bà con sẽ không chọn được điểm này nữa.").format(name=point.name),
            [Choice(_("🚫 Đóng điểm"), f"dtk:closeok:{point.id}"), Choice(_("« Danh sách"), "dtk:list")],
        )
    elif what == "closeok":
        still = await service.close_point(ctx.uow, ctx.user, point.id, ctx.now)
        if still is None:
            ctx.say(_("Điểm «{name}» đã đóng trước đó.").format(name=point.name))
        elif still:
            ctx.say(
                _("Đã đóng điểm «{name}». Lưu ý: còn {count} lượt lấy hàng đã đặt lịch ở điểm này.").format(
                    name=point.name, count=still
                )
            )
        else:
            ctx.say(_("Đã đóng điểm «{name}».").format(name=point.name))


async def on_field(ctx: Ctx, rest: str) -> None:
    """ "dtk:field:<id>:<step>": edit one field of a point."""
    point_id, _sep, step = rest.partition(":")
    if step not in STEPS[:-1] or not point_id.isdigit():
        return
    point = await _point_of_mine(ctx, int(point_id))
    if point is not None:
        await flow.start(ctx, {"edit_id": point.id, "province_code": point.province_code}, step=step)


# --- the add / edit flow -----------------------------------------------------------------------------


async def _store_checked(ctx: Ctx, step: str, field: str, clean: Callable[[str], str], typed: str) -> str:
    """Clean a typed answer with ``clean``; explain and ask again when it breaks a rule."""
    try:
        value = clean(typed)
    except RuleError as err:
        ctx.say(err.message)
        return STAY
    return await _store(ctx, step, **{field: value})


@flow.ask("name")
async def ask_name(ctx: Ctx) -> None:
    ctx.say(_("Tên điểm tập kết? (ví dụ: Sân chợ Đồng Mỏ)"))


@flow.answer("name")
async def on_name(ctx: Ctx) -> str:
    return await _store_checked(ctx, "name", "name", service.clean_point_name, ctx.text)


@flow.ask("ward")
async def ask_ward(ctx: Ctx) -> None:
    candidates = ctx.data.get("ward_candidates")
    places = ctx.services.places
    if candidates:
        ctx.say(
            _("Có nhiều xã/phường trùng tên. Điểm ở đâu?"),
            [Choice(places.wards[c].name, f"ward:{c}") for c in candidates],
            columns=2,
        )
        return
    ctx.say(_("Điểm ở xã/phường nào? Gõ tên (ví dụ: Chi Lăng)."))


@flow.answer("ward")
async def on_ward(ctx: Ctx) -> str:
    places, province = ctx.services.places, ctx.data["province_code"]
    ward = read_ward(ctx, province)
    if ward is WardAnswer.SEVERAL:
        return STAY
    if ward is WardAnswer.UNKNOWN:
        ctx.say(
            _("Không tìm thấy xã/phường «{text}» ở {province}. Vui lòng gõ lại.").format(
                text=ctx.text[:40], province=places.provinces[province].name
            )
        )
        return STAY
    return await _store(ctx, "ward", ward_code=ward.ward_code)


@flow.ask("address")
async def ask_address(ctx: Ctx) -> None:
    ctx.say(_("Địa chỉ cụ thể? (thôn, đường, mốc dễ tìm)"))


@flow.answer("address")
async def on_address(ctx: Ctx) -> str:
    return await _store_checked(ctx, "address", "address", service.clean_address, ctx.text)


@flow.ask("location")
async def ask_location(ctx: Ctx) -> None:
    ctx.say(
        _("Gửi vị trí của điểm từ điện thoại (bấm «Gửi vị trí»), hoặc bấm «Bỏ qua»."),
        [Choice(_("📍 Gửi vị trí"), ""), Choice(_("Bỏ qua"), "loc:skip")],
        request=Request.LOCATION,
    )


@flow.answer("location")
async def on_location(ctx: Ctx) -> str:
    event = ctx.event
    if event.kind == Kind.LOCATION and event.latitude is not None and event.longitude is not None:
        ctx.say(_("Đã lưu vị trí."))
        return await _store(ctx, "location", latitude=event.latitude, longitude=event.longitude)
    if ctx.payload == "loc:skip" or fold(ctx.text) in SKIP:
        return await _store(ctx, "location", latitude=None, longitude=None)
    ctx.say(_("Chưa nhận được vị trí. Bấm «Gửi vị trí» hoặc «Bỏ qua»."))
    return STAY


@flow.ask("hours")
async def ask_hours(ctx: Ctx) -> None:
    ctx.say(
        _("Giờ mở cửa? Gõ giờ mở - giờ đóng, ví dụ: 6:00-18:00."),
        [Choice("6:00-18:00", "hours:6:00-18:00")],
    )


@flow.answer("hours")
async def on_hours(ctx: Ctx) -> str:
    typed = (ctx.payload or "").removeprefix("hours:") if ctx.payload else ctx.text
    return await _store_checked(ctx, "hours", "opening_hours", service.clean_hours, typed)


@flow.ask("kg")
async def ask_kg(ctx: Ctx) -> None:
    ctx.say(
        _("Mỗi khung giờ (1 tiếng) điểm nhận được bao nhiêu hàng? Ví dụ: 20 tấn, 5000 kg."),
        [Choice(_("20 tấn"), "cap:20000"), Choice(_("5 tấn"), "cap:5000")],
        columns=2,
    )


@flow.answer("kg")
async def on_kg(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    kg = float(payload.removeprefix("cap:")) if payload.startswith("cap:") else parse_quantity_kg(ctx.text)
    try:
        service.check_capacity(kg if kg is not None else 0, None)
    except RuleError as err:
        ctx.say(err.message)
        return STAY
    assert kg is not None
    return await _store(ctx, "kg", slot_capacity_kg=round(kg))


@flow.ask("trucks")
async def ask_trucks(ctx: Ctx) -> None:
    ctx.say(
        _("Mỗi khung giờ có chỗ cho mấy xe tải cùng lúc?"),
        [Choice(str(n), f"trk:{n}") for n in (2, 4, 6)],
        columns=3,
    )


@flow.answer("trucks")
async def on_trucks(ctx: Ctx) -> str:
    raw = (
        (ctx.payload or "").removeprefix("trk:") if ctx.payload else fold(ctx.text).removesuffix("xe").strip()
    )
    trucks = int(raw) if raw.isdigit() else 0
    try:
        service.check_capacity(None, trucks)
    except RuleError as err:
        ctx.say(err.message)
        return STAY
    return await _store(ctx, "trucks", slot_capacity_trucks=trucks)


@flow.ask("confirm")
async def ask_confirm(ctx: Ctx) -> None:
    d = ctx.data
    draft = dto.CollectionPoint(
        id=0,
        name=d["name"],
        province_code=d["province_code"],
        ward_code=d["ward_code"],
        address=d["address"],
        latitude=d.get("latitude"),
        longitude=d.get("longitude"),
        opening_hours=d["opening_hours"],
        slot_capacity_kg=d["slot_capacity_kg"],
        slot_capacity_trucks=d["slot_capacity_trucks"],
        status="active",
        proposed_by=None,
    )
    ctx.say(
        _("Kiểm tra lại điểm tập kết mới:") + "\n" + _details(ctx, draft),
        [Choice(_("✅ Lưu"), "pt:save"), Choice(_("❌ Hủy"), "pt:cancel")],
        columns=2,
    )


@flow.answer("confirm")
async def on_confirm(ctx: Ctx) -> str:
    if ctx.payload == "pt:cancel":
        ctx.say(_("Đã hủy. Không có gì được lưu."))
        return DONE
    if ctx.payload != "pt:save":
        ctx.say(_("Bấm «Lưu» để lưu hoặc «Hủy» để bỏ."))
        return STAY
    if not await require_role(ctx, STAFF, "point_add"):
        return DONE
    d = ctx.data
    try:
        point = await service.create_point(
            ctx.uow,
            ctx.user,
            name=d["name"],
            province_code=d["province_code"],
            ward_code=d["ward_code"],
            address=d["address"],
            latitude=d.get("latitude"),
            longitude=d.get("longitude"),
            opening_hours=d["opening_hours"],
            slot_capacity_kg=d["slot_capacity_kg"],
            slot_capacity_trucks=d["slot_capacity_trucks"],
        )
    except RuleError as err:
        ctx.say(err.message)
        return DONE
    ctx.say(
        _("Đã thêm điểm tập kết «{name}».").format(name=point.name), [Choice(_("« Danh sách"), "dtk:list")]
    )
    return DONE


def register(router: Router) -> None:
    router.command(
        Command(
            "diemtapket",
            cmd_points,
            lazy_gettext("Điểm tập kết"),
            roles=STAFF,
            description=lazy_gettext("quản lý điểm tập kết của tỉnh"),
        )
    )
    router.flow(flow)
    router.action("dtk", on_action)
