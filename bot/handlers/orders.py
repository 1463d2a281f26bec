"""Posting a purchase order (/dathang): product, quantity, price, minimum lot, pickup window, region
(provinces, collection points, or a ward typed by name), grades and certificates, then a summary
to confirm, edit or cancel."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from bot.engine.context import Ctx
from bot.engine.flow import Accept, Flow, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.router import Command, Router
from bot.engine.screens import Screen
from bot.engine.widgets import DONE, NONE, SKIP, Choice, Text, TextInput, Widget, text_of
from bot.handlers import trade_steps as ts
from bot.handlers.common import show_menu
from bot.handlers.roles import TRADER, refuse
from bot.handlers.trade_flow import prefill_answers, prefill_place
from bot.i18n import _, lazy_gettext
from bot.parsing import answers
from bot.presentation import trade as show
from bot.presentation.labels import point_label
from bot.services import orders as service
from bot.services import trade
from bot.services.lots import GRADES
from bot.services.quantities import RuleError, check_window
from bot.textnorm import fold
from storage import dto

ORDER = 20  # menu position: report a lot, post an order, then "mine"
TRADERS = frozenset({TRADER})
MAX_POINT_BUTTONS = 8


class Step(enum.StrEnum):
    PRODUCT = "product"
    QUANTITY = "quantity"
    PRICE = "price"
    MIN_LOT = "min_lot"
    WINDOW = "window"
    REGION = "region"
    GRADES = "grades"
    CERTS = "certs"
    SUMMARY = "summary"


flow = Flow("order", Step, roles=TRADERS, action_name="dathang")


def _home(ctx: Ctx) -> int | None:
    return ctx.user.province_code


def _check_window(ctx: Ctx, start: dt.date, end: dt.date) -> None:
    check_window(start, end, ctx.today)


def _prefill_window(ctx: Ctx, _product: str | None, start: dt.date, end: dt.date) -> None:
    check_window(start, end, ctx.today)


# --- the region: provinces, collection points, a ward typed by name -----------------------------------


async def ward_region(ctx: Ctx, ward_code: int) -> tuple[dict[str, list[int]], str]:
    """A ward as a region: its collection points, or its whole province when it has none; and a note."""
    places = ctx.services.places
    ward = places.ward(ward_code)
    assert ward is not None
    points = await service.points_in_ward(ctx.uow, ward_code)
    if points:
        note = _("Khu vực {ward}: các điểm tập kết {points}.").format(
            ward=ward.ward_name, points=", ".join(p.name for p in points)
        )
        return {"provinces": [], "points": [p.id for p in points]}, note
    note = _("{ward} chưa có điểm tập kết nào đang hoạt động: đã chọn cả {province}.").format(
        ward=ward.ward_name, province=ward.province_name
    )
    return {"provinces": [ward.province_code], "points": []}, note


@dataclass
class Region(Widget):
    """Provinces toggled (the trader's own first, more typed by name) and/or collection points
    (a second screen), then "Xong". A ward typed by name keeps the ward: its collection points
    (or, where it has none yet, its province). The answer is ``{"provinces": [...], "points": [...]}``."""

    question: Text

    def _draft(self, ctx: Ctx) -> tuple[list[int], list[int]]:
        if "provinces" in ctx.screen:
            return list(ctx.screen["provinces"]), list(ctx.screen["points"])
        previous = ctx.screen.get("previous") or {}
        return list(previous.get("provinces", [])), list(previous.get("points", []))

    def _keep(self, ctx: Ctx, provinces: list[int], points: list[int], mode: str = "provinces") -> None:
        ctx.keep(provinces=provinces, points=points, mode=mode)

    async def _options(self, ctx: Ctx, provinces: list[int]) -> list[dto.CollectionPoint]:
        return await service.point_options(ctx.uow, [*provinces, ctx.user.province_code])

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        provinces, points = self._draft(ctx)
        places = ctx.services.places
        if ctx.screen.get("mode") == "points":
            shown = (await self._options(ctx, provinces))[:MAX_POINT_BUTTONS]
            extra = [i for i in points if i not in {p.id for p in shown}]
            shown += await trade.points_by_ids(ctx.uow, extra)  # chosen by typing: keep them untickable
            options = [
                flow.option(spec, ts.toggle_label(point_label(ctx.services, p), p.id in points), f"t{p.id}")
                for p in shown
            ]
            options.append(flow.option(spec, _("Xong"), "~pdone", "xong", "ok", "roi"))
            text = (
                _("Chọn điểm tập kết (có thể nhiều, hoặc gõ tên điểm), rồi chọn «Xong».")
                if shown
                else _("Chưa có điểm tập kết nào đang hoạt động.")
            )
            return Screen(text, tuple(options))
        home = [c for c in [ctx.user.province_code, *provinces] if c is not None]
        options = [
            flow.option(spec, ts.toggle_label(places.provinces[c].name, c in provinces), f"p{c}")
            for c in dict.fromkeys(home)
            if c in places.provinces
        ]
        options.append(flow.option(spec, _("Chọn điểm tập kết cụ thể"), "~points", "diem tap ket"))
        options.append(flow.option(spec, _("Xong"), DONE, "xong", "ok", "roi"))
        lines = [await text_of(ctx, self.question)]
        if provinces:
            names = ", ".join(places.provinces[c].name for c in provinces if c in places.provinces)
            lines.append(_("Tỉnh: {names}").format(names=names))
        if points:
            found = await trade.points_by_ids(ctx.uow, points)
            lines.append(_("Điểm tập kết: {names}").format(names=", ".join(p.name for p in found)))
        return Screen("\n".join(lines), tuple(options), columns=2)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        provinces, points = self._draft(ctx)
        places = ctx.services.places
        if value == "~points":
            self._keep(ctx, provinces, points, "points")
        elif value == "~pdone":
            self._keep(ctx, provinces, points)
        elif value == DONE:
            try:
                await service.check_region_ids(ctx.uow, tuple(provinces), tuple(points), places)
            except RuleError as e:
                self._keep(ctx, provinces, points, "points" if e.field == "points" else "provinces")
                return Retry(e.message)
            return Accept({"provinces": provinces, "points": points})
        elif value.startswith("p") and value[1:].isdigit() and int(value[1:]) in places.provinces:
            code = int(value[1:])
            self._keep(
                ctx, [c for c in provinces if c != code] if code in provinces else [*provinces, code], points
            )
        elif value.startswith("t") and value[1:].isdigit():
            return await self._toggle_point(ctx, provinces, points, int(value[1:]))
        return Retry()

    async def _toggle_point(
        self, ctx: Ctx, provinces: list[int], points: list[int], point_id: int
    ) -> StepResult:
        if point_id in points:
            self._keep(ctx, provinces, [p for p in points if p != point_id], "points")
            return Retry()
        try:
            await service.check_region_ids(ctx.uow, tuple(provinces), (point_id,), ctx.services.places)
        except RuleError as e:
            return Retry(e.message)
        self._keep(ctx, provinces, [*points, point_id], "points")
        return Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        provinces, points = self._draft(ctx)
        places = ctx.services.places
        if ctx.screen.get("mode") == "points":
            key = fold(text)
            options = await self._options(ctx, provinces)
            point = next((p for p in options if key and key in fold(p.name)), None)
            if point is None:
                return NotUnderstood(_("Không tìm thấy điểm tập kết «{text}».").format(text=text[:40]))
            return await self._toggle_point(ctx, provinces, points, point.id)
        found = places.find_province(text)
        if found is not None:
            code = found.province_code
            self._keep(ctx, provinces if code in provinces else [*provinces, code], points)
            return Retry()
        ward = self._ward(ctx, text, provinces)
        if ward is not None:
            region, note = await ward_region(ctx, ward)
            try:
                await service.check_region_ids(
                    ctx.uow, tuple(provinces), tuple(region["points"]), ctx.services.places
                )
            except RuleError as e:
                return Retry(e.message)
            self._keep(
                ctx,
                [*provinces, *(c for c in region["provinces"] if c not in provinces)],
                [*points, *(p for p in region["points"] if p not in points)],
            )
            return Retry(note)
        province, ward_code = answers.read_place(text)  # an abbreviation or an old name ("BG")
        if province in places.provinces and ward_code is None:
            self._keep(ctx, provinces if province in provinces else [*provinces, province], points)
            return Retry()
        return NotUnderstood(
            _("Không tìm thấy tỉnh «{text}». Vui lòng gõ lại tên tỉnh.").format(text=text[:40])
        )

    @staticmethod
    def _ward(ctx: Ctx, text: str, provinces: list[int]) -> int | None:
        """A ward of the trader's own or a chosen province named in ``text`` (one, not several)."""
        places = ctx.services.places
        for code in dict.fromkeys([*provinces, ctx.user.province_code]):
            if code is None:
                continue
            found = places.find_wards(text, code)
            if len(found) == 1 and found[0].ward_code is not None:
                return found[0].ward_code
        return None


# --- grades -----------------------------------------------------------------------------------------


@dataclass
class Grades(Widget):
    """The grades the trader takes: toggled then "Xong", "Nhận mọi loại", or typed ("loai 1, loai 2")."""

    question: Text

    def _draft(self, ctx: Ctx) -> list[str]:
        return list(ctx.screen.get("draft", ctx.screen.get("previous") or []))

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        draft = self._draft(ctx)
        # Pressed (or typed as labelled) a grade is ticked; typed otherwise ("loai1", "loai 1, loai 2")
        # the grades named are the answer.
        options = [
            flow.option(spec, ts.toggle_label(c.label, c.value in draft), c.value)
            for c in ts.grade_choices(ctx)
        ]
        options.append(
            flow.option(spec, _("Nhận mọi loại"), NONE, "tat ca", "moi loai", "loai nao cung duoc")
        )
        options.append(flow.option(spec, _("Xong"), DONE, "xong", "ok", "roi"))
        return Screen(await text_of(ctx, self.question), tuple(options), columns=3)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        draft = self._draft(ctx)
        if value == NONE:
            return Accept(list(GRADES))
        if value == DONE:
            if not draft:
                return Retry(_("Vui lòng chọn ít nhất một loại."))
            return Accept([g for g in GRADES if g in draft])
        if value in GRADES:
            ctx.keep(draft=[g for g in draft if g != value] if value in draft else [*draft, value])
        return Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        parts = [p for p in fold(text).replace(" va ", ",").replace(";", ",").split(",") if p.strip()]
        typed = [answers.read_grade(p) for p in parts]
        if typed and all(typed):
            return Accept([g for g in GRADES if g in typed])
        return NotUnderstood(_("Vui lòng chọn Loại 1, Loại 2 hoặc Xô."))


# --- entry points -----------------------------------------------------------------------------------


async def start_order_flow(ctx: Ctx, prefill: dict[str, Any], *, action: str = "dathang") -> None:
    """Start /dathang with what a sentence already said; known steps are skipped.

    ``prefill`` may hold product, quantity_kg, price_vnd_per_kg, date_from, date_to (ISO),
    province_code, ward_code, grade. A ward is kept as the region (its collection points).
    With a prefill, the optional steps take their defaults.
    """
    if ctx.user.role not in TRADERS:
        await refuse(ctx, TRADERS, action)
        return
    data, notes = prefill_answers(ctx, prefill, _prefill_window)
    province, ward = prefill_place(ctx, prefill)
    if ward is not None:
        data["region"], note = await ward_region(ctx, ward)
        notes.append(note)
    elif province is not None:
        data["region"] = {"provinces": [province], "points": []}
    if prefill.get("grade") in GRADES:
        data["grades"] = [prefill["grade"]]
    if prefill:  # a sentence gave the essentials: the optional steps keep their defaults
        data.setdefault("min_lot_kg", 0)
        data.setdefault("grades", list(GRADES))
        data.setdefault("certs", {"certs": [], "area": None})
    await flow.start(ctx, data, notes)


async def cmd_order(ctx: Ctx, _args: str) -> None:
    """/dathang: post a purchase order step by step."""
    await start_order_flow(ctx, {})


# --- the flow ----------------------------------------------------------------------------------------


def _drop_min_lot(ctx: Ctx) -> list[str]:
    if "quantity_kg" in ctx.answers and ctx.answers.get("min_lot_kg", 0) > ctx.answers["quantity_kg"]:
        ctx.forget("min_lot_kg")
        return [_("Lô tối thiểu lớn hơn đơn hàng, vui lòng nhập lại.")]
    return []


def _check_min_lot(ctx: Ctx, value: Any) -> int:
    return service.check_min_lot(value, int(ctx.answers["quantity_kg"]))


flow.step(
    Step.PRODUCT,
    ts.product_step(lazy_gettext("Bạn cần mua sản phẩm gì? Chọn hoặc gõ tên."), _home),
    key="product",
    edit_label=lazy_gettext("Sản phẩm"),
    after=ts.recheck_price,
)
flow.step(
    Step.QUANTITY,
    ts.quantity_step(lazy_gettext("Bạn cần mua bao nhiêu? Ví dụ: 10 tấn · 5 tạ · 2000 kg.")),
    key="quantity_kg",
    edit_label=lazy_gettext("Khối lượng"),
    after=_drop_min_lot,
)
flow.step(
    Step.PRICE,
    ts.price_step(lazy_gettext("Giá bạn trả (₫/kg)? Ví dụ: 18k · 18.000."), _home, optional=False),
    key="price",
    edit_label=lazy_gettext("Giá"),
)
flow.step(
    Step.MIN_LOT,
    TextInput(
        lazy_gettext("Lô nhỏ nhất bạn chịu đến lấy? Ví dụ: 500 kg · 1 tấn."),
        ts.read_kg,
        lazy_gettext("Tôi chưa hiểu khối lượng. Ví dụ: 2,5 tấn · 3 tạ · 1500 kg."),
        check=_check_min_lot,
        extra=lambda _ctx: [Choice(_("Không yêu cầu"), SKIP, ("khong", "khong yeu cau", "ko"))],
        skip_value=0,
    ),
    key="min_lot_kg",
    edit_label=lazy_gettext("Lô tối thiểu"),
)
flow.step(
    Step.WINDOW,
    ts.window_step(
        lazy_gettext("Khung ngày lấy hàng? Chọn hoặc gõ ngày (ví dụ: 15/9 · 15-20/9 · từ 15 đến 20/9)."),
        _check_window,
    ),
    key="window",
    edit_label=lazy_gettext("Ngày lấy hàng"),
)
flow.step(
    Step.REGION,
    Region(
        lazy_gettext(
            "Bạn mua ở đâu? Chọn tỉnh (gõ tên để thêm tỉnh khác, hoặc tên xã/phường) và/hoặc điểm tập kết "
            "cụ thể, rồi chọn «Xong»."
        )
    ),
    key="region",
    edit_label=lazy_gettext("Khu vực"),
)
flow.step(
    Step.GRADES,
    Grades(lazy_gettext("Bạn nhận hàng loại nào? Chọn (có thể nhiều) rồi chọn «Xong».")),
    key="grades",
    edit_label=lazy_gettext("Loại"),
)
flow.step(
    Step.CERTS,
    ts.Certificates(
        lazy_gettext("Bạn yêu cầu chứng nhận nào? Chọn (có thể nhiều) rồi chọn «Xong»."),
        lazy_gettext("Không yêu cầu"),
        typed_area=False,
    ),
    key="certs",
    edit_label=lazy_gettext("Chứng nhận"),
)


def _draft(ctx: Ctx) -> service.OrderDraft:
    a = ctx.answers
    start, end = ts.window_of(ctx)
    return service.OrderDraft(
        product_code=a["product"],
        quantity_kg=int(a["quantity_kg"]),
        price=int(a["price"]),
        min_lot_kg=int(a["min_lot_kg"]),
        pickup_from=start,
        pickup_to=end,
        provinces=tuple(a["region"]["provinces"]),
        collection_points=tuple(a["region"]["points"]),
        grades=tuple(a["grades"]),
        required_certs=tuple(a["certs"]["certs"]),
    )


async def _rows(ctx: Ctx) -> list[tuple[str, str]]:
    draft = _draft(ctx)
    points = await trade.points_by_ids(ctx.uow, draft.collection_points)
    return show.order_summary(ctx.services, draft, points)


async def _check(ctx: Ctx) -> None:
    s = ctx.services
    await service.check_order(ctx.uow, _draft(ctx), s.catalog, s.places, ctx.today)


flow.step(
    Step.SUMMARY,
    ts.TradeSummary(
        lazy_gettext("Đơn đặt mua của bạn:"),
        _rows,
        check=_check,
        steps={
            "product": Step.PRODUCT,
            "quantity": Step.QUANTITY,
            "price": Step.PRICE,
            "min_lot": Step.MIN_LOT,
            "window": Step.WINDOW,
            "provinces": Step.REGION,
            "points": Step.REGION,
            "grades": Step.GRADES,
            "certs": Step.CERTS,
        },
    ),
    key="confirm",
)


@flow.committer
async def save(ctx: Ctx) -> None:
    s = ctx.services
    try:
        order = await service.create_order(ctx.uow, ctx.user, _draft(ctx), s.catalog, s.places, ctx.today)
    except RuleError as e:  # the summary checked every rule a moment ago: only a race gets here
        ctx.leave()
        show_menu(ctx, e.message)
        return
    ctx.leave()
    show_menu(ctx, show.order_saved(s, order))

    async def wake() -> None:  # the matcher
        s.wake_events()

    ctx.on_commit(wake)


def register(router: Router) -> None:
    # The roles here decide who sees the menu button; the engine checks the flow's at every step.
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
    router.keeps_flow_quiet.add("dathang")
