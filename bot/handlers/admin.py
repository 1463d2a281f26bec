"""Admin flows: granting roles (/capquyen) and blocking spammers (/chan, /bochan).

A person is named by a phone in any usual form, an internal id, or ``kênh:mã``. A phone that two
people share asks which one is meant; a role granted to a phone nobody has registered with yet
waits and is given at registration. The commands take everything on one line
("/capquyen 0912 345 678 cán bộ") or ask for what is missing; admins only, checked at every step.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Any

from bot.engine.context import Ctx
from bot.engine.flow import Accept, Cancelled, Flow, Retry, StepResult, StepSpec
from bot.engine.router import Command, Router
from bot.engine.screens import Screen
from bot.engine.widgets import Choice, Select, Widget
from bot.handlers.roles import ADMIN, COOP_REP, FARMER, OFFICIAL, TRADER, parse_role, role_label
from bot.i18n import _, lazy_gettext
from bot.services import users as service
from bot.services.users import Found, Granted, NotBanned, NotFound, NotGranted, RoleGrant, Waiting
from storage import dto

ADMINS = frozenset({ADMIN})
ORDER = 800
ROLES = (FARMER, COOP_REP, TRADER, OFFICIAL, ADMIN)
CANCEL = "cancel"


class Step(enum.StrEnum):
    PERSON = "person"
    ROLE = "role"
    WHICH = "which"


def _example(ctx: Ctx) -> str:
    return f"{ctx.event.channel}:12345"


def usage(ctx: Ctx) -> str:
    return _(
        "Cách dùng: /capquyen <người dùng> <vai trò>\nNgười dùng: số điện thoại, mã số, hoặc {example}.\n"
        "Vai trò: nong_dan, htx, thuong_lai, can_bo, quan_tri."
    ).format(example=_example(ctx))


def not_found_text(ref: str, problem: NotFound) -> str:
    if problem is NotFound.TOO_LONG:
        return _(
            "Không tìm thấy người dùng «{ref}»: số này quá dài để là số điện thoại (10 chữ số) hay mã người dùng."
        ).format(ref=ref[:24] + ("…" if len(ref) > 24 else ""))
    return _("Không tìm thấy người dùng «{ref}».").format(ref=ref[:40])


def _messenger(ctx: Ctx, user: dto.User) -> str:
    messengers = ctx.services.messengers
    return messengers[user.channel].display_name if user.channel in messengers else user.channel


def person_label(ctx: Ctx, user: dto.User) -> str:
    """ "Đỗ Lan – <messenger>": the name, and the messenger as people call it (its display name)."""
    return f"{user.name or user.key} – {_messenger(ctx, user)}"


def _found_answer(found: Found) -> dict[str, Any]:
    return {"ids": [u.id for u in found.people], "phone": found.phone}


class PersonStep(Widget):
    """Who: a phone, an id or ``kênh:mã``; ``unregistered_phone``: a phone nobody has is an answer."""

    def __init__(self, question: Any, *, unregistered_phone: bool) -> None:
        self.question = question
        self.unregistered_phone = unregistered_phone

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        text = str(self.question).format(example=_example(ctx))
        return Screen(text, (flow.option(spec, _("Hủy"), CANCEL, "huy"),))

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        return Cancelled(_("Đã hủy. Không có gì được lưu.")) if value == CANCEL else Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        found = await service.find_people(ctx.uow, text)
        if isinstance(found, NotFound):
            return Retry(not_found_text(text, found))
        if not found.people and not (self.unregistered_phone and found.phone):
            return Retry(not_found_text(text, NotFound.NOBODY))
        return Accept(_found_answer(found))


async def _candidates(ctx: Ctx) -> list[Choice]:
    ids = [int(i) for i in ctx.answers["person"]["ids"]]
    return [
        Choice(person_label(ctx, u), str(u.id), tuple(filter(None, (u.name, _messenger(ctx, u)))))
        for u in await service.people(ctx.uow, ids)
    ]


def _which_question(ctx: Ctx) -> str:
    person = ctx.answers["person"]
    return _("Có {n} người dùng số {phone}. Bạn chọn ai?").format(n=len(person["ids"]), phone=person["phone"])


def _shared(ctx: Ctx) -> bool:
    return len(ctx.answers.get("person", {}).get("ids", ())) > 1


def _read_role(ctx: Ctx, text: str) -> str | None:
    return parse_role(text)


def _role_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(role_label(r), r) for r in ROLES]


def _chosen(ctx: Ctx) -> int | None:
    """The person the answers settle on (None: a phone nobody has registered with yet)."""
    person = ctx.answers["person"]
    if ctx.answers.get("which"):
        return int(ctx.answers["which"])
    return int(person["ids"][0]) if person["ids"] else None


def _which_step() -> Select:
    return Select(_which_question, _candidates, columns=1)


# --- /capquyen ----------------------------------------------------------------------------------

grant_flow = Flow("grant", Step, roles=ADMINS, action_name="capquyen")
grant_flow.step(
    Step.PERSON,
    PersonStep(
        lazy_gettext("Cấp quyền cho ai? Gõ số điện thoại, mã số, hoặc {example}."), unregistered_phone=True
    ),
)
grant_flow.step(
    Step.ROLE,
    Select(
        lazy_gettext("Cấp vai trò nào?"),
        _role_choices,
        read=_read_role,
        invalid=lazy_gettext("Vui lòng chọn một trong các vai trò bên dưới."),
    ),
)
grant_flow.step(Step.WHICH, _which_step(), when=_shared)


@grant_flow.committer
async def grant(ctx: Ctx) -> None:
    role = str(ctx.answers["role"])
    user_id, phone = _chosen(ctx), ctx.answers["person"]["phone"]
    outcome = await service.grant_role(
        ctx.uow, ctx.user, RoleGrant(role, user_id, None if user_id else phone)
    )
    ctx.leave()
    if isinstance(outcome, Granted):
        ctx.on_commit(_wake(ctx))
        name = outcome.user.name or outcome.user.key
        ctx.say(_("Đã cấp quyền {role} cho {name}.").format(role=role_label(role), name=name))
    elif isinstance(outcome, Waiting):
        ctx.say(
            _(
                "Chưa ai đăng ký với số {phone}. Khi người có số này đăng ký, họ sẽ được cấp quyền {role}."
            ).format(phone=outcome.phone, role=role_label(role))
        )
    elif outcome is NotGranted.SEVERAL:
        ctx.say(
            _("Số {phone} vừa có thêm người đăng ký. Vui lòng gõ lại lệnh để chọn người.").format(phone=phone)
        )
    else:
        ctx.say(_("Không tìm thấy người dùng này nữa."))


def _wake(ctx: Ctx) -> Callable[[], Awaitable[None]]:
    """Tell the person of their new role now, not at the next poll."""
    services = ctx.services

    async def hook() -> None:
        services.wake_events()

    return hook


def split_role(args: str) -> tuple[str, str | None]:
    """("0912 345 678", "official") from "0912 345 678 cán bộ": the role is the last one to three words."""
    words = args.split()
    for n in (3, 2, 1):
        if len(words) >= n and (role := parse_role(" ".join(words[-n:]))) is not None:
            return " ".join(words[:-n]), role
    return args.strip(), None


async def _start_with(
    ctx: Ctx, flow: Flow, ref: str, answers: dict[str, Any], *, unregistered_phone: bool
) -> None:
    """Start ``flow`` with the person ``ref`` names already known (or say why it names nobody)."""
    if ref:
        found = await service.find_people(ctx.uow, ref)
        if isinstance(found, NotFound):
            ctx.say(not_found_text(ref, found))
            return
        if not found.people and not (unregistered_phone and found.phone):
            ctx.say(not_found_text(ref, NotFound.NOBODY))
            return
        answers = {**answers, "person": _found_answer(found)}
    await flow.start(ctx, answers)


async def cmd_grant(ctx: Ctx, args: str) -> None:
    """/capquyen [người dùng] [vai trò]: what is missing is asked."""
    if not args.strip():
        await grant_flow.start(ctx)
        return
    ref, role = split_role(args)
    if role is None:
        # Only a person ("/capquyen 0912 345 678"): the role is asked; anything else is a slip.
        found = await service.find_people(ctx.uow, args)
        if isinstance(found, NotFound) or not (found.people or found.phone):
            ctx.say(usage(ctx))
            return
        await grant_flow.start(ctx, {"person": _found_answer(found)})
        return
    await _start_with(ctx, grant_flow, ref, {"role": role}, unregistered_phone=True)


# --- /chan, /bochan -----------------------------------------------------------------------------------


def _ban_flow(name: str, command: str, banned: bool) -> Flow:
    flow = Flow(name, Step, roles=ADMINS, action_name=command)
    question = (
        lazy_gettext("Chặn ai? Gõ số điện thoại, mã số, hoặc {example}.")
        if banned
        else lazy_gettext("Bỏ chặn ai? Gõ số điện thoại, mã số, hoặc {example}.")
    )
    flow.step(Step.PERSON, PersonStep(question, unregistered_phone=False))
    flow.step(Step.WHICH, _which_step(), when=_shared)

    @flow.committer
    async def commit(ctx: Ctx) -> None:
        user_id = _chosen(ctx)
        ctx.leave()
        outcome = (
            await service.set_banned(ctx.uow, ctx.user, user_id, banned) if user_id else NotBanned.NOBODY
        )
        if outcome is NotBanned.SELF:
            ctx.say(_("Bạn không thể tự chặn chính mình."))
        elif outcome is NotBanned.NOBODY:
            ctx.say(_("Không tìm thấy người dùng này nữa."))
        else:
            assert isinstance(outcome, dto.User)
            msg = _("Đã chặn {name}.") if banned else _("Đã bỏ chặn {name}.")
            ctx.say(msg.format(name=person_label(ctx, outcome)))

    return flow


ban_flow = _ban_flow("ban", "chan", True)
unban_flow = _ban_flow("unban", "bochan", False)


async def cmd_ban(ctx: Ctx, args: str) -> None:
    await _start_with(ctx, ban_flow, args.strip(), {}, unregistered_phone=False)


async def cmd_unban(ctx: Ctx, args: str) -> None:
    await _start_with(ctx, unban_flow, args.strip(), {}, unregistered_phone=False)


def register(router: Router) -> None:
    for flow in (grant_flow, ban_flow, unban_flow):
        router.flow(flow)
    router.command(
        Command(
            "capquyen",
            cmd_grant,
            lazy_gettext("Cấp quyền"),
            roles=ADMINS,
            staff=True,
            description=lazy_gettext("cấp vai trò cho người dùng"),
        )
    )
    router.command(
        Command(
            "chan",
            cmd_ban,
            lazy_gettext("Chặn"),
            roles=ADMINS,
            staff=True,
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
            staff=True,
            in_menu=False,
            description=lazy_gettext("bỏ chặn người dùng"),
        )
    )
