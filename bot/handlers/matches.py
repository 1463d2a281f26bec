"""Answers to match proposals: the ✅ Đồng ý / ❌ Từ chối / Hủy đơn buttons (or their number or
label typed), and the same answers typed with the proposal's code ("đồng ý 12", "tu choi #12",
"huy don 12"), which work in any state of the chat until the proposal is decided."""

from __future__ import annotations

import re

from bot.engine.context import Ctx
from bot.engine.menus import answer_key
from bot.engine.router import Router
from bot.handlers.roles import COOP_REP, FARMER, TRADER, refuse
from bot.presentation import market
from bot.presentation.market import DecideMatch
from bot.services import matches as service
from bot.services.matches import Decision, Outcome
from storage.types import bounded_int

# Before the free-text parser: "đồng ý 12" is an answer, not an offer of 12 of something.
ORDER = 3
PARTIES = frozenset({FARMER, COOP_REP, TRADER})

_WORDS = {
    "dong y": Decision.ACCEPT, "ok": Decision.ACCEPT, "oke": Decision.ACCEPT, "chap nhan": Decision.ACCEPT,
    "chot": Decision.ACCEPT,
    "tu choi": Decision.DECLINE, "khong dong y": Decision.DECLINE, "ko dong y": Decision.DECLINE,
    "k dong y": Decision.DECLINE, "khong nhan": Decision.DECLINE,
    "huy": Decision.CANCEL, "huy bo": Decision.CANCEL,
}  # fmt: skip
# "đồng ý 12", "Đồng ý #12", "tu choi de xuat 12", "huy don so 12" (as answer_key folds them)
_BY_CODE = re.compile(
    r"^(?P<verb>" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)) + r")"
    r"(?: (?:don|de xuat|dx))?(?: so)? (?P<id>\d{1,12})$"
)


def read_code_answer(text: str) -> tuple[Decision, int] | None:
    """(decision, match id) from a typed "đồng ý 12"; None for anything else."""
    m = _BY_CODE.match(answer_key(text))
    if m is None:
        return None
    match_id = bounded_int(m.group("id"))
    return (_WORDS[m.group("verb")], match_id) if match_id is not None else None


async def answer(ctx: Ctx, match_id: int, decision: Decision, *, by_code: bool = False) -> None:
    """Record the person's answer and say how it ended."""
    answered = await service.decide(ctx.uow, match_id, ctx.user, decision, now=ctx.now)
    if answered.outcome is Outcome.NOT_ALLOWED:
        await refuse(ctx, answered.needed, "match_answer")
        return
    if by_code and (answered.outcome is Outcome.NOT_YOURS or answered.deal is None):
        ctx.say(market.unknown_code_text(match_id))  # a mistyped code: say which one was not found
        return
    if answered.changed:
        services = ctx.services

        async def wake() -> None:  # the other side is told, the matcher looks at freed volume
            services.wake_events()
            services.wake_outbox()

        ctx.on_commit(wake)
    ctx.show(market.answered_screen(ctx.user, answered))


async def on_decide(ctx: Ctx, act: DecideMatch) -> None:
    await answer(ctx, act.match_id, act.decision)


async def by_code(ctx: Ctx) -> bool:
    """A typed "đồng ý 12" (also inside another flow: its question is asked again after)."""
    read = read_code_answer(ctx.text)
    if read is None:
        return False
    decision, match_id = read
    if ctx.user.role not in PARTIES:
        await refuse(ctx, PARTIES, "match_answer")
    else:
        await answer(ctx, match_id, decision, by_code=True)
    return True


def register(router: Router) -> None:
    router.on(DecideMatch, on_decide, roles=PARTIES, audit_as="match_answer")
    router.text(by_code, in_flows=True)
