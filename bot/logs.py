"""Logging for ``python -m bot``: one format, chatty libraries quieted, and phone numbers masked in
every line (a person's phone is personal data; the log is read by operators, kept for weeks and
copied into tickets)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TextIO

# Vietnamese phone numbers as people write them: 0912345678, 0912 345 678, +84 912.345.678, 84912345678.
_PHONE = re.compile(r"(?<![\d])(?:\+\s?84|84|0)(?:[\s.\-]?\d){8,10}(?![\d])")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose DEBUG lines carry message texts, SQL parameters or URLs with the bot token.
QUIET = {"httpx": logging.WARNING, "alembic": logging.WARNING, "aiosqlite": logging.INFO}


def mask(text: str) -> str:
    """Every phone number in ``text`` as 0912***678."""

    def hide(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group())
        return f"{digits[:4]}***{digits[-3:]}"

    return _PHONE.sub(hide, text)


class MaskPhones(logging.Filter):
    """Rewrites each record's final message with phone numbers masked (exceptions included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = mask(text)
        return True


def configure(level: str, *, file: Path | None = None, stream: TextIO | None = None) -> logging.Handler:
    """Log to ``file`` (the local chat: never between the messages) or to ``stream``."""
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskPhones())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for name, floor in QUIET.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))
    return handler
