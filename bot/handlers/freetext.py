"""One typed line instead of a menu: "nhà em có 3 tạ na, mai thu", "cần mua 10 tấn hồng 18k".
The parser fills what it understood; the lot or order flow asks only for the rest.

Also inside another flow, when the open question did not understand the line: an offer typed
in /cuatoi, or an order typed halfway through another order, starts the new request. There the
line must name a product and an amount or a price, so that an unclear answer to a question is
explained by that question rather than taken for a new request. Price questions are answered
by the prices module's own sentence handler.
"""

from __future__ import annotations

from bot.engine.context import Ctx
from bot.engine.router import Router
from bot.handlers.lots import start_lot_flow
from bot.handlers.orders import TRADERS, start_order_flow
from bot.handlers.roles import SUPPLIERS
from bot.parsing import parse

ORDER = 5


async def on_sentence(ctx: Ctx) -> bool:
    """Open the lot or the order flow from a sentence; False when the line is neither."""
    result = parse(ctx.text, ctx.today)
    if result.intent not in ("offer", "order"):
        return False
    roles = SUPPLIERS if result.intent == "offer" else TRADERS
    if ctx.flow:
        clear = result.product is not None and (
            result.quantity_kg is not None or result.price_vnd_per_kg is not None
        )
        if not clear or ctx.user.role not in roles:
            return False
    # The flows keep their answers as JSON: dates travel as ISO strings, like the parser's own output.
    prefill = {k: v for k, v in result.to_json().items() if k != "intent" and v is not None}
    if result.grade is not None:
        prefill["grade"] = result.grade
    if result.intent == "offer":
        await start_lot_flow(ctx, prefill, action="freetext_offer")
    else:
        await start_order_flow(ctx, prefill, action="freetext_order")
    return True


def register(router: Router) -> None:
    router.text(on_sentence, in_flows=True)
