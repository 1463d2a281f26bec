"""Commands every person has: start, menu, help, cancel, language; and the answer to the unknown."""

from __future__ import annotations

from bot.dialog import Command, Ctx, Router
from bot.events import Choice
from bot.handlers.roles import STAFF, require_role, role_label
from bot.i18n import _, lazy_gettext, set_locale

ORDER = 900  # help and language come last in the menu


def menu_choices(ctx: Ctx) -> list[Choice]:
    """Buttons for every command this person may use."""
    return [Choice(str(c.label), f"cmd:{c.name}") for c in ctx.services.router.menu_for(ctx.user)]


def show_menu(ctx: Ctx, intro: str | None = None) -> None:
    """Say ``intro`` (or the default) with the menu buttons."""
    ctx.say(intro or _("Bạn muốn làm gì? Chọn một mục bên dưới."), menu_choices(ctx), columns=2)


async def run_command(ctx: Ctx, name: str, args: str) -> None:
    """Run a slash command or a menu button, checking registration and role every time."""
    router = ctx.services.router
    cmd = router.find(name)
    if cmd is None:
        show_menu(
            ctx, _("Không có lệnh /{name}.").format(name=name[:30]) + " " + _("Bạn có thể chọn trong menu:")
        )
        return
    # Staff commands are refused (and audited) before anything else: registering would not help.
    if cmd.roles is not None and cmd.roles <= STAFF and ctx.user.role not in cmd.roles:
        await require_role(ctx, cmd.roles, name)
        return
    if cmd.needs_registration and not ctx.user.registered:
        ctx.say(_("Bạn cần đăng ký trước khi dùng chức năng này."))
        await start_registration(ctx)
        return
    if cmd.roles is not None and ctx.user.role not in cmd.roles:
        await require_role(ctx, cmd.roles, name)
        return
    await cmd.handler(ctx, args)


async def start_registration(ctx: Ctx) -> None:
    """Enter the registration flow from its first step."""
    await ctx.services.router.flows["register"].start(ctx)


async def cmd_start(ctx: Ctx, _args: str) -> None:
    if ctx.user.registered:
        ctx.leave()
        show_menu(
            ctx,
            _("Chào {name}, bạn đang là {role}.").format(name=ctx.user.name, role=role_label(ctx.user.role)),
        )
    else:
        await start_registration(ctx)


async def cmd_menu(ctx: Ctx, _args: str) -> None:
    ctx.leave()
    show_menu(ctx)


async def cmd_cancel(ctx: Ctx, _args: str) -> None:
    had_flow = bool(ctx.flow)
    ctx.leave()
    text = _("Đã hủy. Không có gì được lưu.") if had_flow else _("Không có việc gì đang làm dở.")
    if ctx.user.registered:
        show_menu(ctx, text)
    else:
        ctx.say(text + " " + _("Gõ /start để đăng ký."))


async def cmd_help(ctx: Ctx, _args: str) -> None:
    lines = [_("Hướng dẫn nhanh:")]
    for c in ctx.services.router.menu_for(ctx.user):
        desc = str(c.description or c.label)
        lines.append(f"/{c.name} – {desc}")
    lines.append("/huy – " + _("hủy việc đang làm"))
    ctx.say("\n".join(lines), menu_choices(ctx), columns=2)
    if ctx.flow:  # repeat the pending question so the person knows where they are
        await ctx.services.router.flows[ctx.flow].goto(ctx, ctx.step)


async def cmd_language(ctx: Ctx, _args: str) -> None:
    ctx.say(
        _("Chọn ngôn ngữ / Choose a language:"),
        [Choice("Tiếng Việt", "lang:vi"), Choice("English", "lang:en")],
        columns=2,
    )


async def on_language(ctx: Ctx, code: str) -> None:
    if code not in ("vi", "en"):
        code = "vi"
    await ctx.uow.users.update(ctx.user.id, locale=code)
    set_locale(code)
    ctx.say(_("Đã chuyển sang tiếng Việt.") if code == "vi" else _("Đã chuyển ngôn ngữ."))


async def unknown(ctx: Ctx) -> None:
    """A short helpful answer with the menu."""
    show_menu(ctx, _("Xin lỗi, tôi chưa hiểu. Bạn chọn một mục bên dưới, hoặc gõ /trogiup để xem hướng dẫn."))


def register(router: Router) -> None:
    router.command(
        Command("start", cmd_start, lazy_gettext("Bắt đầu"), needs_registration=False, in_menu=False)
    )
    router.command(Command("menu", cmd_menu, lazy_gettext("Menu"), needs_registration=False, in_menu=False))
    router.command(
        Command("huy", cmd_cancel, lazy_gettext("Hủy"), needs_registration=False, in_menu=False), "cancel"
    )
    router.command(
        Command(
            "trogiup",
            cmd_help,
            lazy_gettext("Trợ giúp"),
            needs_registration=False,
            description=lazy_gettext("xem hướng dẫn"),
        ),
        "help",
    )
    router.command(
        Command(
            "ngonngu",
            cmd_language,
            lazy_gettext("Ngôn ngữ"),
            needs_registration=False,
            description=lazy_gettext("đổi ngôn ngữ"),
        ),
        "language",
    )
    router.action("lang", on_language)
