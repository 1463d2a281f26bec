"""Flows and commands, written once for every messenger.

Every module in this package that defines ``register(router)`` is loaded; its ``ORDER``
(default 100) decides where its commands appear in the menu.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.engine.router import Router


def build_router() -> Router:
    """Every command, flow and button action the bot knows."""
    names = [m.name for m in pkgutil.iter_modules(__path__)]
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    router = Router()
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)):
        if hasattr(module, "register"):
            module.register(router)
    return router
