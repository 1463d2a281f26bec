"""Posting a purchase order (/dathang): product, quantity, price, minimum lot, pickup window, region
(provinces and/or collection points), grades and certificates, then a summary to confirm."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot import formatting as fmt
from bot.dialog import STAY, Command, Ctx, Flow, Router
from bot.events import Choice
from bot.handlers import trade_steps as ts
from bot.handlers.roles import TRADER, require_role
from bot.handlers.trade_flow import TradeFlow, prefill_answers, prefill_place
from bot.i18n import _, lazy_gettext
from bot.services import orders as service
from bot.services.lots import GRADES
from bot.services.quantities import RuleError, check_price, check_window, parse_grade, parse_quantity_kg
from bot.textnorm import fold
from storage import dto

ORDER = 20  # menu position: report a lot, post an order, then "mine"
flow = Flow("order", first="product")
TRADERS = frozenset({TRADER})

STEPS = (
    ("product", "product"), ("quantity", "quantity_kg"), ("price", "price"), ("min_lot", "min_lot_kg"),
    ("window", "date_from"), ("provinces", "provinces"), ("grades", "grades"), ("certs", "certs"),
)  # fmt: skip
MAX_POINT_BUTTONS = 8


# --- entry points ------------------------------------------------------------------------------


async def start_order_flow(ctx: Ctx, prefill: dict[str, Any]) -> None:
    """Start /dathang with answers already known (from free text); known steps are skipped.

    ``prefill`` may hold product, quantity_kg, price_vnd_per_kg, date_from, date_to (ISO),
    province_code, ward_code, grade. Each is checked by the step's own rules; a wrong one is
    explained and asked again. With a prefill, optional steps take their defaults.
    """
    if not await require_role(ctx, TRADERS, "dathang"):
        return
    data: dict[str, Any] = {}
    problems = prefill_answers(ctx, prefill, data)
    province, _ward = prefill_place(ctx, prefill)
    if province is not None:
        data.update(provinces=[province], points=[])
    if prefill.get("grade") in GRADES:
        data["grades"] = [prefill["grade"]]
    if prefill:  # free text gave the essentials: the optional steps keep their defaults
        data.setdefault("min_lot_kg", 0)
        data.setdefault("grades", list(GRADES))
        data.setdefault("certs", [])
    await trade.begin(ctx, data, problems)


async def cmd_order(ctx: Ctx, _args: str) -> None:
    """/dathang: post a purchase order step by step."""
    await start_order_flow(ctx, {})


def _recheck(ctx: Ctx) -> list[str]:
    """Drop answers that are wrong for the product or today; say why."""
    d, problems = ctx.data, list[str]()
    if "date_from" in d:
        try:
            check_window(*ts.window_of(d), ctx.today)
        except (RuleError, ValueError) as e:
            problems.append(e.message if isinstance(e, RuleError) else _("Ngày không hợp lệ."))
            d.pop("date_from", None)
            d.pop("date_to", None)
    if "product" in d and d.get("price") is not None:
        try:
            d["price"] = check_price(ts.product_of(ctx), float(d["price"]))
        except (RuleError, ValueError, TypeError) as e:
            problems.append(e.message if isinstance(e, RuleError) else _("Giá không hợp lệ."))
            d.pop("price")
    if "quantity_kg" in d and d.get("min_lot_kg", 0) > d["quantity_kg"]:
        problems.append(_("Lô tối thiểu lớn hơn đơn hàng, vui lòng nhập lại."))
        d.pop("min_lot_kg")
    ctx.state_changed = True
    return problems


def _check_window(ctx: Ctx, start: dt.date, end: dt.date) -> None:
    check_window(start, end, ctx.today)


# --- minimum lot ---------------------------------------------------------------------------------


@flow.ask("min_lot")
async def ask_min_lot(ctx: Ctx) -> None:
    ctx.say(
        _("Lô nhỏ nhất bạn chịu đến lấy? Ví dụ: 500 kg · 1 tấn."), [Choice(_("Không yêu cầu"), "minlot:0")]
    )


@flow.answer("min_lot")
async def on_min_lot(ctx: Ctx) -> str:
    if ctx.payload == "minlot:0" or fold(ctx.text) in ("khong", "khong yeu cau", "0"):
        return trade.keep(ctx, min_lot_kg=0)
    try:
        kg = service.check_min_lot(parse_quantity_kg(ctx.text) if ctx.text else None, ctx.data["quantity_kg"])
    except RuleError as e:
        ctx.say(e.message)
        return STAY
    return trade.keep(ctx, min_lot_kg=kg)


# --- region: provinces and collection points --------------------------------------------------


def _province_name(ctx: Ctx, code: int) -> str:
    return ctx.services.places.provinces[code].name


@flow.ask("provinces")
async def ask_provinces(ctx: Ctx) -> None:
    d = ctx.data
    chosen: list[int] = d.setdefault("provinces_draft", list(d.get("provinces", [])))
    points: list[int] = d.setdefault("points_draft", list(d.get("points", [])))
    shown = [c for c in [ctx.user.province_code, *chosen] if c is not None]
    choices = [
        Choice(ts.toggle_label(_province_name(ctx, c), c in chosen), f"reg:{c}") for c in dict.fromkeys(shown)
    ]
    choices += [Choice(_("Chọn điểm tập kết cụ thể"), "reg:points"), Choice(_("Xong"), "reg:done")]
    lines = [
        _("Bạn mua ở đâu? Chọn tỉnh (gõ tên để thêm tỉnh khác) và/hoặc điểm tập kết cụ thể, rồi bấm «Xong».")
    ]
    if chosen:
        lines.append(_("Tỉnh: {names}").format(names=", ".join(_province_name(ctx, c) for c in chosen)))
    if points:
        found = await ctx.uow.points.by_ids(points)
        lines.append(
            _("Điểm tập kết: {names}").format(names=", ".join(found[i].name for i in points if i in found))
        )
    ctx.say("\n".join(lines), choices, columns=2)


@flow.answer("provinces")
async def on_provinces(ctx: Ctx) -> str:
    d = ctx.data
    payload = ctx.payload or ""
    chosen: list[int] = list(d.get("provinces_draft", []))
    if payload == "reg:points":
        return "points"
    if payload == "reg:done":
        found = await ctx.uow.points.by_ids(list(d.get("points_draft", [])))
        try:
            service.check_region(tuple(chosen), list(found.values()), ctx.services.places)
        except RuleError as e:
            ctx.say(e.message)
            return e.field if e.field == "points" else STAY
        return trade.keep(ctx, provinces=chosen, points=list(d.get("points_draft", [])))
    code: int | None = None
    if payload.startswith("reg:"):
        code = int(payload.removeprefix("reg:"))
        if code in chosen:
            chosen.remove(code)
            ctx.remember(provinces_draft=chosen)
            return STAY
    elif ctx.text:
        place = ctx.services.places.find_province(ctx.text)
        code = place.province_code if place else None
    if code is None or code not in ctx.services.places.provinces:
        ctx.say(_("Không tìm thấy tỉnh «{text}». Vui lòng gõ lại tên tỉnh.").format(text=ctx.text[:40]))
        return STAY
    if code not in chosen:
        chosen.append(code)
    ctx.remember(provinces_draft=chosen)
    return STAY


async def _point_options(ctx: Ctx) -> list[dto.CollectionPoint]:
    """Active points in the chosen provinces and the trader's own first, then the rest."""
    first = [*ctx.data.get("provinces_draft", []), ctx.user.province_code]
    points = await ctx.uow.points.active()
    return sorted(points, key=lambda p: (p.province_code not in first, p.id))


