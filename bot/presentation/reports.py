"""Reports as staff read them: periods, the summary, the chart's words, the audit log.

The figures come from :mod:`bot.services.reports` and :mod:`bot.services.audit`; the files
(XLSX, CSV, PNG) are written by :mod:`bot.reports`. Everything here is text in the reader's locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.catalog import ProductCatalog
from bot.i18n import _
from bot.places import Gazetteer
from bot.reports import charts
from bot.services.reports import MAX_PERIOD_DAYS, Period, Summary
from storage import dto

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from bot.container import Services


# --- periods -----------------------------------------------------------------------------------------


def preset_label(key: str) -> str:
    labels = {"today": _("Hôm nay"), "7d": _("7 ngày"), "30d": _("30 ngày"), "season": _("Mùa này")}
    return labels[key]


def period_problem_text(code: str) -> str:
    """The answer to a period that cannot be used."""
    if code == "reversed":
        return _("Ngày kết thúc phải sau ngày bắt đầu. Ví dụ: 1/9-30/9.")
    if code == "too_long":
        return _("Kỳ báo cáo dài tối đa {days} ngày.").format(days=MAX_PERIOD_DAYS)
    return _("Không đọc được kỳ báo cáo. Gõ theo dạng 1/9-30/9 hoặc chọn một mục.")


def where(services: Services, province: int | None) -> str:
    """ "Tỉnh Lạng Sơn" or "Toàn quốc"."""
    place = services.places.province(province) if province else None
    return place.label if place else _("Toàn quốc")


# --- the summary ------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{fmt.number(round(x * 100, 1))}%"


def summary_text(s: Summary, places: Gazetteer, catalog: ProductCatalog, max_lines: int = 8) -> str:
    """The summary as a short message (phones: a few lines per section)."""
    place = places.province(s.province_code) if s.province_code else None
    where = place.label if place else _("Toàn quốc")
    head = _("📊 Báo cáo {period} – {where}").format(period=s.period.label, where=where)
    if s.empty:
        return head + "\n" + _("Không có dữ liệu trong kỳ này (chưa có lô hàng hay đơn mua nào).")
    t = s.total
    lines = [
        head,
        _("Báo thu hoạch: {kg} ({lots} lô)").format(kg=fmt.kg(t.reported_kg), lots=fmt.number(t.lots)),
        _("Đã ghép: {kg} · đã lấy hàng: {picked} · chờ xác nhận: {proposed} · còn mở: {open}").format(
            kg=fmt.kg(t.matched_kg),
            picked=fmt.kg(t.picked_up_kg),
            proposed=fmt.kg(t.proposed_kg),
            open=fmt.kg(t.open_kg),
        ),
        _("Đã thanh toán: {amount} cho {kg} · không đến lấy hàng: {no_shows} lần ({no_show_kg})").format(
            amount=fmt.money(t.paid_vnd),
            kg=fmt.kg(t.paid_kg),
            no_shows=fmt.number(s.no_shows),
            no_show_kg=fmt.kg(t.no_show_kg),
        ),
        _(
            "Tranh chấp cân: {opened} ({open} đang mở, {resolved} đã giải quyết) · báo ép giá: {reports}"
        ).format(
            opened=fmt.number(s.disputes.opened),
            open=fmt.number(s.disputes.open),
            resolved=fmt.number(s.disputes.resolved),
            reports=fmt.number(s.gouging_reports),
        ),
        _("Tỷ lệ ghép: {rate} · thời gian đến khi ghép (trung vị): {hours}").format(
            rate=_pct(t.fill_rate),
            hours=_("{h} giờ").format(h=fmt.number(s.median_hours_to_match))
            if s.median_hours_to_match is not None
            else "—",
        ),
        _("Đơn mua: {n} đơn, {kg}, còn mở {open}").format(
            n=fmt.number(s.orders), kg=fmt.kg(s.ordered_kg), open=fmt.kg(s.open_order_kg)
        ),
        _("Hoạt động: {farmers} nông dân, {reps} đại diện HTX, {traders} thương lái").format(
            farmers=fmt.number(s.farmers), reps=fmt.number(s.coop_reps), traders=fmt.number(s.traders)
        ),
        _("Đơn bị giữ lại vì giá dưới sàn (tham chiếu −{margin}%): {n} đơn, {kg}").format(
            margin=fmt.number(round(s.gouging_margin * 100)),
            n=fmt.number(s.held_back_orders),
            kg=fmt.kg(s.held_back_kg),
        ),
    ]

    def name(code: str) -> str:
        p = catalog.get(code)
        return p.name_vi if p else code

    if s.by_product:
        lines.append(_("Theo sản phẩm:"))
        for code, v in sorted(s.by_product.items(), key=lambda kv: -kv[1].reported_kg)[:max_lines]:
            lines.append(
                "• "
                + _("{name}: báo {reported}, ghép {matched}, còn {open}").format(
                    name=name(code),
                    reported=fmt.kg(v.reported_kg),
                    matched=fmt.kg(v.matched_kg),
                    open=fmt.kg(v.open_kg),
                )
            )
    if s.by_point:
        lines.append(_("Theo điểm tập kết:"))
        for pid, v in sorted(s.by_point.items(), key=lambda kv: -kv[1].reported_kg)[:max_lines]:
            label = s.point_names.get(pid, "") if pid is not None else _("(chưa chọn điểm)")
            lines.append(
                "• "
                + _("{name}: báo {reported}, ghép {matched}, đã lấy {picked}").format(
                    name=label,
                    reported=fmt.kg(v.reported_kg),
                    matched=fmt.kg(v.matched_kg),
                    picked=fmt.kg(v.picked_up_kg),
                )
            )
    if s.prices:
        lines.append(_("Giá ghép trung bình so với giá tham chiếu:"))
        for p in s.prices[:max_lines]:
            price = fmt.price_per_kg(p.avg_price) if p.avg_price is not None else "—"
            if p.avg_reference is None:
                ref = _("chưa có giá tham chiếu")
            else:
                ref = _("tham chiếu {ref} ({diff})").format(
                    ref=fmt.price_per_kg(p.avg_reference),
                    diff=("+" if (p.diff_pct or 0) >= 0 else "") + _pct(p.diff_pct),
                )
            lines.append(f"• {name(p.product_code)}: {price}, {ref}")
    if s.realized:
        lines.append(_("Giá thực tế (đã cân, đã trả) so với giá tham chiếu:"))
        for r in s.realized[:max_lines]:
            province = places.province(r.province_code) if r.province_code else None
            if r.avg_reference is None:
                ref = _("chưa có giá tham chiếu")
            else:
                ref = _("tham chiếu {ref} ({diff})").format(
                    ref=fmt.price_per_kg(r.avg_reference),
                    diff=("+" if (r.diff_pct or 0) >= 0 else "") + _pct(r.diff_pct),
                )
            lines.append(
                "• "
                + _("{name} – {province}: {price} trên {kg}, {ref}").format(
                    name=name(r.product_code),
                    province=province.label if province else "—",
                    price=fmt.price_per_kg(r.avg_price),
                    kg=fmt.kg(r.kg),
                    ref=ref,
                )
            )
    return "\n".join(lines)


def chart_labels(services: Services, period: Period, province: int | None) -> charts.ChartLabels:
    """The chart's texts in the reader's language."""
    return charts.ChartLabels(
        title=_("Báo cáo {period} – {where}").format(period=period.label, where=where(services, province)),
        volume_title=_("Khối lượng theo ngày báo thu hoạch"),
        price_title=_("Giá ghép trung bình, giá tham chiếu và giá thực tế"),
        kg_axis=_("tấn"),
        price_axis=_("nghìn ₫/kg"),
        statuses={
            "paid": _("Đã thanh toán"),
            "picked_up": _("Đã lấy hàng"),
            "matched": _("Đã ghép"),
            "proposed": _("Chờ xác nhận"),
            "open": _("Còn mở"),
            "unsold": _("Hết hạn, chưa bán"),
        },
        reference=_("tham chiếu"),
        products={p.code: p.name_vi for p in services.catalog},
        no_prices=_("Chưa có giao dịch nào được ghép"),
        realized=_("thực tế (đã trả)"),
    )


# --- the audit log -------------------------------------------------------------------------------------


def action_label(action: str) -> str:
    """A privileged action as people read it (unknown ones, such as command names, are shown as stored)."""
    labels = {
        "grant_role": _("cấp quyền"),
        "ban_user": _("chặn"),
        "unban_user": _("bỏ chặn"),
        "bootstrap_admin": _("quản trị từ cấu hình"),
        "announcement_send": _("gửi thông báo"),
        "announcement_schedule": _("hẹn giờ thông báo"),
        "announcement_cancel": _("dừng thông báo"),
        "announcement_done": _("thông báo gửi xong"),
        "export_data": _("xuất dữ liệu"),
        "audit_export": _("xuất nhật ký"),
        "audit_verify": _("kiểm tra nhật ký"),
        "point_add": _("thêm điểm tập kết"),
        "point_edit": _("sửa điểm tập kết"),
        "point_close": _("đóng điểm tập kết"),
        "point_approve": _("duyệt điểm tập kết"),
        "point_reject": _("từ chối điểm tập kết"),
        "grant_role_pending": _("cấp quyền chờ người đó nhắn"),
        "grant_role_applied": _("quyền chờ sẵn được áp dụng"),
        "set_price": _("đặt giá tham chiếu"),
        "notice_change": _("sửa thông báo chống ép giá"),
        "dispute_resolved": _("giải quyết tranh chấp cân"),
        "gouging_report": _("báo ép giá"),
        "auto_block": _("tự chặn vì gửi dồn dập"),
        "account_erased": _("xóa tài khoản"),
        "account_linked": _("liên kết tài khoản"),
        "account_unlinked": _("bỏ liên kết tài khoản"),
        "trader_cancelled_match": _("thương lái hủy đơn đã chốt"),
        "amendment_proposed": _("đề nghị đổi đơn đã chốt"),
        "amendment_accepted": _("đồng ý đổi đơn"),
        "amendment_declined": _("không đồng ý đổi đơn"),
        "report_view": _("xem báo cáo"),
        "report_chart": _("xem biểu đồ báo cáo"),
    }
    return labels.get(action, action)


def problem_text(check: dto.AuditCheck) -> str:
    """What the chain check found, in one or two lines."""
    if check.broken is None:
        if not check.checked:
            return _("Nhật ký chưa có mục nào.")
        return _("✅ Nhật ký nguyên vẹn: {count} mục, mã cuối {hash}.").format(
            count=check.checked, hash=(check.head_hash or "")[:16]
        )
    why = {
        "hash": _("nội dung mục này đã bị sửa"),
        "link": _("mục ngay trước nó đã bị sửa, xóa hoặc thay"),
        "sequence": _("các mục trước nó đã bị xóa"),
    }.get(check.problem or "", check.problem or "")
    return _(
        "⛔ Nhật ký bị can thiệp từ mục số {seq} (mã {id}): {why}. {count} mục trước đó vẫn nguyên vẹn."
    ).format(seq=check.broken.seq, id=check.broken.id, why=why, count=check.checked)


def audit_page_text(page: int, entries: Sequence[dto.AuditEntry], names: dict[int, str], tz: ZoneInfo) -> str:
    """One page of the audit log, newest first, one line an entry."""
    lines = [_("Nhật ký thao tác (trang {page}):").format(page=page + 1)]
    for e in entries:
        who = names.get(e.actor_id, _("hệ thống")) if e.actor_id is not None else _("hệ thống")
        mark = "" if e.allowed else " ⛔ " + _("bị từ chối")
        target = f" {e.target}" if e.target else ""
        lines.append(
            f"{fmt.datetime(e.created_at.astimezone(tz))} · {who} · {action_label(e.action)}{target}{mark}"
        )
    lines.append(_("Chặn người spam: /chan <người dùng> · bỏ chặn: /bochan <người dùng>"))
    return "\n".join(lines)
