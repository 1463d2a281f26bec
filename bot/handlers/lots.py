"""Reporting a harvest lot (/thuhoach): product, quantity, grade, certificates, collection point
(or a new one: its name, its ward), ready window, asking price, household shares (coop reps),
then a summary to confirm, edit or cancel."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from bot.engine.context import Ctx
from bot.engine.flow import Flow, Jump, StepResult, StepSpec
from bot.engine.router import Command, Router
from bot.engine.screens import Screen
from bot.engine.widgets import BACK, Choice, Select, TextInput
from bot.handlers import trade_steps as ts
from bot.handlers.common import show_menu
from bot.handlers.place_steps import WardStep
from bot.handlers.roles import COOP_REP, SUPPLIERS, refuse
from bot.handlers.trade_flow import mentioned, prefill_answers, prefill_place
from bot.i18n import _, lazy_gettext
from bot.parsing import answers
from bot.presentation import trade as show
from bot.presentation.labels import point_label
from bot.services import lots as service
from bot.services import trade
from bot.services.quantities import RuleError, check_window
from bot.textnorm import fold

ORDER = 10  # menu position: report a lot, post an order, then "mine"
MAX_POINT_BUTTONS = 8
NEW_POINT = "new"


class Step(enum.StrEnum):
    PRODUCT = "product"
    QUANTITY = "quantity"
    GRADE = "grade"
    CERTS = "certs"
    POINT = "point"
    POINT_NAME = "point_name"
    POINT_WARD = "point_ward"
    WINDOW = "window"
    PRICE = "price"
    SHARES = "shares"
    SUMMARY = "summary"


flow = Flow("lot", Step, roles=SUPPLIERS, action_name="thuhoach")


def _province(ctx: Ctx) -> int | None:
    """Where the lot is: the place a sentence named, else the person's own."""
    return ctx.answers.get("province_code")


def _check_window(ctx: Ctx, start: dt.date, end: dt.date) -> None:
    service.check_lot_window(ctx.services.catalog, ctx.answers["product"], start, end, ctx.today)


def _prefill_window(ctx: Ctx, product: str | None, start: dt.date, end: dt.date) -> None:
    if product is None:
        check_window(start, end, ctx.today)
    else:
        service.check_lot_window(ctx.services.catalog, product, start, end, ctx.today)


# --- entry points ----------------------------------------------------------------------------------


async def start_lot_flow(ctx: Ctx, prefill: dict[str, Any], *, action: str = "thuhoach") -> None:
    """Start /thuhoach with what a sentence already said; known steps are skipped.

    ``prefill`` may hold product, quantity_kg, price_vnd_per_kg, date_from, date_to (ISO),
    province_code, ward_code, grade. With a prefill, the optional steps take their defaults.
    """
    if ctx.user.role not in SUPPLIERS:
        await refuse(ctx, SUPPLIERS, action)
        return
    data: dict[str, Any] = {"province_code": ctx.user.province_code, "ward_code": ctx.user.ward_code}
    province, ward = prefill_place(ctx, prefill)
    if province is not None:
        data.update(province_code=province, ward_code=ward)
    found, problems = prefill_answers(ctx, prefill, _prefill_window)
    data.update(found)
    if prefill.get("grade") in service.GRADES:
        data["grade"] = prefill["grade"]
    if prefill:  # a sentence gave the essentials: the optional steps keep their defaults
        data.setdefault("certs", {"certs": [], "area": None})
        if not mentioned(prefill, "price_vnd_per_kg"):
            data["price"] = None
        data.setdefault("shares", [])
    await flow.start(ctx, data, problems)


async def cmd_lot(ctx: Ctx, _args: str) -> None:
    """/thuhoach: report a lot step by step."""
    await start_lot_flow(ctx, {})


# --- collection point ----------------------------------------------------------------------------


async def _points(ctx: Ctx) -> list[Any]:
    points = await service.points_near(ctx.uow, _province(ctx), ctx.answers.get("ward_code"))
    return points[:MAX_POINT_BUTTONS]


async def _point_choices(ctx: Ctx) -> list[Choice]:
    choices = [Choice(point_label(ctx.services, p), str(p.id)) for p in await _points(ctx)]
    choices.append(Choice(_("Đề xuất điểm mới"), NEW_POINT, ("de xuat", "diem moi", "de xuat diem moi")))
    return choices


async def _point_question(ctx: Ctx) -> str:
    if await _points(ctx):
        return _("Bạn giao hàng ở điểm tập kết nào?")
    return _("Chưa có điểm tập kết nào đang hoạt động gần bạn. Bạn có thể đề xuất điểm mới.")


