"""What admins are told about abuse: someone blocked for a while after a flood of messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.domain_events import PersonBlocked
from bot.engine.screens import Screen
from bot.i18n import _, use_locale
from bot.presentation.notifications import renders
from bot.presentation.notify import notify

if TYPE_CHECKING:
    from bot.container import Services
    from storage.uow import UnitOfWork


@renders(PersonBlocked)
async def on_blocked(uow: UnitOfWork, services: Services, ev: PersonBlocked) -> None:
    person = await uow.users.get(ev.user_id)
    if person is None or person.blocked_until is None:
        return
    until = fmt.datetime(person.blocked_until.astimezone(services.settings.tz))
    for admin in await uow.users.with_role(("admin",)):
        with use_locale(admin.locale):
            screen = Screen(
                _(
                    "🚫 {name} ({key}) gửi tin dồn dập và bị chặn tạm đến {until}. Gõ /bochan {key} để bỏ chặn."
                ).format(name=person.name or "—", key=person.key, until=until)
            )
        await notify(
            uow, services, admin, screen, dedupe_key=f"blocked:{person.id}:{person.blocked_until.isoformat()}"
        )
