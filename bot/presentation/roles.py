"""Telling a person that an admin changed their role."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain_events import RoleGranted
from bot.engine.router import RunCommand
from bot.engine.screens import Option, Screen
from bot.i18n import _, use_locale
from bot.presentation.labels import role_label
from bot.presentation.notifications import renders
from bot.presentation.notify import notify
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.container import Services


@renders(RoleGranted)
async def role_granted(uow: UnitOfWork, services: Services, ev: RoleGranted) -> None:
    user = await uow.users.get(ev.user_id)
    if user is None or not user.registered or user.role != ev.role:
        return  # not registered yet (registration tells them), or changed again since
    with use_locale(user.locale):
        screen = Screen(
            _("Bạn vừa được cấp quyền {role}. Các chức năng mới có trong menu.").format(
                role=role_label(ev.role)
            ),
            (Option(_("Menu"), RunCommand("menu"), ("menu",)),),
        )
    await notify(uow, services, user, screen)