async def _read_point(ctx: Ctx, text: str) -> str | None:
    """A point by (part of) its name, or by its place in the list ("1") where buttons hide the numbers."""
    points = await _points(ctx)
    key = fold(text)
    if key.isdigit() and 1 <= int(key) <= len(points):
        return str(points[int(key) - 1].id)
    return next((str(p.id) for p in points if key and key in fold(p.name)), None)


def _point_not_found(ctx: Ctx) -> str:
    return _(
        "Không tìm thấy điểm tập kết «{text}». Vui lòng chọn trong danh sách hoặc đề xuất điểm mới."
    ).format(text=ctx.text[:40])


async def _check_point(ctx: Ctx, value: Any) -> str:
    if value == NEW_POINT:
        return NEW_POINT
    point = await trade.point(ctx.uow, int(value)) if str(value).isdigit() else None
    if point is None or point.status != "active":
        raise RuleError(_("Điểm tập kết này không còn hoạt động. Vui lòng chọn điểm khác."), "point")
    return str(point.id)


def _after_point(ctx: Ctx) -> list[str]:
    ctx.forget("point_name", "point_ward")  # a new point is described anew; a chosen one needs nothing
    return []


def _new_point(ctx: Ctx) -> bool:
    return ctx.answers.get("point") == NEW_POINT


class NewPointName(TextInput):
    """The new point's name and address, typed; "« Quay lại" returns to the list of points."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        screen = await super().ask(ctx, flow, spec)
        back = flow.option(spec, _("« Quay lại"), BACK, "quay lai")
        return Screen(screen.text, (*screen.options, back), columns=screen.columns)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == BACK:
            return Jump(Step.POINT)
        return await super().on_choice(ctx, flow, spec, value)


def _read_point_name(_ctx: Ctx, text: str) -> dict[str, str] | None:
    text = " ".join(text.split())
    if not 3 <= len(text) <= 200:
        return None
    name, _sep, _rest = text.partition(",")
    return {"name": name.strip()[:120] or text[:120], "address": text}


def _after_point_name(ctx: Ctx) -> list[str]:
    """A ward named with the address ("…, xã Văn Lãng") answers the next question too."""
    province, ward = answers.read_place(ctx.answers["point_name"]["address"])
    if ward is not None and province == _province(ctx):
        ctx.remember(point_ward=ward)
    return []


class NewPointWard(WardStep):
    """The new point's ward; the person's own ward is one tap away."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        screen = await super().ask(ctx, flow, spec)
        ward = ctx.services.places.ward(ctx.answers.get("ward_code") or 0)
        if ctx.screen.get("candidates") or ctx.screen.get("page") is not None or ward is None:
            return screen
        if ward.province_code != self.province(ctx):
            return screen
        mine = flow.option(spec, ward.ward_name or "", str(ward.ward_code))
        return Screen(screen.text, (mine, *screen.options), columns=screen.columns)


# --- the flow ----------------------------------------------------------------------------------------


def _after_product(ctx: Ctx) -> list[str]:
    return ts.recheck_price(ctx) + ts.recheck_window(ctx, _check_window)


def _after_quantity(ctx: Ctx) -> list[str]:
    shares = ctx.answers.get("shares")
    if shares and sum(s[2] for s in shares) != ctx.answers["quantity_kg"]:
        # The households' parts no longer add up: ask for them again rather than guess.
        ctx.forget("shares")
        return [_("Khối lượng đã đổi, vui lòng nhập lại phần của các hộ.")]
    return []


