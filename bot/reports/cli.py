"""``python -m bot report``: the /baocao summary and the /xuat export from the command line.

    python -m bot report summary --from 2026-09-01 --to 2026-09-30 [--province 20] [--format text|json]
    python -m bot report export --from ... --to ... --out file.xlsx|file.csv [--table lots] [--with-phones]

Reads DATABASE_URL like the bot (migrating first). A CSV holds one table: without
``--table``, ``out.csv`` becomes ``out_lots.csv``, ``out_orders.csv``... Exit codes: 0 done,
1 nothing to export, 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.catalog import CATALOG
from bot.config import SettingsError, load_settings
from bot.i18n import set_locale
from bot.places import gazetteer
from bot.presentation import reports as present
from bot.reports import export
from bot.services import reports as service
from bot.services.reports import Period, PeriodError
from storage import migrate
from storage.uow import Database


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-09-01") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot report", description="Campaign reports and exports.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("summary", "print the summary"),
        ("export", "write lots, orders, matches, pickups, realized prices, gouging reports"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--from", dest="start", type=_date, required=True, help="first day, 2026-09-01")
        p.add_argument("--to", dest="end", type=_date, required=True, help="last day (included)")
        p.add_argument("--province", type=int, default=None, help="province code (default: all)")
    summary = sub.choices["summary"]
    summary.add_argument("--format", choices=("text", "json"), default="text")
    exp = sub.choices["export"]
    exp.add_argument("--out", type=Path, required=True, help="file.xlsx or file.csv")
    exp.add_argument("--table", choices=export.TABLES, default=None, help="CSV: one table only")
    exp.add_argument("--with-phones", action="store_true", help="full phone numbers (personal data)")
    return parser


async def _summary(
    db: Database, args: argparse.Namespace, period: Period, tz_name: str, margin: float
) -> int:
    async with db.uow() as uow:
        data = await service.load(uow, period, ZoneInfo(tz_name), args.province)
    summary = service.summarize(data, margin)
    if args.format == "json":
        print(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
    else:
        print(present.summary_text(summary, gazetteer(), CATALOG, max_lines=50))
    return 0


async def _export(db: Database, args: argparse.Namespace, period: Period, tz_name: str) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        print("--out must end in .xlsx or .csv", file=sys.stderr)
        return 2
    tables = (args.table,) if args.table else export.TABLES
    async with db.uow() as uow:
        data = await export.collect(
            uow,
            period,
            ZoneInfo(tz_name),
            args.province,
            with_phones=args.with_phones,
            places=gazetteer(),
            catalog=CATALOG,
            tables=tables,
        )
        if not data.empty:  # personal data leaving the system: audited like /xuat (actor: the system)
            await uow.audit.add(
                None,
                "export_data",
                args.out.name,
                details={
                    "via": "cli",
                    "tables": data.counts(),
                    "with_phones": args.with_phones,
                    "province": args.province,
                },
            )
    if data.empty:
        print(f"Không có dữ liệu từ {period.start} đến {period.end}; không ghi tệp nào.", file=sys.stderr)
        return 1
    written = []
    if suffix == ".xlsx":
        args.out.write_bytes(export.to_xlsx(data))
        written.append(args.out)
    else:
        for table in tables:
            path = args.out if len(tables) == 1 else args.out.with_name(f"{args.out.stem}_{table}.csv")
            path.write_bytes(export.to_csv(data, table))
            written.append(path)
    counts = ", ".join(f"{t}={n}" for t, n in data.counts().items())
    for path in written:
        print(path)
    print(f"rows: {counts}; phones: {'full' if args.with_phones else 'masked'}", file=sys.stderr)
    return 0


async def _run(args: argparse.Namespace, period: Period) -> int:
    settings = load_settings()
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db.engine)
        if args.command == "summary":
            return await _summary(db, args, period, settings.timezone, settings.gouging_margin)
        return await _export(db, args, period, settings.timezone)
    finally:
        await db.dispose()


def main(argv: list[str]) -> int:
    """Entry point called by ``bot.__main__``."""
    args = _parser().parse_args(argv)
    try:
        period = service.check_period(Period(args.start, args.end))
    except PeriodError as exc:
        set_locale("vi")
        print(present.period_problem_text(exc.code), file=sys.stderr)
        return 2
    set_locale("vi")
    try:
        return asyncio.run(_run(args, period))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
