"""Data exports: lots, orders, matches, pickups, realized prices and price-gouging reports as CSV or
XLSX, with Vietnamese headers and every status, role and grade in words (never a code).

CSV is for machines and for Excel alike: UTF-8 with a BOM (so Excel reads the diacritics),
``;`` as separator (Excel in Vietnamese locales expects it), ISO dates (2026-09-15, and
"2026-09-15 06:30" local time) and plain numbers (1500, no grouping). XLSX holds real
number and date cells, shown as 1.500 and 15/09/2026 by the spreadsheet, one sheet per table.
Names people typed (points, owners) are written as inert text by :mod:`bot.reports.sheets`.
Phones appear only when ``with_phones`` (admins); everyone else gets masked numbers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.catalog import ProductCatalog
from bot.i18n import _, lazy_gettext
from bot.places import Gazetteer
from bot.presentation.labels import cert_label, deal_status_label, grade_label, role_label, status_label
from bot.reports import sheets
from bot.services.reports import Period, PriceBook, buys_in, realized_lines
from bot.services.users import mask_phone
from storage.uow import UnitOfWork

TABLES = ("lots", "orders", "matches", "pickups", "realized", "gouging")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: object  # a lazy string: translated when the file is written, in the reader's locale
    kind: str = "text"  # text | int | decimal | date | datetime | phone


COLUMNS: dict[str, tuple[Column, ...]] = {
    "lots": (
        Column("id", lazy_gettext("Mã lô"), "int"),
        Column("created_at", lazy_gettext("Ngày đăng"), "datetime"),
        Column("owner", lazy_gettext("Người báo")),
        Column("phone", lazy_gettext("Điện thoại"), "phone"),
        Column("role", lazy_gettext("Vai trò")),
        Column("product_code", lazy_gettext("Mã sản phẩm")),
        Column("product", lazy_gettext("Sản phẩm")),
        Column("quantity_kg", lazy_gettext("Khối lượng (kg)"), "int"),
        Column("remaining_kg", lazy_gettext("Còn lại (kg)"), "int"),
        Column("grade", lazy_gettext("Loại")),
        Column("certifications", lazy_gettext("Chứng nhận")),
        Column("point", lazy_gettext("Điểm tập kết")),
        Column("province", lazy_gettext("Tỉnh")),
        Column("ready_from", lazy_gettext("Sẵn sàng từ"), "date"),
        Column("ready_to", lazy_gettext("Sẵn sàng đến"), "date"),
        Column("asking_price", lazy_gettext("Giá mong muốn (₫/kg)"), "int"),
        Column("status", lazy_gettext("Trạng thái")),
    ),
    "orders": (
        Column("id", lazy_gettext("Mã đơn"), "int"),
        Column("created_at", lazy_gettext("Ngày đăng"), "datetime"),
        Column("trader", lazy_gettext("Thương lái")),
        Column("phone", lazy_gettext("Điện thoại"), "phone"),
        Column("trader_province", lazy_gettext("Tỉnh của thương lái")),
        Column("product_code", lazy_gettext("Mã sản phẩm")),
        Column("product", lazy_gettext("Sản phẩm")),
        Column("quantity_kg", lazy_gettext("Khối lượng (kg)"), "int"),
        Column("remaining_kg", lazy_gettext("Còn lại (kg)"), "int"),
        Column("price", lazy_gettext("Giá (₫/kg)"), "int"),
        Column("min_lot_kg", lazy_gettext("Lô tối thiểu (kg)"), "int"),
        Column("pickup_from", lazy_gettext("Lấy hàng từ"), "date"),
        Column("pickup_to", lazy_gettext("Lấy hàng đến"), "date"),
        Column("provinces", lazy_gettext("Tỉnh thu mua")),
        Column("status", lazy_gettext("Trạng thái")),
    ),
    "matches": (
        Column("id", lazy_gettext("Mã ghép"), "int"),
        Column("created_at", lazy_gettext("Ngày ghép"), "datetime"),
        Column("lot_id", lazy_gettext("Mã lô"), "int"),
        Column("order_id", lazy_gettext("Mã đơn"), "int"),
        Column("product_code", lazy_gettext("Mã sản phẩm")),
        Column("product", lazy_gettext("Sản phẩm")),
        Column("kg", lazy_gettext("Khối lượng (kg)"), "int"),
        Column("price", lazy_gettext("Giá (₫/kg)"), "int"),
        Column("value", lazy_gettext("Thành tiền (₫)"), "int"),
        Column("status", lazy_gettext("Trạng thái")),
        Column("weighed_kg", lazy_gettext("Đã cân (kg)"), "int"),
        Column("picked_up_at", lazy_gettext("Ngày lấy hàng"), "datetime"),
        Column("paid_vnd", lazy_gettext("Đã trả (₫)"), "int"),
        Column("paid_at", lazy_gettext("Ngày thanh toán"), "datetime"),
        Column("dispute", lazy_gettext("Tranh chấp cân")),
        Column("rep", lazy_gettext("Người bán")),
        Column("rep_phone", lazy_gettext("ĐT người bán"), "phone"),
        Column("trader", lazy_gettext("Thương lái")),
        Column("trader_phone", lazy_gettext("ĐT thương lái"), "phone"),
        Column("point", lazy_gettext("Điểm tập kết")),
        Column("province", lazy_gettext("Tỉnh")),
    ),
    "pickups": (
        Column("id", lazy_gettext("Mã ghép"), "int"),
        Column("point", lazy_gettext("Điểm tập kết")),
        Column("province", lazy_gettext("Tỉnh")),
        Column("slot_start", lazy_gettext("Bắt đầu lấy hàng"), "datetime"),
        Column("slot_end", lazy_gettext("Kết thúc"), "datetime"),
        Column("product", lazy_gettext("Sản phẩm")),
        Column("kg", lazy_gettext("Khối lượng (kg)"), "int"),
        Column("price", lazy_gettext("Giá (₫/kg)"), "int"),
        Column("status", lazy_gettext("Trạng thái")),
        Column("weighed_kg", lazy_gettext("Đã cân (kg)"), "int"),
        Column("paid_vnd", lazy_gettext("Đã trả (₫)"), "int"),
        Column("dispute", lazy_gettext("Tranh chấp cân")),
        Column("rep", lazy_gettext("Người bán")),
        Column("rep_phone", lazy_gettext("ĐT người bán"), "phone"),
        Column("trader", lazy_gettext("Thương lái")),
        Column("trader_phone", lazy_gettext("ĐT thương lái"), "phone"),
    ),
    "realized": (
        Column("product_code", lazy_gettext("Mã sản phẩm")),
        Column("product", lazy_gettext("Sản phẩm")),
        Column("province", lazy_gettext("Tỉnh")),
        Column("kg", lazy_gettext("Đã cân, đã trả (kg)"), "int"),
        Column("paid_vnd", lazy_gettext("Đã trả (₫)"), "int"),
        Column("price", lazy_gettext("Giá thực tế (₫/kg)"), "int"),
        Column("reference", lazy_gettext("Giá tham chiếu (₫/kg)"), "int"),
        Column("diff_pct", lazy_gettext("Chênh lệch so với tham chiếu (%)"), "decimal"),
    ),
    "gouging": (
        Column("id", lazy_gettext("Mã báo"), "int"),
        Column("created_at", lazy_gettext("Ngày báo"), "datetime"),
        Column("product", lazy_gettext("Sản phẩm")),
        Column("price", lazy_gettext("Giá bị ép (₫/kg)"), "int"),
        Column("province", lazy_gettext("Tỉnh")),
        Column("trader", lazy_gettext("Thương lái")),
        Column("match_id", lazy_gettext("Mã ghép"), "int"),
        Column("note", lazy_gettext("Nội dung")),
    ),
}


def sheet_name(table: str) -> str:
    names = {
        "lots": _("Lô hàng"),
        "orders": _("Đơn mua"),
        "matches": _("Ghép đơn"),
        "pickups": _("Lấy hàng"),
        "realized": _("Giá thực tế"),
        "gouging": _("Báo ép giá"),
    }
    return names[table]


def dispute_label(disputed_at: dt.datetime | None, resolved_at: dt.datetime | None) -> str:
    """ "đang mở", "đã giải quyết", or nothing when the weight was never disputed."""
    if disputed_at is None:
        return ""
    return _("đã giải quyết") if resolved_at is not None else _("đang mở")


@dataclass(frozen=True, slots=True)
class ExportData:
    """Rows per table, values already typed (int, date, local naive datetime, str)."""

    period: Period
    tables: dict[str, list[dict[str, Any]]]

    @property
    def empty(self) -> bool:
        return not any(self.tables.values())

    def counts(self) -> dict[str, int]:
        return {t: len(rows) for t, rows in self.tables.items()}


async def collect(
    uow: UnitOfWork,
    period: Period,
    tz: ZoneInfo,
    province_code: int | None,
    *,
    with_phones: bool,
    places: Gazetteer,
    catalog: ProductCatalog,
    tables: tuple[str, ...] = TABLES,
) -> ExportData:
    """Read the rows of ``tables`` for the period and province, names resolved, phones masked unless allowed."""
    scope = period.scope(tz, province_code)

    def phone(value: str | None) -> str:
        return (value or "") if with_phones else mask_phone(value)

    def province(code: int | None) -> str:
        p = places.province(code) if code is not None else None
        return p.label if p else ""

    def product(code: str | None) -> str:
        p = catalog.get(code) if code else None
        return p.name_vi if p else code or ""

    def local(moment: dt.datetime | None) -> dt.datetime | None:
        return moment.astimezone(tz).replace(tzinfo=None, microsecond=0) if moment else None

    out: dict[str, list[dict[str, Any]]] = {}
    if "lots" in tables:
        out["lots"] = [
            {
                **r,
                "created_at": local(r["created_at"]),
                "phone": phone(r["phone"]),
                "product": product(r["product_code"]),
                "role": role_label(r["role"]),
                "grade": grade_label(r["grade"]) if r["grade"] else "",
                "certifications": ", ".join(cert_label(c) for c in r["certifications"] or ()),
                "province": province(r["province_code"]),
                "status": status_label(r["status"]),
            }
            for r in await uow.reports.export_lots(scope)
        ]
    if "orders" in tables:
        rows = []
        for r in await uow.reports.export_orders(scope.start, scope.end):
            provinces = tuple(int(x) for x in r["provinces"] or ())
            if buys_in(provinces, r["trader_province"], province_code):
                rows.append(
                    {
                        **r,
                        "created_at": local(r["created_at"]),
                        "phone": phone(r["phone"]),
                        "product": product(r["product_code"]),
                        "trader_province": province(r["trader_province"]),
                        "provinces": ", ".join(province(c) for c in provinces),
                        "status": status_label(r["status"]),
                    }
                )
        out["orders"] = rows
    for table, fetch in (("matches", uow.reports.export_matches), ("pickups", uow.reports.export_pickups)):
        if table in tables:
            out[table] = [
                {
                    **r,
                    "created_at": local(r["created_at"]),
                    "slot_start": local(r["slot_start"])
                    or (local(r["updated_at"]) if table == "pickups" else None),
                    "slot_end": local(r["slot_end"]),
                    "product": product(r["product_code"]),
                    "value": r["kg"] * r["price"],
                    "status": deal_status_label(r["status"]),
                    "picked_up_at": local(r["picked_up_at"]),
                    "paid_at": local(r["paid_at"]),
                    "dispute": dispute_label(r["disputed_at"], r["resolved_at"]),
                    "rep_phone": phone(r["rep_phone"]),
                    "trader_phone": phone(r["trader_phone"]),
                    "province": province(r["province_code"]),
                }
                for r in await fetch(scope)
            ]
    if "realized" in tables:
        days = await uow.reports.match_days(scope)
        book = PriceBook(await uow.reports.reference_prices(sorted({d.product_code for d in days})))
        out["realized"] = [
            {
                "product_code": line.product_code,
                "product": product(line.product_code),
                "province": province(line.province_code),
                "kg": line.kg,
                "paid_vnd": line.paid_vnd,
                "price": round(line.avg_price),
                "reference": round(line.avg_reference) if line.avg_reference is not None else None,
                "diff_pct": round(line.diff_pct * 100, 1) if line.diff_pct is not None else None,
            }
            for line in realized_lines(days, book)
        ]
    if "gouging" in tables:
        out["gouging"] = [
            {
                **r,
                "created_at": local(r["created_at"]),
                "product": product(r["product_code"]),
                "province": province(r["province_code"]),
            }
            for r in await uow.reports.export_gouging(scope)
        ]
    return ExportData(period, out)


FORMATS = {"int": "#,##0", "date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm", "decimal": "0.0"}


def _rows(data: ExportData, table: str) -> list[list[Any]]:
    return [[row.get(c.key) for c in COLUMNS[table]] for row in data.tables.get(table, [])]


def to_csv(data: ExportData, table: str) -> bytes:
    """One table as CSV: UTF-8 with BOM, ``;`` separated, ISO dates, plain numbers, inert text."""
    return sheets.csv_bytes([str(c.header) for c in COLUMNS[table]], _rows(data, table))


def to_xlsx(data: ExportData) -> bytes:
    """Every collected table as a sheet of real numbers and dates and inert text, first row frozen."""
    return sheets.xlsx_bytes(
        [
            sheets.Sheet(
                sheet_name(table),
                [str(c.header) for c in COLUMNS[table]],
                _rows(data, table),
                [FORMATS.get(c.kind) for c in COLUMNS[table]],
            )
            for table in data.tables
        ]
    )


@dataclass(frozen=True, slots=True)
class ExportFile:
    filename: str
    content: bytes
    rows: int


async def build(
    uow: UnitOfWork,
    period: Period,
    tz: ZoneInfo,
    province_code: int | None,
    *,
    table: str | None,
    with_phones: bool,
    places: Gazetteer,
    catalog: ProductCatalog,
    actor_id: int | None,
) -> ExportFile | None:
    """One table as CSV (``table``) or every table as XLSX (None), audited; None when there is no data."""
    tables = (table,) if table else TABLES
    data = await collect(
        uow, period, tz, province_code, with_phones=with_phones, places=places, catalog=catalog, tables=tables
    )
    if data.empty:
        return None
    stem = f"nongsan_{period.start:%Y%m%d}_{period.end:%Y%m%d}"
    # Writing a big workbook takes CPU time: off the event loop.
    if table is None:
        content, name = await asyncio.to_thread(to_xlsx, data), f"{stem}.xlsx"
    else:
        content, name = await asyncio.to_thread(to_csv, data, table), f"{stem}_{table}.csv"
    counts = data.counts()
    # Personal data leaving the system: audited.
    await uow.audit.add(
        actor_id,
        "export_data",
        name,
        details={"tables": counts, "with_phones": with_phones, "province": province_code},
    )
    return ExportFile(name, content, sum(counts.values()))
