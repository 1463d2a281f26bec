"""One typed line instead of a menu: "nhà em có 3 tạ na, mai thu", "cần mua 10 tấn hồng 18k",
"giá na hôm nay bn". The parser fills what it understood; the flow asks only for the rest."""

from __future__ import annotations

from bot.dialog import Ctx, Router
from bot.handlers.roles import SUPPLIERS, TRADER, require_role
from bot.parsing import parse

ORDER = 5


async def on_free_text(ctx: Ctx) -> bool:
    """Open the lot or order flow, or answer a price question; False when the line is none of those."""
    result = parse(ctx.text, ctx.today)
    if result.intent == "unknown":
        return False
    # The flows keep their answers as JSON: dates travel as ISO strings, like the parser's own output.
    prefill = {k: v for k, v in result.to_json().items() if k != "intent" and v is not None}
    if result.grade is not None:
        prefill["grade"] = result.grade
    if result.intent == "price_query":
        from bot.handlers.prices import cmd_price, price_answer

        if result.product is None:
            await cmd_price(ctx, "")  # "giá hôm nay bao nhiêu?": which product? buttons
        else:
            await price_answer(ctx, result.product)
        return True
    if result.intent == "offer":
        if ctx.user.role not in SUPPLIERS:
            await require_role(ctx, SUPPLIERS, "freetext_offer")  # says which role may report a harvest
            return True
        from bot.handlers.lots import start_lot_flow

        await start_lot_flow(ctx, prefill)
        return True
    if ctx.user.role != TRADER:
        await require_role(ctx, frozenset({TRADER}), "freetext_order")
        return True
    from bot.handlers.orders import start_order_flow

    await start_order_flow(ctx, prefill)
    return True


def register(router: Router) -> None:
    router.text_handler(on_free_text)