flow.step(
    Step.PRODUCT,
    ts.product_step(lazy_gettext("Bạn báo thu hoạch sản phẩm gì? Chọn hoặc gõ tên."), _province),
    key="product",
    edit_label=lazy_gettext("Sản phẩm"),
    after=_after_product,
)
flow.step(
    Step.QUANTITY,
    ts.quantity_step(lazy_gettext("Khối lượng bao nhiêu? Ví dụ: 2,5 tấn · 3 tạ · 1500 kg.")),
    key="quantity_kg",
    edit_label=lazy_gettext("Khối lượng"),
    after=_after_quantity,
)
flow.step(Step.GRADE, ts.grade_step(), key="grade", edit_label=lazy_gettext("Loại"))
flow.step(
    Step.CERTS,
    ts.Certificates(
        lazy_gettext("Lô có chứng nhận nào? Chọn (có thể nhiều) rồi chọn «Xong»."),
        lazy_gettext("Không có chứng nhận"),
        typed_area=True,
    ),
    key="certs",
    edit_label=lazy_gettext("Chứng nhận"),
)
flow.step(
    Step.POINT,
    Select(
        _point_question,
        _point_choices,
        read=_read_point,
        invalid=_point_not_found,
        check=_check_point,
        columns=1,
    ),
    key="point",
    edit_label=lazy_gettext("Điểm tập kết"),
    after=_after_point,
)
flow.step(
    Step.POINT_NAME,
    NewPointName(
        lazy_gettext(
            "Gõ tên và địa chỉ điểm tập kết mới, ví dụ: Sân UBND xã Văn Lãng, thôn Nà Lầy. "
            "Cán bộ sẽ duyệt điểm này."
        ),
        _read_point_name,
        lazy_gettext("Vui lòng gõ tên và địa chỉ điểm tập kết (3–200 ký tự)."),
    ),
    key="point_name",
    when=_new_point,
    after=_after_point_name,
)
flow.step(
    Step.POINT_WARD,
    NewPointWard(
        lazy_gettext("Điểm tập kết mới ở xã/phường nào của {province}? Chọn, gõ tên hoặc xem danh sách."),
        province=lambda ctx: int(_province(ctx) or 0),
    ),
    key="point_ward",
    when=_new_point,
)
flow.step(
    Step.WINDOW,
    ts.window_step(
        lazy_gettext("Khi nào hàng sẵn sàng? Chọn hoặc gõ ngày (ví dụ: 15/9 · 15-20/9 · từ 15 đến 20/9)."),
        _check_window,
    ),
    key="window",
    edit_label=lazy_gettext("Ngày sẵn sàng"),
)
flow.step(
    Step.PRICE,
    ts.price_step(
        lazy_gettext("Giá bạn mong muốn (₫/kg)? Ví dụ: 25k · 25.000. Không bắt buộc."),
        _province,
        optional=True,
    ),
    key="price",
    edit_label=lazy_gettext("Giá"),
)
# Households pool their harvest only through a cooperative.
flow.step(
    Step.SHARES,
    ts.HouseholdShares(lambda ctx: int(ctx.answers["quantity_kg"])),
    key="shares",
    when=lambda ctx: ctx.user.role == COOP_REP,
    edit_label=lazy_gettext("Các hộ góp"),
)


def _draft(ctx: Ctx) -> service.LotDraft:
    a = ctx.answers
    start, end = ts.window_of(ctx)
    new_point = None
    if a["point"] == NEW_POINT:
        new_point = service.NewPoint(
            a["point_name"]["name"], a["point_name"]["address"], int(a["province_code"]), a.get("point_ward")
        )
    return service.LotDraft(
        product_code=a["product"],
        quantity_kg=int(a["quantity_kg"]),
        grade=a["grade"],
        certifications=tuple(a["certs"]["certs"]),
        growing_area_code=a["certs"].get("area"),
        point_id=None if new_point else int(a["point"]),
        new_point=new_point,
        ready_from=start,
        ready_to=end,
        asking_price=a.get("price"),
        shares=ts.shares_of(a.get("shares") or []) if ctx.user.role == COOP_REP else (),
    )


async def _rows(ctx: Ctx) -> list[tuple[str, str]]:
    draft = _draft(ctx)
    point = await trade.point(ctx.uow, draft.point_id) if draft.point_id else None
    return show.lot_summary(ctx.services, draft, point)


async def _check(ctx: Ctx) -> None:
    await service.check_lot(ctx.uow, _draft(ctx), ctx.services.catalog, ctx.today)


flow.step(
    Step.SUMMARY,
    ts.TradeSummary(
        lazy_gettext("Lô hàng của bạn:"),
        _rows,
        check=_check,
        steps={
            "product": Step.PRODUCT,
            "quantity": Step.QUANTITY,
            "grade": Step.GRADE,
            "point": Step.POINT,
            "window": Step.WINDOW,
            "price": Step.PRICE,
            "shares": Step.SHARES,
        },
    ),
    key="confirm",
)


@flow.committer
async def save(ctx: Ctx) -> None:
    s = ctx.services
    try:
        saved = await service.create_lot(ctx.uow, ctx.user, _draft(ctx), s.catalog, ctx.today)
    except RuleError as e:  # the summary checked every rule a moment ago: only a race gets here
        ctx.leave()
        show_menu(ctx, e.message)
        return
    ctx.leave()
    show_menu(ctx, show.lot_saved(s, saved))

    async def wake() -> None:  # the matcher and the officials' approval request
        s.wake_events()

    ctx.on_commit(wake)


def register(router: Router) -> None:
    # The roles here decide who sees the menu button; the engine checks the flow's at every step.
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
    router.keeps_flow_quiet.add("thuhoach")
