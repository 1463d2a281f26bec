"""``python -m bot``: run the bot; ``python -m bot parse ...``: the free-text parser; ``migrate``;
``report ...``: summaries and exports; ``audit ...``: check or export the audit log."""

from __future__ import annotations

import sys

# asyncio, logging and the bot itself are imported by the sub-commands that need them:
# `python -m bot parse --jsonl` starts in a fraction of the time without them.


def _run() -> int:
    import asyncio
    import logging

    from bot.app import BotApp
    from bot.config import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    from bot.channels import registry

    local = registry.is_local(registry.configured(settings))
    if local and not settings.console_from_pipe and not sys.stdin.isatty():
        # A container started without -it, or a service manager: nothing to chat with, and the
        # operator surely meant to give a token. Touch no database.
        print(
            "No messenger token (TELEGRAM_BOT_TOKEN, ZALO_BOT_TOKEN) and no terminal for the local "
            "console: set a token, or run in a terminal (docker run -it ...).",
            file=sys.stderr,
        )
        return 3
    from bot import logs

    if local:
        # The chat owns the terminal: logs go to a file, never between the messages.
        log_file = settings.data_dir / "bot.log"
        logs.configure(settings.log_level, file=log_file)
        print(f"(nhật ký: {log_file})", file=sys.stderr)
    else:
        logs.configure(settings.log_level, stream=sys.stderr)
    try:
        asyncio.run(BotApp(settings).run())
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        # One clear line (an unreachable messenger, a rejected token, a database that refuses us),
        # never the token itself: PTB quotes a rejected token in its message.
        text = f"{type(exc).__name__}: {exc}"
        for secret in (settings.telegram_bot_token, settings.zalo_bot_token):
            if secret is not None and secret.get_secret_value():
                text = text.replace(secret.get_secret_value(), "***")
        logging.getLogger("bot").debug("start-up failed", exc_info=True)
        print(f"Start-up failed: {text}", file=sys.stderr)
        return 1
    return 0


def _migrate() -> int:
    import asyncio

    from bot.config import SettingsError, load_settings
    from storage import migrate
    from storage.uow import Database

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2

    async def go() -> None:
        db = Database(settings.database_url)
        await migrate.upgrade(db.engine)
        await db.dispose()

    asyncio.run(go())
    print("database is at the latest schema")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Dispatch the sub-command (default: run the bot)."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "parse":
        from bot.parsing.cli import main as parse_main

        return parse_main(args[1:])
    if args and args[0] == "migrate":
        return _migrate()
    if args and args[0] == "report":
        from bot.reports.cli import main as report_main  # type: ignore[import-not-found]

        return report_main(args[1:])
    if args and args[0] == "audit":
        from bot.reports.audit_cli import main as audit_main

        return audit_main(args[1:])
    if args and args[0] not in ("run",):
        print("usage: python -m bot [run | parse ... | migrate | report ... | audit ...]", file=sys.stderr)
        return 2
    return _run()


if __name__ == "__main__":
    sys.exit(main())
