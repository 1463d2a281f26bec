"""Writing spreadsheets (CSV and XLSX) so that text people typed stays inert text.

Every export goes through :func:`csv_bytes` and :func:`xlsx_bytes`, which pass every text value
through :func:`inert_text`: a value that a spreadsheet would read as a formula (it starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is marked as text, bidi controls that
could disguise it (U+202A–U+202E, U+2066–U+2069 and the directional marks) are removed, and
anything longer than Excel's cell limit is cut with a visible marker. Numbers, dates and
ordinary text are written exactly as before.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot import formatting as fmt
from bot.i18n import _

# Excel reads a cell starting with one of these as a formula (or a DDE call): OWASP's list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel's limit on the characters of one cell.
MAX_CELL_CHARS = 32_767
# Embeddings, overrides and isolates (and the marks): they can make "=cmd|' /C calc'!A0" read as harmless.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Control characters XML (so XLSX) cannot hold; tab, line feed and carriage return are kept.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class InertText:
    """A text value ready for a spreadsheet cell."""

    text: str
    formula_like: bool  # must be marked as text: an apostrophe in CSV, a quote-prefixed string cell in XLSX

    @property
    def csv(self) -> str:
        return "'" + self.text if self.formula_like else self.text


def inert_text(value: str) -> InertText:
    """``value`` as a spreadsheet must show it: never a formula, no bidi tricks, within the cell limit."""
    text = _CONTROL.sub("", _BIDI.sub("", value))
    if len(text) > MAX_CELL_CHARS - 1:  # room for the CSV apostrophe
        marker = _("… [đã cắt bớt, dài {count} ký tự]").format(count=fmt.number(len(text)))
        text = text[: MAX_CELL_CHARS - 1 - len(marker)] + marker
    # Leading spaces do not stop every spreadsheet from reading " =1+1" as a formula.
    formula_like = text.lstrip(" \n").startswith(FORMULA_STARTS)
    return InertText(text, formula_like)


def csv_cell(value: Any) -> str:
    """One CSV cell: ISO dates, plain numbers, inert text."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return str(value)
    return inert_text(str(value)).csv


def csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A table as CSV: UTF-8 with a BOM (Excel reads the diacritics), ``;`` separated (Vietnamese Excel)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Sheet:
    """One worksheet: a title, headers, typed rows and a number format per column (None: as is)."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    formats: Sequence[str | None]


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """A workbook of real number and date cells and string cells for every text, headers in bold."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title)
        for r, row in enumerate([sheet.headers, *sheet.rows], start=1):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c)
                if isinstance(value, str):
                    text = inert_text(value)
                    cell.value = text.text
                    # openpyxl turns a string starting with "=" into a formula: say it is a string.
                    cell.data_type = "s"
                    if text.formula_like:
                        cell.quotePrefix = True  # Excel keeps it text even when the cell is edited
                else:
                    cell.value = value
                    if r > 1 and sheet.formats[c - 1]:
                        cell.number_format = sheet.formats[c - 1]  # type: ignore[assignment]
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for i, header in enumerate(sheet.headers, start=1):
            sample = [len(_shown(row[i - 1])) for row in sheet.rows[:200]]
            width = max([len(header), *sample])
            ws.column_dimensions[get_column_letter(i)].width = min(max(10, width + 2), 40)
        ws.freeze_panes = "A2"
        if sheet.rows:
            ws.auto_filter.ref = ws.dimensions
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
