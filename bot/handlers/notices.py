"""The weekly anti-price-gouging notice of the official's province (/thongbaoepgia): see it, change
its text, day and time or season (one declared flow, one field at a time, saved at its end), switch
it on or off, preview it. Rights are re-checked at every step and at the save."""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any

from bot.engine.context import Ctx
from bot.engine.flow import Flow
from bot.engine.router import Command, Router
from bot.engine.widgets import SKIP, Choice, TextInput
from bot.handlers.roles import STAFF
from bot.i18n import _, lazy_gettext
from bot.parsing.answers import read_period
from bot.presentation import prices as view
from bot.presentation.prices import CloseNotice, EditNotice, NoticeField, PreviewNotice, SwitchNotice
from bot.services import notices as service
from bot.services.notices import NoticeRuleError
from bot.textnorm import fold

ORDER = 65

_WEEKDAYS = {
    "thu 2": 0, "thu hai": 0, "t2": 0, "mon": 0, "monday": 0,
    "thu 3": 1, "thu ba": 1, "t3": 1, "tue": 1, "tuesday": 1,
    "thu 4": 2, "thu tu": 2, "t4": 2, "wed": 2, "wednesday": 2,
    "thu 5": 3, "thu nam": 3, "t5": 3, "thursday": 3,
    "thu 6": 4, "thu sau": 4, "t6": 4, "fri": 4, "friday": 4,
    "thu 7": 5, "thu bay": 5, "t7": 5, "sat": 5, "saturday": 5,
    "chu nhat": 6, "cn": 6, "sun": 6, "sunday": 6,
}  # fmt: skip
_WHEN = re.compile(r"^(?P<day>[a-z ]*?\d?)\s*(?:luc\s+)?(?P<h>\d{1,2})\s*(?:[:h]\s*(?P<m>\d{2})?)?\s*h?$")


def parse_when(text: str) -> tuple[int, int, int] | None:
    """(weekday, hour, minute) from "thứ 2 7:00", "T6 16h30", "chủ nhật 8h"; None if unreadable."""
    m = _WHEN.match(fold(text).replace(",", " "))
    if not m:
        return None
    day = _WEEKDAYS.get(" ".join(m["day"].split()))
    hour, minute = int(m["h"]), int(m["m"] or 0)
    if day is None or hour > 23 or minute > 59:
        return None
    return day, hour, minute


class Step(enum.StrEnum):
    TEXT = NoticeField.TEXT.value
    WHEN = NoticeField.WHEN.value
    SEASON = NoticeField.SEASON.value


flow = Flow("notice", Step, roles=STAFF, action_name="notice")


def _editing(step: Step) -> Any:
    return lambda ctx: ctx.answers.get("field") == step.value


def _check_text(_ctx: Ctx, value: object) -> str:
    try:
        return service.clean_text(str(value))
    except NoticeRuleError as err:
        raise ValueError(view.notice_problem(err.problem)) from None


def _read_when(_ctx: Ctx, text: str) -> list[int] | None:
    when = parse_when(text)
    return list(when) if when else None


def _read_season(ctx: Ctx, text: str) -> list[str] | None:
    read = read_period(text, ctx.today)
    if read is None or read[0] is None or read[1] is None:
        return None
    return [read[0].isoformat(), read[1].isoformat()]


def _check_season(_ctx: Ctx, value: Any) -> list[str]:
    start, end = (dt.date.fromisoformat(v) for v in value)
    try:
        service.check_season(start, end)
    except NoticeRuleError as err:
        raise ValueError(view.notice_problem(err.problem)) from None
    return list(value)


