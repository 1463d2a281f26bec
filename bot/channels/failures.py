"""Logging an adapter's unexpected failures without what people wrote."""

from __future__ import annotations

import logging
import traceback

__all__ = ["log_failure"]


def log_failure(log: logging.Logger, what: str, exc: BaseException, **ids: object) -> None:
    """Log an exception by type and stack only: its message may carry a phone or a text."""
    where = " ".join(f"{k}={v}" for k, v in ids.items())
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s failed (%s) %s\n%s", what, type(exc).__name__, where, stack)
