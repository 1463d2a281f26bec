"""What a person wants to hear about: products they follow (morning price bulletins) and the
notice kinds they switched off (see :mod:`bot.services.audience` for how both are stored)."""

from __future__ import annotations

import datetime as dt

from bot.services.audience import NOTICE_KINDS, left_topic
from storage import dto
from storage.uow import UnitOfWork


async def topics(uow: UnitOfWork, user: dto.User) -> set[str]:
    """The person's subscription rows: followed product codes and left notice kinds."""
    return await uow.users.topics(user.id)


def receives(rows: set[str], kind: str) -> bool:
    """Whether a person with these rows receives notices of ``kind``."""
    return left_topic(kind) not in rows


async def follows(uow: UnitOfWork, user: dto.User, product_code: str) -> bool:
    return product_code in await uow.users.topics(user.id)


async def follow(uow: UnitOfWork, user: dto.User, product_code: str, on: bool) -> None:
    """Follow (or stop following) a product's morning price bulletin; idempotent."""
    await uow.users.set_topic(user.id, product_code, on)


async def receive(uow: UnitOfWork, user: dto.User, kind: str, on: bool) -> None:
    """Switch a notice kind on (the default) or off; idempotent."""
    if kind not in NOTICE_KINDS:
        raise ValueError(kind)
    await uow.users.set_topic(user.id, left_topic(kind), not on)


async def toggle_group(
    uow: UnitOfWork, member: dto.User, channel: str, chat_id: str, now: dt.datetime
) -> int | None:
    """Switch a group's announcements on (for the member's province) or off.

    Returns the province the group now receives announcements of; None when switched off.
    """
    if await uow.groups.subscription(channel, chat_id) is not None:
        await uow.groups.unsubscribe(channel, chat_id)
        return None
    assert member.province_code is not None
    await uow.groups.subscribe(channel, chat_id, member.province_code, member.id, now)
    return member.province_code
