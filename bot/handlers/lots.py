"""Reporting a harvest lot (/thuhoach): product, quantity, grade, certificates, collection point,
ready window, asking price, household shares, then a summary to confirm, edit or cancel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot import formatting as fmt
from bot.dialog import STAY, Command, Ctx, Flow, Router
from bot.events import Choice
from bot.handlers import trade_steps as ts
from bot.handlers.roles import COOP_REP, SUPPLIERS, require_role
from bot.handlers.trade_flow import TradeFlow, prefill_answers, prefill_place
from bot.i18n import _, lazy_gettext
from bot.services import lots as service
from bot.services.quantities import RuleError, check_price, parse_grade
from bot.textnorm import fold
from storage import dto

ORDER = 10  # menu position: report a lot, post an order, then "mine"
flow = Flow("lot", first="product")

# (step, the data key that says it is answered), in the order they are asked.
STEPS = (
    ("product", "product"), ("quantity", "quantity_kg"), ("grade", "grade"), ("certs", "certs"),
    ("point", "point"), ("window", "date_from"), ("price", "price"), ("shares", "shares"),
)  # fmt: skip
MAX_POINT_BUTTONS = 8


# --- entry points ------------------------------------------------------------------------------


async def start_lot_flow(ctx: Ctx, prefill: dict[str, Any]) -> None:
    """Start /thuhoach with answers already known (from free text); known steps are skipped.

    ``prefill`` may hold product, quantity_kg, price_vnd_per_kg, date_from, date_to (ISO),
    province_code, ward_code, grade. Each is checked by the step's own rules; a wrong one is
    explained and asked again. With a prefill, optional steps take their defaults.
    """
    if not await require_role(ctx, SUPPLIERS, "thuhoach"):
        return
    data: dict[str, Any] = {"province_code": ctx.user.province_code, "ward_code": ctx.user.ward_code}
    province, ward = prefill_place(ctx, prefill)
    if province is not None:
        data.update(province_code=province, ward_code=ward)
    problems = prefill_answers(ctx, prefill, data)
    if prefill.get("grade") in service.GRADES:
        data["grade"] = prefill["grade"]
    if prefill:  # free text gave the essentials: the optional steps keep their defaults
        data.setdefault("certs", [])
        data.setdefault("area_code", None)
        data.setdefault("price", None)
        data.setdefault("shares", [])
    if ctx.user.role != COOP_REP:  # households pool only through a cooperative
        data["shares"] = []
    await trade.begin(ctx, data, problems)


async def cmd_lot(ctx: Ctx, _args: str) -> None:
    """/thuhoach: report a lot step by step."""
    await start_lot_flow(ctx, {})


def _recheck(ctx: Ctx) -> list[str]:
    """Drop answers the (new) product makes wrong: price range, how long it keeps; say why."""
    d, problems = ctx.data, list[str]()
    if "product" not in d:
        return problems
    product = ts.product_of(ctx)
    if d.get("price") is not None:
        try:
            d["price"] = check_price(product, float(d["price"]))
        except (RuleError, ValueError, TypeError) as e:
            problems.append(e.message if isinstance(e, RuleError) else _("Giá không hợp lệ."))
            d.pop("price")
    if "date_from" in d:
        try:
            start, end = ts.window_of(d)
            service.check_lot_window(ctx.services.catalog, product.code, start, end, ctx.today)
        except (RuleError, ValueError) as e:
            problems.append(e.message if isinstance(e, RuleError) else _("Ngày không hợp lệ."))
            d.pop("date_from", None)
            d.pop("date_to", None)
    ctx.state_changed = True
    return problems


def _quantity_changed(ctx: Ctx) -> list[str]:
    shares = ctx.data.get("shares")
    if shares and sum(s[2] for s in shares) != ctx.data["quantity_kg"]:
        # The households' parts no longer add up: ask for them again rather than guess.
        ctx.data.pop("shares")
        ctx.remember(shares_draft=[])
        return [_("Khối lượng đã đổi, vui lòng nhập lại phần của các hộ.")]
    return []


def _check_window(ctx: Ctx, start: dt.date, end: dt.date) -> None:
    service.check_lot_window(ctx.services.catalog, ctx.data["product"], start, end, ctx.today)


# --- grade -------------------------------------------------------------------------------------------


@flow.ask("grade")
async def ask_grade(ctx: Ctx) -> None:
    choices = [Choice(ts.grade_label(g), f"grade:{g}") for g in service.GRADES]
    ctx.say(_("Hàng loại mấy?"), choices, columns=3)


@flow.answer("grade")
async def on_grade(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    grade = payload.removeprefix("grade:") if payload.startswith("grade:") else parse_grade(ctx.text)
    if grade not in service.GRADES:
        ctx.say(_("Vui lòng chọn Loại 1, Loại 2 hoặc Xô."))
        return STAY
    return trade.keep(ctx, grade=grade)


# --- certificates --------------------------------------------------------------------------------


@flow.ask("certs")
async def ask_certs(ctx: Ctx) -> None:
    ts.ask_certs(
        ctx,
        _("Lô có chứng nhận nào? Chọn (có thể nhiều) rồi bấm «Xong»."),
        _("Không có chứng nhận"),
        typed_area=True,
    )


@flow.answer("certs")
async def on_certs(ctx: Ctx) -> str:
    result = ts.answer_certs(ctx, typed_area=True)
    if result is None:
        return STAY
    certs, area = result
    return trade.keep(ctx, certs=certs, area_code=area)


# --- collection point ----------------------------------------------------------------------------


async def _points(ctx: Ctx) -> list[dto.CollectionPoint]:
    points = await service.points_near(ctx.uow, ctx.data.get("province_code"), ctx.data.get("ward_code"))
    return points[:MAX_POINT_BUTTONS]


@flow.ask("point")
async def ask_point(ctx: Ctx) -> None:
    if ctx.data.get("awaiting_point"):
        ctx.say(
            _(
                "Gõ tên và địa chỉ điểm tập kết mới, ví dụ: Sân UBND xã Văn Lãng, thôn Nà Lầy. "
                "Cán bộ sẽ duyệt điểm này."
            ),
            [Choice(_("« Quay lại"), "pt:back")],
        )
        return
    points = await _points(ctx)
    choices = [Choice(ts.point_label(ctx, p), f"pt:{p.id}") for p in points]
    choices.append(Choice(_("Đề xuất điểm mới"), "pt:new"))
    text = (
        _("Bạn giao hàng ở điểm tập kết nào?")
        if points
        else _("Chưa có điểm tập kết nào đang hoạt động gần bạn. Bạn có thể đề xuất điểm mới.")
    )
    ctx.say(text, choices)


@flow.answer("point")
async def on_point(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    if ctx.data.get("awaiting_point"):
        if payload == "pt:back":
            ctx.remember(awaiting_point=False)
            return STAY
        text = " ".join(ctx.text.split())
        if not 3 <= len(text) <= 200:
            ctx.say(_("Vui lòng gõ tên và địa chỉ điểm tập kết (3–200 ký tự)."))
            return STAY
        name, _sep, _rest = text.partition(",")
        return trade.keep(ctx, point={"name": name.strip()[:120], "address": text}, awaiting_point=False)
    if payload == "pt:new":
        ctx.remember(awaiting_point=True)
        return STAY
    points = await _points(ctx)
    chosen = None
    if payload.startswith("pt:"):
        chosen = next((p for p in points if str(p.id) == payload.removeprefix("pt:")), None)
    elif ctx.text:
        key = fold(ctx.text)
        chosen = next((p for p in points if key in fold(p.name)), None)
    if chosen is None:
        ctx.say(
            _(
                "Không tìm thấy điểm tập kết «{text}». Vui lòng chọn trong danh sách hoặc đề xuất điểm mới."
            ).format(text=ctx.text[:40])
        )
        return STAY
    return trade.keep(ctx, point={"id": chosen.id})


# --- household shares ------------------------------------------------------------------------------


@flow.ask("shares")
async def ask_shares(ctx: Ctx) -> None:
    ts.ask_shares(ctx, ctx.data["quantity_kg"])


@flow.answer("shares")
async def on_shares(ctx: Ctx) -> str:
    shares = ts.answer_shares(ctx, ctx.data["quantity_kg"])
    if shares is None:
        return STAY
    return trade.keep(ctx, shares=[[s.household, s.phone, s.kg] for s in shares])


# --- summary, edit, save -------------------------------------------------------------------------


def _draft(ctx: Ctx) -> service.LotDraft:
    d = ctx.data
    point = d["point"]
    start, end = ts.window_of(d)
    new_point = None
    if "id" not in point:
        new_point = service.NewPoint(
            point["name"], point.get("address"), d["province_code"], d.get("ward_code")
        )
    return service.LotDraft(
        product_code=d["product"],
        quantity_kg=d["quantity_kg"],
        grade=d["grade"],
        certifications=tuple(d["certs"]),
        growing_area_code=d.get("area_code"),
        point_id=point.get("id"),
        new_point=new_point,
        ready_from=start,
        ready_to=end,
        asking_price=d.get("price"),
        shares=tuple(dto.LotShare(h, p, kg) for h, p, kg in d["shares"]),
    )


async def _point_text(ctx: Ctx) -> str:
    point = ctx.data["point"]
    if "id" in point:
        found = await ctx.uow.points.get(point["id"])
        return ts.point_label(ctx, found) if found else "?"
    return _("{address} (điểm mới, chờ cán bộ duyệt)").format(address=point["address"])


@flow.ask("summary")
async def ask_summary(ctx: Ctx) -> None:
    d = ctx.data
    start, end = ts.window_of(d)
    rows = [
        (_("Sản phẩm"), ts.product_of(ctx).name_vi),
        (_("Khối lượng"), fmt.kg(d["quantity_kg"])),
        (_("Loại"), ts.grade_label(d["grade"])),
        (_("Chứng nhận"), ts.certs_text(d["certs"], d.get("area_code"))),
        (_("Điểm tập kết"), await _point_text(ctx)),
        (_("Sẵn sàng"), fmt.date_range(start, end)),
        (_("Giá mong muốn"), fmt.price_per_kg(d["price"]) if d.get("price") else _("chưa đặt")),
    ]
    if d["shares"]:
        rows.append((_("Các hộ góp"), "; ".join(f"{h} {fmt.kg(kg)}" for h, _p, kg in d["shares"])))
    ts.ask_summary(ctx, _("Lô hàng của bạn:"), rows)


async def _save(ctx: Ctx) -> tuple[int, str]:
    draft = _draft(ctx)
    s = ctx.services
    lot = await service.create_lot(ctx.uow, ctx.user, draft, s.catalog, ctx.today, places=s.places)
    text = _("Đã lưu lô #{id}: {product}, {quantity}. Khi có thương lái phù hợp, bot sẽ báo bạn.").format(
        id=lot.id, product=ts.product_name(ctx, lot.product_code), quantity=fmt.kg(lot.quantity_kg)
    )
    if draft.new_point is not None:
        if ctx.settings.unapproved_points == "warn":
            text += "\n" + _("Điểm tập kết mới chưa được cán bộ duyệt; thương lái sẽ được báo điều này.")
        else:
            text += "\n" + _(
                "Điểm tập kết mới cần cán bộ duyệt trước: lô sẽ được giới thiệu cho thương lái ngay khi điểm được duyệt."
            )

        async def wake() -> None:  # the officials' approval request is in the outbox
            s.wake_outbox()

        ctx.on_commit(wake)
    return lot.id, text


def _edit_fields(ctx: Ctx) -> list[tuple[str, str]]:
    fields = [
        ("product", _("Sản phẩm")), ("quantity", _("Khối lượng")), ("grade", _("Loại")),
        ("certs", _("Chứng nhận")), ("point", _("Điểm tập kết")), ("window", _("Ngày sẵn sàng")),
        ("price", _("Giá")),
    ]  # fmt: skip
    if ctx.user.role == COOP_REP:
        fields.append(("shares", _("Các hộ góp")))
    return fields


def _prepare(ctx: Ctx, step: str) -> str:
    """Get ``step`` ready to be answered again, starting from its current answer."""
    d = ctx.data
    if step == "certs":
        ctx.remember(certs_draft=list(d.get("certs", [])), area_draft=d.get("area_code"), awaiting_area=False)
    elif step == "shares":
        ctx.remember(shares_draft=list(d.get("shares", [])))
    elif step == "point":
        ctx.remember(awaiting_point=False)
    return step if step in dict(STEPS) else "summary"


# Last, as it names the functions above; the steps above reach it only when they run.
trade = TradeFlow(
    flow=flow,
    kind="lot",
    command="thuhoach",
    roles=SUPPLIERS,
    steps=STEPS,
    product_question=lazy_gettext("Bạn báo thu hoạch sản phẩm gì? Chọn hoặc gõ tên."),
    quantity_question=lazy_gettext("Khối lượng bao nhiêu? Ví dụ: 2,5 tấn · 3 tạ · 1500 kg."),
    price_question=lazy_gettext("Giá bạn mong muốn (₫/kg)? Ví dụ: 25k · 25.000. Không bắt buộc."),
    window_question=lazy_gettext(
        "Khi nào hàng sẵn sàng? Chọn hoặc gõ ngày (ví dụ: 15/9 · 15-20/9 · từ 15 đến 20/9)."
    ),
    price_optional=True,
    home_province=lambda ctx: ctx.data.get("province_code"),
    recheck=_recheck,
    quantity_changed=_quantity_changed,
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
            "thuhoach",
            cmd_lot,
            lazy_gettext("Báo thu hoạch"),
            roles=SUPPLIERS,
            description=lazy_gettext("báo lô hàng sắp thu hoạch"),
        )
    )
    router.flow(flow)
