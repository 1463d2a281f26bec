"""Data exports: lots, orders, matches and pickups as CSV or XLSX, with Vietnamese headers.

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
from bot.reports import sheets
from bot.services.reports import Period, buys_in
from bot.services.users import mask_phone
from storage.uow import UnitOfWork

TABLES = ("lots", "orders", "matches", "pickups")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: object  # a lazy string: translated when the file is written, in the reader's locale
    kind: str = "text"  # text | int | date | datetime | phone


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
        Column("rep", lazy_gettext("Người bán")),
        Column("rep_phone", lazy_gettext("ĐT người bán"), "phone"),
        Column("trader", lazy_gettext("Thương lái")),
        Column("trader_phone", lazy_gettext("ĐT thương lái"), "phone"),
    ),
}


def sheet_name(table: str) -> str:
    names = {"lots": _("Lô hàng"), "orders": _("Đơn mua"), "matches": _("Ghép đơn"), "pickups": _("Lấy hàng")}
    return names[table]


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

    def product(code: str) -> str:
        p = catalog.get(code)
        return p.name_vi if p else code

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
                "certifications": ", ".join(r["certifications"] or ()),
                "province": province(r["province_code"]),
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
                    "rep_phone": phone(r["rep_phone"]),
                    "trader_phone": phone(r["trader_phone"]),
                    "province": province(r["province_code"]),
                }
                for r in await fetch(scope)
            ]
    return ExportData(period, out)


FORMATS = {"int": "#,##0", "date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm"}


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
