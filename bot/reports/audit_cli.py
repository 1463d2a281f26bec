"""``python -m bot audit``: check the audit log's hash chain, or export the log, from the command line.

    python -m bot audit verify
    python -m bot audit export --out nhatky.xlsx|nhatky.csv

Reads DATABASE_URL like the bot (migrating first). Both are themselves audited (actor:
the system). Exit codes: 0 intact / written, 1 the chain is broken, 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import SettingsError, load_settings
from bot.i18n import set_locale
from bot.presentation import reports as present
from bot.reports import audit
from storage import migrate
from storage.uow import Database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot audit", description="The audit log.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("verify", help="check the hash chain; print the first broken entry")
    exp = sub.add_parser("export", help="write the whole log")
    exp.add_argument("--out", type=Path, required=True, help="file.xlsx or file.csv")
    return parser


async def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db.engine)
        if args.command == "verify":
            async with db.uow() as uow:
                check = await audit.verify(uow, None, via="cli")
            print(present.problem_text(check))
            if check.broken is not None:
                b = check.broken
                print(f"seq={b.seq} id={b.id} action={b.action} problem={check.problem}", file=sys.stderr)
                return 1
            return 0
        fmt = args.out.suffix.lower().lstrip(".")
        if fmt not in audit.FORMATS:
            print("--out must end in .xlsx or .csv", file=sys.stderr)
            return 2
        async with db.uow() as uow:
            done = await audit.export(uow, settings.tz, fmt, None, via="cli")
        args.out.write_bytes(done.content)
        print(args.out)
        print(f"rows: {done.rows}", file=sys.stderr)
        return 0
    finally:
        await db.dispose()


def main(argv: list[str]) -> int:
    """Entry point called by ``bot.__main__``."""
    args = _parser().parse_args(argv)
    set_locale("vi")
    try:
        return asyncio.run(_run(args))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
