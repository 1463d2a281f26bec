"""/dexuat: everything waiting for the person's answer — match proposals and changes of accepted
deals the other side asked for — each answerable from the list; and the answers to those changes
(✅ Đồng ý / ❌ Không, by button, number or label), wherever they were asked."""

from __future__ import annotations

from bot.engine.context import Ctx
from bot.engine.router import Command, Router
from bot.handlers.matches import PARTIES
from bot.handlers.roles import refuse
from bot.i18n import lazy_gettext
from bot.presentation import amendments as show
from bot.presentation.amendments import DecideAmendment
from bot.services import amendments, matches
from bot.services.amendments import Outcome

ORDER = 35  # menu position: right after "Của tôi"


async def cmd_waiting(ctx: Ctx, _args: str) -> None:
    """/dexuat: the person's proposals and amendments waiting for an answer."""
    deals = await matches.waiting_for(ctx.uow, ctx.user)
    pendings = await amendments.waiting_for(ctx.uow, ctx.user, ctx.now)
    ctx.show(show.waiting_screen(ctx.services, ctx.user.id, deals, pendings))


async def on_decide(ctx: Ctx, act: DecideAmendment) -> None:
    """An answer to a change of an accepted deal: rights and the deal's state are checked again."""
    answered = await amendments.decide(ctx.uow, act.amendment_id, ctx.user, act.accept, now=ctx.now)
    if answered.outcome is Outcome.NOT_ALLOWED:
        await refuse(ctx, answered.needed, "amendment_answer")
        return
    if answered.changed:
        services = ctx.services

        async def wake() -> None:  # the proposer is told, the matcher looks at freed volume
            services.wake_events()
            services.wake_outbox()

        ctx.on_commit(wake)
    ctx.show(show.answered_screen(answered))


def register(router: Router) -> None:
    router.command(
        Command(
            "dexuat",
            cmd_waiting,
            lazy_gettext("Đề xuất"),
            roles=PARTIES,
            description=lazy_gettext("đề xuất và đề nghị thay đổi đang chờ bạn trả lời"),
        )
    )
    router.on(DecideAmendment, on_decide, roles=PARTIES, audit_as="amendment_answer")
