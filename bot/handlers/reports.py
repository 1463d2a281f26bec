"""Reports for officials and admins: /baocao (summary and chart), /xuat (CSV/XLSX), /nhatky (audit
log: read, check, export; never edited).

/baocao and /xuat are flows asking the period and the province; the guard is checked again
before the report is shown, so someone demoted meanwhile gets nothing. The buttons under the
answer carry the period and province in a typed action, so they keep working after the flow
ends, and check the role each time they are pressed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
from dataclasses import dataclass

from bot import formatting as fmt
from bot.engine.actions import Action, action
from bot.engine.context import Ctx
from bot.engine.flow import Accept, Flow, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.router import Command, Router, RunCommand
from bot.engine.screens import Option, Screen
from bot.engine.widgets import Widget
from bot.events import Attachment
from bot.handlers.registration import POPULAR_PROVINCES
from bot.handlers.roles import ADMIN, STAFF
from bot.handlers.staff_steps import ProvinceOrAll
from bot.i18n import _, lazy_gettext
from bot.presentation import reports as present
from bot.reports import audit as audit_file
from bot.reports import charts, export
from bot.services import audit as audit_log
from bot.services import reports as service
from bot.services.reports import Period, PeriodError
from bot.textnorm import fold

ORDER = 750
ADMINS = frozenset({ADMIN})
AUDIT_PAGE = 10


class Step(enum.StrEnum):
    PERIOD = "period"
    PROVINCE = "province"


class What(enum.StrEnum):
    """What a report button sends: the chart, the workbook, or one table as CSV."""

    CHART = "chart"
    XLSX = "xlsx"
    LOTS = "lots"
    ORDERS = "orders"
    MATCHES = "matches"
    PICKUPS = "pickups"
    REALIZED = "realized"
    GOUGING = "gouging"


class AuditTool(enum.StrEnum):
    VERIFY = "verify"
    XLSX = "xlsx"
    CSV = "csv"


@action("rf")
@dataclass(frozen=True, slots=True)
class ReportFile(Action):
    """The chart or an export of one period (days as yyyymmdd) and province (0: the whole country)."""

    what: What
    start: int
    end: int
    province: int


@action("ap")
@dataclass(frozen=True, slots=True)
class AuditPage(Action):
    page: int


@action("au")
@dataclass(frozen=True, slots=True)
class AuditUse(Action):
    tool: AuditTool


def _day(value: dt.date) -> int:
    return int(value.strftime("%Y%m%d"))


def report_file(what: What, period: Period, province: int | None) -> ReportFile:
    return ReportFile(what, _day(period.start), _day(period.end), province or 0)


# --- the questions -----------------------------------------------------------------------------------


class ReportPeriod(Widget):
    """A preset period (today, 7 or 30 days, this season) or days typed as "1/9-30/9"."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        synonyms = {
            "today": ("hom nay",),
            "7d": ("7 ngay", "tuan"),
            "30d": ("30 ngay", "thang"),
            "season": ("mua",),
        }
        options = [flow.option(spec, present.preset_label(k), k, *synonyms[k]) for k in service.PRESETS]
        return Screen(
            _("Báo cáo kỳ nào? Chọn hoặc gõ khoảng ngày, ví dụ 1/9-30/9."), tuple(options), columns=2
        )

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value not in service.PRESETS:
            return Retry()
        period = service.preset(value, ctx.today)
        return Accept([period.start.isoformat(), period.end.isoformat()])

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        try:
            period = service.parse_period(text, ctx.today)
        except PeriodError as exc:
            if exc.code == "unreadable":
                return NotUnderstood(present.period_problem_text(exc.code))
            return Retry(present.period_problem_text(exc.code))
        return Accept([period.start.isoformat(), period.end.isoformat()])


def _provinces(ctx: Ctx) -> list[int]:
    own = [ctx.user.province_code] if ctx.user.province_code else []
    if ctx.user.role != ADMIN:
        return own
    return [*own, *[c for c in POPULAR_PROVINCES if c not in own][:4]]


def _declare(flow: Flow) -> Flow:
    flow.step(Step.PERIOD, ReportPeriod(), key="period")
    flow.step(
        Step.PROVINCE,
        ProvinceOrAll(
            lazy_gettext("Tỉnh nào? Chọn hoặc gõ tên tỉnh."),
            everywhere=lazy_gettext("Toàn quốc"),
            shortlist=_provinces,
        ),
        key="province",
    )
    return flow


report_flow = _declare(Flow("report", Step, roles=STAFF, action_name="baocao"))
export_flow = _declare(Flow("export", Step, roles=STAFF, action_name="xuat"))


