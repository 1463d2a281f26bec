"""Commands every person has: start, menu, help, cancel, language; and the answers the engine
gives itself (a refusal, the unknown, registration first)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.actions import Action, action
from bot.engine.context import Ctx
from bot.engine.router import Command, Router, RunCommand
from bot.engine.screens import Option
from bot.handlers.roles import refuse, role_label
from bot.i18n import _, lazy_gettext, set_locale
from bot.services import profile

ORDER = 900  # help and language come last in the menu


@action("lang")
@dataclass(frozen=True, slots=True)
class ChooseLanguage(Action):
    code: str


def menu_options(ctx: Ctx) -> list[Option]:
    """Buttons for every command this person may use."""
    return [Option(str(c.label), RunCommand(c.name)) for c in ctx.services.router.menu_for(ctx.user)]


def show_menu(ctx: Ctx, intro: str | None = None) -> None:
    """Say ``intro`` (or the default) with the menu buttons."""
    ctx.say(intro or _("Bạn muốn làm gì? Chọn một mục bên dưới."), menu_options(ctx), columns=2)


async def start_registration(ctx: Ctx) -> None:
    """Enter the registration flow from its first step, unless the person asked to link this
    account to one they registered on another messenger ("lien ket")."""
    from bot.handlers.linking import on_link_text  # linking shows this module's menu

    if ctx.text and await on_link_text(ctx):
        return
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
    if not ctx.caps.buttons:
        lines.append(_("Trả lời bằng số của mục, hoặc gõ tên mục."))
    ctx.say("\n".join(lines), [] if ctx.in_group else menu_options(ctx), columns=2)


async def cmd_language(ctx: Ctx, _args: str) -> None:
    ctx.say(
        _("Chọn ngôn ngữ / Choose a language:"),
        [
            Option("Tiếng Việt", ChooseLanguage("vi"), ("tieng viet", "vi")),
            Option("English", ChooseLanguage("en"), ("en", "anh")),
        ],
        columns=2,
    )


async def on_language(ctx: Ctx, choice: ChooseLanguage) -> None:
    code = choice.code if choice.code in ("vi", "en") else "vi"
    ctx.user = await profile.update(ctx.uow, ctx.user, locale=code)
    set_locale(code)
    ctx.say(_("Đã chuyển sang tiếng Việt.") if code == "vi" else _("Đã chuyển ngôn ngữ."))


async def unknown(ctx: Ctx) -> None:
    """A short helpful answer with the menu."""
    show_menu(ctx, _("Xin lỗi, tôi chưa hiểu. Bạn chọn một mục bên dưới, hoặc gõ /trogiup để xem hướng dẫn."))


async def unknown_command(ctx: Ctx, name: str) -> None:
    show_menu(
        ctx, _("Không có lệnh /{name}.").format(name=name[:30]) + " " + _("Bạn có thể chọn trong menu:")
    )


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
            in_groups=True,
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
    router.on(ChooseLanguage, on_language)
    router.keeps_flow_quiet.update({"start", "menu", "huy"})
    router.refuse = refuse
    router.fallback = unknown
    router.unknown_command = unknown_command
    router.start_registration = start_registration
