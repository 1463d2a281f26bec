"""Answers to match proposals: the Đồng ý / Từ chối / Hủy đơn buttons, in any state of the chat."""

from __future__ import annotations

from bot.dialog import Ctx, Router
from bot.handlers.roles import COOP_REP, FARMER, TRADER, require_role
from bot.i18n import _
from bot.services.matches import Outcome, decide, rematch_hook, trader_cancels, trader_deal_buttons

ORDER = 50
PARTIES = frozenset({FARMER, COOP_REP, TRADER})


async def on_match(ctx: Ctx, rest: str) -> None:
    action, _sep, raw_id = rest.partition(":")
    if not raw_id.isdigit() or action not in ("a", "d", "c"):
        ctx.say(_("Nút này không còn dùng được."))
        return
    if not await require_role(ctx, PARTIES, "match_answer"):
        return
    s = ctx.services
    if action == "c":
        outcome, match = await trader_cancels(ctx.uow, s, int(raw_id), ctx.user)
    else:
        outcome, match = await decide(ctx.uow, s, int(raw_id), ctx.user, accept=action == "a")
    if outcome in (Outcome.DECLINED, Outcome.CANCELLED) and match is not None:
        ctx.on_commit(rematch_hook(s, match))
    else:
        ctx.on_commit(_wake(ctx))
    messages = {
        Outcome.WAITING: _("Bạn đã đồng ý. Đang chờ bên kia trả lời."),
        Outcome.ACCEPTED: _("✅ Đơn đã chốt! Cả hai bên đã đồng ý."),
        Outcome.DECLINED: _("Bạn đã từ chối đề xuất này."),
        Outcome.CANCELLED: _("Đã hủy đơn. Việc hủy được ghi lại."),
        Outcome.NOT_YOURS: _("Đề xuất này không phải của bạn."),
        Outcome.CLOSED: _("Đề xuất này đã được xử lý hoặc đã hết hạn."),
    }
    if outcome == Outcome.ACCEPTED and match is not None and ctx.user.role == TRADER:
        ctx.say(messages[outcome] + "\n" + _("Bây giờ hãy chọn giờ lấy hàng."), trader_deal_buttons(match.id))
        return
    ctx.say(messages[outcome])


def _wake(ctx: Ctx):  # type: ignore[no-untyped-def]
    async def hook() -> None:
        ctx.services.wake_outbox()

    return hook


def register(router: Router) -> None:
    router.action("mt", on_match)
