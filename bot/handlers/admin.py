"""Admin commands: granting roles (/capquyen) and blocking spammers (/chan, /bochan)."""

from __future__ import annotations

from bot.dialog import Command, Ctx, Router
from bot.handlers.roles import ADMIN, parse_role, require_role, role_label
from bot.i18n import _, lazy_gettext

ADMINS = frozenset({ADMIN})
ORDER = 800


async def cmd_grant(ctx: Ctx, args: str) -> None:
    """/capquyen <người dùng> <vai trò>: the person is ``channel:id``, an internal id or a phone."""
    if not await require_role(ctx, ADMINS, "grant_role"):
        return
    parts = args.rsplit(maxsplit=1)
    if len(parts) != 2 or parse_role(parts[1]) is None:
        ctx.say(
            _(
                "Cách dùng: /capquyen <người dùng> <vai trò>\nNgười dùng: telegram:12345, mã số hoặc số điện thoại.\n"
                "Vai trò: nong_dan, htx, thuong_lai, can_bo, quan_tri."
            )
        )
        return
    target = await ctx.uow.users.find(parts[0])
    role = parse_role(parts[1])
    if target is None:
        ctx.say(_("Không tìm thấy người dùng «{ref}».").format(ref=parts[0][:40]))
        return
    await ctx.uow.users.update(target.id, role=role)
    await ctx.uow.audit.add(ctx.user.id, "grant_role", target.key, details={"from": target.role, "to": role})
    ctx.say(
        _("Đã cấp quyền {role} cho {name}.").format(role=role_label(role), name=target.name or target.key)
    )


async def _set_banned(ctx: Ctx, args: str, banned: bool) -> None:
    action = "ban_user" if banned else "unban_user"
    if not await require_role(ctx, ADMINS, action):
        return
    target = await ctx.uow.users.find(args) if args.strip() else None
    if target is None:
        ctx.say(_("Không tìm thấy người dùng «{ref}».").format(ref=args[:40]))
        return
    if target.id == ctx.user.id:
        ctx.say(_("Bạn không thể tự chặn chính mình."))
        return
    await ctx.uow.users.update(target.id, banned=banned)
    await ctx.uow.audit.add(ctx.user.id, action, target.key)
    msg = _("Đã chặn {name}.") if banned else _("Đã bỏ chặn {name}.")
    ctx.say(msg.format(name=target.name or target.key))


async def cmd_ban(ctx: Ctx, args: str) -> None:
    await _set_banned(ctx, args, True)


async def cmd_unban(ctx: Ctx, args: str) -> None:
    await _set_banned(ctx, args, False)


def register(router: Router) -> None:
    # The handlers check the role again themselves: a command is never trusted to its menu.
    router.command(
        Command(
            "capquyen",
            cmd_grant,
            lazy_gettext("Cấp quyền"),
            roles=ADMINS,
            description=lazy_gettext("cấp vai trò cho người dùng"),
        )
    )
    router.command(
        Command(
            "chan",
            cmd_ban,
            lazy_gettext("Chặn"),
            roles=ADMINS,
            in_menu=False,
            description=lazy_gettext("chặn người dùng spam"),
        )
    )
    router.command(
        Command(
            "bochan",
            cmd_unban,
            lazy_gettext("Bỏ chặn"),
            roles=ADMINS,
            in_menu=False,
            description=lazy_gettext("bỏ chặn người dùng"),
        )
    )