flow.step(
    Step.TEXT,
    TextInput(
        lazy_gettext(
            "Gõ nội dung mới của thông báo (10–800 ký tự). Giá tham chiếu và số điện thoại cán bộ "
            "sẽ được tự động thêm vào cuối."
        ),
        lambda _ctx, text: text,
        lazy_gettext("Nội dung thông báo cần từ 10 đến 800 ký tự."),
        check=_check_text,
        extra=lambda _ctx: (Choice(_("Dùng nội dung mặc định"), SKIP, ("mac dinh",)),),
        skip_value=None,
    ),
    when=_editing(Step.TEXT),
)
flow.step(
    Step.WHEN,
    TextInput(
        lazy_gettext("Gửi vào thứ mấy, mấy giờ? Ví dụ: thứ 2 7:00, T6 16h30, chủ nhật 8h."),
        _read_when,
        lazy_gettext("Chưa hiểu ngày giờ. Gõ thứ và giờ, ví dụ: thứ 2 7:00."),
    ),
    when=_editing(Step.WHEN),
)
flow.step(
    Step.SEASON,
    TextInput(
        lazy_gettext(
            "Mùa thu hoạch từ ngày nào đến ngày nào? Ví dụ: 15/8 - 31/10. Thông báo chỉ gửi trong mùa vụ."
        ),
        _read_season,
        lazy_gettext("Chưa hiểu mùa vụ. Gõ theo dạng ngày bắt đầu - ngày kết thúc, ví dụ: 15/8 - 31/10."),
        check=_check_season,
        extra=lambda _ctx: (Choice(_("Cả năm"), SKIP, ("ca nam", "quanh nam")),),
        skip_value=None,
    ),
    when=_editing(Step.SEASON),
)


def _changes(answers: dict[str, Any]) -> dict[str, Any]:
    field = NoticeField(answers["field"])
    if field is NoticeField.TEXT:
        return {"text": answers[Step.TEXT]}
    if field is NoticeField.WHEN:
        weekday, hour, minute = answers[Step.WHEN]
        return {"weekday": weekday, "hour": hour, "minute": minute}
    season = answers[Step.SEASON]
    if season is None:
        return {"season_from": None, "season_to": None}
    return {"season_from": dt.date.fromisoformat(season[0]), "season_to": dt.date.fromisoformat(season[1])}


async def _save(ctx: Ctx, changes: dict[str, Any]) -> None:
    province = ctx.user.province_code
    if province is None:
        ctx.say(view.no_province())
        return
    try:
        notice = await service.change_notice(ctx.uow, ctx.user, province, changes)
    except NoticeRuleError as err:
        ctx.say(view.notice_problem(err.problem))
        return
    ctx.show(view.notice_saved(ctx.services, notice))


@flow.committer
async def save(ctx: Ctx) -> None:
    changes = _changes(ctx.answers)
    ctx.leave()
    await _save(ctx, changes)


async def cmd_notice(ctx: Ctx, _args: str) -> None:
    """/thongbaoepgia: the province's notice and what may be changed."""
    ctx.leave()
    province = ctx.user.province_code
    if province is None:
        ctx.say(view.no_province())
        return
    ctx.show(view.notice_card(ctx.services, await service.get_notice(ctx.uow, province)))


async def on_edit(ctx: Ctx, act: EditNotice) -> None:
    if ctx.user.province_code is None:
        ctx.say(view.no_province())
        return
    await flow.start(ctx, {"field": act.field.value})


async def on_switch(ctx: Ctx, act: SwitchNotice) -> None:
    await _save(ctx, {"enabled": act.on})


async def on_preview(ctx: Ctx, _act: PreviewNotice) -> None:
    province = ctx.user.province_code
    if province is None:
        ctx.say(view.no_province())
        return
    notice = await service.get_notice(ctx.uow, province)
    ctx.show(await view.notice_preview(ctx.services, ctx.uow, notice))


async def on_close(ctx: Ctx, _act: CloseNotice) -> None:
    ctx.say(view.notice_closed())


def register(router: Router) -> None:
    router.command(
        Command(
            "thongbaoepgia",
            cmd_notice,
            lazy_gettext("Thông báo chống ép giá"),
            roles=STAFF,
            staff=True,
            description=lazy_gettext("sửa thông báo chống ép giá hằng tuần"),
        )
    )
    router.flow(flow)
    for kind, handler in (
        (EditNotice, on_edit),
        (SwitchNotice, on_switch),
        (PreviewNotice, on_preview),
        (CloseNotice, on_close),
    ):
        router.on(kind, handler, roles=STAFF, audit_as="notice")
