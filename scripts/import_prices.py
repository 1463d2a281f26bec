"""Import reference prices from a CSV file with columns product,province,price,valid_from.

Products and provinces may be given by code or by name ("na" / "Na", "20" / "Lạng Sơn");
prices as 30000, 30.000 or 30k; dates as 2026-09-15 or 15/09/2026. Bad rows are reported with
their line numbers and skipped. Rows already stored (same product, province, date and price)
are not added again, so running the same file twice changes nothing.

Usage: python scripts/import_prices.py FILE.csv [--database-url URL] [--chunk 500]
Exit status: 0 all rows good, 1 some rows skipped, 2 the file could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from bot.catalog import CATALOG, ProductCatalog
from bot.config import Settings
from bot.places import Gazetteer, gazetteer
from bot.services.prices import allowed_range
from bot.services.quantities import parse_price
from bot.services.reference import sync_reference
from storage import migrate
from storage.uow import Database

COLUMNS = ("product", "province", "price", "valid_from")


@dataclass(frozen=True, slots=True)
class PriceRow:
    line: int
    product_code: str
    province_code: int
    price: int
    valid_from: dt.date

    @property
    def key(self) -> tuple[str, int, dt.date, int]:
        return (self.product_code, self.province_code, self.valid_from, self.price)


class BadRow(ValueError):
    """A row that cannot be imported; the message says why."""


def parse_date(text: str) -> dt.date:
    text = text.strip()
    for form in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise BadRow(f"unreadable date {text!r} (use 2026-09-15 or 15/09/2026)")


def parse_row(line: int, row: dict[str, str], catalog: ProductCatalog, places: Gazetteer) -> PriceRow:
    """One CSV record checked and resolved to codes; raises :class:`BadRow`."""
    product_text = (row.get("product") or "").strip()
    product = catalog.get(product_text) or (catalog.find(product_text) if product_text else None)
    if product is None:
        raise BadRow(f"unknown product {product_text!r}")
    province_text = (row.get("province") or "").strip()
    province_code: int | None = None
    if province_text.isdigit() and int(province_text) in places.provinces:
        province_code = int(province_text)
    elif province_text:
        found = places.find_province(province_text)
        province_code = found.province_code if found else None
    if province_code is None:
        raise BadRow(f"unknown province {province_text!r}")
    price = parse_price((row.get("price") or "").strip())
    low, high = allowed_range(product)
    if price is None:
        raise BadRow(f"unreadable price {row.get('price')!r}")
    if not low <= price <= high:
        raise BadRow(f"price {price:,.0f} for {product.code} outside {low:,}-{high:,} VND/kg")
    return PriceRow(line, product.code, province_code, round(price), parse_date(row.get("valid_from") or ""))


def read_rows(
    stream: TextIO, catalog: ProductCatalog, places: Gazetteer, errors: TextIO
) -> Iterator[PriceRow | None]:
    """Good rows, and None for each bad one (reported on ``errors`` with its line number)."""
    reader = csv.DictReader(stream)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise BadRow(f"missing columns: {', '.join(missing)} (need {','.join(COLUMNS)})")
    for record in reader:
        line = reader.line_num
        try:
            yield parse_row(line, record, catalog, places)
        except BadRow as exc:
            print(f"line {line}: {exc}", file=errors)
            yield None


async def import_prices(
    path: Path, db: Database, *, chunk: int = 500, errors: TextIO = sys.stderr
) -> tuple[int, int, int]:
    """Import the file into a migrated database; returns (added, already stored, bad rows)."""
    added = existing = bad = 0
    seen: set[tuple[str, int, dt.date, int]] = set()
    batch: list[PriceRow] = []

    async def flush() -> None:
        nonlocal added, existing
        async with db.uow() as uow:  # one transaction per chunk
            stored = await uow.prices.existing([r.key for r in batch])
            new = [r for r in batch if r.key not in stored]
            await uow.prices.add_many(
                [
                    {
                        "product_code": r.product_code,
                        "province_code": r.province_code,
                        "price": r.price,
                        "valid_from": r.valid_from,
                        "set_by": None,
                    }
                    for r in new
                ]
            )
            if new:
                await uow.audit.add(
                    None,
                    "import_prices",
                    path.name,
                    details={"rows": len(new), "first_line": new[0].line},
                )
        added += len(new)
        existing += len(batch) - len(new)
        batch.clear()

    with path.open(encoding="utf-8-sig", newline="") as stream:
        for row in tqdm(read_rows(stream, CATALOG, gazetteer(), errors), unit=" rows", disable=None):
            if row is None:
                bad += 1
                continue
            if row.key in seen:
                existing += 1
                continue
            seen.add(row.key)
            batch.append(row)
            if len(batch) >= chunk:
                await flush()
    if batch:
        await flush()
    return added, existing, bad


async def run(path: Path, database_url: str, chunk: int) -> tuple[int, int, int]:
    """Open the database, bring its schema and reference data up to date, import."""
    db = Database(database_url)
    try:
        await migrate.upgrade(db.engine)
        async with db.uow() as uow:
            await sync_reference(uow, CATALOG, gazetteer())
        return await import_prices(path, db, chunk=chunk)
    finally:
        await db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the import; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("--database-url", help="default: DATABASE_URL from the environment or .env")
    ap.add_argument("--chunk", type=int, default=500, help="rows per transaction")
    args = ap.parse_args(argv)
    url = (
        Settings(database_url=args.database_url).database_url
        if args.database_url
        else Settings().database_url
    )
    try:
        added, existing, bad = asyncio.run(run(args.file, url, max(1, args.chunk)))
    except (OSError, UnicodeDecodeError, BadRow) as exc:
        print(f"cannot import {args.file}: {exc}", file=sys.stderr)
        return 2
    print(f"{added} prices added, {existing} already stored, {bad} bad rows skipped")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
