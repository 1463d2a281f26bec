"""Reports for officials and admins: /baocao (summary and chart), /xuat (CSV/XLSX), /nhatky (audit log:
read, check, export; never edited).

The period and province are asked once; the buttons under the answer carry them in their
payload (``rpt:what:YYYYMMDD:YYYYMMDD:province``) so they keep working after the flow ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from bot import formatting as fmt
from bot.dialog import DONE, STAY, Command, Ctx, Flow, Router
from bot.events import Attachment, Choice
from bot.handlers.paging import nav_buttons
from bot.handlers.registration import POPULAR_PROVINCES
from bot.handlers.roles import ADMIN, STAFF, require_role
from bot.i18n import _, lazy_gettext
from bot.reports import audit as audit_report
from bot.reports import charts, export
from bot.services import reports as service
from bot.services.reports import Period, PeriodError
from bot.textnorm import fold

ORDER = 750
ADMINS = frozenset({ADMIN})
AUDIT_PAGE = 10

flow = Flow("report", first="period")


# --- entry points --------------------------------------------------------------------------------


async def cmd_report(ctx: Ctx, _args: str) -> None:
    if not await require_role(ctx, STAFF, "report"):
        return
    await flow.start(ctx, {"mode": "summary"})


async def cmd_export(ctx: Ctx, _args: str) -> None:
    if not await require_role(ctx, STAFF, "export"):
        return
    await flow.start(ctx, {"mode": "export"})


# --- period and province ---------------------------------------------------------------------------


@flow.ask("period")
async def ask_period(ctx: Ctx) -> None:
    ctx.say(
        _("Báo cáo kỳ nào? Chọn hoặc gõ khoảng ngày, ví dụ 1/9-30/9."),
        [Choice(service.preset_label(k), f"per:{k}") for k in service.PRESETS],
        columns=2,
    )


@flow.answer("period")
async def on_period(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    try:
        if payload.startswith("per:") and payload[4:] in service.PRESETS:
            period = service.preset(payload[4:], ctx.today)
        elif ctx.text:
            period = service.parse_period(ctx.text, ctx.today)
        else:
            raise PeriodError("unreadable")
    except PeriodError as exc:
        ctx.say(service.period_problem_text(exc.code))
        return STAY
    ctx.remember(start=period.start.isoformat(), end=period.end.isoformat())
    return "province"


@flow.ask("province")
async def ask_province(ctx: Ctx) -> None:
    places = ctx.services.places
    own = ctx.user.province_code
    codes = [own] if own else []
    if ctx.user.role == ADMIN:
        codes += [c for c in POPULAR_PROVINCES if c != own][:4]
    choices = [Choice(places.provinces[c].name, f"prov:{c}") for c in codes if c in places.provinces]
    choices.append(Choice(_("Toàn quốc"), "prov:all"))
    ctx.say(_("Tỉnh nào? Chọn hoặc gõ tên tỉnh."), choices, columns=2)


@flow.answer("province")
async def on_province(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    places = ctx.services.places
    code: int | None
    if payload == "prov:all":
        code = 0
    elif payload.startswith("prov:"):
        code = int(payload[5:])
    elif ctx.text and (found := places.find_province(ctx.text)):
        code = found.province_code
    else:
        ctx.say(_("Không tìm thấy tỉnh «{text}». Vui lòng chọn hoặc gõ lại.").format(text=ctx.text[:40]))
        return STAY
    period = Period(dt.date.fromisoformat(ctx.data["start"]), dt.date.fromisoformat(ctx.data["end"]))
    mode = ctx.data.get("mode", "summary")
    ctx.leave()
    if mode == "export":
        _offer_exports(ctx, period, code)
    else:
        await show_summary(ctx, period, code)
    return DONE


def _payload(what: str, period: Period, province: int) -> str:
    return f"rpt:{what}:{period.start:%Y%m%d}:{period.end:%Y%m%d}:{province}"


def _where(ctx: Ctx, province: int | None) -> str:
    place = ctx.services.places.province(province) if province else None
    return place.label if place else _("Toàn quốc")


def _offer_exports(ctx: Ctx, period: Period, province: int) -> None:
    note = "" if ctx.user.role == ADMIN else " " + _("Số điện thoại sẽ được che một phần.")
    ctx.say(
        _("Xuất dữ liệu {period} – {where}. Chọn định dạng:").format(
            period=period.label, where=_where(ctx, province)
        )
        + note,
        [
            Choice(_("Excel (mọi bảng)"), _payload("xlsx", period, province)),
            Choice(_("CSV lô hàng"), _payload("csv-lots", period, province)),
            Choice(_("CSV đơn mua"), _payload("csv-orders", period, province)),
            Choice(_("CSV ghép đơn"), _payload("csv-matches", period, province)),
            Choice(_("CSV lấy hàng"), _payload("csv-pickups", period, province)),
        ],
        columns=2,
    )


# --- results -------------------------------------------------------------------------------------------


async def show_summary(ctx: Ctx, period: Period, province: int) -> None:
    """The summary text, with buttons for the chart and the exports."""
    services = ctx.services
    data = await service.load(ctx.uow, period, ctx.settings.tz, province or None)
    summary = service.summarize(data, ctx.settings.gouging_margin)
    text = service.summary_text(summary, services.places, services.catalog)
    if summary.empty:
        ctx.say(text, [Choice(_("Chọn kỳ khác"), "cmd:baocao")])
        return
    ctx.say(
        text,
        [
            Choice(_("📈 Biểu đồ"), _payload("chart", period, province)),
            Choice(_("Xuất Excel"), _payload("xlsx", period, province)),
            Choice(_("Chọn kỳ khác"), "cmd:baocao"),
        ],
        columns=2,
    )


async def on_report_button(ctx: Ctx, rest: str) -> None:
    """``rpt:`` buttons: the chart or an export for the period and province they carry."""
    if not await require_role(ctx, STAFF, "report"):
        return
    try:
        what, start, end, province = rest.split(":")
        period = service.check_period(
            Period(dt.datetime.strptime(start, "%Y%m%d").date(), dt.datetime.strptime(end, "%Y%m%d").date())
        )
        code = int(province)
    except (ValueError, PeriodError):
        ctx.say(_("Nút này đã cũ. Gõ /baocao để làm báo cáo mới."))
        return
    if what == "chart":
        await send_chart(ctx, period, code)
    elif what == "xlsx" or (what.startswith("csv-") and what[4:] in export.TABLES):
        await send_export(ctx, period, code, what)
    else:
        ctx.say(_("Nút này đã cũ. Gõ /baocao để làm báo cáo mới."))


def chart_labels(ctx: Ctx, period: Period, province: int | None) -> charts.ChartLabels:
    """The chart's texts in the reader's language."""
    catalog = ctx.services.catalog
    return charts.ChartLabels(
        title=_("Báo cáo {period} – {where}").format(period=period.label, where=_where(ctx, province)),
        volume_title=_("Khối lượng theo ngày báo thu hoạch"),
        price_title=_("Giá ghép trung bình và giá tham chiếu"),
        kg_axis=_("tấn"),
        price_axis=_("nghìn ₫/kg"),
        statuses={
            "picked_up": _("Đã lấy hàng"),
            "matched": _("Đã ghép"),
            "proposed": _("Chờ xác nhận"),
            "open": _("Còn mở"),
            "unsold": _("Hết hạn, chưa bán"),
        },
        reference=_("tham chiếu"),
        products={p.code: p.name_vi for p in catalog},
        no_prices=_("Chưa có giao dịch nào được ghép"),
    )


async def send_chart(ctx: Ctx, period: Period, province: int) -> None:
    data = await service.load(ctx.uow, period, ctx.settings.tz, province or None)
    if not data.lot_groups and not data.orders:
        ctx.say(_("Không có dữ liệu trong kỳ này, nên chưa vẽ được biểu đồ."))
        return
    labels = chart_labels(ctx, period, province)
    # Drawing takes a fraction of a second of CPU: keep it off the event loop.
    png = await asyncio.to_thread(charts.render, service.chart_data(data), labels)
    name = f"baocao_{period.start:%Y%m%d}_{period.end:%Y%m%d}.png"
    ctx.say(
        labels.title,
        [
            Choice(_("Xuất Excel"), _payload("xlsx", period, province)),
            Choice(_("Chọn kỳ khác"), "cmd:baocao"),
        ],
        columns=2,
        attachment=Attachment(name, png, is_photo=True),
    )


async def send_export(ctx: Ctx, period: Period, province: int, what: str) -> None:
    services = ctx.services
    with_phones = ctx.user.role == ADMIN
    tables = export.TABLES if what == "xlsx" else (what[4:],)
    data = await export.collect(
        ctx.uow,
        period,
        ctx.settings.tz,
        province or None,
        with_phones=with_phones,
        places=services.places,
        catalog=services.catalog,
        tables=tables,
    )
    if data.empty:
        ctx.say(_("Không có dữ liệu để xuất trong kỳ {period}.").format(period=period.label))
        return
    stem = f"nongsan_{period.start:%Y%m%d}_{period.end:%Y%m%d}"
    if what == "xlsx":
        content = await asyncio.to_thread(export.to_xlsx, data)
        name = f"{stem}.xlsx"
    else:
        content = await asyncio.to_thread(export.to_csv, data, tables[0])
        name = f"{stem}_{tables[0]}.csv"
    counts = data.counts()
    await ctx.uow.audit.add(
        ctx.user.id,
        "export_data",
        name,
        details={"tables": counts, "with_phones": with_phones, "province": province or None},
    )
    caption = _("Dữ liệu {period} – {where}: {rows} dòng.").format(
        period=period.label, where=_where(ctx, province), rows=fmt.number(sum(counts.values()))
    )
    if not with_phones:
        caption += " " + _("Số điện thoại đã được che.")
    ctx.say(caption, attachment=Attachment(name, content))


# --- the audit log -------------------------------------------------------------------------------------


AUDIT_WORDS = {"kiem tra": "verify", "xuat": "xlsx", "excel": "xlsx", "xlsx": "xlsx", "csv": "csv"}


async def cmd_audit(ctx: Ctx, args: str) -> None:
    """/nhatky: recent entries; "/nhatky kiểm tra" checks the chain, "/nhatky xuất|csv" exports it."""
    what = AUDIT_WORDS.get(fold(args))
    if what is not None:
        await on_audit_button(ctx, what)
    else:
        await show_audit(ctx, 0)


async def on_audit_button(ctx: Ctx, what: str) -> None:
    """``audit:verify`` checks the chain; ``audit:xlsx`` / ``audit:csv`` send the whole log."""
    if not await require_role(ctx, ADMINS, "audit_log"):
        return
    if what == "verify":
        check = await audit_report.verify(ctx.uow, ctx.user.id)
        ctx.say(audit_report.problem_text(check), _audit_tools()[1:], columns=2)
    elif what in audit_report.FORMATS:
        done = await audit_report.export(ctx.uow, ctx.settings.tz, what, ctx.user.id)
        caption = _("Nhật ký thao tác: {rows} mục.").format(rows=fmt.number(done.rows))
        ctx.say(caption, attachment=Attachment(done.filename, done.content))
    else:
        ctx.say(_("Nút này đã cũ. Gõ /nhatky để xem lại."))


async def on_audit_page(ctx: Ctx, rest: str) -> None:
    await show_audit(ctx, int(rest) if rest.isdigit() else 0)


async def show_audit(ctx: Ctx, page: int) -> None:
    """One page of the audit log, newest first."""
    if not await require_role(ctx, ADMINS, "audit_log"):
        return
    entries = await ctx.uow.audit.recent(limit=AUDIT_PAGE + 1, offset=page * AUDIT_PAGE)
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    if not entries:
        ctx.say(_("Nhật ký chưa có mục nào.") if page == 0 else _("Không còn mục nào."))
        return
    names: dict[int, str] = {}
    for actor in {e.actor_id for e in entries if e.actor_id is not None}:
        user = await ctx.uow.users.get(actor)
        names[actor] = (user.name or user.key) if user else f"#{actor}"
    tz = ctx.settings.tz
    lines = [_("Nhật ký thao tác (trang {page}):").format(page=page + 1)]
    for e in entries:
        who = names.get(e.actor_id, _("hệ thống")) if e.actor_id is not None else _("hệ thống")
        mark = "" if e.allowed else " ⛔ " + _("bị từ chối")
        target = f" {e.target}" if e.target else ""
        lines.append(
            f"{fmt.datetime(e.created_at.astimezone(tz))} · {who} · "
            f"{audit_report.action_label(e.action)}{target}{mark}"
        )
    lines.append(_("Chặn người spam: /chan <người dùng> · bỏ chặn: /bochan <người dùng>"))
    pages = page + 2 if more else page + 1
    ctx.say("\n".join(lines), [*nav_buttons(page, pages, "auditpage"), *_audit_tools()], columns=2)


def _audit_tools() -> list[Choice]:
    return [
        Choice(_("🔍 Kiểm tra"), "audit:verify"),
        Choice(_("📥 Excel"), "audit:xlsx"),
        Choice(_("📥 CSV"), "audit:csv"),
    ]


def register(router: Router) -> None:
    router.flow(flow)
    router.command(
        Command(
            "baocao",
            cmd_report,
            lazy_gettext("Báo cáo"),
            roles=STAFF,
            description=lazy_gettext("báo cáo sản lượng, ghép đơn, giá"),
        )
    )
    router.command(
        Command(
            "xuat",
            cmd_export,
            lazy_gettext("Xuất dữ liệu"),
            roles=STAFF,
            description=lazy_gettext("xuất lô hàng, đơn mua, ghép đơn ra Excel/CSV"),
        )
    )
    router.command(
        Command(
            "nhatky",
            cmd_audit,
            lazy_gettext("Nhật ký"),
            roles=ADMINS,
            description=lazy_gettext("xem, kiểm tra, xuất nhật ký thao tác quản trị"),
        )
    )
    router.action("rpt", on_report_button)
    router.action("auditpage", on_audit_page)
    router.action("audit", on_audit_button)