def _answers(ctx: Ctx) -> tuple[Period, int | None]:
    start, end = ctx.answers["period"]
    province = ctx.answers.get("province")
    return Period(dt.date.fromisoformat(start), dt.date.fromisoformat(end)), int(
        province
    ) if province else None


@report_flow.committer
async def report(ctx: Ctx) -> None:
    period, province = _answers(ctx)
    ctx.leave()
    await show_summary(ctx, period, province)


@export_flow.committer
async def offer_exports(ctx: Ctx) -> None:
    period, province = _answers(ctx)
    ctx.leave()
    note = "" if ctx.user.role == ADMIN else " " + _("Số điện thoại sẽ được che một phần.")
    text = _("Xuất dữ liệu {period} – {where}. Chọn định dạng:").format(
        period=period.label, where=present.where(ctx.services, province)
    )
    options = [
        Option(_("Excel (mọi bảng)"), report_file(What.XLSX, period, province), ("excel",)),
        Option(_("CSV lô hàng"), report_file(What.LOTS, period, province)),
        Option(_("CSV đơn mua"), report_file(What.ORDERS, period, province)),
        Option(_("CSV ghép đơn"), report_file(What.MATCHES, period, province)),
        Option(_("CSV lấy hàng"), report_file(What.PICKUPS, period, province)),
        Option(_("CSV giá thực tế"), report_file(What.REALIZED, period, province), ("gia thuc te",)),
        Option(_("CSV báo ép giá"), report_file(What.GOUGING, period, province), ("bao ep gia",)),
    ]
    ctx.say(text + note, options, columns=2)


# --- results -------------------------------------------------------------------------------------------


def _another() -> Option:
    return Option(_("Chọn kỳ khác"), RunCommand("baocao"), ("ky khac",))


def _scope(period: Period, province: int | None) -> dict[str, object]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat(), "province": province}


async def show_summary(ctx: Ctx, period: Period, province: int | None) -> None:
    """The summary text, with buttons for the chart and the exports."""
    services = ctx.services
    data = await service.load(ctx.uow, period, ctx.settings.tz, province)
    await audit_log.viewed(ctx.uow, ctx.user, "report_view", _scope(period, province))
    summary = service.summarize(data, ctx.settings.gouging_margin)
    text = present.summary_text(summary, services.places, services.catalog)
    if summary.empty:
        ctx.say(text, [_another()])
        return
    options = [
        Option(_("📈 Biểu đồ"), report_file(What.CHART, period, province), ("bieu do",)),
        Option(_("Xuất Excel"), report_file(What.XLSX, period, province), ("excel",)),
        _another(),
    ]
    ctx.say(text, options, columns=2)


async def on_report_file(ctx: Ctx, act: ReportFile) -> None:
    """The chart or an export for the period and province a button carries."""
    try:
        period = service.check_period(
            Period(
                dt.datetime.strptime(str(act.start), "%Y%m%d").date(),
                dt.datetime.strptime(str(act.end), "%Y%m%d").date(),
            )
        )
    except (ValueError, PeriodError):
        ctx.say(_("Lựa chọn này đã cũ. Gõ /baocao để làm báo cáo mới."))
        return
    province = act.province or None
    if act.what is What.CHART:
        await send_chart(ctx, period, province)
    else:
        await send_export(ctx, period, province, None if act.what is What.XLSX else act.what.value)


async def send_chart(ctx: Ctx, period: Period, province: int | None) -> None:
    data = await service.load(ctx.uow, period, ctx.settings.tz, province)
    if not data.lot_groups and not data.orders:
        ctx.say(_("Không có dữ liệu trong kỳ này, nên chưa vẽ được biểu đồ."))
        return
    await audit_log.viewed(ctx.uow, ctx.user, "report_chart", _scope(period, province))
    labels = present.chart_labels(ctx.services, period, province)
    # Drawing takes a fraction of a second of CPU: keep it off the event loop.
    png = await asyncio.to_thread(charts.render, service.chart_data(data), labels)
    name = f"baocao_{period.start:%Y%m%d}_{period.end:%Y%m%d}.png"
    ctx.say(
        labels.title,
        [Option(_("Xuất Excel"), report_file(What.XLSX, period, province), ("excel",)), _another()],
        columns=2,
        attachment=Attachment(name, png, is_photo=True),
    )


