"""Flows and commands, written once for every messenger."""

from __future__ import annotations

from bot.dialog import Router


def build_router() -> Router:
    """Every command, flow and button action the bot knows."""
    from bot.handlers import admin, common, registration

    router = Router()
    common.register(router)
    registration.register(router)
    admin.register(router)
    return router
