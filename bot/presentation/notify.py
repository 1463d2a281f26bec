"""Queue a message the bot sends on its own (not a reply): rendered for the person's messenger."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot import files
from bot.engine.screens import Screen
from storage import dto
from storage.repositories.outbox import NOTIFICATION
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.container import Services


async def notify(
    uow: UnitOfWork,
    services: Services,
    user: dto.User,
    screen: Screen,
    *,
    dedupe_key: str | None = None,
    not_before: dt.datetime | None = None,
    announcement_id: int | None = None,
    priority: int = NOTIFICATION,
) -> bool:
    """Queue ``screen`` for ``user`` (compose it under ``use_locale(user.locale)``); False if
    deduplicated or the person cannot be reached (blocked the bot, banned)."""
    if user.bot_blocked or user.banned:
        return False
    # A file goes as a signed link where the messenger fetches files by URL.
    reply = await files.prepare(
        uow, screen.to_reply(services.codec), services.capabilities(user.channel), services.settings
    )
    return await uow.outbox.enqueue(
        user.channel,
        user.chat_id,
        reply.to_json(),
        user_id=user.id,
        dedupe_key=dedupe_key,
        not_before=not_before,
        announcement_id=announcement_id,
        priority=priority,
    )