async def send_export(ctx: Ctx, period: Period, province: int | None, table: str | None) -> None:
    services = ctx.services
    with_phones = ctx.user.role == ADMIN
    done = await export.build(
        ctx.uow,
        period,
        ctx.settings.tz,
        province,
        table=table,
        with_phones=with_phones,
        places=services.places,
        catalog=services.catalog,
        actor_id=ctx.user.id,
    )
    if done is None:
        ctx.say(_("Không có dữ liệu để xuất trong kỳ {period}.").format(period=period.label))
        return
    caption = _("Dữ liệu {period} – {where}: {rows} dòng.").format(
        period=period.label, where=present.where(services, province), rows=fmt.number(done.rows)
    )
    if not with_phones:
        caption += " " + _("Số điện thoại đã được che.")
    ctx.say(caption, attachment=Attachment(done.filename, done.content))


# --- the audit log -------------------------------------------------------------------------------------

AUDIT_WORDS = {
    "kiem tra": AuditTool.VERIFY,
    "xuat": AuditTool.XLSX,
    "excel": AuditTool.XLSX,
    "xlsx": AuditTool.XLSX,
    "csv": AuditTool.CSV,
}


def _audit_tools() -> list[Option]:
    return [
        Option(_("🔍 Kiểm tra"), AuditUse(AuditTool.VERIFY), ("kiem tra",)),
        Option(_("📥 Excel"), AuditUse(AuditTool.XLSX), ("excel", "xlsx")),
        Option(_("📥 CSV"), AuditUse(AuditTool.CSV), ("csv",)),
    ]


async def cmd_report(ctx: Ctx, _args: str) -> None:
    await report_flow.start(ctx)


async def cmd_export(ctx: Ctx, _args: str) -> None:
    await export_flow.start(ctx)


async def cmd_audit(ctx: Ctx, args: str) -> None:
    """/nhatky: recent entries; "/nhatky kiểm tra" checks the chain, "/nhatky xuất|csv" exports it."""
    tool = AUDIT_WORDS.get(fold(args))
    if tool is not None:
        await use_audit(ctx, tool)
    else:
        await show_audit(ctx, 0)


async def on_audit_use(ctx: Ctx, act: AuditUse) -> None:
    await use_audit(ctx, act.tool)


async def use_audit(ctx: Ctx, tool: AuditTool) -> None:
    """Check the chain, or send the whole log as a file."""
    if tool is AuditTool.VERIFY:
        check = await audit_file.verify(ctx.uow, ctx.user.id)
        ctx.say(present.problem_text(check), _audit_tools()[1:], columns=2)
        return
    done = await audit_file.export(ctx.uow, ctx.settings.tz, tool.value, ctx.user.id)
    caption = _("Nhật ký thao tác: {rows} mục.").format(rows=fmt.number(done.rows))
    ctx.say(caption, attachment=Attachment(done.filename, done.content))


async def on_audit_page(ctx: Ctx, act: AuditPage) -> None:
    await show_audit(ctx, act.page)


async def show_audit(ctx: Ctx, page: int) -> None:
    """One page of the audit log, newest first."""
    found = await audit_log.log_page(ctx.uow, page, AUDIT_PAGE)
    if not found.entries:
        ctx.say(_("Nhật ký chưa có mục nào.") if page == 0 else _("Không còn mục nào."))
        return
    nav = []
    if page > 0:
        nav.append(Option(_("« Trước"), AuditPage(page - 1), ("truoc",)))
    if found.more:
        nav.append(Option(_("Sau »"), AuditPage(page + 1), ("sau", "tiep")))
    text = present.audit_page_text(page, found.entries, found.names, ctx.settings.tz)
    ctx.say(text, [*nav, *_audit_tools()], columns=2)


def register(router: Router) -> None:
    router.flow(report_flow)
    router.flow(export_flow)
    router.command(
        Command(
            "baocao",
            cmd_report,
            lazy_gettext("Báo cáo"),
            roles=STAFF,
            staff=True,
            description=lazy_gettext("báo cáo sản lượng, ghép đơn, giá"),
        )
    )
    router.command(
        Command(
            "xuat",
            cmd_export,
            lazy_gettext("Xuất dữ liệu"),
            roles=STAFF,
            staff=True,
            description=lazy_gettext("xuất lô hàng, đơn mua, ghép đơn, giá thực tế ra Excel/CSV"),
        )
    )
    router.command(
        Command(
            "nhatky",
            cmd_audit,
            lazy_gettext("Nhật ký"),
            roles=ADMINS,
            staff=True,
            description=lazy_gettext("xem, kiểm tra, xuất nhật ký thao tác quản trị"),
        )
    )
    router.on(ReportFile, on_report_file, roles=STAFF, audit_as="report")
    router.on(AuditPage, on_audit_page, roles=ADMINS, audit_as="audit_log")
    router.on(AuditUse, on_audit_use, roles=ADMINS, audit_as="audit_log")
