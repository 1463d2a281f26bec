"""Collection points for officials (/diemtapket): the province's list, add a point step by step,
edit one field, close, and approve or reject the points reps proposed.

Two declared flows share the steps: adding walks them all and ends with a summary; editing asks
only the field chosen and saves it. Both are for staff, re-checked at every step and at the save.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import formatting as fmt
from bot.engine.actions import Action, action
from bot.engine.context import Ctx
from bot.engine.flow import Accept, Flow, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.router import Command, Router
from bot.engine.screens import Option, Screen
from bot.engine.widgets import SKIP, Choice, Summary, TextInput, Widget
from bot.events import Kind, Request
from bot.handlers.place_steps import WardStep
from bot.handlers.roles import STAFF
from bot.i18n import _, lazy_gettext
from bot.parsing import parse
from bot.parsing.answers import read_quantity_kg
from bot.presentation import points as view
from bot.presentation.points import AddPoint, ClosePoint, EditPoint, ReviewPoint, ShowPoints, ViewPoint
from bot.services import points as service
from bot.services.points import PointDraft, PointRuleError
from bot.textnorm import fold

ORDER = 60
SKIP_WORDS = ("bo qua", "skip", "khong", "khong co", "bo")


class Step(enum.StrEnum):
    NAME = "name"
    WARD = "ward"
    ADDRESS = "address"
    LOCATION = "location"
    HOURS = "hours"
    KG = "kg"
    TRUCKS = "trucks"
    CONFIRM = "confirm"


# Where each step keeps its answer, and how the edit menu names it.
KEYS = {
    Step.NAME: "name",
    Step.WARD: "ward_code",
    Step.ADDRESS: "address",
    Step.LOCATION: "location",
    Step.HOURS: "opening_hours",
    Step.KG: "slot_capacity_kg",
    Step.TRUCKS: "slot_capacity_trucks",
}
LABELS = {
    Step.NAME: lazy_gettext("Tên"),
    Step.WARD: lazy_gettext("Xã/phường"),
    Step.ADDRESS: lazy_gettext("Địa chỉ"),
    Step.LOCATION: lazy_gettext("Vị trí"),
    Step.HOURS: lazy_gettext("Giờ mở cửa"),
    Step.KG: lazy_gettext("Sức chứa (kg)"),
    Step.TRUCKS: lazy_gettext("Số xe"),
}

add_flow = Flow("point_add", Step, roles=STAFF, action_name="point_add")
edit_flow = Flow("point_edit", Step, roles=STAFF, action_name="point_edit")


@action("dtkf")
@dataclass(frozen=True, slots=True)
class EditPointField(Action):
    """ "Sửa gì?": one field of one point."""

    point_id: int
    field: Step


# --- reading typed answers -------------------------------------------------------------------------------


def _rule(check: Callable[[Any], Any]) -> Callable[[Ctx, Any], Any]:
    """A widget check from a service rule: its problem worded for the person."""

    def run(_ctx: Ctx, value: Any) -> Any:
        try:
            return check(value)
        except PointRuleError as err:
            raise ValueError(view.problem_text(err.problem)) from None

    return run


def _typed(ctx: Ctx, text: str) -> str | None:
    """A free-text answer, unless it is clearly a question of its own ("giá na hôm nay?")."""
    return None if parse(text, ctx.today).intent == "price_query" else text


def _read_hours(_ctx: Ctx, text: str) -> str | None:
    try:
        return service.clean_hours(text)
    except PointRuleError:
        return None


def _read_kg(_ctx: Ctx, text: str) -> int | None:
    return read_quantity_kg(text)


_TRUCK_WORDS = frozenset({"xe", "chiec", "tai", "xe tai", "cai", "con"})


def _read_trucks(_ctx: Ctx, text: str) -> int | None:
    """ "3", "3 xe", "ba xe tải": a number of trucks."""
    words = [w for w in fold(text).split() if w not in _TRUCK_WORDS]
    if not words:
        return None
    rest = " ".join(words)
    if rest.isdigit():
        return int(rest) if len(rest) <= 4 else None
    return read_quantity_kg(f"{rest} kg")  # number words ("ba", "mười") through the one number parser


_COORDS = re.compile(r"(-?\d{1,2}[.,]\d{2,})\s*[,;/ ]\s*(-?\d{1,3}[.,]\d{2,})")


def read_coordinates(text: str) -> tuple[float, float] | None:
    """(latitude, longitude) from "21.6601, 106.6123" or a map link holding them; None otherwise."""
    m = _COORDS.search(text)
    if m is None:
        return None
    lat, lon = (float(g.replace(",", ".")) for g in m.groups())
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


@dataclass
class LocationStep(Widget):
    """Where the point is on the map: the phone's location button where the messenger has one,
    typed coordinates or a map link anywhere, or "Bỏ qua"."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        skip = flow.option(spec, _("Bỏ qua"), SKIP, *SKIP_WORDS)
        if ctx.caps.location_request:
            return Screen(
                _("Gửi vị trí của điểm từ điện thoại (bấm «Gửi vị trí»), hoặc bấm «Bỏ qua»."),
                (skip,),
                request=Request.LOCATION,
                request_label=_("📍 Gửi vị trí"),
            )
        return Screen(
            _(
                "Gõ vị trí của điểm: tọa độ (ví dụ: 21.6601, 106.6123) hoặc đường link bản đồ có tọa độ; "
                "không có thì chọn «Bỏ qua»."
            ),
            (skip,),
        )

    def _again(self, ctx: Ctx) -> str:
        if ctx.caps.location_request:
            return _("Chưa nhận được vị trí. Bấm «Gửi vị trí» hoặc «Bỏ qua».")
        return _("Chưa đọc được vị trí. Gõ tọa độ, ví dụ: 21.6601, 106.6123, hoặc chọn «Bỏ qua».")

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        return Accept(None) if value == SKIP else Retry()

    async def on_share(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> StepResult:
        event = ctx.event
        if event.kind == Kind.LOCATION and event.latitude is not None and event.longitude is not None:
            return Accept([event.latitude, event.longitude])
        return Retry(self._again(ctx))

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        if fold(text).strip(" .!") in SKIP_WORDS:
            return Accept(None)
        coords = read_coordinates(text)
        if coords is None:
            return NotUnderstood(self._again(ctx))
        return Accept(list(coords))


def _location_saved(ctx: Ctx) -> list[str]:
    return [_("Đã lưu vị trí.")] if ctx.answers.get("location") else []


# --- the steps, declared once for both flows ------------------------------------------------------------


def _ask_ward(ctx: Ctx) -> str:
    return _("Điểm ở xã/phường nào của {province}? Gõ tên (ví dụ: Chi Lăng) hoặc xem danh sách.")


def _draft(ctx: Ctx) -> PointDraft:
    a = ctx.answers
    location = a.get("location") or [None, None]
    return PointDraft(
        name=a["name"],
        province_code=int(a["province_code"]),
        ward_code=a.get("ward_code"),
        address=a.get("address"),
        latitude=location[0],
        longitude=location[1],
        opening_hours=a["opening_hours"],
        slot_capacity_kg=int(a["slot_capacity_kg"]),
        slot_capacity_trucks=int(a["slot_capacity_trucks"]),
    )


def _summary_rows(ctx: Ctx) -> list[tuple[str, str]]:
    d = _draft(ctx)
    place = ctx.services.places.ward(d.ward_code) if d.ward_code else None
    rows = [
        (_("Tên"), d.name),
        (_("Nơi"), place.label if place else ctx.services.places.provinces[d.province_code].name),
        (_("Địa chỉ"), d.address or "—"),
        (_("Giờ mở cửa"), d.opening_hours),
        (
            _("Mỗi khung giờ"),
            _("{kg}, {trucks} xe").format(kg=fmt.kg(d.slot_capacity_kg), trucks=d.slot_capacity_trucks),
        ),
    ]
    if d.latitude is not None and d.longitude is not None:
        rows.append((_("Vị trí"), f"{d.latitude:.5f}, {d.longitude:.5f}"))
    return rows


def _declare(flow: Flow, *, editing: bool) -> None:
    def when(step: Step) -> Callable[[Ctx], bool] | None:
        return (lambda ctx: ctx.answers.get("field") == step.value) if editing else None

    def label(step: Step) -> object | None:
        return None if editing else LABELS[step]

    flow.step(
        Step.NAME,
        TextInput(
            lazy_gettext("Tên điểm tập kết? (ví dụ: Sân chợ Đồng Mỏ)"),
            _typed,
            lazy_gettext("Tên điểm tập kết cần từ 2 đến 120 ký tự."),
            check=_rule(lambda v: service.clean_point_name(str(v))),
        ),
        key=KEYS[Step.NAME],
        when=when(Step.NAME),
        edit_label=label(Step.NAME),
    )
    flow.step(
        Step.WARD,
        WardStep(_ask_ward, province=lambda ctx: int(ctx.answers["province_code"])),
        key=KEYS[Step.WARD],
        when=when(Step.WARD),
        edit_label=label(Step.WARD),
    )
    flow.step(
        Step.ADDRESS,
        TextInput(
            lazy_gettext("Địa chỉ cụ thể? (thôn, đường, mốc dễ tìm)"),
            _typed,
            lazy_gettext("Địa chỉ cần từ 3 đến 200 ký tự."),
            check=_rule(lambda v: service.clean_address(str(v))),
        ),
        key=KEYS[Step.ADDRESS],
        when=when(Step.ADDRESS),
        edit_label=label(Step.ADDRESS),
    )
    flow.step(
        Step.LOCATION,
        LocationStep(),
        key=KEYS[Step.LOCATION],
        when=when(Step.LOCATION),
        edit_label=label(Step.LOCATION),
        after=_location_saved,
    )
    flow.step(
        Step.HOURS,
        TextInput(
            lazy_gettext("Giờ mở cửa? Gõ giờ mở - giờ đóng, ví dụ: 6:00-18:00."),
            _read_hours,
            lazy_gettext("Giờ mở cửa chưa đúng. Gõ theo dạng giờ mở - giờ đóng, ví dụ: 6:00-18:00."),
            check=_rule(lambda v: service.clean_hours(str(v))),
            extra=(Choice("6:00-18:00", "6:00-18:00"),),
        ),
        key=KEYS[Step.HOURS],
        when=when(Step.HOURS),
        edit_label=label(Step.HOURS),
    )
    flow.step(
        Step.KG,
        TextInput(
            lazy_gettext("Mỗi khung giờ (1 tiếng) điểm nhận được bao nhiêu hàng? Ví dụ: 20 tấn, 5000 kg."),
            _read_kg,
            lazy_gettext("Sức chứa mỗi khung giờ phải từ 1 đến 1.000.000 kg."),
            check=_rule(lambda v: service.check_capacity_kg(float(v))),
            extra=lambda _ctx: (Choice(_("20 tấn"), "20000"), Choice(_("5 tấn"), "5000")),
        ),
        key=KEYS[Step.KG],
        when=when(Step.KG),
        edit_label=label(Step.KG),
    )
    # The options are the numbers 1..6 themselves, so a typed "2" is two trucks on every messenger
    # (the label matches before the option's position); larger numbers are read as typed.
    flow.step(
        Step.TRUCKS,
        TextInput(
            lazy_gettext("Mỗi khung giờ có chỗ cho mấy xe tải cùng lúc?"),
            _read_trucks,
            lazy_gettext("Số xe mỗi khung giờ phải từ 1 đến 200."),
            check=_rule(lambda v: service.check_capacity_trucks(int(v))),
            extra=tuple(Choice(str(n), str(n)) for n in range(1, 7)),
        ),
        key=KEYS[Step.TRUCKS],
        when=when(Step.TRUCKS),
        edit_label=label(Step.TRUCKS),
    )
    if not editing:
        flow.step(
            Step.CONFIRM,
            Summary(
                lazy_gettext("Kiểm tra lại điểm tập kết mới:"),
                _summary_rows,
                confirm_label=lazy_gettext("✅ Lưu"),
            ),
            key="confirm",
        )


_declare(add_flow, editing=False)
_declare(edit_flow, editing=True)


async def _wake(ctx: Ctx) -> None:
    services = ctx.services

    async def hook() -> None:
        services.wake_events()

    ctx.on_commit(hook)


@add_flow.committer
async def save_new(ctx: Ctx) -> None:
    try:
        point = await service.create_point(ctx.uow, ctx.user, _draft(ctx))
    except PointRuleError as err:
        ctx.leave()
        ctx.say(view.problem_text(err.problem))
        return
    ctx.leave()
    ctx.show(view.added(point))


@edit_flow.committer
async def save_change(ctx: Ctx) -> None:
    a = ctx.answers
    field = Step(a["field"])
    if field is Step.LOCATION:
        location = a.get("location") or [None, None]
        changes: dict[str, Any] = {"latitude": location[0], "longitude": location[1]}
    else:
        changes = {KEYS[field]: a[KEYS[field]]}
    ctx.leave()
    try:
        point = await service.update_point(ctx.uow, ctx.user, int(a["point_id"]), changes)
    except PointRuleError as err:
        ctx.say(view.problem_text(err.problem))
        return
    if point is None:
        ctx.say(view.gone_while_editing())
        return
    ctx.show(view.saved(ctx.services, point))


# --- the list, the card and its buttons ------------------------------------------------------------------


async def show_list(ctx: Ctx, page: int = 0) -> None:
    """The official's province's points, proposals first, a page at a time."""
    province = ctx.user.province_code
    if province is None:
        ctx.say(view.no_province())
        return
    points = await service.province_points(ctx.uow, province)
    ctx.show(view.points_list(ctx.services, province, points, page))


async def cmd_points(ctx: Ctx, _args: str) -> None:
    """/diemtapket."""
    ctx.leave()
    await show_list(ctx)


async def on_list(ctx: Ctx, act: ShowPoints) -> None:
    await show_list(ctx, act.page)


async def on_add(ctx: Ctx, _act: AddPoint) -> None:
    if ctx.user.province_code is None:
        ctx.say(view.no_province())
        return
    await add_flow.start(ctx, {"province_code": ctx.user.province_code})


async def on_view(ctx: Ctx, act: ViewPoint) -> None:
    point = await service.managed_point(ctx.uow, ctx.user, act.point_id)
    if point is None:
        ctx.say(view.not_found())
        return
    ctx.show(view.card(ctx.services, point))


async def on_review(ctx: Ctx, act: ReviewPoint) -> None:
    outcome = await service.review_proposal(ctx.uow, ctx.user, act.point_id, approve=act.approve)
    ctx.say(view.review_answer(outcome, act.approve))
    if outcome.result is service.Review.DONE:
        await _wake(ctx)


async def on_edit(ctx: Ctx, act: EditPoint) -> None:
    point = await service.managed_point(ctx.uow, ctx.user, act.point_id)
    if point is None:
        ctx.say(view.not_found())
        return
    if point.status == "closed":
        ctx.say(view.gone_while_editing())
        return
    options = [Option(str(LABELS[step]), EditPointField(point.id, step)) for step in LABELS]
    options.append(view.back_option())
    ctx.show(view.edit_question(point, options))


async def on_edit_field(ctx: Ctx, act: EditPointField) -> None:
    point = await service.managed_point(ctx.uow, ctx.user, act.point_id)
    if point is None or act.field not in LABELS:
        ctx.say(view.not_found())
        return
    if point.status == "closed":
        ctx.say(view.gone_while_editing())
        return
    answers = {"point_id": point.id, "province_code": point.province_code, "field": act.field.value}
    await edit_flow.start(ctx, answers)


async def on_close(ctx: Ctx, act: ClosePoint) -> None:
    point = await service.managed_point(ctx.uow, ctx.user, act.point_id)
    if point is None:
        ctx.say(view.not_found())
        return
    if not act.confirmed:
        ctx.show(view.close_question(point))
        return
    closed = await service.close_point(ctx.uow, ctx.user, point.id, ctx.now)
    ctx.say(view.closed_answer(point, closed))
    if closed is not None:
        await _wake(ctx)


def register(router: Router) -> None:
    router.command(
        Command(
            "diemtapket",
            cmd_points,
            lazy_gettext("Điểm tập kết"),
            roles=STAFF,
            staff=True,
            description=lazy_gettext("quản lý điểm tập kết của tỉnh"),
        )
    )
    router.flow(add_flow)
    router.flow(edit_flow)
    for kind, handler in (
        (ShowPoints, on_list),
        (AddPoint, on_add),
        (ViewPoint, on_view),
        (ReviewPoint, on_review),
        (EditPoint, on_edit),
        (EditPointField, on_edit_field),
        (ClosePoint, on_close),
    ):
        router.on(kind, handler, roles=STAFF, audit_as="points")
