"""Flows and commands, written once for every messenger.

Every module in this package that defines ``register(router)`` is loaded; its ``ORDER``
(default 100) decides where its commands appear in the menu.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.engine.router import Router

# Modules still written for the old dialog API while they are being moved onto the engine.
_NOT_YET_PORTED = frozenset(
    {
        "freetext", "lots", "matches", "mine", "notices", "orders", "pickup",
        "points", "prices", "schedule", "subscriptions", "trade_flow", "trade_steps",
        "paging", "ward_answer",
    }
)  # fmt: skip


def build_router() -> Router:
    """Every command, flow and button action the bot knows."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_YET_PORTED]
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    router = Router()
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)):
        if hasattr(module, "register"):
            module.register(router)
    return router
