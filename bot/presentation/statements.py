"""Statements people keep: the households' shares of a pooled lot's payment (text and XLSX),
and the report of a trader who pushed the price down, as the officials read it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.i18n import _
from bot.presentation.labels import product_name
from bot.reports.sheets import Sheet, xlsx_bytes
from storage import dto

if TYPE_CHECKING:
    from bot.container import Services
    from bot.services.deals import Parties
    from storage.uow import UnitOfWork

MONEY_FORMAT = "#,##0"


def statement_lines(payouts: Sequence[dto.Payout]) -> list[str]:
    """One line per household, then the totals (they add up to the payment)."""
    lines = [
        _("• {name}: {kg} – {gross}, phí {fee}, thực nhận {net}").format(
            name=p.household,
            kg=fmt.kg(p.kg),
            gross=fmt.money(p.gross_vnd),
            fee=fmt.money(p.fee_vnd),
            net=fmt.money(p.net_vnd),
        )
        for p in payouts
    ]
    lines.append(
        _("Tổng: {kg} – {gross}, phí HTX {fee}, các hộ nhận {net}").format(
            kg=fmt.kg(sum(p.kg for p in payouts)),
            gross=fmt.money(sum(p.gross_vnd for p in payouts)),
            fee=fmt.money(sum(p.fee_vnd for p in payouts)),
            net=fmt.money(sum(p.net_vnd for p in payouts)),
        )
    )
    return lines


def payouts_xlsx(deal: Parties, payouts: Sequence[dto.Payout]) -> bytes:
    """The coop rep's workbook of one payment's split (typed names stay inert text)."""
    headers = [
        _("Hộ"),
        _("Số điện thoại"),
        _("Khối lượng (kg)"),
        _("Thành tiền (₫)"),
        _("Phí HTX (₫)"),
        _("Thực nhận (₫)"),
    ]
    rows = [[p.household, p.phone or "", p.kg, p.gross_vnd, p.fee_vnd, p.net_vnd] for p in payouts]
    rows.append(
        [
            _("Tổng"),
            "",
            sum(p.kg for p in payouts),
            sum(p.gross_vnd for p in payouts),
            sum(p.fee_vnd for p in payouts),
            sum(p.net_vnd for p in payouts),
        ]
    )
    title = _("Đơn {id}").format(id=deal.match.id)
    return xlsx_bytes(
        [
            Sheet(
                title[:31],
                headers,
                rows,
                [None, None, MONEY_FORMAT, MONEY_FORMAT, MONEY_FORMAT, MONEY_FORMAT],
            )
        ]
    )


async def gouging_report_text(uow: UnitOfWork, services: Services, report: dto.GougingReport) -> str:
    """What an official reads about a report of price gouging."""
    reporter = await uow.users.get(report.reporter_id)
    lines = [
        _("🚩 Báo ép giá #{id} từ {name} ({phone}):").format(
            id=report.id, name=reporter.name if reporter else "—", phone=reporter.phone if reporter else "—"
        ),
        _("Thương lái: {trader}").format(trader=report.trader_name or "—"),
    ]
    if report.product_code:
        lines.append(_("Sản phẩm: {product}").format(product=product_name(services, report.product_code)))
    if report.price:
        lines.append(_("Giá bị ép: {price}").format(price=fmt.price_per_kg(report.price)))
    lines.append(_("Nội dung: {note}").format(note=report.note))
    return "\n".join(lines)
