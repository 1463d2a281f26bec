"""Messages the bot sends on its own initiative go through the outbox, never straight out."""

from __future__ import annotations

import datetime as dt

from bot.events import Reply
from storage import dto
from storage.uow import UnitOfWork

# Messengers that show buttons as numbered lines: a typed "1" must press the latest ones shown.
NUMBERED_CHANNELS = frozenset({"zalo", "console"})
# Messengers whose outbox sender edits the earlier message a reply ``replaces``; elsewhere
# such a reply arrives as a new message, so updates there should be few.
EDITING_CHANNELS = frozenset({"telegram"})


async def notify(
    uow: UnitOfWork,
    user: dto.User,
    reply: Reply,
    *,
    dedupe_key: str | None = None,
    not_before: dt.datetime | None = None,
    announcement_id: int | None = None,
) -> bool:
    """Queue ``reply`` for ``user`` (compose it under ``use_locale(user.locale)``); False if deduplicated.

    People who blocked the bot are skipped: the messenger would refuse anyway.
    """
    if user.bot_blocked or user.banned:
        return False
    return await uow.outbox.enqueue(
        user.channel,
        user.chat_id,
        reply.to_json(),
        user_id=user.id,
        dedupe_key=dedupe_key,
        not_before=not_before,
        announcement_id=announcement_id,
    )