@flow.ask("points")
async def ask_points(ctx: Ctx) -> None:
    chosen: list[int] = ctx.data.get("points_draft", [])
    options = (await _point_options(ctx))[:MAX_POINT_BUTTONS]
    extra = [i for i in chosen if i not in {p.id for p in options}]
    if extra:  # chosen by typing: keep them on screen so they can be unticked
        found = await ctx.uow.points.by_ids(extra)
        options += [found[i] for i in extra if i in found]
    choices = [
        Choice(ts.toggle_label(ts.point_label(ctx, p), p.id in chosen), f"pts:{p.id}") for p in options
    ]
    choices.append(Choice(_("Xong"), "pts:done"))
    text = (
        _("Chọn điểm tập kết (có thể nhiều, hoặc gõ tên điểm), rồi bấm «Xong».")
        if options
        else _("Chưa có điểm tập kết nào đang hoạt động.")
    )
    ctx.say(text, choices)


@flow.answer("points")
async def on_points(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    chosen: list[int] = list(ctx.data.get("points_draft", []))
    if payload == "pts:done":
        return "provinces"
    options = await _point_options(ctx)
    point = None
    if payload.startswith("pts:"):
        point = next((p for p in options if str(p.id) == payload.removeprefix("pts:")), None)
    elif ctx.text:
        key = fold(ctx.text)
        point = next((p for p in options if key in fold(p.name)), None)
    if point is None:
        ctx.say(_("Không tìm thấy điểm tập kết «{text}».").format(text=ctx.text[:40]))
        return STAY
    if point.id in chosen:
        chosen.remove(point.id)
    else:
        try:
            service.check_region(tuple(ctx.data.get("provinces_draft", [])), [point], ctx.services.places)
        except RuleError as e:
            ctx.say(e.message)
            return STAY
        chosen.append(point.id)
    ctx.remember(points_draft=chosen)
    return STAY


# --- grades, certificates -------------------------------------------------------------------------


@flow.ask("grades")
async def ask_grades(ctx: Ctx) -> None:
    chosen: list[str] = ctx.data.setdefault("grades_draft", list(ctx.data.get("grades", [])))
    choices = [Choice(ts.toggle_label(ts.grade_label(g), g in chosen), f"gr:{g}") for g in GRADES]
    choices += [Choice(_("Nhận mọi loại"), "gr:all"), Choice(_("Xong"), "gr:done")]
    ctx.say(_("Bạn nhận hàng loại nào? Chọn (có thể nhiều) rồi bấm «Xong»."), choices, columns=3)


@flow.answer("grades")
async def on_grades(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    chosen: list[str] = list(ctx.data.get("grades_draft", []))
    if payload == "gr:all":
        return trade.keep(ctx, grades=list(GRADES))
    if payload == "gr:done":
        if not chosen:
            ctx.say(_("Vui lòng chọn ít nhất một loại."))
            return STAY
        return trade.keep(ctx, grades=[g for g in GRADES if g in chosen])
    if payload.startswith("gr:"):
        grade = payload.removeprefix("gr:")
        chosen = [g for g in chosen if g != grade] if grade in chosen else [*chosen, grade]
        ctx.remember(grades_draft=chosen)
        return STAY
    typed = [parse_grade(part) for part in fold(ctx.text).replace(" va ", ",").split(",")]
    if fold(ctx.text) in ("tat ca", "moi loai") or (typed and all(typed)):
        grades = list(GRADES) if not all(typed) else [g for g in GRADES if g in typed]
        return trade.keep(ctx, grades=grades)
    ctx.say(_("Vui lòng chọn Loại 1, Loại 2 hoặc Xô."))
    return STAY


@flow.ask("certs")
async def ask_certs(ctx: Ctx) -> None:
    ts.ask_certs(
        ctx,
        _("Bạn yêu cầu chứng nhận nào? Chọn (có thể nhiều) rồi bấm «Xong»."),
        _("Không yêu cầu"),
        typed_area=False,
    )


@flow.answer("certs")
async def on_certs(ctx: Ctx) -> str:
    result = ts.answer_certs(ctx, typed_area=False)
    if result is None:
        return STAY
    return trade.keep(ctx, certs=result[0])


# --- summary, edit, save -------------------------------------------------------------------------


def _draft(ctx: Ctx) -> service.OrderDraft:
    d = ctx.data
    start, end = ts.window_of(d)
    return service.OrderDraft(
        product_code=d["product"],
        quantity_kg=d["quantity_kg"],
        price=d["price"],
        min_lot_kg=d["min_lot_kg"],
        pickup_from=start,
        pickup_to=end,
        provinces=tuple(d["provinces"]),
        collection_points=tuple(d["points"]),
        grades=tuple(d["grades"]),
        required_certs=tuple(d["certs"]),
    )


async def region_text(
    ctx: Ctx, provinces: tuple[int, ...] | list[int], points: tuple[int, ...] | list[int]
) -> str:
    """The provinces and collection points of an order, in one line."""
    parts = [_province_name(ctx, c) for c in provinces]
    found = await ctx.uow.points.by_ids(list(points))
    parts += [ts.point_label(ctx, found[i]) for i in points if i in found]
    return "; ".join(parts) or "—"


@flow.ask("summary")
async def ask_summary(ctx: Ctx) -> None:
    d = ctx.data
    start, end = ts.window_of(d)
    rows = [
        (_("Sản phẩm"), ts.product_of(ctx).name_vi),
        (_("Khối lượng"), fmt.kg(d["quantity_kg"])),
        (_("Giá mua"), fmt.price_per_kg(d["price"])),
        (_("Lô tối thiểu"), fmt.kg(d["min_lot_kg"]) if d["min_lot_kg"] else _("không yêu cầu")),
        (_("Lấy hàng"), fmt.date_range(start, end)),
        (_("Khu vực"), await region_text(ctx, d["provinces"], d["points"])),
        (_("Loại nhận"), ", ".join(ts.grade_label(g) for g in d["grades"])),
        (_("Chứng nhận yêu cầu"), ts.certs_text(d["certs"])),
    ]
    ts.ask_summary(ctx, _("Đơn đặt mua của bạn:"), rows)


async def _save(ctx: Ctx) -> tuple[int, str]:
    s = ctx.services
    order = await service.create_order(ctx.uow, ctx.user, _draft(ctx), s.catalog, s.places, ctx.today)
    return order.id, _(
        "Đã lưu đơn #{id}: {product}, {quantity}, {price}. Khi có lô hàng phù hợp, bot sẽ báo bạn."
    ).format(
        id=order.id,
        product=ts.product_name(ctx, order.product_code),
        quantity=fmt.kg(order.quantity_kg),
        price=fmt.price_per_kg(order.price),
    )


def _prepare(ctx: Ctx, step: str) -> str:
    """Prepare ``step`` to be answered again, starting from its current answer."""
    d = ctx.data
    if step == "certs":
        ctx.remember(certs_draft=list(d.get("certs", [])), awaiting_area=False)
    elif step in ("provinces", "points"):
        ctx.remember(provinces_draft=list(d.get("provinces", [])), points_draft=list(d.get("points", [])))
    elif step == "grades":
        ctx.remember(grades_draft=list(d.get("grades", [])))
    return step if step in {s for s, _k in STEPS} | {"points"} else "summary"


def _edit_fields(_ctx: Ctx) -> list[tuple[str, str]]:
    return [
        ("product", _("Sản phẩm")), ("quantity", _("Khối lượng")), ("price", _("Giá")),
        ("min_lot", _("Lô tối thiểu")), ("window", _("Ngày lấy hàng")), ("provinces", _("Khu vực")),
        ("grades", _("Loại")), ("certs", _("Chứng nhận")),
    ]  # fmt: skip


# Last, as it names the functions above; the steps above reach it only when they run.
trade = TradeFlow(
    flow=flow,
    kind="order",
    command="dathang",
    roles=TRADERS,
    steps=STEPS,
    product_question=lazy_gettext("Bạn cần mua sản phẩm gì? Chọn hoặc gõ tên."),
    quantity_question=lazy_gettext("Bạn cần mua bao nhiêu? Ví dụ: 10 tấn · 5 tạ · 2000 kg."),
    price_question=lazy_gettext("Giá bạn trả (₫/kg)? Ví dụ: 18k · 18.000."),
    window_question=lazy_gettext(
        "Khung ngày lấy hàng? Chọn hoặc gõ ngày (ví dụ: 15/9 · 15-20/9 · từ 15 đến 20/9)."
    ),
    price_optional=False,
    home_province=lambda ctx: ctx.user.province_code,
    recheck=_recheck,
    quantity_changed=_recheck,
    check_window=_check_window,
    edit_fields=_edit_fields,
    prepare=_prepare,
    save=_save,
)
trade.register_steps()


def register(router: Router) -> None:
    # The roles here decide who sees the menu button; the flow checks them again itself.
    router.command(
        Command(
            "dathang",
            cmd_order,
            lazy_gettext("Đặt mua"),
            roles=TRADERS,
            description=lazy_gettext("đăng đơn đặt mua nông sản"),
        )
    )
    router.flow(flow)
